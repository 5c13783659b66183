"""The console's working state: the store and its checked keys, and the unlocked officer.

- :class:`Workspace` — the store plus everything trusted in it (the relay's and handlers'
  certified keys, checked against the organisation key pinned in the config). It holds
  no secret, so it outlives a lock.
- :class:`Session` — a workspace plus the officer's unlocked :class:`HandlerIdentity`,
  whose key the organisation has certified. Every case operation takes one.

::

    workspace = await open_workspace(config)
    identity = await unlock_key(key_path(config, args.key), passphrase)
    session = start_session(workspace, identity)

Two ways to the store (handlers.port): the store file on this box, or a console gateway
(``[console] url``, ADR 0079). Every request to a gateway is signed with the officer's key,
so there the key is unlocked first and the workspace holds it (:func:`needs_key`):
``open_workspace(config, identity)``, and it is closed when the console locks.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from core.config import Config
from core.roster import HeadMemory
from core.settings import KEY_VERSION_SETTING, TRUST_CHANGED_SETTING
from core.trust import Trust, load_trust
from crypto import (
    Direction,
    EncryptionPublicKey,
    SigningPublicKey,
)
from store import Store, StoreOperations, open_existing_store

from ._errors import KeyProblem, NotCertifiedError, UsageError, translating
from .identity import HandlerIdentity, read_identity
from .port import Port, Reads

if TYPE_CHECKING:
    from .labels import KnownLabel
    from .search import CaseTexts

__all__ = [
    "Session",
    "SessionMemory",
    "Signers",
    "Workspace",
    "key_path",
    "needs_key",
    "open_workspace",
    "start_session",
    "unlock_key",
]

#: The console's own memory of the last roster head it verified (ADR 0076).
HEAD_FILE = "console-roster.head"


@dataclass(frozen=True)
class Signers:
    """Who may have signed what: the relay (intake) and handlers (replies, notes).

    Handlers include revoked ones whose certificates still verify, so their old
    replies and notes stay readable; they can sign nothing new the relay accepts.
    """

    relay: tuple[SigningPublicKey, ...]
    handlers: tuple[SigningPublicKey, ...]
    names: dict[bytes, str]  # signing key id → handler name
    # Retired relay signing keys: the last envelope seq each may have signed (key id → seq).
    relay_last_seq: dict[bytes, int] = field(default_factory=dict)

    def for_direction(
        self, direction: Direction, seq: int | None = None
    ) -> tuple[SigningPublicKey, ...]:
        if direction is not Direction.IN:
            return self.handlers
        if seq is None:
            return self.relay
        return tuple(k for k in self.relay if seq <= self.relay_last_seq.get(k.key_id, seq))

    def author(self, signer_key_id: bytes) -> str | None:
        return self.names.get(signer_key_id)


async def _change_markers(store: Reads) -> tuple[str | None, str | None]:
    """What the relay and the admin commands bump when keys change."""
    return (
        await store.get_setting(KEY_VERSION_SETTING),
        await store.get_setting(TRUST_CHANGED_SETTING),
    )


def _signers(trust: Trust) -> Signers:
    certs = trust.all_handler_certificates()
    return Signers(
        relay=tuple(trust.relay_signers()),
        handlers=tuple(c.signing_key for c in certs),
        names={c.signing_key.key_id: c.name for c in certs},
        relay_last_seq={
            trust.relay[v].signing_key.key_id: seq for v, seq in trust.relay_last_seq.items()
        },
    )


class Workspace:
    """The store and its trusted keys; no secrets (see the module docstring)."""

    def __init__(
        self,
        config: Config,
        store: Reads,
        trust: Trust,
        signers: Signers,
        markers: tuple[str | None, str | None] = (None, None),
        memory: HeadMemory | None = None,
        *,
        port: Port,
    ) -> None:
        self.config = config
        #: What the console reads: the store on this box, or the gateway's view of it.
        self.reader = store
        #: What it writes through (handlers.port).
        self.port = port
        self.trust = trust
        self.signers = signers
        self._markers = markers
        self._memory = memory
        #: (case id, UTC day) of every case whose reading this console has audited.
        self.read_logged: set[tuple[str, date]] = set()

    async def reload(self) -> None:
        """Read the keys again (a handler was enrolled or revoked, the relay rotated)."""
        with translating():
            self._markers = await _change_markers(self.reader)
            self.trust = await load_trust(
                _roster_reader(self.reader),
                self.config.trust.org_fingerprint,
                previous=self.trust,
                memory=self._memory,
            )
            self.signers = _signers(self.trust)

    async def refresh(self) -> None:
        """Reload if the relay's keys or the certified handlers changed since loading, so a
        console left open never seals to a retired relay key or for a revoked colleague."""
        with translating():
            markers = await _change_markers(self.reader)
        if markers != self._markers:
            await self.reload()

    def relay_delivery_key(self) -> EncryptionPublicKey:
        """The relay's newest certified delivery key: replies are sealed to it."""
        current = self.trust.current_relay()  # from the signed roster, never from a row
        if current is None:
            raise NotCertifiedError("the roster holds no relay key in force; run `writein init`")
        return current.encryption_key

    def question_labels(self) -> dict[str, str]:
        """Intake question id → its English prompt, from the configuration."""
        return {q.id: q.prompt["en"] for q in self.config.intake.questions}

    def encryption_key(self, handler: str) -> EncryptionPublicKey | None:
        """An active, certified handler's encryption key."""
        cert = self.trust.handlers.get(handler)
        return None if cert is None else cert.encryption_key

    @property
    def store(self) -> Store:
        """The store file on this box (the one-box console; the demo and admin tests)."""
        return self.local_store("this")

    def local_store(self, what: str) -> Store:
        """The store file itself, for what only the one-box console does (``what``)."""
        from .local import LocalPort

        if not isinstance(self.port, LocalPort):
            raise UsageError(f"{what} works on the relay host's store only, not through a gateway")
        return self.port.store

    async def close(self) -> None:
        await self.reader.close()


