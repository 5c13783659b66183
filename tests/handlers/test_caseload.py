"""A caseload (issue 15, item 3): labels and tags sealed to the case's officers, search in
decrypted content held in memory only, filters, sort by last activity, reply templates.

Every test runs on the store file and through the gateway (conftest.py)."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import pytest

import store
from crypto import Direction, SigningKeyPair, seal, unverified_header
from handlers._errors import NotAssignedError, UsageError
from handlers.cases import View, list_cases, list_view
from handlers.compose import send_note, send_reply
from handlers.labels import CaseLabel, current_labels, encode_label, label_of, set_label
from handlers.manage import assign
from handlers.search import search_content
from handlers.templates import load_templates, pick_template
from handlers.thread import load_thread
from tests.handlers.conftest import CASE_A, CASE_B, CASE_C, World

BOTH_PATHS = True

LABEL = "Ministry tender ZQXLABEL"
SECRET = "the warehouse on Quay Street"


def files_under(*roots: Path) -> list[Path]:
    return [p for root in roots if root.exists() for p in root.rglob("*") if p.is_file()]


def containing(needle: bytes, *roots: Path) -> list[Path]:
    found = []
    for path in files_under(*roots):
        try:
            data = path.read_bytes()
        except OSError:
            continue
        if needle in data:
            found.append(path)
    return found


async def label_now(world: World, name: str, case_id: str) -> CaseLabel | None:
    session = await world.session(name)
    case = await session.reader.get_case(case_id)
    assert case is not None
    return (await label_of(session, case_id, case.activity_seq)).label


# -- labels ---------------------------------------------------------------------------------


async def test_a_label_is_shared_by_the_cases_officers_and_the_newest_wins(cases: World) -> None:
    alice = await cases.session("alice")
    await set_label(alice, CASE_B, LABEL, "procurement, urgent")
    for name in ("alice", "bob"):
        label = await label_now(cases, name, CASE_B)
        assert label is not None
        assert (label.label, label.tags) == (LABEL, ("procurement", "urgent"))
    bob = await cases.session("bob")
    await set_label(bob, CASE_B, "Tender, second source", ["#urgent"])
    # alice's session knew the old label: the case's activity moved, so she reads it again
    labels = await current_labels(
        alice, [(c.case_id, c.activity_seq) for c in (await list_cases(alice)).items]
    )
    assert labels[CASE_B].words() == "Tender, second source · #urgent"
    assert CASE_A not in labels
    await set_label(alice, CASE_B, "")
    assert (await label_now(cases, "alice", CASE_B)) == CaseLabel()  # cleared
    # The thread keeps each change, and says who made it.
    thread = await load_thread(await cases.session("bob"), CASE_B)
    changes = [(i.author, i.text) for i in thread if i.kind == "label"]
    assert changes == [
        ("alice", f"{LABEL} · #procurement #urgent"),
        ("bob", "Tender, second source · #urgent"),
        ("alice", ""),
    ]


async def test_a_label_is_sealed_the_store_file_never_holds_it(cases: World) -> None:
    alice = await cases.session("alice")
    await set_label(alice, CASE_A, LABEL, "zqxtag")
    await cases.store.checkpoint()
    data_dir = cases.config.data_dir
    assert containing(b"ZQXLABEL", cases.root) == []
    assert containing(b"zqxtag", cases.root) == []
    # It is a note wrapped for the case's officers only: never for the relay, never queued.
    [envelope] = [
        e for e in await cases.store.list_envelopes(CASE_A) if e.direction is store.Direction.NOTE
    ]
    alice_key = cases.identities["alice"].encryption.public.key_id
    assert set(envelope.wraps) == {alice_key}
    assert await cases.store.list_outbox(CASE_A) == []
    assert data_dir.is_dir()


async def test_no_label_for_a_case_that_is_not_yours(cases: World) -> None:
    alice = await cases.session("alice")
    with pytest.raises(NotAssignedError):
        await set_label(alice, CASE_C, "not mine")
    assert [
        e for e in await cases.store.list_envelopes(CASE_C) if e.direction.value == "note"
    ] == []


async def test_a_colleague_assigned_later_reads_the_label(cases: World) -> None:
    alice = await cases.session("alice")
    await set_label(alice, CASE_A, LABEL)
    await assign(alice, CASE_A, "carol", hand_over=False)
    label = await label_now(cases, "carol", CASE_A)
    assert label is not None and label.label == LABEL


async def test_a_label_that_is_not_well_formed_is_refused(cases: World) -> None:
    alice = await cases.session("alice")
    for label, tags in (("x" * 61, ""), ("ok", "a" * 25), ("ok", "1 2 3 4 5 6 7 8 9")):
        with pytest.raises(UsageError):
            await set_label(alice, CASE_A, label, tags)
    assert await label_now(cases, "alice", CASE_A) is None


async def test_a_plain_note_is_no_label(cases: World) -> None:
    alice = await cases.session("alice")
    await set_label(alice, CASE_A, LABEL)
    await send_note(alice, CASE_A, '{"v":1,"type":"label","label":"typed in a note"}')
    label = await label_now(cases, "alice", CASE_A)
    assert label is not None and label.label == LABEL


async def test_a_label_forged_by_someone_with_store_access_is_not_shown(cases: World) -> None:
    """A label record signed by a key the roster does not certify is unreadable."""
    await set_label(await cases.session("alice"), CASE_A, LABEL)
    alice_key = cases.identities["alice"].encryption.public
    forged = seal(
        encode_label(CaseLabel(label="FORGED")),
        case_id=CASE_A,
        direction=Direction.NOTE,
        recipients=[alice_key],
        signer=SigningKeyPair.generate(),
    )
    message_id = unverified_header(forged.core).message_id
    await cases.store.add_envelope(
        message_id, CASE_A, store.Direction.NOTE, forged.core, dict(forged.wraps)
    )
    label = await label_now(cases, "alice", CASE_A)
    assert label is not None and label.label == LABEL


# -- search ---------------------------------------------------------------------------------


async def test_search_finds_decrypted_text_in_my_recent_cases_only(cases: World) -> None:
    await cases.incoming(CASE_A, f"They keep the files in {SECRET}.")
    await cases.incoming(CASE_C, f"Bob's source also mentions {SECRET}.")
    alice = await cases.session("alice")
    await send_reply(alice, CASE_B, "Do you know QUAY street well?")
    result = await search_content(alice, "quay street")
    assert [(h.case_id, h.direction.value) for h in result.hits] == [
        (CASE_B, "out"),
        (CASE_A, "in"),
    ]
    assert "Quay Street" in result.hits[1].snippet
    assert result.cases == 2  # CASE_C is bob's
    # A second search decrypts only what arrived since.
    await cases.incoming(CASE_A, "And the Quay Street gate is open at night.")
    again = await search_content(alice, "quay street")
    assert len(again.hits) == 3
    assert (await search_content(alice, "nowhere to be found")).hits == ()
    with pytest.raises(UsageError):
        await search_content(alice, " q ")


async def test_search_looks_at_the_most_recent_cases(cases: World) -> None:
    await cases.incoming(CASE_A, f"old case: {SECRET}")
    await cases.incoming(CASE_B, "newest case")  # CASE_B is now the most recent
    alice = await cases.session("alice")
    assert (await search_content(alice, SECRET, recent=1)).hits == ()
    assert len((await search_content(alice, SECRET, recent=2)).hits) == 1


def written_since(root: Path, since: float) -> list[Path]:
    """Files under ``root`` changed since ``since`` (other people's unreadable ones left out)."""
    out = []
    for folder, _, names in os.walk(root, onerror=lambda _exc: None):
        for name in names:
            path = Path(folder) / name
            try:
                if path.is_file() and path.stat().st_mtime >= since:
                    out.append(path)
            except OSError:
                continue
    return out


async def test_search_writes_nothing_to_disk(cases: World) -> None:
    await cases.incoming(CASE_A, f"Meet me at {SECRET}.")
    began = time.time() - 1
    alice = await cases.session("alice")
    result = await search_content(alice, "QUAY STREET")
    assert len(result.hits) == 1 and SECRET in result.hits[0].snippet
    await cases.store.checkpoint()
    needles = [SECRET.encode(), b"Quay Street", b"QUAY STREET", "Quay Street".encode("utf-16-le")]
    for needle in needles:
        assert containing(needle, cases.root) == [], needle  # the data dir, store, WAL, keys
    for path in written_since(Path(tempfile.gettempdir()), began):
        if path.is_relative_to(cases.root):
            continue
        try:
            data = path.read_bytes()
        except OSError:
            continue
        assert not any(needle in data for needle in needles), path


async def test_search_audits_reading_once(cases: World) -> None:
    alice = await cases.session("alice")
    await search_content(alice, "tender")
    await search_content(alice, "tender")
    reads = [e for e in await cases.store.list_audit(action="read", limit=100)]
    assert sorted(e.case_id or "" for e in reads) == sorted([CASE_A, CASE_B])


# -- filters and order -----------------------------------------------------------------------


async def test_filters_unread_awaiting_mine_team(cases: World) -> None:
    alice = await cases.session("alice")
    await send_reply(alice, CASE_B, "We read you.")  # CASE_B no longer awaits a reply
    await alice.workspace.port.mark_read(alice, CASE_A, 10**6)  # CASE_A read

    async def ids(view: View) -> list[str]:
        return [c.case_id for c in (await list_view(alice, view)).items]

    assert await ids(View.ALL) == [CASE_B, CASE_A]  # most recently active first
    assert await ids(View.UNREAD) == [CASE_B]
    assert await ids(View.AWAITING) == [CASE_A]
    assert await ids(View.MINE) == [CASE_A]
    assert await ids(View.TEAM) == [CASE_B]
    assert [c.case_id for c in (await list_view(await cases.session("bob"), View.MINE)).items] == [
        CASE_C
    ]


async def test_a_filtered_view_pages_and_stops_looking_at_its_bound(world: World) -> None:
    ids = [f"{n}ABC-DEFG-HJK{c}" for n, c in zip("2345", "MNPQ", strict=True)]
    for case_id in ids:
        await world.case(case_id, ["alice"])
        await world.incoming(case_id, "hello")
    alice = await world.session("alice")
    first = await list_view(alice, View.UNREAD, limit=3)
    assert [c.case_id for c in first.items] == ids[::-1][:3]
    assert first.next_cursor is not None
    rest = await list_view(alice, View.UNREAD, before=first.next_cursor, limit=3)
    assert [c.case_id for c in rest.items] == [ids[0]] and rest.next_cursor is None
    bounded = await list_view(alice, View.UNREAD, scan=2, limit=10)
    assert len(bounded.items) == 2 and bounded.next_cursor is not None


# -- templates -------------------------------------------------------------------------------


async def test_templates_per_language(cases: World) -> None:
    data_dir = cases.config.data_dir
    (data_dir / "templates.toml").write_text(
        '[en]\nthanks = "Thank you, we read it."\n\n[ru]\nthanks = "Спасибо, прочитали."\n',
        encoding="utf-8",
    )
    assert [(t.language, t.name) for t in load_templates(data_dir)] == [
        ("en", "thanks"),
        ("ru", "thanks"),
    ]
    assert pick_template(data_dir, "thanks", "ru").text == "Спасибо, прочитали."
    with pytest.raises(UsageError, match="templates in de: none"):
        pick_template(data_dir, "thanks", "de")
    (data_dir / "templates.toml").write_text("[en]\nthanks = 3\n", encoding="utf-8")
    with pytest.raises(UsageError, match=r"en\.thanks"):
        load_templates(data_dir)


async def test_nothing_is_kept_once_the_memory_is_cleared(cases: World) -> None:
    """A read still under way when the console locks keeps nothing it decrypts."""
    alice = await cases.session("alice")
    await set_label(alice, CASE_A, LABEL)
    case = await alice.reader.get_case(CASE_A)
    assert case is not None
    await label_of(alice, CASE_A, case.activity_seq)
    await search_content(alice, "tender")
    assert alice.memory.texts and alice.memory.labels
    alice.memory.clear()
    known = await label_of(alice, CASE_A, case.activity_seq)
    assert known.label is not None and known.label.label == LABEL  # (still answered)
    await search_content(alice, "tender")
    assert alice.memory.texts == {} and alice.memory.labels == {}
