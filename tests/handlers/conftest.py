"""A relay set up the way `writein init` does, handlers enrolled, cases sealed as the relay seals.

Every test that takes ``world`` (or ``cases``) in a module with ``BOTH_PATHS = True`` runs
twice: ``local`` (the console opens the store file, one box) and ``gateway`` (the real
`writein gateway` application on a loopback port in the test's loop, and the console's
config names it in ``[console] url``), so the console must behave the same over both.

``world`` gives a data directory with a store, the organisation and relay keys, and three
enrolled handlers (alice, bob, carol) with key files; ``world.case(...)`` and
``world.incoming(...)`` create cases and seal source messages exactly like the relay:
direction IN, a ``SourceMessage`` body, signed by the relay's signing key, wrapped for
every handler assigned to the case, attachments' chunks stored under the message. The
data directory is set up as the relay's tests set theirs up (tests/support/world.py).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

import store
from admin.keyring import RelayKeys
from admin.roster import org_roster
from admin.setup import Layout
from core.config import Config, load_config
from core.payload import AttachmentRef, IntakeAnswer, SourceMessage, encode_body
from crypto import (
    Direction,
    SigningKeyPair,
    seal,
    seal_chunks,
    unverified_header,
)
from handlers.identity import HandlerIdentity, read_identity, write_identity
from handlers.session import Session, Workspace, open_workspace, start_session
from store import Store, open_store
from tests.support.gateway import serve_gateway
from tests.support.world import WEAK, found, open_case

INSECURE = WEAK
HANDLERS = ("alice", "bob", "carol")
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
CREATED = int(NOW.timestamp())

CASE_A = "7K3M-QX9B-2HD4"  # alice only
CASE_B = "8PQR-4T5V-6WXY"  # alice and bob
CASE_C = "9ABC-DEFG-HJKM"  # bob only


def passphrase_of(name: str) -> bytes:
    return f"{name} has a long passphrase 42".encode()


@dataclass
class World:
    root: Path
    config_path: Path
    config: Config
    layout: Layout
    org: SigningKeyPair
    relay: RelayKeys
    store: Store
    identities: dict[str, HandlerIdentity]
    key_files: dict[str, Path]
    _workspaces: list[Workspace] = field(default_factory=list)
    #: "local" or "gateway": how the console reaches the store.
    path: str = "local"
    _cleanup: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    @property
    def remote(self) -> bool:
        return self.path == "gateway"

    async def case(
        self, case_id: str, handlers: Sequence[str], *, language: str = "en"
    ) -> store.Case:
        created = await self.store.create_case(case_id, language=language, now=NOW)
        await open_case(self.store, self.org, case_id, handlers)
        return created

    async def incoming(
        self,
        case_id: str,
        text: str = "",
        *,
        kind: str = "text",
        created: int = CREATED,
        attachments: Sequence[tuple[str, str, bytes]] = (),
        answers: Sequence[IntakeAnswer] = (),
        ref: int | None = None,
        edit: bool = False,
        forward_origin: dict[str, object] | None = None,
    ) -> bytes:
        """Seal a source message as the relay does; returns its message id."""
        # Attachment ids from the content, so screens are the same on every run.
        sealed = [
            seal_chunks(data, attachment_id=hashlib.sha256(name.encode() + data).digest()[:16])
            for name, _, data in attachments
        ]
        refs = tuple(
            AttachmentRef(
                id=s.attachment_id.hex(),
                name=name,
                mime=mime,
                size=s.size,
                chunks=len(s.chunks),
                key=base64.b64encode(s.key).decode(),
                sha256=s.sha256.hex(),
            )
            for (name, mime, _), s in zip(attachments, sealed, strict=True)
        )
        body = SourceMessage(
            kind=kind,
            text=text,
            attachments=refs,
            answers=tuple(answers),
            ref=ref,
            edit=edit,
            forward_origin=forward_origin,
        )
        async with self.store.transaction() as tx:
            names = sorted((await org_roster(tx, self.org.public)).assigned(case_id))
            envelope = seal(
                encode_body(body),
                case_id=case_id,
                direction=Direction.IN,
                recipients=[self.identities[n].encryption.public for n in names],
                signer=self.relay.signing,
                created=created,
            )
            message_id = unverified_header(envelope.core).message_id
            await tx.add_envelope(
                message_id,
                case_id,
                store.Direction.IN,
                envelope.core,
                dict(envelope.wraps),
                now=NOW,
            )
            for s in sealed:
                for index, chunk in enumerate(s.chunks):
                    await tx.add_attachment_chunk(s.attachment_id, message_id, index, chunk)
        return message_id

    async def workspace(self, identity: HandlerIdentity | None = None) -> Workspace:
        ws = await open_workspace(self.config, identity)
        self._workspaces.append(ws)
        return ws

    async def session(self, name: str) -> Session:
        identity = read_identity(self.key_files[name], passphrase_of(name))
        return start_session(await self.workspace(identity), identity)

    def env(self, name: str) -> dict[str, str]:
        return {"WRITEIN_PASSPHRASE": passphrase_of(name).decode()}

    async def close(self) -> None:
        for ws in self._workspaces:
            await ws.close()
        for cleanup in reversed(self._cleanup):
            await cleanup()
        await self.store.close()

    async def serve(self) -> None:
        """Start the gateway on loopback and point the console's config at it."""
        origin = await serve_gateway(
            self.config.store_url,
            self.config.trust.org_fingerprint,
            self.root / "gateway.head",
            self._cleanup,
        )
        write_config(self.root, self.config.trust.org_fingerprint, url=origin)
        self.config = load_config(self.config_path)
        self.path = "gateway"


