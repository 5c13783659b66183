"""`writein admin rotate-keys`: replace every relay key while the relay keeps running.

A rotation from key set v to v+1 is a state machine whose step is kept in the store
(setting ``rotation.relay``), so running it again after a crash at any point finishes
the job. Every step checks what is already done and does only the rest:

1. ``stage``   — generate v+1; the ring file becomes (v, v+1): the relay still works
                 under v but can already open what is sealed to v+1.
2. ``publish`` — the organisation key certifies v+1; consoles now seal replies to it.
3. ``switch``  — the ring file becomes (v+1, v); the running relay reloads it and
                 announces v+1 (``relay.key_version``). We wait for that (a relay that
                 is not running loads the file when it starts).
4. ``reseal``  — every value under v moves to v+1: chat and message references,
                 dialogue state (re-sealed under the new at-rest key), lookup
                 hashes (moved along the pepper chain, admin/keyring.py), and replies
                 waiting in the outbox (re-wrapped for the new delivery key; the body
                 is untouched).
5. ``destroy`` — a last sweep for what the relay wrote meanwhile; then the ring file
                 becomes (v+1,) — v's private keys are gone, its pepper stays in the
                 chain — and v's rows in the store are marked retired.

Work is proportional to the number of cases and queued items, never to the number of
messages: envelopes are sealed to handlers, not to the relay, and are not touched. The
inbox is not touched either: it is sealed under the relay's own short-lived epoch keys
(ADR 0083), whose file the relay re-seals under v+1 as soon as it switches.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Final

from admin.keyring import RelayKeyRing
from admin.refs import (
    open_chat_ref,
    open_dialogue,
    open_message_ref,
    seal_chat_ref,
    seal_dialogue,
    seal_message_ref,
)
from admin.roster import org_roster, sign
from admin.setup import Layout, SetupError, check_data_dir, load_org_key, publish_relay_keys
from core.config import Config
from core.errors import WriteinError
from core.settings import KEY_VERSION_SETTING, QUIET_REPLIES_INDEX, QUIET_REPLY_SETTING
from core.trust import load_trust
from crypto import Argon2Params, CryptoError, Envelope, SigningKeyPair, rewrap
from store import KeyPurpose, KeyStatus, SealedItem, SealedKind, Store, open_existing_store
from store.keyfiles import key_file_params

__all__ = [
    "ROTATION_SETTING",
    "Progress",
    "RotationError",
    "RotationReport",
    "RotationStep",
    "rotate_relay_keys",
    "rotation_in_progress",
]

ROTATION_SETTING: Final = "rotation.relay"
BATCH: Final = 500
_SWEEPS: Final = 5

#: ``progress(phase, done, total)``: called often; raising from it stops the rotation
#: (which a later run then finishes).
Progress = Callable[[str, int, int], None]


class RotationError(WriteinError):
    """The rotation cannot go on; the message says why and what to do."""


class RotationStep(StrEnum):
    STAGE = "stage"
    PUBLISH = "publish"
    SWITCH = "switch"
    RESEAL = "reseal"
    DESTROY = "destroy"


_STEPS: Final = tuple(RotationStep)

# Kind → (progress label, how to move one value to the ring's current key set).
_Reseal = Callable[[RelayKeyRing, SealedItem], bytes]


def _chat(ring: RelayKeyRing, item: SealedItem) -> bytes:
    return seal_chat_ref(ring, item.context, open_chat_ref(ring, item.context, item.value))


def _message(ring: RelayKeyRing, item: SealedItem) -> bytes:
    chat, message = open_message_ref(ring, item.context, item.value)
    return seal_message_ref(ring, item.context, chat, message)


def _dialogue(ring: RelayKeyRing, item: SealedItem) -> bytes:
    # Re-sealed under the new at-rest key but kept under its lookup hash: the relay
    # looks dialogues up under the previous pepper too (RelayKeyRing.lookup_hashes).
    lookup = bytes.fromhex(item.context)
    return seal_dialogue(ring, lookup, open_dialogue(ring, lookup, item.value))


def _lookup(ring: RelayKeyRing, item: SealedItem) -> bytes:
    return ring.current.rehash(item.value)


_RESEAL: Final[dict[SealedKind, tuple[str, _Reseal]]] = {
    SealedKind.CHAT_REF: ("chat references", _chat),
    SealedKind.DELETION_REF: ("deletion references", _message),
    SealedKind.SENT_REF: ("sent-reply references", _message),
    SealedKind.DIALOGUE: ("dialogues", _dialogue),
    SealedKind.LOOKUP_HASH: ("lookup hashes", _lookup),
}


@dataclass
class RotationReport:
    from_version: int
    to_version: int
    #: This run finished a rotation an earlier run had begun.
    resumed: bool = False
    #: A running relay announced the new keys (False: none was running, or it was slow).
    relay_switched: bool = False
    #: Per kind of value: how many moved to the new keys.
    moved: dict[str, int] = field(default_factory=dict)
    #: Per kind: values that could not be opened (damaged, or of a long-gone version).
    unreadable: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def add(self, label: str, moved: int, unreadable: int) -> None:
        self.moved[label] = self.moved.get(label, 0) + moved
        if unreadable:
            self.unreadable[label] = self.unreadable.get(label, 0) + unreadable


@dataclass
class _State:
    from_version: int
    to_version: int
    step: RotationStep
    relay_switched: bool = False

    def to_json(self) -> str:
        return json.dumps(
            {
                "from": self.from_version,
                "to": self.to_version,
                "step": self.step.value,
                "relay_switched": self.relay_switched,
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> _State:
        try:
            data = json.loads(text)
            return cls(
                int(data["from"]),
                int(data["to"]),
                RotationStep(data["step"]),
                bool(data.get("relay_switched", False)),
            )
        except (ValueError, KeyError, TypeError):
            raise RotationError(f"the store's {ROTATION_SETTING} setting is damaged") from None


async def rotation_in_progress(store: Store) -> tuple[int, int, str] | None:
    """(from version, to version, step) of an unfinished rotation, or None."""
    raw = await store.get_setting(ROTATION_SETTING)
    if raw is None:
        return None
    state = _State.from_json(raw)
    return state.from_version, state.to_version, state.step.value


@contextlib.contextmanager
def _exclusive(path: Path) -> Iterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RotationError("another key rotation is running on this machine") from None
        yield
    finally:
        os.close(fd)


class _Rotation:
    def __init__(
        self,
        config: Config,
        store: Store,
        *,
        admin_passphrase: bytes,
        relay_passphrase: bytes,
        progress: Progress | None,
        org_key: Path | None,
        argon2: Argon2Params | None,
    ) -> None:
        self.config = config
        self.store = store
        self.layout = Layout(config.data_dir)
        self._admin_passphrase = admin_passphrase
        self._org: SigningKeyPair | None = None
        self._relay_passphrase = relay_passphrase
        self._progress = progress
        self._org_key = org_key or self.layout.org_key
        self._argon2 = argon2 or key_file_params(self.layout.relay_key)
        self.state: _State | None = None
        self.report: RotationReport | None = None

    # -- plumbing ------------------------------------------------------------------------

    def tick(self, phase: str, done: int = 1, total: int = 1) -> None:
        if self._progress is not None:
            self._progress(phase, done, total)

    def ring(self) -> RelayKeyRing:
        return RelayKeyRing.load(self.layout.relay_key, self._relay_passphrase)

    def write_ring(self, ring: RelayKeyRing, phase: str) -> None:
        ring.save(
            self.layout.relay_key, self._relay_passphrase, overwrite=True, argon2=self._argon2
        )
        self.tick(phase)

    async def save_state(self) -> None:
        assert self.state is not None
        await self.store.set_setting(ROTATION_SETTING, self.state.to_json())

    # -- the run -------------------------------------------------------------------------

    async def run(self, wait_for_relay: float) -> RotationReport:
        started = time.monotonic()
        # The organisation key first: a wrong admin passphrase must change nothing, not
        # leave a staged key ring behind (the steps below write the ring and the store).
        # (On the loop, as before: a second Argon2 thread beside a live relay's worker can
        # hang OpenSSL, see bot/offload.py.)
        self._org = load_org_key(
            self._org_key, self._admin_passphrase, self.config.trust.org_fingerprint
        )
        raw = await self.store.get_setting(ROTATION_SETTING)
        resumed = raw is not None
        if raw is not None:
            self.state = _State.from_json(raw)
        else:
            self.state = self._begin(self.ring())
            resumed = self.state.step is not RotationStep.STAGE
            await self.save_state()
        state = self.state
        self.report = RotationReport(state.from_version, state.to_version, resumed=resumed)
        action = "rotate-keys-resumed" if resumed else "rotate-keys"
        await self.store.append_audit(
            "admin", action, detail=f"relay keys v{state.from_version} to v{state.to_version}"
        )
        for step in _STEPS[_STEPS.index(state.step) :]:
            state.step = step
            await self.save_state()
            await getattr(self, f"_{step.value}")(wait_for_relay)
        self.report.relay_switched = state.relay_switched
        self.report.seconds = time.monotonic() - started
        return self.report

    def _begin(self, ring: RelayKeyRing) -> _State:
        if len(ring.keys) == 1:
            current = ring.current.version
            return _State(current, current + 1, RotationStep.STAGE)
        # Two key sets but no recorded rotation (the store was restored from a backup, say):
        # finish the rotation the file shows; every step checks what is already done.
        low, high = sorted(ring.versions)
        if len(ring.keys) != 2 or high != low + 1:
            raise RotationError(f"the key ring holds versions {ring.versions}: not a rotation")
        return _State(low, high, RotationStep.PUBLISH)

    # -- the steps -----------------------------------------------------------------------

    async def _stage(self, _wait: float) -> None:
        assert self.state is not None
        ring = self.ring()
        if ring.version(self.state.to_version) is not None:
            return
        if ring.current.version != self.state.from_version or len(ring.keys) != 1:
            raise RotationError(
                f"the key ring is at v{ring.current.version}, the rotation expected "
                f"v{self.state.from_version}: was the key file replaced?"
            )
        self.write_ring(RelayKeyRing((ring.current, ring.current.successor())), "stage")

    async def _publish(self, _wait: float) -> None:
        assert self.state is not None
        new = self.ring().version(self.state.to_version)
        if new is None:
            raise RotationError(f"the key ring lost key set v{self.state.to_version}")
        assert self._org is not None
        try:
            async with self.store.transaction() as tx:
                await publish_relay_keys(tx, self._org, new)
        except SetupError as exc:
            raise RotationError(str(exc)) from None
        self.tick("publish")

    async def _switch(self, wait_for_relay: float) -> None:
        assert self.state is not None
        ring = self.ring()
        old, new = ring.version(self.state.from_version), ring.version(self.state.to_version)
        if ring.current.version != self.state.to_version:
            if old is None or new is None:
                raise RotationError("the key ring lacks a key set the rotation needs")
            self.write_ring(RelayKeyRing((new, old)), "switch")
        for purpose in KeyPurpose:
            row = await self.store.get_relay_key(purpose, self.state.from_version)
            if row is not None and row.status is KeyStatus.ACTIVE:
                await self.store.set_relay_key_status(
                    purpose, self.state.from_version, KeyStatus.RETIRING
                )
        if not self.state.relay_switched:
            self.state.relay_switched = await self._wait_for_relay(wait_for_relay)
            await self.save_state()

    async def _wait_for_relay(self, seconds: float) -> bool:
        assert self.state is not None
        deadline = time.monotonic() + seconds
        while True:
            announced = await self.store.get_setting(KEY_VERSION_SETTING)
            if announced and announced.isdigit() and int(announced) >= self.state.to_version:
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self.tick("waiting for the relay", round(seconds - left), round(seconds))
            await asyncio.sleep(min(0.2, left))

    async def _reseal(self, _wait: float) -> None:
        await self._move_all(self.ring())
        await self._rewrap_replies(self.ring())

    async def _destroy(self, _wait: float) -> None:
        assert self.state is not None and self.report is not None
        ring = self.ring()
        if len(ring.keys) > 1:
            await self._final_sweep(ring)
            new = ring.version(self.state.to_version)
            assert new is not None
            self.write_ring(RelayKeyRing((new,)), "destroy")
        last_seq = await self.store.last_envelope_seq()
        assert self._org is not None
        async with self.store.transaction() as tx:
            # Signed first: from here on the roster, not a row, says the old key is retired.
            roster = await org_roster(tx, self._org.public)
            version = self.state.from_version
            if version in roster.relay_certificates() and version not in roster.relay_last_seq():
                await sign(
                    tx, roster, self._org, "retire_relay_key", version=version, last_seq=last_seq
                )
            for purpose in KeyPurpose:
                row = await tx.get_relay_key(purpose, self.state.from_version)
                if row is not None and row.status is not KeyStatus.RETIRED:
                    await tx.set_relay_key_status(
                        purpose,
                        self.state.from_version,
                        KeyStatus.RETIRED,
                        last_seq=last_seq if purpose is KeyPurpose.SIGNING else None,
                    )
            await tx.delete_setting(ROTATION_SETTING)
            await tx.append_audit(
                "admin",
                "rotate-keys-done",
                detail=f"relay keys v{self.state.to_version}; v{self.state.from_version} destroyed",
            )
        self.tick("done")

    # -- moving values -----------------------------------------------------------------

    async def _final_sweep(self, ring: RelayKeyRing) -> None:
        """Move what the relay wrote under the old keys since the reseal step.

        A relay that switched writes nothing new under them, so a sweep soon moves
        nothing. One that keeps writing has not switched: destroying the keys would lose
        what it writes, so the rotation stops and says so.
        """
        assert self.state is not None
        for attempt in range(_SWEEPS):
            moved = await self._move_all(ring, label="final sweep")
            moved += await self._rewrap_replies(ring, label="final sweep")
            if moved == 0:
                return
            if attempt < _SWEEPS - 1:
                await asyncio.sleep(0.5)
        raise RotationError(
            f"the relay keeps writing under key set v{self.state.from_version}: it has not "
            "switched to the new keys. Restart it, then run `writein admin rotate-keys` again"
        )

    async def _move_all(self, ring: RelayKeyRing, label: str | None = None) -> int:
        """Move every kind of value; returns how many sealed values moved (lookup hashes
        are left out of the count: a relay that switched may still write one of the
        previous version, for a source it found under it)."""
        moved = 0
        for kind in _RESEAL:
            count = await self._move(kind, ring, label)
            moved += 0 if kind is SealedKind.LOOKUP_HASH else count
        return moved

    async def _move(self, kind: SealedKind, ring: RelayKeyRing, label: str | None) -> int:
        assert self.report is not None
        name, reseal = _RESEAL[kind]
        version = ring.current.version
        total = await self.store.count_sealed(kind, except_version=version)
        self.tick(label or name, 0, total)
        moved = unreadable = seen = 0
        after: int | None = None
        while page := await self.store.list_sealed(
            kind, except_version=version, after=after, limit=BATCH
        ):
            changes: list[tuple[str, bytes, bytes]] = []
            for item in page:
                try:
                    changes.append((item.key, item.value, reseal(ring, item)))
                except (CryptoError, ValueError):
                    unreadable += 1
            moved += await self.store.replace_sealed(kind, changes)
            seen += len(page)
            after = page[-1].position
            self.tick(label or name, min(seen, total), total)
        if label is None or moved:
            self.report.add(name, moved, unreadable if label is None else 0)
        return moved

    async def _rewrap_replies(self, ring: RelayKeyRing, label: str | None = None) -> int:
        """Replies still to deliver that were sealed to an old delivery key: re-wrap them
        for the new one (same signed core), so destroying the old key loses none."""
        assert self.report is not None
        new_key = ring.current.delivery
        old_keys = {k.delivery.public.key_id: k.delivery for k in ring.keys[1:]}
        total = await self.store.count_outbox_backlog()
        self.tick(label or "replies", 0, total)
        if not total:
            return await self._rewrap_quiet_replies(ring, label)
        signers = (
            await load_trust(self.store, self.config.trust.org_fingerprint)
        ).handler_signers()
        moved = unreadable = seen = 0
        after: int | None = None
        while page := await self.store.list_outbox_backlog(after_id=after, limit=BATCH):
            for item in page:
                if item.envelope is None:
                    continue
                try:
                    envelope = Envelope.from_bytes(item.envelope)
                except CryptoError:
                    unreadable += 1
                    continue
                if new_key.public.key_id in envelope.wraps:
                    continue
                old = next((old_keys[k] for k in envelope.wraps if k in old_keys), None)
                if old is None:
                    unreadable += 1
                    continue
                try:
                    fresh = rewrap(
                        envelope,
                        recipient=old,
                        new_recipients=[new_key.public],
                        trusted_signers=signers,
                    )
                except CryptoError:
                    unreadable += 1  # the relay will refuse it as well
                    continue
                if await self.store.replace_outbox_envelope(
                    item.outbox_id, item.envelope, fresh.to_bytes()
                ):
                    moved += 1
            seen += len(page)
            after = page[-1].outbox_id
            self.tick(label or "replies", min(seen, total), total)
        if label is None or moved:
            self.report.add("replies", moved, unreadable if label is None else 0)
        return moved + await self._rewrap_quiet_replies(ring, label)

    async def _rewrap_quiet_replies(self, ring: RelayKeyRing, label: str | None) -> int:
        """Delivered quiet replies a source can still tap to read keep a relay wrap for
        the old delivery key (ADR 0081): re-wrap it for the new one, or the tap would get
        "can no longer be read" once the old key is destroyed."""
        assert self.report is not None
        raw = await self.store.get_setting(QUIET_REPLIES_INDEX)
        try:
            index = json.loads(raw) if raw else {}
        except ValueError:
            index = {}
        if not isinstance(index, dict) or not index:
            return 0
        new_key = ring.current.delivery
        old_keys = {k.delivery.public.key_id: k.delivery for k in ring.keys[1:]}
        signers = (
            await load_trust(self.store, self.config.trust.org_fingerprint)
        ).handler_signers()
        moved = unreadable = 0
        for hex_id in index:
            name = QUIET_REPLY_SETTING + str(hex_id)
            kept = await self.store.get_setting(name)
            try:
                value = json.loads(kept or "")
                wraps = {bytes.fromhex(k): bytes.fromhex(w) for k, w in value["wraps"].items()}
                stored = await self.store.get_envelope(bytes.fromhex(str(hex_id)), wraps="none")
            except (ValueError, KeyError, TypeError, AttributeError):
                unreadable += 1
                continue
            if stored is None or new_key.public.key_id in wraps:
                continue
            old = next((old_keys[k] for k in wraps if k in old_keys), None)
            if old is None:
                unreadable += 1
                continue
            try:
                fresh = rewrap(
                    Envelope(stored.core, wraps),
                    recipient=old,
                    new_recipients=[new_key.public],
                    trusted_signers=signers,
                )
            except CryptoError:
                unreadable += 1
                continue
            value["wraps"] = {new_key.public.key_id.hex(): fresh.wraps[new_key.public.key_id].hex()}
            await self.store.set_setting(name, json.dumps(value))
            moved += 1
        if label is None or moved:
            self.report.add("quiet replies", moved, unreadable if label is None else 0)
        return moved


async def rotate_relay_keys(
    config: Config,
    *,
    admin_passphrase: bytes,
    relay_passphrase: bytes,
    progress: Progress | None = None,
    wait_for_relay: float = 30.0,
    org_key: Path | None = None,
    argon2: Argon2Params | None = None,
) -> RotationReport:
    """Rotate the relay's keys (or finish a rotation an earlier run began).

    ``wait_for_relay``: how long to wait for a running relay to announce the new keys
    before going on (a relay that is not running loads them when it starts).
    ``org_key``: the organisation key file, if not in the data directory. ``argon2``:
    the ring file's Argon2id cost; by default the one it already has.
    """
    check_data_dir(config.data_dir)
    layout = Layout(config.data_dir)
    if not layout.relay_key.exists():
        raise RotationError(f"{layout.relay_key} does not exist: run `writein init` first")
    with _exclusive(layout.rotation_lock):
        async with await open_existing_store(config.store_url) as store:
            rotation = _Rotation(
                config,
                store,
                admin_passphrase=admin_passphrase,
                relay_passphrase=relay_passphrase,
                progress=progress,
                org_key=org_key,
                argon2=argon2,
            )
            return await rotation.run(wait_for_relay)
