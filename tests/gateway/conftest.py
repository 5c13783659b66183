"""A relay's data directory with officers and cases, and the gateway serving it on loopback.

``world``: `writein init`'s layout (tests/support/world.py), three enrolled officers
(alice, bob, carol) whose keys the tests hold, cases opened on the signed roster, source
messages sealed as the relay seals them. ``gateway``: the real aiohttp application on
127.0.0.1 with its own connection to the store, as `writein gateway` runs it, and a
console-like client that signs its requests (crypto.sign_request).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from yarl import URL

import store
from admin.keyring import RelayKeys
from admin.roster import org_roster
from core.config import Config, load_config
from core.payload import AttachmentRef, Note, Reply, SourceMessage, encode_body
from core.roster import HeadMemory
from crypto import (
    Direction,
    EncryptionKeyPair,
    SigningKeyPair,
    seal,
    seal_chunks,
    sign_request,
    unverified_header,
)
from gateway.app import build_app
from gateway.auth import GATEWAY, TrustKeeper
from store import Store, open_existing_store, open_store
from tests.support.world import found, open_case

HANDLERS = ("alice", "bob", "carol")
CASE_A = "7K3M-QX9B-2HD4"  # alice only
CASE_B = "8PQR-4T5V-6WXY"  # alice and bob
CASE_C = "9ABC-DEFG-HJKM"  # bob only


@dataclass(frozen=True)
class Keys:
    """An officer's two key pairs, as their key file holds them."""

    name: str
    signing: SigningKeyPair
    encryption: EncryptionKeyPair


def write_config(root: Path, fingerprint: str) -> Path:
    path = root / "writein.toml"
    path.write_text(
        f'[paths]\ndata_dir = "data"\n\n[trust]\norg_fingerprint = "{fingerprint}"\n',
        encoding="utf-8",
    )
    return path


@dataclass
class World:
    root: Path
    config_path: Path
    config: Config
    org: SigningKeyPair
    relay: RelayKeys
    store: Store
    officers: dict[str, Keys]

    async def case(self, case_id: str, names: Sequence[str]) -> None:
        await self.store.create_case(case_id, language="en")
        await open_case(self.store, self.org, case_id, names)

    async def assigned(self, case_id: str) -> list[str]:
        return sorted((await org_roster(self.store, self.org.public)).assigned(case_id))

    async def incoming(
        self, case_id: str, text: str, *, attachments: Sequence[tuple[str, bytes]] = ()
    ) -> bytes:
        """Seal a source message as the relay does (attachments' chunks stored under it)."""
        sealed = [
            seal_chunks(data, attachment_id=hashlib.sha256(name.encode() + data).digest()[:16])
            for name, data in attachments
        ]
        refs = tuple(
            AttachmentRef(
                id=s.attachment_id.hex(),
                name=name,
                mime="application/octet-stream",
                size=s.size,
                chunks=len(s.chunks),
                key=base64.b64encode(s.key).decode(),
                sha256=s.sha256.hex(),
            )
            for (name, _), s in zip(attachments, sealed, strict=True)
        )
        names = await self.assigned(case_id)
        envelope = seal(
            encode_body(SourceMessage(kind="text", text=text, attachments=refs)),
            case_id=case_id,
            direction=Direction.IN,
            recipients=[self.officers[n].encryption.public for n in names],
            signer=self.relay.signing,
        )
        message_id = unverified_header(envelope.core).message_id
        async with self.store.transaction() as tx:
            await tx.add_envelope(
                message_id, case_id, store.Direction.IN, envelope.core, dict(envelope.wraps)
            )
            for s in sealed:
                for index, chunk in enumerate(s.chunks):
                    await tx.add_attachment_chunk(s.attachment_id, message_id, index, chunk)
        return message_id

    async def sealed(
        self,
        author: str,
        case_id: str,
        text: str,
        *,
        direction: Direction = Direction.OUT,
        signer: SigningKeyPair | None = None,
    ) -> dict[str, Any]:
        """A reply (or note) sealed as the console seals it, as the gateway takes it."""
        names = await self.assigned(case_id)
        handlers = [self.officers[n].encryption.public for n in names]
        relay = self.relay.delivery.public
        body = Reply(text=text) if direction is Direction.OUT else Note(text=text)
        recipients = [relay, *handlers] if direction is Direction.OUT else handlers
        envelope = seal(
            encode_body(body),
            case_id=case_id,
            direction=direction,
            recipients=recipients,
            signer=signer or self.officers[author].signing,
        )
        out: dict[str, Any] = {
            "core": b64(envelope.core),
            "wraps": [
                {"key_id": b64(k), "wrap": b64(w)}
                for k, w in envelope.wraps.items()
                if k != relay.key_id
            ],
        }
        if direction is Direction.OUT:
            out["relay_wrap"] = {
                "key_id": b64(relay.key_id),
                "wrap": b64(envelope.wraps[relay.key_id]),
            }
        return out


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


async def make_world(root: Path) -> World:
    founded = await found(lambda fingerprint: load_config(write_config(root, fingerprint)))
    db = await open_store(founded.config.store_url)
    officers = {
        name: Keys(name, SigningKeyPair.generate(), EncryptionKeyPair.generate())
        for name in HANDLERS
    }
    for keys in officers.values():
        await founded.enrol(db, keys.name, keys.encryption.public, keys.signing.public)
    world = World(
        root,
        root / "writein.toml",
        founded.config,
        founded.org,
        founded.relay_ring().current,
        db,
        officers,
    )
    await world.case(CASE_A, ["alice"])
    await world.case(CASE_B, ["alice", "bob"])
    await world.case(CASE_C, ["bob"])
    return world


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    w = await make_world(tmp_path)
    try:
        yield w
    finally:
        await w.store.close()


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any

    @property
    def error(self) -> str:
        return str(self.body.get("error", "")) if isinstance(self.body, dict) else ""


@dataclass
class Client:
    """A console's side of the gateway: every request signed with an officer's key."""

    http: aiohttp.ClientSession
    origin: str

    async def send(
        self,
        method: str,
        path: str,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
    ) -> Answer:
        data = io.BytesIO(body) if len(body) > 1024 * 1024 else body  # aiohttp's advice
        async with self.http.request(
            method, URL(self.origin + path, encoded=True), data=data, headers=headers or {}
        ) as response:
            raw = await response.read()
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = raw
        return Answer(response.status, parsed)

    def signed(
        self,
        key: SigningKeyPair,
        method: str,
        path: str,
        body: bytes = b"",
        **options: Any,
    ) -> dict[str, str]:
        return sign_request(key, method, self.origin + path, body, **options)

    async def call(
        self, key: SigningKeyPair, method: str, path: str, payload: Any = None, **options: Any
    ) -> Answer:
        body = b"" if payload is None else json.dumps(payload).encode()
        return await self.send(method, path, body, self.signed(key, method, path, body, **options))


@dataclass
class Running:
    app: web.Application
    client: Client
    store: Store  # the gateway's own connection


@pytest.fixture
async def gateway(world: World) -> AsyncIterator[Running]:
    db = await open_existing_store(world.config.store_url)
    keeper = TrustKeeper(
        db, world.config.trust.org_fingerprint, HeadMemory(world.root / "gateway.head")
    )
    app = build_app(db, keeper)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    origin = f"http://127.0.0.1:{runner.addresses[0][1]}"
    app[GATEWAY].origin = origin
    try:
        async with aiohttp.ClientSession() as http:
            yield Running(app, Client(http, origin), db)
    finally:
        await runner.cleanup()
        await db.close()


@pytest.fixture
def gateway_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="writein.gateway")
    return caplog
