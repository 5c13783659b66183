"""/forget is complete (issue 13): once the bot's messages have left the chat, the store,
opened with every key the relay holds, links the case to the source's chat nowhere: no
lookup hash, no chat or message reference, no dialogue, no pending reply for the chat.

The scan does not know where references live: it tries every blob of every table as a
chat reference, a message reference and a dialogue under every case id and every key set
of the relay's ring, and every inbox row as an update.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from admin.keyring import RelayKeyRing
from admin.refs import open_chat_ref, open_dialogue, open_message_ref
from bot.inbox_keys import InboxKeys
from core.settings import QUIET_REPLIES_INDEX
from store import OutboxStatus, sqlite_path
from tests.support.relay_env import Onboarded, RelayEnv


def links_to_the_chat(env: RelayEnv, source: Onboarded) -> list[str]:
    """Every place in the store the relay's keys tie to the source's chat or account."""
    return links_in(sqlite_path(env.config.store_url), env.ring, source)


def links_in(path: Path, ring: RelayKeyRing, source: Onboarded) -> list[str]:
    """The same, in the store file ``path`` (a seized copy), with the key ring ``ring``.
    Inbox rows are opened with the inbox keys file next to it, as the relay would."""
    chat = user = source.user.id
    hashes = {keys.lookup_hash(user) for keys in ring.keys}
    inbox_keys = InboxKeys.load(path.parent / "keys" / "inbox.keys", ring)
    db = sqlite3.connect(path)
    found: list[str] = []
    try:
        case_ids = [row[0] for row in db.execute("SELECT case_id FROM cases")]
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            columns = [c[1] for c in db.execute(f"PRAGMA table_info({table})")]
            for row in db.execute(f"SELECT * FROM {table}"):
                for column, value in zip(columns, row, strict=True):
                    if not isinstance(value, bytes):
                        continue
                    where = f"{table}.{column}"
                    if value in hashes:
                        found.append(f"{where}: the source's lookup hash")
                    for case_id in case_ids:
                        if _opens(open_chat_ref, ring, case_id, value) == chat:
                            found.append(f"{where}: a chat reference")
                        ref = _opens(open_message_ref, ring, case_id, value)
                        if ref is not None and ref[0] == chat:
                            found.append(f"{where}: a message reference")
                    for lookup in hashes:
                        if _opens(open_dialogue, ring, lookup, value) is not None:
                            found.append(f"{where}: the source's dialogue")
        for update_id, blob in db.execute("SELECT update_id, sealed_update FROM inbox"):
            raw = _opens(inbox_keys.open, update_id, blob)
            if raw is not None and str(user) in json.dumps(json.loads(raw)):
                found.append(f"inbox {update_id}: an update from the source")
    finally:
        db.close()
    return found


def _opens(open_it, *args):  # type: ignore[no-untyped-def]
    try:
        return open_it(*args)
    except Exception:
        return None


async def test_forget_leaves_no_link_any_relay_key_opens(env, sim, source):
    case_id = source.case.case_id
    alice = env.handlers[0]
    await source.user.send_text("before forgetting")
    await env.reply(case_id, alice, "a reply that was delivered")
    await env.pump()
    # A quiet reply keeps a relay wrap while it can be tapped (ADR 0081).
    assert await env.store.get_setting(QUIET_REPLIES_INDEX) not in (None, "{}")
    assert links_to_the_chat(env, source), "the scan must see the links a live case has"
    await source.user.send_text("/forget")
    await env.pump()
    confirm = source.user.last_bot_message()
    queued = await env.reply(case_id, alice, "queued when the source forgot")
    await source.user.press_button(confirm.message_id, "forget:yes")
    await env.pump()
    sim.clock.advance(seconds=31)  # the last note ("forgotten") leaves the chat too
    await env.pump()

    assert links_to_the_chat(env, source) == []
    # Nor can the relay open the replies it delivered: their kept wraps are gone.
    assert await env.store.get_setting(QUIET_REPLIES_INDEX) == "{}"
    item = await env.store.get_outbox(queued.outbox_id)
    assert item is not None and (item.status, item.last_error) == (OutboxStatus.FAILED, "forgotten")
    assert await env.store.count_scheduled_deletions(case_id=case_id) == 0
    # Every message that named the case left the chat at once, not CASE_ID_LIFETIME later.
    assert not [m for m in source.user.bot_messages() if case_id in (m.text or "")]
