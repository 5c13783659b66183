"""The append-only, hash-chained audit log and its verification."""

from __future__ import annotations

import hashlib
import itertools
import struct
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from store._audit import GENESIS_HASH, canonical_entry, entry_hash

from .conftest import NOW, Backend


async def fill(store, count=5):
    return [
        await store.append_audit(
            "alice" if i % 2 else "relay",
            "case.assign" if i % 2 else "case.create",
            case_id="7KQ2-M9XD-3HVA" if i % 3 else None,
            detail=f"step {i}",
            now=NOW + timedelta(hours=i),
        )
        for i in range(count)
    ]


async def test_append_and_list(store):
    entries = await fill(store)
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5]
    assert entries[0].prev_hash == GENESIS_HASH
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(entries))
    assert entries[0].at == NOW.date()  # only the day is kept
    assert await store.list_audit() == entries
    assert await store.list_audit(after_seq=3) == entries[3:]
    assert await store.list_audit(limit=2) == entries[:2]
    assert [e.seq for e in await store.list_audit(case_id="7KQ2-M9XD-3HVA")] == [2, 3, 5]


def test_entry_hash_is_a_fixed_layout():
    # Recomputing by hand pins the canonical bytes every backend must produce.
    def s(text):
        data = text.encode()
        return struct.pack(">I", len(data)) + data

    canonical = (
        b"writein/v1/audit"
        + struct.pack(">Q", 1)
        + s("2026-03-01")
        + s("relay")
        + s("case.create")
        + b"\x01"
        + s("7KQ2-M9XD-3HVA")
        + s("")
    )
    expected = hashlib.sha256(GENESIS_HASH + canonical).digest()
    got = entry_hash(GENESIS_HASH, 1, NOW.date(), "relay", "case.create", "7KQ2-M9XD-3HVA", "")
    assert got == expected
    assert entry_hash(GENESIS_HASH, 1, NOW.date(), "relay", "case.create", None, "") != expected


async def test_intact_chain_verifies(store):
    assert (await store.verify_audit_chain()).ok  # empty
    await fill(store, 3)
    result = await store.verify_audit_chain()
    assert result.ok and result.checked == 3 and result.first_broken_seq is None


async def test_the_database_refuses_to_edit_or_delete_entries(store, backend: Backend):
    await fill(store, 2)
    with pytest.raises(Exception, match="append-only"):
        backend.raw("UPDATE audit SET detail = 'x' WHERE seq = 1")
    with pytest.raises(Exception, match="append-only"):
        backend.raw("DELETE FROM audit WHERE seq = 2")
    assert (await store.verify_audit_chain()).ok


async def test_edited_entry_is_detected(store, backend: Backend):
    await fill(store)
    backend.drop_audit_guards()
    backend.raw("UPDATE audit SET detail = 'nothing to see' WHERE seq = 3")
    result = await store.verify_audit_chain()
    assert not result.ok
    assert result.first_broken_seq == 3
    assert result.checked == 2


async def test_edited_entry_with_recomputed_hash_breaks_the_next_link(store, backend: Backend):
    entries = await fill(store)
    backend.drop_audit_guards()
    forged = entries[2]
    new_hash = entry_hash(
        forged.prev_hash, forged.seq, forged.at, forged.actor, "case.close", forged.case_id, ""
    )
    backend.raw(
        "UPDATE audit SET action = 'case.close', detail = '', hash = ? WHERE seq = 3", (new_hash,)
    )
    result = await store.verify_audit_chain()
    assert result.first_broken_seq == 4


async def test_deleted_entry_is_detected(store, backend: Backend):
    await fill(store)
    backend.drop_audit_guards()
    backend.raw("DELETE FROM audit WHERE seq = 2")
    result = await store.verify_audit_chain()
    assert not result.ok and result.first_broken_seq == 2


async def test_deleted_first_entry_is_detected(store, backend: Backend):
    await fill(store)
    backend.drop_audit_guards()
    backend.raw("DELETE FROM audit WHERE seq = 1")
    assert (await store.verify_audit_chain()).first_broken_seq == 1


async def test_cut_off_tail_is_detected(store, backend: Backend):
    await fill(store)
    backend.drop_audit_guards()
    backend.raw("DELETE FROM audit WHERE seq >= 4")
    result = await store.verify_audit_chain()
    assert not result.ok and result.first_broken_seq == 4
    assert result.checked == 3


async def test_appending_after_a_break_still_reports_the_break(store, backend: Backend):
    await fill(store)
    backend.drop_audit_guards()
    backend.raw("UPDATE audit SET actor = 'mallory' WHERE seq = 2")
    await store.append_audit("relay", "key.rotate", now=NOW)
    assert (await store.verify_audit_chain()).first_broken_seq == 2


async def test_audit_head_only_moves_forward(store, backend: Backend):
    await fill(store, 3)
    with pytest.raises(Exception, match="one entry forward"):
        backend.raw("UPDATE audit_head SET seq = 1")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"actor": "", "action": "case.create"},
        {"actor": "relay", "action": "Case Create"},
        {"actor": "relay", "action": "case.create", "detail": "x" * 201},
        {"actor": "relay", "action": "case.create", "detail": "two\nlines"},
        {"actor": "relay", "action": "case.create", "detail": "bidi \u202e trick"},
    ],
)
async def test_bad_audit_arguments_are_refused(store, kwargs):
    actor = kwargs.pop("actor")
    action = kwargs.pop("action")
    with pytest.raises(ValueError):
        await store.append_audit(actor, action, **kwargs)
    assert await store.list_audit() == []


_fields = st.tuples(
    st.integers(min_value=1, max_value=2**63 - 1),
    st.dates(),
    st.text(max_size=20),
    st.text(max_size=20),
    st.none() | st.text(max_size=20),
    st.text(max_size=20),
)


@given(_fields, _fields)
def test_canonical_entries_never_collide(a, b):
    # Length prefixes and the case-id presence byte keep field boundaries unambiguous.
    if a != b:
        assert canonical_entry(*a) != canonical_entry(*b)
