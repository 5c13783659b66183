"""Handler replies reaching the source through telesim: faults, forgeries, pacing, deletion."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

import pytest

from bot.delivery import DELETION_BATCH, DELETION_LEASE, backoff
from bot.pace import PER_CHAT_BURST, PER_CHAT_INTERVAL, Pace
from crypto import SigningKeyPair
from store import CaseFlag, OutboxStatus
from tests.support.chat import said
from tests.support.relay_env import Onboarded, RelayEnv, fast_backoff, no_pace, onboard, sim_clock

# The delivery pipeline, checked on loud replies (quiet_replies = false), whose text tells
# each one apart. Quiet replies go out through the same send, with a neutral text and a
# button: tests/bot/test_quiet_replies.py. A test's own relay_config mark replaces this one,
# so those marks repeat quiet_replies=False.
pytestmark = pytest.mark.relay_config(quiet_replies=False)


def replies(source: Onboarded) -> list[str]:
    """The replies the source can see, as shown."""
    prefix = said("en", "reply.body", text="")
    return [m.text for m in source.user.bot_messages() if m.text and m.text.startswith(prefix)]


async def deliver_all(env: RelayEnv) -> int:
    count = 0
    while await env.relay.delivery.deliver_one():
        count += 1
    return count


async def test_reply_is_protected_prefixed_and_anonymous(env, sim, source):
    alice = env.handlers[0]
    await env.reply(source.case.case_id, alice, "Thanks. <i>Who</i> else & knows?")
    await env.pump()
    message = source.user.last_bot_message()
    assert message.text == said("en", "reply.body", text="Thanks. <i>Who</i> else & knows?")
    assert message.protect_content
    (call,) = sim.calls_to("sendMessage")[-1:]
    assert call.params["protect_content"] is True and call.params["parse_mode"] == "HTML"
    assert "alice" not in str(call.params).lower()
    (item,) = await env.outbox(source.case.case_id)
    assert item.status is OutboxStatus.SENT and item.envelope is None  # wiped once sent


@pytest.mark.relay_config(pace=no_pace(), quiet_replies=False)
@pytest.mark.parametrize("timedelta_env", ["true", None], ids=["timedelta", "int"])
@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_429_waits_retry_after_then_delivers_once(
    env, sim, source, monkeypatch, timedelta_env
):
    if timedelta_env is None:  # PTB's older behaviour: retry_after as an int
        monkeypatch.delenv("PTB_TIMEDELTA")
    fault = sim.faults.add(method="sendMessage", error=429, retry_after=7, times=1)
    await env.reply(source.case.case_id, env.handlers[0], "after the flood")
    assert await deliver_all(env) == 1
    assert fault.hits == 1 and replies(source) == []
    (item,) = await env.outbox(source.case.case_id)
    assert (item.status, item.last_error) == (OutboxStatus.PENDING, "http_429")
    (refused,) = sim.calls_to("sendMessage")[-1:]
    assert item.not_before.timestamp() >= refused.at + 7  # never early, whole seconds or not
    sim.clock.advance(seconds=6)
    assert await deliver_all(env) == 0  # not before retry_after has passed
    sim.clock.advance(seconds=2)
    assert await deliver_all(env) == 1
    assert replies(source) == [said("en", "reply.body", text="after the flood")]
    again, sent = sim.calls_to("sendMessage")[-2:]
    assert again == refused and (refused.error_code, sent.ok) == (429, True)
    assert sent.at - refused.at >= 7
    (item,) = await env.outbox(source.case.case_id)
    assert item.status is OutboxStatus.SENT


@pytest.mark.relay_config(backoff=fast_backoff, pace=no_pace(), quiet_replies=False)
@pytest.mark.parametrize(
    "fault", [{"error": 500}, {"error": 502}, {"drop": True}], ids=["500", "502", "dropped"]
)
async def test_server_error_or_dropped_connection_backs_off_then_delivers(env, sim, source, fault):
    sim.faults.add(method="sendMessage", times=2, **fault)
    await env.reply(source.case.case_id, env.handlers[0], "eventually")
    for attempt in (1, 2):
        assert await deliver_all(env) == 1
        (item,) = await env.outbox(source.case.case_id)
        assert (item.status, item.last_error, item.attempts) == (
            OutboxStatus.PENDING,
            "network",
            attempt,
        )
        assert await deliver_all(env) == 0  # backing off
        sim.clock.advance(seconds=2)
    assert await deliver_all(env) == 1
    assert replies(source) == [said("en", "reply.body", text="eventually")]
    assert [c.ok for c in sim.calls_to("sendMessage")[-3:]] == [False, False, True]


def test_default_backoff_grows():
    waits = [backoff(n) for n in range(1, 12)]
    assert waits == sorted(waits) and waits[0] >= timedelta(seconds=1)
    assert waits[-1] == timedelta(seconds=300)


@pytest.mark.relay_config(pace=no_pace(), quiet_replies=False)
async def test_blocked_bot_marks_case_unreachable(env, sim, source):
    await source.user.block()
    await env.reply(source.case.case_id, env.handlers[0], "are you there?")
    await env.pump()
    (item,) = await env.outbox(source.case.case_id)
    assert (item.status, item.last_error, item.envelope) == (OutboxStatus.FAILED, "blocked", None)
    case = await env.store.get_case(source.case.case_id)
    assert CaseFlag.UNREACHABLE in case.flags
    # Back again, the source can see that a reply did not reach them.
    await source.user.unblock()
    await source.user.send_text("/status")
    await env.pump()
    status = source.user.last_bot_message().text
    assert said("en", "status.delivery.not_working") in status
    # The next reply that arrives clears the flag.
    await env.reply(source.case.case_id, env.handlers[0], "try again")
    await env.pump()
    assert replies(source) == [said("en", "reply.body", text="try again")]
    case = await env.store.get_case(source.case.case_id)
    assert CaseFlag.UNREACHABLE not in case.flags


def flip(db_path: str, outbox_id: int, position: int) -> None:
    """Change one byte of an outbox envelope, as someone with only the database could."""
    with sqlite3.connect(db_path) as db:
        (blob,) = db.execute("SELECT envelope FROM outbox WHERE id = ?", (outbox_id,)).fetchone()
        data = bytearray(blob)
        data[position % len(data)] ^= 0x01
        db.execute("UPDATE outbox SET envelope = ? WHERE id = ?", (bytes(data), outbox_id))
    db.close()


async def assert_refused(env: RelayEnv, sim, source: Onboarded, outbox_id: int) -> None:
    before = len(sim.calls_to("sendMessage"))
    await env.pump()
    item = await env.store.get_outbox(outbox_id)
    assert (item.status, item.last_error) == (OutboxStatus.FAILED, "invalid_envelope")
    assert len(sim.calls_to("sendMessage")) == before  # never sent
    assert replies(source) == []


@pytest.mark.parametrize("position", [0, 5, 40, 200, 1500, -40, -1])
async def test_altered_reply_is_refused(env, sim, source, position):
    item = await env.reply(source.case.case_id, env.handlers[0], "genuine words")
    flip(env.config.store_url, item.outbox_id, position)
    await assert_refused(env, sim, source, item.outbox_id)


async def test_reply_signed_by_an_uncertified_key_is_refused(env, sim, source):
    forger = SigningKeyPair.generate()
    item = await env.reply(
        source.case.case_id, env.handlers[0], "come to the station", signer=forger
    )
    await assert_refused(env, sim, source, item.outbox_id)


async def test_reply_moved_to_another_case_is_refused(env, sim, source):
    other = await onboard(env, sim, first_name="Second")
    item = await env.reply(other.case.case_id, env.handlers[0], "meant for someone else")
    with sqlite3.connect(env.config.store_url) as db:
        db.execute(
            "UPDATE outbox SET case_id = ? WHERE id = ?", (source.case.case_id, item.outbox_id)
        )
    db.close()
    await assert_refused(env, sim, source, item.outbox_id)
    assert replies(other) == []


@pytest.mark.relay_config(pace=Pace(), quiet_replies=False)
async def test_replies_to_one_chat_keep_telegrams_pace(env, sim, source):
    alice = env.handlers[0]
    texts = [f"reply {i}" for i in range(5)]
    for text in texts:
        await env.reply(source.case.case_id, alice, text)
    assert await deliver_all(env) == 5
    assert replies(source) == [said("en", "reply.body", text=t) for t in texts]
    calls = [c for c in sim.calls_to("sendMessage") if c.ok][-5:]
    assert [c.params["text"].split("\n")[-1] for c in calls] == texts
    # A burst of up to three, then one a second on average: never four within 3 s.
    burst = PER_CHAT_BURST
    assert all(
        calls[i + burst].at - calls[i].at >= burst * PER_CHAT_INTERVAL
        for i in range(len(calls) - burst)
    )


async def test_self_destructing_reply_is_deleted_after_its_time(env, sim, source):
    pending = await env.store.count_scheduled_deletions()  # case.created leaves later
    await env.reply(
        source.case.case_id, env.handlers[0], "burn after reading", self_destruct_seconds=90
    )
    await env.pump()
    (shown,) = [m for m in source.user.bot_messages() if m.text and "burn after" in m.text]
    (item,) = await env.outbox(source.case.case_id)
    assert item.self_destruct_at is not None
    sim.clock.advance(seconds=88)
    await env.pump()
    assert source.user.message(shown.message_id)
    sim.clock.advance(seconds=3)
    await env.pump()
    with pytest.raises(LookupError):
        source.user.message(shown.message_id)
    assert await env.store.count_scheduled_deletions() == pending


async def test_source_messages_and_acknowledgements_leave_the_chat(env, sim, source):
    pending = await env.store.count_scheduled_deletions()  # case.created leaves later
    sent = await source.user.send_text("the ledger is in the basement")
    await env.pump()
    with pytest.raises(LookupError):
        source.user.message(sent.message_id)
    ack = source.user.last_bot_message()
    assert ack.text == said("en", "ack.received")
    sim.clock.advance(seconds=28)
    await env.pump()
    assert source.user.message(ack.message_id)  # still there for a moment
    sim.clock.advance(seconds=3)
    await env.pump()
    with pytest.raises(LookupError):
        source.user.message(ack.message_id)
    assert await env.store.count_scheduled_deletions() == pending


async def test_deletions_a_dead_relay_had_claimed_resume_within_seconds(env, sim, source):
    sent = [await source.user.send_text(f"written just before the crash {i}") for i in range(5)]
    await env.relay.fetch(0)
    await env.relay.process_inbox()
    # The relay that stored them claimed their deletions, then died before carrying them out.
    claimed = await env.store.claim_due_deletions(
        lease=DELETION_LEASE, limit=DELETION_BATCH, now=sim_clock(sim)()
    )
    assert len(claimed) == 5
    await env.relay.delivery.delete_due()
    assert all(source.user.message(m.message_id) for m in sent)  # still leased
    sim.clock.advance(seconds=15)  # "within seconds" of the restart, not a minute
    await env.relay.delivery.delete_due()
    for message in sent:
        with pytest.raises(LookupError):
            source.user.message(message.message_id)


async def test_a_burst_leaves_the_chat_in_one_call(env, sim, source):
    """A source who pastes a long text in many messages has them removed together
    (deleteMessages), not with one Bot API call each."""
    before = len(sim.calls_to("deleteMessage"))
    sent = [await source.user.send_text(f"part {i} of a long account") for i in range(12)]
    await env.pump()
    visible = {m.message_id for m in source.user.visible_messages()}
    assert not visible & {m.message_id for m in sent}
    assert len(sim.calls_to("deleteMessages")) == 1
    assert len(sim.calls_to("deleteMessage")) == before
