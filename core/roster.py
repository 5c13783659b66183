"""The signed roster: who may read what, as an append-only, hash-chained log of statements.

A store row never decides who may read (ADR 0076). Every right is a statement in this log,
signed by the organisation key, by a certified relay key or by an assigned officer acting
within rules the organisation signed. The relay and every console verify the whole log
before they use it; store rows are only a cache of what the log says.

An entry::

    u32 statement length ‖ statement ‖ Ed25519 signature (64)
    statement = "WRRL" ‖ canonical JSON {"v": 1, "seq", "prev", "signer", "kind", ...}

``prev`` is the SHA-256 of the previous entry (hex; "" for the first), so an entry cannot
be removed, reordered or changed without breaking every later one, and a reader that
remembers the last head it verified (:class:`HeadMemory`) notices a truncated or
rolled-back log. The signature is ``SigningKeyPair.sign(statement)``, which signs
``"WRIS" ‖ statement`` (ADR 0003), so no roster signature verifies as anything else.

Statements and who may sign them:

====================  ===========================  ============================================
kind                  signer                       effect
====================  ===========================  ============================================
genesis               organisation                 first entry: the organisation key, rules
rules                 organisation                 what assigned officers may do
enrol                 organisation                 a certified officer (a new name)
renew                 organisation                 the officer's next certificate
revoke                organisation                 the officer reads nothing new, ever
intake                organisation                 who gets new cases (empty: every officer)
relay_key             organisation                 a certified relay key version
retire_relay_key      organisation                 that version signs nothing after last_seq
open_case             a current relay key (or      a new case, assigned to the intake officers
                      the organisation, adopting   (the organisation may name any active
                      an older store's cases)      officers)
assign                organisation, or an          an officer is added to a case
                      assigned officer (rules)
leave                 organisation, or the         an officer leaves a case (hand-over is
                      officer themself             assign + leave); someone must remain
====================  ===========================  ============================================
"""

from __future__ import annotations

import hashlib
import json
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

from core.errors import EXIT_NOT_CERTIFIED, WriteinError
from crypto import (
    Certificate,
    CryptoError,
    Role,
    SigningKeyPair,
    SigningPublicKey,
    verify_certificate,
)

__all__ = [
    "MAGIC",
    "Head",
    "HeadMemory",
    "Roster",
    "RosterError",
    "Rules",
    "Signer",
    "entry_statement",
]

MAGIC: Final = b"WRRL"
VERSION: Final = 1
_SIGNATURE: Final = 64
_MAX_STATEMENT: Final = 64 * 1024
_LENGTH: Final = struct.Struct(">I")

SignerRole = Literal["org", "relay", "handler"]


class RosterError(WriteinError):
    """The roster log does not verify: an entry is forged, altered, missing or out of order.

    Always an alarm: the caller logs it and refuses to act on the roster.
    """

    exit_code = EXIT_NOT_CERTIFIED


@dataclass(frozen=True, slots=True)
class Signer:
    """Who signs an entry: the organisation, relay key ``version``, or officer ``name``."""

    role: SignerRole
    name: str = ""
    version: int = 0

    def as_json(self) -> dict[str, Any]:
        if self.role == "org":
            return {"role": "org"}
        if self.role == "relay":
            return {"role": "relay", "version": self.version}
        return {"role": "handler", "name": self.name}


@dataclass(frozen=True, slots=True)
class Rules:
    """What an assigned officer may do on their own signature (signed by the organisation)."""

    officer_may_assign: bool = True
    officer_may_leave: bool = True


@dataclass(frozen=True, slots=True)
class Head:
    seq: int
    digest: bytes  # SHA-256 of the entry; b"" before the first


@dataclass(slots=True)
class _Officer:
    cert: Certificate
    active: bool = True
    past: list[Certificate] = field(default_factory=list)


@dataclass(slots=True)
class _RelayKey:
    cert: Certificate
    last_seq: int | None = None  # set once retired


def _canonical(data: dict[str, Any]) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def entry_statement(entry: bytes) -> tuple[dict[str, Any], bytes, bytes]:
    """Split an entry into (statement fields, statement bytes, signature); RosterError if
    it is not well formed. Nothing is verified here."""
    if len(entry) < _LENGTH.size + len(MAGIC) + _SIGNATURE:
        raise RosterError("a roster entry is too short")
    (size,) = _LENGTH.unpack_from(entry)
    statement = entry[_LENGTH.size : _LENGTH.size + size]
    signature = entry[_LENGTH.size + size :]
    if size > _MAX_STATEMENT or len(statement) != size or len(signature) != _SIGNATURE:
        raise RosterError("a roster entry has the wrong length")
    if not statement.startswith(MAGIC):
        raise RosterError("a roster entry does not start with its magic")
    try:
        fields = json.loads(statement[len(MAGIC) :])
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise RosterError("a roster statement is not JSON") from None
    if not isinstance(fields, dict) or _canonical(fields) != statement[len(MAGIC) :]:
        raise RosterError("a roster statement is not in canonical form")
    return fields, statement, signature