def write_config(
    root: Path, fingerprint: str, *, key_file: str = "alice.key", url: str | None = None
) -> Path:
    path = root / "writein.toml"
    gateway = "" if url is None else f'url = "{url}"\n'
    path.write_text(
        f'[paths]\ndata_dir = "data"\n\n[trust]\norg_fingerprint = "{fingerprint}"\n\n'
        f'[console]\nkey_file = "{key_file}"\nlock_after_minutes = 10\n{gateway}\n'
        "[[intake.questions]]\n"
        'id = "relation"\nkind = "choice"\nprompt = { en = "How are you connected to it?" }\n'
        'choices = [{ id = "employee", label = { en = "I work there" } }]\n\n'
        "[[intake.questions]]\n"
        'id = "topic"\nkind = "text"\nprompt = { en = "What is it about?" }\n',
        encoding="utf-8",
    )
    return path


async def make_world(root: Path) -> World:
    founded = await found(lambda fingerprint: load_config(write_config(root, fingerprint)))
    config = founded.config
    db = await open_store(config.store_url)
    identities: dict[str, HandlerIdentity] = {}
    key_files: dict[str, Path] = {}
    for name in HANDLERS:
        identity = HandlerIdentity.generate(name)
        path = root / f"{name}.key"
        write_identity(path, identity, passphrase_of(name), argon2=INSECURE)
        await founded.enrol(
            db, name, identity.encryption.public, identity.signing.public, now=CREATED
        )
        identities[name] = identity
        key_files[name] = path
    relay = founded.relay_ring().current
    config_path = root / "writein.toml"  # where write_config wrote it
    return World(
        root, config_path, config, founded.layout, founded.org, relay, db, identities, key_files
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    explicit = any(
        "path" in str(m.args[0]) for m in metafunc.definition.iter_markers("parametrize")
    )
    both = getattr(metafunc.module, "BOTH_PATHS", False)
    if "path" in metafunc.fixturenames and both and not explicit:
        metafunc.parametrize("path", ["local", "gateway"], indirect=True)


@pytest.fixture
def path(request: pytest.FixtureRequest) -> str:
    """How the console reaches the store: "local" unless the test asks for both."""
    return str(getattr(request, "param", "local"))


@pytest.fixture
async def world(tmp_path: Path, path: str) -> AsyncIterator[World]:
    w = await make_world(tmp_path)
    try:
        if path == "gateway":
            await w.serve()
        yield w
    finally:
        await w.close()


@pytest.fixture
async def cases(world: World) -> World:
    """Three cases with a few messages each (see CASE_A/B/C)."""
    await world.case(CASE_A, ["alice"])
    await world.case(CASE_B, ["alice", "bob"], language="ru")
    await world.case(CASE_C, ["bob"])
    await world.incoming(
        CASE_A,
        kind="intake",
        answers=(
            IntakeAnswer(question="relation", answer="I work there", choice="employee"),
            IntakeAnswer(question="topic", answer="Procurement fraud at the ministry"),
        ),
    )
    await world.incoming(CASE_A, "Hello, I have documents about the tender.", ref=10)
    await world.incoming(CASE_B, "Second case, first message", ref=1)
    await world.incoming(CASE_C, "Bob's own case", ref=1)
    return world


@pytest.fixture(autouse=True)
def _no_passphrase_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WRITEIN_PASSPHRASE", raising=False)
    monkeypatch.delenv("WRITEIN_CONFIG", raising=False)


@pytest.fixture(autouse=True)
def _utc_local_time(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The console shows local time (ADR 0084): UTC here, so screens are the same anywhere."""
    import time

    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()
