"""Forwards keep only the kind of their origin (issue 13, item 4; ADR 0077).

A source who forwards their own earlier message (from another chat) hands the bot their
own Telegram identity in ``forward_origin``; one who hides their account still hands over
their name; a group or a private channel names a place they belong to. None of it may
reach the store, nor what the officer's console shows. A public channel keeps its public
title and address, the post's number and date, so the officer can find the post.
"""

from __future__ import annotations

import json
import secrets
import time

import pytest
from telegram import Bot

from bot.incoming import parse_update
from core.payload import SourceMessage, forward_origin
from handlers.identity import HandlerIdentity
from handlers.session import open_workspace, start_session
from handlers.thread import ThreadItem, load_thread
from handlers.tui.render import item_text, origin_text
from tests.support.relay_env import RelayEnv, onboard

from .test_relay_canary import encodings, id_forms, scan

PUBLIC_DATE = 1_765_000_000


async def console_view(env: RelayEnv, case_id: str) -> list[ThreadItem]:
    """The thread as alice's console opens it (handlers/, not the test's own decryption)."""
    workspace = await open_workspace(env.config)
    try:
        keys = env.handlers[0]
        session = start_session(
            workspace, HandlerIdentity(name="alice", encryption=keys.enc, signing=keys.sign)
        )
        return await load_thread(session, case_id)
    finally:
        await workspace.store.close()


def shown(items: list[ThreadItem]) -> str:
    """Everything the console shows of the thread: the TUI's text and `show --json`."""
    return "\n".join(item_text(i).plain + "\n" + json.dumps(i.to_json()) for i in items)


async def test_forwards_keep_only_the_kind_of_their_origin(env, sim):
    canary = {
        "first name": "Fwdf" + secrets.token_hex(5),
        "last name": "Fwdl" + secrets.token_hex(5),
        "username": "fwdu" + secrets.token_hex(5),
        "signature": "Fwds" + secrets.token_hex(5),
        "private channel": "Fwdc" + secrets.token_hex(5),
        "group": "Fwdg" + secrets.token_hex(5),
    }
    user_id = 7_000_000_000 + secrets.randbelow(10**9)
    user = sim.add_user(
        id=user_id,
        first_name=canary["first name"],
        last_name=canary["last name"],
        username=canary["username"],
    )
    source = await onboard(env, sim, user=user)
    own_name = f"{canary['first name']} {canary['last name']}"
    sent = [
        # Their own message, forwarded from another chat: their own account is the origin.
        await user.send_forwarded("my own words, forwarded", from_user=user),
        # The same with "hide my account" on: Telegram still gives the name.
        await user.send_forwarded("hidden, forwarded", sender_name=own_name),
        await user.send_forwarded(
            "private channel post",
            channel_title=canary["private channel"],
            author_signature=canary["signature"],
        ),
        await user.send_forwarded(
            "posted in a group as its admin",
            group_title=canary["group"],
            author_signature=canary["signature"],
        ),
    ]
    await user.send_forwarded(
        "public channel post",
        channel_title="Open Ministry News",
        channel_username="openministry",
        channel_message_id=42,
        author_signature=canary["signature"],
        date=PUBLIC_DATE,
    )
    await env.pump()

    messages = await env.source_messages(source.case.case_id, env.handlers[0])
    items = await console_view(env, source.case.case_id)
    view = shown(items)
    needles = {name: encodings(value) for name, value in canary.items()}
    needles["user id"] = id_forms(user_id)
    bodies = [m.model_dump_json().encode() for m in messages]
    # Not in what the handler decrypts, not in what the console shows...
    assert scan(env.config.data_dir / "nowhere", [*bodies, view.encode()], needles) == {}
    # ...and not in the store's files (database, WAL, shared memory), in any encoding.
    assert (env.config.data_dir / "writein.db").stat().st_size > 0
    assert scan(env.config.data_dir, [], needles) == {}
    # The scan finds what it looks for: the forwards as Telegram sent them name the source.
    as_sent = json.dumps([m.raw for m in sent], ensure_ascii=False).encode()
    assert set(scan(env.config.data_dir / "nowhere", [as_sent], needles)) == set(needles)

    assert [(m.text, m.forward_origin) for m in messages] == [
        ("my own words, forwarded", {"type": "user"}),
        ("hidden, forwarded", {"type": "hidden_user"}),
        ("private channel post", {"type": "channel"}),
        ("posted in a group as its admin", {"type": "chat"}),
        (
            "public channel post",
            {
                "type": "channel",
                "chat_title": "Open Ministry News",
                "chat_username": "openministry",
                "message_id": 42,
                "date": PUBLIC_DATE,
            },
        ),
    ]
    assert "Forwarded from a Telegram account (writein keeps no name)" in view
    assert "Forwarded from a group (writein keeps no name)" in view
    assert "Forwarded from the public channel “Open Ministry News” (t.me/openministry/42)" in view


