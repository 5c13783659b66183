"""Handlers and the relay's own keys."""

from __future__ import annotations

import pytest

from store import (
    ConflictError,
    HandlerStatus,
    KeyPurpose,
    KeyStatus,
    NotFoundError,
)

from .conftest import NOW, new_case


async def test_add_get_list_handlers(store):
    alice = await store.add_handler("alice", b"cert-a", default_intake=True, now=NOW)
    await store.add_handler("bob", b"cert-b", now=NOW)
    assert alice.status is HandlerStatus.ACTIVE
    assert alice.default_intake is True
    assert alice.added_on == NOW.date()
    assert await store.get_handler("alice") == alice
    assert await store.get_handler("carol") is None
    assert [h.name for h in await store.list_handlers()] == ["alice", "bob"]
    with pytest.raises(ConflictError):
        await store.add_handler("alice", b"again", now=NOW)


async def test_revoke_handler(store):
    await store.add_handler("alice", b"cert", default_intake=True, now=NOW)
    case = await new_case(store)
    await store.assign_handler(case.case_id, "alice")
    await store.revoke_handler("alice")
    alice = await store.get_handler("alice")
    assert alice.status is HandlerStatus.REVOKED
    assert alice.default_intake is False
    assert await store.list_handlers(status=HandlerStatus.ACTIVE) == []
    assert [h.name for h in await store.list_handlers(status=HandlerStatus.REVOKED)] == ["alice"]
    assert await store.list_case_handlers(case.case_id) == ["alice"]
    with pytest.raises(ConflictError):
        await store.set_handler_default_intake("alice", True)
    with pytest.raises(ConflictError):
        await store.set_handler_certificate("alice", b"new")
    with pytest.raises(ConflictError):
        await store.add_handler("alice", b"reuse", now=NOW)
    with pytest.raises(NotFoundError):
        await store.revoke_handler("carol")


async def test_default_intake_and_certificate(store):
    await store.add_handler("alice", b"cert", now=NOW)
    await store.set_handler_default_intake("alice", True)
    assert (await store.get_handler("alice")).default_intake is True
    await store.set_handler_default_intake("alice", False)
    assert (await store.get_handler("alice")).default_intake is False
    await store.set_handler_certificate("alice", b"rotated")
    assert (await store.get_handler("alice")).certificate == b"rotated"
    with pytest.raises(NotFoundError):
        await store.set_handler_default_intake("carol", True)
    with pytest.raises(NotFoundError):
        await store.set_handler_default_intake("carol", False)


async def test_relay_keys(store):
    delivery1 = await store.add_relay_key(KeyPurpose.DELIVERY, 1, b"pub-1", now=NOW)
    await store.add_relay_key(KeyPurpose.DELIVERY, 2, b"pub-2", now=NOW)
    await store.add_relay_key(KeyPurpose.SIGNING, 1, b"sig-1", now=NOW)
    await store.add_relay_key(KeyPurpose.PEPPER, 1, b"pepper-id", now=NOW)
    await store.add_relay_key(KeyPurpose.AT_REST, 1, b"at-rest", status=KeyStatus.RETIRING)
    assert delivery1.status is KeyStatus.ACTIVE and delivery1.created_on == NOW.date()
    assert await store.get_relay_key(KeyPurpose.DELIVERY, 1) == delivery1
    assert await store.get_relay_key(KeyPurpose.DELIVERY, 3) is None
    await store.set_relay_key_status(KeyPurpose.DELIVERY, 1, KeyStatus.RETIRING)
    listed = await store.list_relay_keys(purpose=KeyPurpose.DELIVERY)
    assert [(k.version, k.status) for k in listed] == [
        (1, KeyStatus.RETIRING),
        (2, KeyStatus.ACTIVE),
    ]
    active = await store.list_relay_keys(status=KeyStatus.ACTIVE)
    assert [(k.purpose, k.version) for k in active] == [
        (KeyPurpose.DELIVERY, 2),
        (KeyPurpose.PEPPER, 1),
        (KeyPurpose.SIGNING, 1),
    ]
    assert len(await store.list_relay_keys()) == 5
    with pytest.raises(ConflictError):
        await store.add_relay_key(KeyPurpose.DELIVERY, 2, b"dup")
    with pytest.raises(NotFoundError):
        await store.set_relay_key_status(KeyPurpose.SIGNING, 9, KeyStatus.RETIRED)
    with pytest.raises(ValueError):
        await store.add_relay_key(KeyPurpose.SIGNING, 0, b"zero")
    with pytest.raises(ValueError):
        await store.add_relay_key("master", 1, b"x")