def needs_key(config: Config) -> bool:
    """True if the workspace can only be opened with the unlocked key (a gateway)."""
    return config.console.url is not None


def _roster_reader(store: Reads) -> StoreOperations:
    # load_trust reads only get_setting and list_roster, which every Reads has.
    return store  # type: ignore[return-value]


async def open_workspace(config: Config, identity: HandlerIdentity | None = None) -> Workspace:
    """Open the existing store (or the gateway, ``[console] url``) and load its trusted keys.

    The console never creates or migrates a store (store.open_existing_store): a missing
    one is StoreUnreachableError. A gateway needs the unlocked ``identity`` (every request
    is signed with it); the store on this box ignores it.
    """
    reader: Reads
    port: Port
    if needs_key(config):
        if identity is None:
            raise KeyProblem("a console gateway is configured: unlock your key first")
        from .remote import open_remote

        reader, port = await open_remote(config, identity)
        memory = _head_memory(config, create=True)
    else:
        from .local import LocalPort

        with translating():
            store = await open_existing_store(config.store_url)
        reader, port = store, LocalPort(store, config.store_url)
        memory = _head_memory(config)
    try:
        with translating():
            markers = await _change_markers(reader)
            trust = await load_trust(
                _roster_reader(reader), config.trust.org_fingerprint, memory=memory
            )
            signers = _signers(trust)
    except BaseException:
        await reader.close()
        raise
    return Workspace(config, reader, trust, signers, markers, memory, port=port)


def _head_memory(config: Config, *, create: bool = False) -> HeadMemory | None:
    """Where this console remembers the last roster head it verified: its own data
    directory, if it has one (a console that never had one cannot notice a rollback).
    A console of a gateway makes it: its machine has no store to share it with."""
    if create:
        config.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    return HeadMemory(config.data_dir / HEAD_FILE) if config.data_dir.is_dir() else None


def key_path(config: Config, explicit: str | os.PathLike[str] | None) -> Path:
    """The key file: ``--key``, else ``console.key_file`` (relative to the config file)."""
    if explicit:
        return Path(explicit)
    if config.console.key_file is None:
        raise KeyProblem("no key file: pass --key FILE or set console.key_file in the config")
    return config.resolve(config.console.key_file)


async def unlock_key(path: Path, passphrase: bytes) -> HandlerIdentity:
    """Open the key file (Argon2id runs in a thread, so a console stays responsive)."""
    with translating(key_file=path):
        return await asyncio.to_thread(read_identity, path, passphrase)


class SessionMemory:
    """What the unlocked console keeps of decrypted content, in memory only: the cases'
    labels (handlers.labels) and the search index (handlers.search). It is never written
    anywhere, and goes with the session when the console locks."""

    def __init__(self) -> None:
        self.labels: dict[str, KnownLabel] = {}
        self.texts: dict[str, CaseTexts] = {}
        #: Cleared for good (the console locked): what a read still under way finds is
        #: not kept.
        self.closed = False

    def clear(self) -> None:
        self.closed = True
        self.labels.clear()
        self.texts.clear()


@dataclass(frozen=True)
class Session:
    """A workspace and the unlocked, certified officer working in it."""

    workspace: Workspace
    me: HandlerIdentity
    #: Decrypted content the console keeps to be quick (labels, the search index).
    memory: SessionMemory = field(default_factory=SessionMemory, compare=False, repr=False)

    @property
    def reader(self) -> Reads:
        """What the console reads (handlers.port.Reads)."""
        return self.workspace.reader

    @property
    def store(self) -> Store:
        """The store file on this box (one-box console only)."""
        return self.workspace.store

    @property
    def name(self) -> str:
        return self.me.name

    @property
    def actor(self) -> str:
        """How the audit log names this officer."""
        return f"handler {self.me.name}"


def start_session(workspace: Workspace, identity: HandlerIdentity) -> Session:
    """Pair a workspace with an identity whose exact keys the organisation certified."""
    cert = workspace.trust.handlers.get(identity.name)
    if cert is None:
        raise NotCertifiedError(
            f"the key of case officer {identity.name!r} is not certified in this store "
            "(not enrolled, or revoked): ask an admin"
        )
    if (
        cert.encryption_key.raw != identity.encryption.public.raw
        or cert.signing_key.raw != identity.signing.public.raw
    ):
        raise NotCertifiedError(
            f"this key is not the one certified for case officer {identity.name!r} "
            "(an old or a different key file?)"
        )
    return Session(workspace, identity)