LEGACY = {
    "own account": ({"forward_from": "USER", "forward_date": 1}, {"type": "user"}),
    "hidden account": (
        {"forward_sender_name": "NAME", "forward_date": 1},
        {"type": "hidden_user"},
    ),
    "group": (
        {
            "forward_from_chat": {"id": -100, "type": "supergroup", "title": "NAME"},
            "forward_signature": "NAME",
            "forward_date": 1,
        },
        {"type": "chat"},
    ),
    "private channel": (
        {
            "forward_from_chat": {"id": -100, "type": "channel", "title": "NAME"},
            "forward_from_message_id": 7,
            "forward_signature": "NAME",
            "forward_date": 1,
        },
        {"type": "channel"},
    ),
    "public channel": (
        {
            "forward_from_chat": {"id": -100, "type": "channel", "title": "News", "username": "n"},
            "forward_from_message_id": 7,
            "forward_signature": "NAME",
            "forward_date": 1,
        },
        forward_origin("channel", chat_title="News", chat_username="n", message_id=7, date=1),
    ),
}


@pytest.mark.parametrize(("fields", "kept"), LEGACY.values(), ids=LEGACY.keys())
def test_legacy_forward_fields_keep_only_the_kind(fields, kept):
    """Before Bot API 7.0 (an old self-hosted server) forwards came in forward_* fields."""
    name = "Legacy" + secrets.token_hex(5)
    me = {"id": 5_123_456_789, "is_bot": False, "first_name": name, "username": name.lower()}
    filled = json.loads(json.dumps(fields).replace('"USER"', json.dumps(me)).replace("NAME", name))
    raw = {
        "update_id": 9,
        "message": {
            "message_id": 3,
            "date": 1_765_000_000,
            "chat": {"id": me["id"], "type": "private", "first_name": name},
            "from": me,
            "text": "forwarded long ago",
            **filled,
        },
    }
    incoming = parse_update(json.dumps(raw).encode(), Bot("1234567:" + "A" * 35))
    assert incoming is not None and incoming.forward_origin == kept
    assert name not in json.dumps(incoming.forward_origin)


def test_old_bodies_with_names_still_render(monkeypatch):
    """Bodies sealed before ADR 0077 kept names: they still decode and show as they were."""
    monkeypatch.setenv("TZ", "UTC")  # the console shows local time; make it UTC here
    time.tzset()
    try:
        _old_bodies_render()
    finally:
        monkeypatch.undo()
        time.tzset()


def _old_bodies_render() -> None:
    old = SourceMessage(
        kind="text",
        text="x",
        forward_origin={"type": "user", "date": 1_700_000_000, "sender_name": "Olga Ivanova"},
    )
    assert origin_text(old.forward_origin or {}) == (
        "“Olga Ivanova” (a Telegram account), first posted 2023-11-14 22:13 UTC"
    )
    assert origin_text({"type": "hidden_user"}) == (
        "a hidden account (its owner hides it from forwards)"
    )
    assert origin_text({"type": "something new"}) == "an origin Telegram does not name"
