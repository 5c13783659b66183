"""core.roster: the signed, hash-chained roster, its rules, and the attacks it stops."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from core.roster import HeadMemory, Roster, RosterError, Signer
from crypto import EncryptionKeyPair, Role, SigningKeyPair, certify

ORG = SigningKeyPair.generate()
RELAY1 = SigningKeyPair.generate()
RELAY2 = SigningKeyPair.generate()
OFFICERS = {name: SigningKeyPair.generate() for name in ("ana", "ben", "cyd", "dan")}
ORG_SIGNER = Signer("org")
RULES = {"officer_may_assign": True, "officer_may_leave": True}


def cert(name: str, key: SigningKeyPair, *, role: Role = Role.HANDLER, version: int = 1) -> str:
    return certify(
        ORG,
        role=role,
        name=name,
        encryption_key=EncryptionKeyPair.generate().public,
        signing_key=key.public,
        issued=1_700_000_000,
        key_version=version,
    ).hex()


def officer(name: str) -> tuple[Signer, SigningKeyPair]:
    return Signer("handler", name=name), OFFICERS[name]


def relay(version: int = 1) -> tuple[Signer, SigningKeyPair]:
    return Signer("relay", version=version), RELAY1 if version == 1 else RELAY2


@pytest.fixture
def log() -> list[bytes]:
    """A roster: genesis, three officers, intake ana+ben, relay key 1, case K1 opened."""
    roster = Roster(ORG.public)
    entries = [
        roster.next_entry(ORG_SIGNER, ORG, "genesis", org=ORG.public.raw.hex(), rules=RULES),
        *(
            roster.next_entry(ORG_SIGNER, ORG, "enrol", certificate=cert(n, OFFICERS[n]))
            for n in ("ana", "ben", "cyd")
        ),
        roster.next_entry(ORG_SIGNER, ORG, "intake", names=["ana", "ben"]),
        roster.next_entry(
            ORG_SIGNER, ORG, "relay_key", certificate=cert("relay", RELAY1, role=Role.BOT)
        ),
        roster.next_entry(*relay(), "open_case", case_id="K1", handlers=["ana", "ben"]),
    ]
    return entries


def test_the_log_verifies_and_says_who_reads(log: list[bytes]) -> None:
    roster = Roster.verify(ORG.public, log)
    assert roster.head.seq == len(log)
    assert sorted(roster.officers()) == ["ana", "ben", "cyd"]
    assert roster.intake_handlers() == ["ana", "ben"]
    assert roster.assigned("K1") == {"ana", "ben"}
    assert roster.assigned("nope") == frozenset()
    assert roster.current_relay() is not None


def test_a_legitimate_hand_over_goes_through(log: list[bytes]) -> None:
    roster = Roster.verify(ORG.public, log)
    added = [
        roster.next_entry(*officer("ana"), "assign", case_id="K1", name="cyd"),
        roster.next_entry(*officer("ana"), "leave", case_id="K1", name="ana"),
    ]
    assert roster.assigned("K1") == {"ben", "cyd"}
    again = Roster.verify(ORG.public, [*log, *added])
    assert again.assigned("K1") == {"ben", "cyd"}
    assert again.head == roster.head


@pytest.mark.parametrize(
    ("signer", "kind", "fields"),
    [
        # cyd is certified but not assigned: she adds herself to a colleague's case
        ("cyd", "assign", {"case_id": "K1", "name": "cyd"}),
        # an officer puts themself on intake
        ("cyd", "intake", {"names": ["ana", "ben", "cyd"]}),
        # an officer enrols or revokes, or retires the relay's key
        ("ana", "revoke", {"name": "ben"}),
        ("ana", "retire_relay_key", {"version": 1, "last_seq": 0}),
        # an officer takes a colleague off a case
        ("ana", "leave", {"case_id": "K1", "name": "ben"}),
        # an officer opens a case for themself
        ("cyd", "open_case", {"case_id": "K2", "handlers": ["cyd"]}),
    ],
)
def test_an_officer_cannot_give_themself_rights(
    log: list[bytes], signer: str, kind: str, fields: dict[str, object]
) -> None:
    roster = Roster.verify(ORG.public, log)
    head = roster.head
    with pytest.raises(RosterError):
        roster.next_entry(*officer(signer), kind, **fields)
    assert roster.head == head  # refused entries change nothing


def test_the_relay_opens_cases_only_for_the_intake_officers(log: list[bytes]) -> None:
    roster = Roster.verify(ORG.public, log)
    with pytest.raises(RosterError, match="intake"):
        roster.next_entry(*relay(), "open_case", case_id="K2", handlers=["ana", "cyd"])
    with pytest.raises(RosterError, match="already open"):
        roster.next_entry(*relay(), "open_case", case_id="K1", handlers=["ana", "ben"])


def test_a_revoked_officer_stays_revoked(log: list[bytes]) -> None:
    roster = Roster.verify(ORG.public, log)
    roster.next_entry(ORG_SIGNER, ORG, "revoke", name="ben")
    assert roster.assigned("K1") == {"ana"}
    assert roster.intake_handlers() == ["ana"]
    with pytest.raises(RosterError, match="no active officer"):
        roster.next_entry(*officer("ben"), "assign", case_id="K1", name="ben")
    with pytest.raises(RosterError, match="already on the roster"):
        roster.next_entry(ORG_SIGNER, ORG, "enrol", certificate=cert("ben", OFFICERS["ben"]))
    with pytest.raises(RosterError, match="not an active officer"):
        roster.next_entry(ORG_SIGNER, ORG, "assign", case_id="K1", name="ben")


def test_a_retired_relay_key_signs_nothing_more(log: list[bytes]) -> None:
    roster = Roster.verify(ORG.public, log)
    with pytest.raises(RosterError, match="only relay key"):
        roster.next_entry(ORG_SIGNER, ORG, "retire_relay_key", version=1, last_seq=10)
    roster.next_entry(
        ORG_SIGNER, ORG, "relay_key", certificate=cert("relay", RELAY2, role=Role.BOT, version=2)
    )
    roster.next_entry(ORG_SIGNER, ORG, "retire_relay_key", version=1, last_seq=10)
    assert roster.current_relay() is not None and roster.current_relay().key_version == 2
    assert roster.relay_last_seq() == {1: 10}
    with pytest.raises(RosterError, match="not in force"):
        roster.next_entry(*relay(1), "open_case", case_id="K2", handlers=["ana", "ben"])
    roster.next_entry(*relay(2), "open_case", case_id="K2", handlers=["ana", "ben"])


def test_nobody_is_left_without_an_officer(log: list[bytes]) -> None:
    roster = Roster.verify(ORG.public, log)
    roster.next_entry(*officer("ana"), "leave", case_id="K1", name="ana")
    with pytest.raises(RosterError, match="no officer left"):
        roster.next_entry(*officer("ben"), "leave", case_id="K1", name="ben")


def test_rules_signed_by_the_organisation_can_forbid_officer_assignment(log: list[bytes]) -> None:
    roster = Roster.verify(ORG.public, log)
    rules = {"officer_may_assign": False, "officer_may_leave": True}
    roster.next_entry(ORG_SIGNER, ORG, "rules", rules=rules)
    with pytest.raises(RosterError, match="may add a colleague"):
        roster.next_entry(*officer("ana"), "assign", case_id="K1", name="cyd")
    roster.next_entry(ORG_SIGNER, ORG, "assign", case_id="K1", name="cyd")
    assert roster.assigned("K1") == {"ana", "ben", "cyd"}


# -- the log itself ------------------------------------------------------------------------


def _forge(entry: bytes, old: bytes, new: bytes) -> bytes:
    (size,) = struct.unpack_from(">I", entry)
    statement = entry[4 : 4 + size].replace(old, new)
    return struct.pack(">I", len(statement)) + statement + entry[4 + size :]


def test_an_altered_entry_does_not_verify(log: list[bytes]) -> None:
    forged = _forge(log[-1], b'"ben"', b'"cyd"')
    with pytest.raises(RosterError):
        Roster.verify(ORG.public, [*log[:-1], forged])
    flipped = log[-1][:-1] + bytes([log[-1][-1] ^ 1])
    with pytest.raises(RosterError, match="bad signature"):
        Roster.verify(ORG.public, [*log[:-1], flipped])


def test_an_officer_cannot_sign_as_the_organisation(log: list[bytes]) -> None:
    roster = Roster.verify(ORG.public, log)
    with pytest.raises(RosterError, match="bad signature"):
        roster.next_entry(ORG_SIGNER, OFFICERS["cyd"], "assign", case_id="K1", name="cyd")


def test_entries_cannot_be_removed_or_reordered(log: list[bytes]) -> None:
    with pytest.raises(RosterError, match="out of order"):
        Roster.verify(ORG.public, [*log[:3], *log[4:]])
    with pytest.raises(RosterError, match="out of order"):
        Roster.verify(ORG.public, [log[0], log[2], log[1], *log[3:]])
    with pytest.raises(RosterError, match="out of order"):
        Roster.verify(ORG.public, log[1:])
    with pytest.raises(RosterError, match="empty"):
        Roster.verify(ORG.public, [])


def test_a_log_of_another_organisation_is_refused(log: list[bytes]) -> None:
    with pytest.raises(RosterError):
        Roster.verify(SigningKeyPair.generate().public, log)


def test_a_statement_in_another_form_is_refused(log: list[bytes]) -> None:
    spaced = _forge(log[0], b'","', b'", "')
    with pytest.raises(RosterError, match="canonical"):
        Roster.verify(ORG.public, [spaced, *log[1:]])
    with pytest.raises(RosterError):
        Roster.verify(ORG.public, [b"\x00\x00\x00\x05WRRL{" + bytes(64)])


def test_a_truncated_or_rolled_back_log_is_noticed(log: list[bytes], tmp_path: Path) -> None:
    memory = HeadMemory(tmp_path / "roster.head")
    full = Roster.verify(ORG.public, log)
    memory.check(full)  # nothing remembered yet
    memory.remember(full)
    memory.check(Roster.verify(ORG.public, log))
    with pytest.raises(RosterError, match="truncated or rolled back"):
        memory.check(Roster.verify(ORG.public, log[:-1]))
    # A log rewritten from the same point (the organisation key would be needed) differs too.
    other = Roster.verify(ORG.public, log[:-1])
    other.next_entry(*relay(), "open_case", case_id="K9", handlers=["ana", "ben"])
    with pytest.raises(RosterError, match="truncated or rolled back"):
        memory.check(other)
