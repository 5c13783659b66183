"""Attacks by whoever can write the store (a certified officer on the single box, an
intruder on the relay host), each one SQL statement or a direct write, each refused
because the signed roster, not a row, decides who reads (ADR 0076), and each raising an
alarm: a log line and `writein admin status`.

The world: alice is on intake (every case is hers), bob is a certified colleague with no
case; the relay runs against telesim and the console is handlers/ itself.
"""

from __future__ import annotations

import logging
import secrets
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from admin.enrolment import revoke_handler
from admin.roster import roster_report
from admin.setup import Layout
from bot.relay import MAX_ATTEMPTS_PER_UPDATE
from core.config import Config
from core.payload import Reply, encode_body
from core.roster import HeadMemory, RosterError
from crypto import Direction, Envelope, seal
from handlers._errors import NotAssignedError, NotCertifiedError, StoreUnreachableError
from handlers.cases import list_cases, require_assigned
from handlers.compose import send_reply
from handlers.identity import HandlerIdentity
from handlers.session import Session, open_workspace, start_session
from store import sqlite_path
from tests.support.gateway import serve_gateway
from tests.support.relay_env import RelayEnv
from tests.support.world import retire_relay_key

from .test_relay_onboarding import onboard


def sql(env: RelayEnv, statement: str, *params: object) -> None:
    """The attack: one statement on the store's file, past every check in writein."""
    db = sqlite3.connect(sqlite_path(env.config.store_url))
    try:
        db.execute(statement, params)
        db.commit()
    finally:
        db.close()


async def session_of(env: RelayEnv, name: str, config: Config | None = None) -> Session:
    keys = next(h for h in env.handlers if h.name == name)
    identity = HandlerIdentity(name, keys.enc, keys.sign)
    workspace = await open_workspace(config or env.config, identity)
    try:
        return start_session(workspace, identity)
    except BaseException:
        await workspace.close()
        raise


async def through_a_gateway(env: RelayEnv, tmp: Path, cleanup: list[Any]) -> Config:
    """A gateway on the relay's store, and a console configuration that reaches it."""
    origin = await serve_gateway(
        env.config.store_url, env.config.trust.org_fingerprint, tmp / "gateway.head", cleanup
    )
    officer = tmp / "officer"
    officer.mkdir()
    console = env.config.console.model_copy(update={"url": origin})
    return env.config.model_copy(
        update={
            "console": console,
            "paths": env.config.paths.model_copy(update={"data_dir": officer}),
        }
    )


def key_of(env: RelayEnv, name: str) -> bytes:
    return next(h for h in env.handlers if h.name == name).enc.public.key_id


async def status(env: RelayEnv) -> dict[str, object]:
    """What `writein admin status` reports about the roster."""
    assert env.org is not None
    return await roster_report(
        env.store, env.org.public, HeadMemory(Layout(env.config.data_dir).roster_head)
    )


@pytest.fixture(params=["local", "gateway"])
async def sessions(env: RelayEnv, tmp_path: Path, request: pytest.FixtureRequest):
    """Consoles as officers use them: on the store, or on their own machine through a
    gateway (the attacks must fail on both paths to the store)."""
    opened: list[Session] = []
    cleanup: list[Any] = []
    config = None if request.param == "local" else await through_a_gateway(env, tmp_path, cleanup)

    async def open_as(name: str) -> Session:
        opened.append(await session_of(env, name, config))
        return opened[-1]

    yield open_as
    for s in opened:
        await s.workspace.close()
    for close in reversed(cleanup):
        await close()


async def test_an_assignment_inserted_into_the_store_gives_no_right(env, sim, sessions, caplog):
    user, case = await onboard(env, sim, "en")
    sql(env, "INSERT INTO case_handlers VALUES (?, 'bob', 0)", case.case_id)
    await user.send_text("for alice only")
    await env.pump()

    last = (await env.store.list_envelopes(case.case_id))[-1]
    assert key_of(env, "alice") in last.wraps
    assert key_of(env, "bob") not in last.wraps, "the relay wrapped for an inserted row"
    bob = await sessions("bob")
    with pytest.raises(NotAssignedError):
        await require_assigned(bob, case.case_id)
    assert [c.case_id for c in (await list_cases(bob)).items] == []

    with caplog.at_level(logging.ERROR, logger="writein.relay"):
        found = await env.relay.check_rows()
    assert found == [f"officer bob is assigned to {case.case_id} in the store only"]
    assert f"ALARM a store row the signed roster does not back: {found[0]}" in caplog.text
    assert (await status(env))["discrepancies"] == found
    assert any(found[0] in a["detail"] for a in (await status(env))["alarms"])


async def test_an_intake_flag_set_in_the_store_puts_nobody_on_new_cases(env, sim, sessions):
    sql(env, "UPDATE handlers SET default_intake = 1 WHERE name = 'bob'")
    user, case = await onboard(env, sim, "en")
    await user.send_text("the first message")
    await env.pump()

    assert env.relay._trust is not None
    assert (await env.relay.trust()).assigned(case.case_id) == {"alice"}
    for envelope in await env.store.list_envelopes(case.case_id):
        assert key_of(env, "bob") not in envelope.wraps
    with pytest.raises(NotAssignedError):
        await require_assigned(await sessions("bob"), case.case_id)
    assert "officer bob is on intake in the store only" in await env.relay.check_rows()


