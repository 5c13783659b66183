"""Seize the relay at any moment (issue 13, ADR 0083): a copy of the data directory, the key
ring and its passphrase, taken at random moments of a live stream of messages, replies and
a /forget, opens no update the relay processed more than W before (two inbox epochs), and
nothing in it leads to the Telegram account of a source who ran /forget.

The attacker here uses the relay's own code on the copy: the key ring unlocked with the
passphrase, the inbox keys file it finds next to it, every blob the relay ever sealed into
the inbox (recorded as it sealed them, so the test does not have to carve the SQLite WAL,
and cannot miss a residue), and the scan of tests/bot/test_forget_leaves_nothing.py.
"""

from __future__ import annotations

import random
import shutil
from dataclasses import dataclass
from pathlib import Path

from admin.keyring import RelayKeyRing
from admin.setup import Layout
from bot.inbox_keys import InboxKeys
from tests.support.relay_env import Onboarded, RelayEnv, onboard
from tests.support.world import RELAY_PASS

from .test_forget_leaves_nothing import links_in

#: An update's key is gone two epochs after it was processed: W = 2 × inbox_key_seconds.
W_EPOCHS = 2
ROUNDS = 40
SNAPSHOTS = 24


@dataclass
class Sealed:
    update_id: int
    blob: bytes
    processed_at: int | None = None  # the epoch count when it was processed


@dataclass
class Snapshot:
    folder: Path
    epochs: int  # advances done when it was taken


def take(env: RelayEnv, where: Path, epochs: int) -> Snapshot:
    """What a seizure gets: the whole data directory, as it is, files in use included."""
    folder = where / f"seized-{epochs}-{len(list(where.iterdir()))}"
    shutil.copytree(env.config.data_dir, folder)
    return Snapshot(folder, epochs)


async def test_a_seized_relay_opens_nothing_processed_more_than_w_before(env, sim, tmp_path):
    rng = random.Random(20261206)  # the moments differ per round, the run is repeatable
    sealed: list[Sealed] = []
    keys = env.relay.inbox_keys
    real_seal = keys.seal

    def recording_seal(update_id: int, raw: bytes) -> bytes:
        blob = real_seal(update_id, raw)
        sealed.append(Sealed(update_id, blob))
        return blob

    keys.seal = recording_seal  # type: ignore[method-assign]
    sources: list[Onboarded] = [
        await onboard(env, sim, lang, first_name=f"Seized{i}")
        for i, lang in enumerate(("en", "ru", "uk"))
    ]
    forgotten = sources[2]
    epochs = 0
    seized = tmp_path / "seized"
    seized.mkdir()
    snapshots: list[Snapshot] = []
    moments = set(rng.sample(range(ROUNDS * 3), SNAPSHOTS))
    forget_round = ROUNDS // 3

    async def maybe_seize(moment: int) -> None:
        if moment in moments:
            snapshots.append(take(env, seized, epochs))

    for round_no in range(ROUNDS):
        for source in sources[:2] if round_no > forget_round else sources:
            if rng.random() < 0.7:
                await source.user.send_text(f"round {round_no} from {source.user.first_name}")
        if round_no == forget_round:
            await forgotten.user.send_text("/forget")
        await env.relay.fetch(0)  # sealed into the inbox
        await maybe_seize(round_no * 3)
        await env.relay.process_inbox()
        for item in sealed:
            if item.processed_at is None:
                item.processed_at = epochs
        if round_no == forget_round:
            await env.relay.settle()
            confirm = next(
                m
                for m in reversed(forgotten.user.bot_messages())
                if "forget:yes" in str(m.reply_markup)
            )
            await forgotten.user.press_button(confirm.message_id, "forget:yes")
            await env.pump()
            for item in sealed:
                if item.processed_at is None:
                    item.processed_at = epochs
        if rng.random() < 0.3:
            await env.reply(sources[0].case.case_id, env.handlers[0], f"reply {round_no}")
        await env.relay.settle()
        while await env.relay.delivery.deliver_one():
            pass
        await env.relay.delivery.delete_due()
        await maybe_seize(round_no * 3 + 1)
        sim.clock.advance(seconds=env.config.relay.inbox_key_seconds)
        await env.relay.advance_inbox_keys()  # one epoch goes by
        epochs += 1
        await maybe_seize(round_no * 3 + 2)

    assert len(snapshots) == SNAPSHOTS and len(sealed) > 60
    forgotten_after = forget_round + W_EPOCHS + 1
    lingering = 0
    for snap in snapshots:
        layout = Layout(snap.folder)
        ring = RelayKeyRing.load(layout.relay_key, RELAY_PASS)
        seized_keys = InboxKeys.load(layout.inbox_keys, ring)
        raw = b"".join(p.read_bytes() for p in snap.folder.glob("writein.db*"))
        for item in sealed:
            if item.processed_at is None or snap.epochs - item.processed_at < W_EPOCHS:
                continue
            lingering += item.blob in raw
            try:
                seized_keys.open(item.update_id, item.blob)
            except Exception:
                continue
            raise AssertionError(
                f"update {item.update_id}, processed {snap.epochs - item.processed_at} "
                f"epochs before the seizure, opens from it"
            )
        if snap.epochs >= forgotten_after:
            db = next(snap.folder.glob("writein.db"))
            assert links_in(db, ring, forgotten) == [], snap.folder.name
    # Two layers: the keys are erased (above), and the bytes are gone too — secure_delete
    # zeroes deleted rows and each epoch ends with a truncating WAL checkpoint.
    assert lingering == 0