def _str(fields: dict[str, Any], key: str) -> str:
    value = fields.get(key)
    if not isinstance(value, str) or not value:
        raise RosterError(f"roster field {key!r} is missing")
    return value


def _int(fields: dict[str, Any], key: str) -> int:
    value = fields.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise RosterError(f"roster field {key!r} is missing")
    return value


def _names(fields: dict[str, Any], key: str) -> tuple[str, ...]:
    value = fields.get(key)
    if not isinstance(value, list) or not all(isinstance(n, str) and n for n in value):
        raise RosterError(f"roster field {key!r} is missing")
    if len(set(value)) != len(value) or value != sorted(value):
        raise RosterError(f"roster field {key!r} must be sorted and without repeats")
    return tuple(value)


class Roster:
    """A verified roster: the state every entry so far leads to, and its head.

    Build it with :meth:`verify`; add entries with :meth:`extend` (each is verified against
    the state before it); make the next entry with :meth:`next_entry`.
    """

    def __init__(self, org: SigningPublicKey) -> None:
        self.org = org
        self.rules = Rules()
        self._officers: dict[str, _Officer] = {}
        self._intake: tuple[str, ...] = ()
        self._relay: dict[int, _RelayKey] = {}
        self._cases: dict[str, set[str]] = {}
        self._digests: list[bytes] = []

    # -- reading -----------------------------------------------------------------------

    @classmethod
    def verify(cls, org: SigningPublicKey, entries: Iterable[bytes]) -> Roster:
        roster = cls(org)
        roster.extend(entries)
        if not roster._digests:
            raise RosterError("the roster is empty: run `writein init`")
        return roster

    @property
    def head(self) -> Head:
        if not self._digests:
            return Head(0, b"")
        return Head(len(self._digests), self._digests[-1])

    def digest_at(self, seq: int) -> bytes | None:
        return self._digests[seq - 1] if 1 <= seq <= len(self._digests) else None

    def officers(self) -> dict[str, Certificate]:
        """Active, certified officers by name."""
        return {n: o.cert for n, o in self._officers.items() if o.active}

    def revoked(self) -> dict[str, Certificate]:
        return {n: o.cert for n, o in self._officers.items() if not o.active}

    def past_certificates(self) -> list[Certificate]:
        return [c for o in self._officers.values() for c in o.past]

    def intake_list(self) -> tuple[str, ...]:
        """The signed intake list (empty: every active officer gets new cases)."""
        return self._intake

    def intake_handlers(self) -> list[str]:
        """Who gets a new case: the intake list, else every active officer."""
        return list(self._intake) or sorted(self.officers())

    def assigned(self, case_id: str) -> frozenset[str]:
        """Active officers assigned to the case (empty for a case the roster never opened)."""
        return frozenset(self._cases.get(case_id, ()))

    def case_ids(self) -> Iterator[str]:
        return iter(self._cases)

    def cases_of(self, name: str) -> list[str]:
        """The cases the officer is assigned to, in the order they were opened."""
        return [c for c, names in self._cases.items() if name in names]

    def relay_certificates(self) -> dict[int, Certificate]:
        return {v: k.cert for v, k in self._relay.items()}

    def relay_last_seq(self) -> dict[int, int]:
        return {v: k.last_seq for v, k in self._relay.items() if k.last_seq is not None}

    def current_relay(self) -> Certificate | None:
        """The newest relay key version not retired: the one replies are sealed to."""
        live = [v for v, k in self._relay.items() if k.last_seq is None]
        return self._relay[max(live)].cert if live else None

    # -- writing -----------------------------------------------------------------------

    def next_entry(self, signer: Signer, key: SigningKeyPair, kind: str, **fields: Any) -> bytes:
        """Sign the entry that follows the head, apply it to this roster and return it.

        Refused (RosterError, and the roster unchanged) if the rules would refuse it, so
        nothing unverifiable is ever written. If the caller then fails to store the entry,
        this roster is ahead of the store: read it again from the store.
        """
        head = self.head
        statement = MAGIC + _canonical(
            {
                "v": VERSION,
                "seq": head.seq + 1,
                "prev": head.digest.hex(),
                "signer": signer.as_json(),
                "kind": kind,
                **fields,
            }
        )
        entry = _LENGTH.pack(len(statement)) + statement + key.sign(statement)
        self._apply(entry)
        return entry

    def extend(self, entries: Iterable[bytes]) -> None:
        for entry in entries:
            self._apply(entry)

    # -- the rules -----------------------------------------------------------------------

    def _apply(self, entry: bytes) -> None:
        # Every _on_* checks everything before it changes anything, so an entry that is
        # refused leaves the roster as it was.
        fields, statement, signature = entry_statement(entry)
        seq = len(self._digests) + 1
        if fields.get("v") != VERSION or fields.get("seq") != seq:
            raise RosterError(f"roster entry {seq} is out of order")
        prev = self._digests[-1].hex() if self._digests else ""
        if fields.get("prev") != prev:
            raise RosterError(f"roster entry {seq} does not follow the one before it")
        signer = self._signer(fields.get("signer"), seq)
        try:
            signer.verify(signature, statement)
        except CryptoError:
            raise RosterError(f"roster entry {seq} has a bad signature") from None
        kind = fields.get("kind")
        if seq == 1 and kind != "genesis":
            raise RosterError("the roster does not start with its genesis")
        handler = getattr(self, f"_on_{kind}", None) if isinstance(kind, str) else None
        if handler is None:
            raise RosterError(f"roster entry {seq} has an unknown kind")
        handler(fields, fields["signer"])
        self._digests.append(hashlib.sha256(entry).digest())

    def _signer(self, raw: object, seq: int) -> SigningPublicKey:
        if not isinstance(raw, dict):
            raise RosterError(f"roster entry {seq} names no signer")
        role = raw.get("role")
        if role == "org":
            return self.org
        if role == "relay":
            version = raw.get("version")
            key = None
            if isinstance(version, int) and not isinstance(version, bool):
                key = self._relay.get(version)
            if key is None or key.last_seq is not None:
                raise RosterError(f"roster entry {seq} is signed by a relay key not in force")
            return key.cert.signing_key
        if role == "handler":
            name = raw.get("name")
            officer = self._officers.get(name) if isinstance(name, str) else None
            if officer is None or not officer.active:
                raise RosterError(f"roster entry {seq} is signed by no active officer")
            return officer.cert.signing_key
        raise RosterError(f"roster entry {seq} names no signer")

    def _require_org(self, signer: dict[str, Any], kind: str) -> None:
        if signer.get("role") != "org":
            raise RosterError(f"only the organisation key may sign {kind!r}")

    def _certificate(self, fields: dict[str, Any], role: Role) -> Certificate:
        try:
            cert = verify_certificate(bytes.fromhex(_str(fields, "certificate")), self.org)
        except (ValueError, CryptoError):
            raise RosterError("a roster certificate does not verify") from None
        if cert.role is not role:
            raise RosterError("a roster certificate has the wrong role")
        return cert

    def _active(self, name: str) -> _Officer:
        officer = self._officers.get(name)
        if officer is None or not officer.active:
            raise RosterError(f"{name!r} is not an active officer")
        return officer

    def _on_genesis(self, fields: dict[str, Any], signer: dict[str, Any]) -> None:
        self._require_org(signer, "genesis")
        if self._digests:
            raise RosterError("a second genesis")
        if _str(fields, "org") != self.org.raw.hex():
            raise RosterError("the roster belongs to another organisation key")
        self._on_rules(fields, signer)

    def _on_rules(self, fields: dict[str, Any], signer: dict[str, Any]) -> None:
        self._require_org(signer, "rules")
        rules = fields.get("rules")
        if not isinstance(rules, dict) or set(rules) != {"officer_may_assign", "officer_may_leave"}:
            raise RosterError("roster rules are malformed")
        if not all(isinstance(v, bool) for v in rules.values()):
            raise RosterError("roster rules are malformed")
        self.rules = Rules(**rules)

    def _on_enrol(self, fields: dict[str, Any], signer: dict[str, Any]) -> None:
        self._require_org(signer, "enrol")
        cert = self._certificate(fields, Role.HANDLER)
        if cert.name in self._officers:
            # A revoked name stays revoked: a new enrolment needs a new name.
            raise RosterError(f"{cert.name!r} is already on the roster")
        self._officers[cert.name] = _Officer(cert)

    def _on_renew(self, fields: dict[str, Any], signer: dict[str, Any]) -> None:
        self._require_org(signer, "renew")
        cert = self._certificate(fields, Role.HANDLER)
        officer = self._active(cert.name)
        if cert.key_version != officer.cert.key_version + 1:
            raise RosterError(f"a renewal of {cert.name!r} skips a key version")
        officer.past.append(officer.cert)
        officer.cert = cert

    def _on_revoke(self, fields: dict[str, Any], signer: dict[str, Any]) -> None:
        self._require_org(signer, "revoke")
        name = _str(fields, "name")
        self._active(name).active = False
        self._intake = tuple(n for n in self._intake if n != name)
        for names in self._cases.values():
            names.discard(name)

    def _on_intake(self, fields: dict[str, Any], signer: dict[str, Any]) -> None:
        self._require_org(signer, "intake")
        names = _names(fields, "names")
        for name in names:
            self._active(name)
        self._intake = names

    def _on_relay_key(self, fields: dict[str, Any], signer: dict[str, Any]) -> None:
        self._require_org(signer, "relay_key")
        cert = self._certificate(fields, Role.BOT)
        if self._relay and cert.key_version <= max(self._relay):
            raise RosterError("a relay key version that is not newer than the last")
        self._relay[cert.key_version] = _RelayKey(cert)

    def _on_retire_relay_key(self, fields: dict[str, Any], signer: dict[str, Any]) -> None:
        self._require_org(signer, "retire_relay_key")
        key = self._relay.get(_int(fields, "version"))
        if key is None or key.last_seq is not None:
            raise RosterError("retiring a relay key that is not in force")
        if not any(k.last_seq is None and k is not key for k in self._relay.values()):
            raise RosterError("retiring the only relay key in force")
        key.last_seq = _int(fields, "last_seq")

    def _on_open_case(self, fields: dict[str, Any], signer: dict[str, Any]) -> None:
        case_id = _str(fields, "case_id")
        if case_id in self._cases:
            raise RosterError(f"case {case_id} is already open")
        names = _names(fields, "handlers")
        if signer.get("role") == "relay":
            if list(names) != sorted(self.intake_handlers()):
                raise RosterError(f"case {case_id} is not assigned to the intake officers")
        else:
            # The organisation adopts cases a store held before its roster (roster-init).
            self._require_org(signer, "open_case")
            if not names:
                raise RosterError(f"case {case_id} would have no officer")
            for name in names:
                self._active(name)
        self._cases[case_id] = set(names)

    def _on_assign(self, fields: dict[str, Any], signer: dict[str, Any]) -> None:
        case_id, name = _str(fields, "case_id"), _str(fields, "name")
        names = self._cases.get(case_id)
        if names is None:
            raise RosterError(f"case {case_id} is not open")
        if signer.get("role") == "handler":
            if not self.rules.officer_may_assign or signer.get("name") not in names:
                raise RosterError(f"only an officer assigned to {case_id} may add a colleague")
        else:
            self._require_org(signer, "assign")
        self._active(name)
        if name in names:
            raise RosterError(f"{name!r} is already assigned to {case_id}")
        names.add(name)

    def _on_leave(self, fields: dict[str, Any], signer: dict[str, Any]) -> None:
        case_id, name = _str(fields, "case_id"), _str(fields, "name")
        names = self._cases.get(case_id)
        if names is None or name not in names:
            raise RosterError(f"{name!r} is not assigned to {case_id}")
        if signer.get("role") == "handler":
            if not self.rules.officer_may_leave or signer.get("name") != name:
                raise RosterError("an officer may only take themself off a case")
        else:
            self._require_org(signer, "leave")
        if names == {name}:
            raise RosterError(f"{case_id} would have no officer left")
        names.discard(name)


class HeadMemory:
    """The last roster head this reader verified, kept in a small file of its own.

    A log that no longer holds that entry, or holds a different one there, was truncated
    or rolled back: :meth:`check` raises RosterError, and the caller raises the alarm.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._written: Head | None = None  # what this process last wrote there

    def check(self, roster: Roster) -> None:
        try:
            raw = self.path.read_text(encoding="ascii").split()
        except FileNotFoundError:
            return
        except OSError as exc:
            raise RosterError(
                f"cannot read the roster head in {self.path}: {exc.strerror}"
            ) from None
        try:
            seq, digest = int(raw[0]), bytes.fromhex(raw[1])
        except (IndexError, ValueError):
            raise RosterError(f"{self.path} is not a roster head") from None
        if roster.digest_at(seq) != digest:
            raise RosterError(
                f"the roster no longer holds entry {seq} as this reader last verified it: "
                "it was truncated or rolled back"
            )

    def remember(self, roster: Roster) -> None:
        head = roster.head
        if head == self._written:
            return
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(f"{head.seq} {head.digest.hex()}\n", encoding="ascii")
        tmp.replace(self.path)
        self._written = head