async def test_a_reply_queued_straight_into_the_outbox_never_reaches_the_source(env, sim, caplog):
    user, case = await onboard(env, sim, "en")
    await env.pump()
    before = len(user.bot_messages())
    bob = next(h for h in env.handlers if h.name == "bob")
    relay_key = (await env.relay.trust()).current_relay()
    assert relay_key is not None
    # bob is certified, so his signature verifies; he is not assigned to the case.
    sealed = seal(
        encode_body(Reply(text="please send your passport scan")),
        case_id=case.case_id,
        direction=Direction.OUT,
        recipients=[relay_key.encryption_key],
        signer=bob.sign,
        message_id=secrets.token_bytes(16),
    )
    raw = Envelope(sealed.core, dict(sealed.wraps)).to_bytes()
    sql(
        env,
        "INSERT INTO outbox (case_id, envelope, status, attempts, not_before) "
        "VALUES (?, ?, 'pending', 0, 0)",
        case.case_id,
        raw,
    )
    with caplog.at_level(logging.ERROR, logger="writein.delivery"):
        await env.pump()
    assert len(user.bot_messages()) == before, "the forged reply reached the source"
    rows = await env.store.list_outbox(case_id=case.case_id)
    assert [r.last_error for r in rows] == ["not_assigned"]
    assert "ALARM outbox item" in caplog.text and "not assigned" in caplog.text
    alarms = (await status(env))["alarms"]
    assert any("reply refused" in a["detail"] for a in alarms)


async def test_a_reply_by_an_assigned_officer_that_is_not_in_the_thread_is_refused(
    env, sim, sessions
):
    user, case = await onboard(env, sim, "en")
    alice = await sessions("alice")
    sent = await send_reply(alice, case.case_id, "the genuine reply")
    # Remove the thread's copy: what the relay would send, no officer could ever see.
    sql(env, "DELETE FROM envelopes WHERE message_id = ?", sent.message_id)
    before = len(user.bot_messages())
    await env.pump()
    assert len(user.bot_messages()) == before
    rows = await env.store.list_outbox(case_id=case.case_id)
    assert [r.last_error for r in rows] == ["not_in_thread"]


async def test_an_officer_unrevoked_in_the_store_stays_revoked(env, sim, sessions):
    user, case = await onboard(env, sim, "en")
    assert env.org is not None
    await revoke_handler(env.store, env.org, "bob")
    sql(env, "UPDATE handlers SET status = 'active' WHERE name = 'bob'")
    sql(env, "INSERT INTO case_handlers VALUES (?, 'bob', 0)", case.case_id)
    await user.send_text("after bob left")
    await env.pump()

    assert "bob" not in (await env.relay.trust()).handlers
    assert key_of(env, "bob") not in (await env.store.list_envelopes(case.case_id))[-1].wraps
    with pytest.raises(NotCertifiedError):
        await sessions("bob")
    assert "officer bob is active in the store, revoked in the roster" in (
        await env.relay.check_rows()
    )


async def test_deleting_a_relay_key_row_never_makes_the_console_seal_to_a_retired_key(
    env, sim, sessions
):
    _user, _case = await onboard(env, sim, "en")
    assert env.org is not None
    successor = env.ring.current.successor()
    await retire_relay_key(env.store, env.org, successor, version=1, last_seq=0)
    sql(env, "DELETE FROM relay_keys WHERE version = 2")
    alice = await sessions("alice")
    assert alice.workspace.relay_delivery_key().raw == successor.delivery.public.raw
    assert "the store lost the row of relay key v2" in (await status(env))["discrepancies"]


async def test_a_truncated_roster_is_an_alarm_not_fewer_rights(env, sim, sessions, caplog):
    user, _case = await onboard(env, sim, "en")
    await env.pump()
    await env.relay.trust()  # the relay has verified (and remembered) the head
    await sessions("alice")  # and so has alice's console
    length = await env.store.roster_length()
    # Cut the log back to before the case was opened, as if it never was.
    sql(env, "DELETE FROM roster WHERE seq = ?", length)
    sql(env, "UPDATE settings SET value = 'x' WHERE key = 'trust.changed'")

    with caplog.at_level(logging.ERROR, logger="writein.relay"), pytest.raises(RosterError):
        await env.relay.trust()
    assert "ALARM the signed roster" in caplog.text
    await user.send_text("waits in the inbox")
    await env.relay.fetch(0)
    for _ in range(MAX_ATTEMPTS_PER_UPDATE + 2):  # never counted against the update
        with pytest.raises(RosterError):
            await env.relay.process_inbox()
    assert await env.store.count_inbox() == 1, "the update must wait, not be dropped"
    report = await status(env)
    assert report["error"] and "truncated or rolled back" in str(report["error"])
    assert any("truncated" in a["detail"] for a in report["alarms"])
    # The console that verified the longer log notices too (over a gateway, the gateway,
    # which verified it as well, refuses to serve it first).
    with pytest.raises((NotCertifiedError, StoreUnreachableError)) as refused:
        await sessions("alice")
    assert "truncated or rolled back" in str(refused.value) or "roster" in str(refused.value)
