"""A throw-away relay for tests: real store file, real keys, real PTB Bot against telesim."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from telegram import Bot

from bot.admin import enrol_handler
from bot.config import Config, parse_config
from bot.keyring import RelayKeyRing
from bot.payload import Reply, SourceMessage, decode_body, encode_body
from bot.phrase import Argon2Params as PhraseParams
from bot.relay import Relay
from bot.setup import ORG_KEY_KIND, Layout, initialise
from crypto import (
    Argon2Params,
    Direction,
    EncryptionKeyPair,
    Envelope,
    SigningKeyPair,
    open_envelope,
    seal,
    unverified_header,
)
from store import Direction as StoreDirection
from store import Store, open_store
from store.keyfiles import read_secret_file
from telesim import TelegramSimulator

ADMIN_PASS = b"admin passphrase for tests"
RELAY_PASS = b"relay passphrase for tests"
WEAK = Argon2Params.insecure_for_tests()
FAST_PHRASE = PhraseParams(iterations=1, lanes=1, memory_kib=64)


@dataclass
class HandlerKeys:
    name: str
    enc: EncryptionKeyPair
    sign: SigningKeyPair


@dataclass
class RelayEnv:
    config: Config
    store: Store
    ring: RelayKeyRing
    relay: Relay
    bot: Bot
    handlers: list[HandlerKeys]

    async def pump(self, rounds: int = 3) -> None:
        """Fetch, process and deliver until nothing is left (deterministic, no loops)."""
        for _ in range(rounds):
            await self.relay.fetch(0)
            await self.relay.process_inbox()
            while await self.relay.delivery.deliver_one():
                pass
            await self.relay.delivery.delete_due()

    async def read_case(self, case_id: str, handler: HandlerKeys) -> list[SourceMessage | Reply]:
        """Decrypt a case's thread as a handler would."""
        trust = await self.relay.trust()
        out = []
        for env in await self.store.list_envelopes(case_id, limit=1000):
            opened = open_envelope(
                Envelope(env.core, env.wraps),
                recipient=handler.enc,
                trusted_signers=trust.relay_signers() + trust.handler_signers(),
                expect_case_id=case_id,
                expect_direction=Direction[env.direction.name],
            )
            body = decode_body(opened.plaintext)
            assert isinstance(body, SourceMessage | Reply)
            out.append(body)
        return out

    async def reply(self, case_id: str, handler: HandlerKeys, text: str, **extra: object) -> None:
        """Seal a reply exactly as the console does and queue it for delivery."""
        trust = await self.relay.trust()
        relay_cert = trust.relay[max(trust.relay)]
        assigned = await self.store.list_case_handlers(case_id)
        recipients = [relay_cert.encryption_key, *trust.encryption_keys(assigned)]
        envelope = seal(
            encode_body(Reply(text=text, **extra)),  # type: ignore[arg-type]
            case_id=case_id,
            direction=Direction.OUT,
            recipients=recipients,
            signer=handler.sign,
        )
        relay_id = relay_cert.encryption_key.key_id
        handler_wraps = {k: v for k, v in envelope.wraps.items() if k != relay_id}
        message_id = unverified_header(envelope.core).message_id
        async with self.store.transaction() as tx:
            await tx.add_envelope(
                message_id, case_id, StoreDirection.OUT, envelope.core, handler_wraps
            )
            outbox = Envelope(envelope.core, {relay_id: envelope.wraps[relay_id]})
            await tx.enqueue_outbox(case_id, outbox.to_bytes(), message_id=message_id)


def config_for(tmp: Path, sim: TelegramSimulator, fingerprint: str = "", **relay: object) -> Config:
    data = {
        "paths": {"data_dir": "data"},
        "telegram": {"base_url": sim.base_url, "base_file_url": sim.base_file_url},
        "trust": {"org_fingerprint": fingerprint},
        "relay": relay,
        "intake": {
            "questions": [
                {
                    "id": "relation",
                    "kind": "choice",
                    "prompt": {"en": "How are you connected?", "ru": "Как вы связаны?"},
                    "choices": [
                        {"id": "employee", "label": {"en": "I work there", "ru": "Я там работаю"}},
                        {"id": "witness", "label": {"en": "I saw it", "ru": "Я видел(а)"}},
                    ],
                },
                {
                    "id": "topic",
                    "kind": "text",
                    "optional": True,
                    "prompt": {"en": "What is it about?", "ru": "О чём речь?"},
                },
            ]
        },
    }
    return parse_config(data, base_dir=tmp, source=tmp / "writein.toml")


async def make_env(tmp: Path, sim: TelegramSimulator, **relay: object) -> RelayEnv:
    first = config_for(tmp, sim, **relay)
    result = await initialise(
        first, admin_passphrase=ADMIN_PASS, relay_passphrase=RELAY_PASS, argon2=WEAK
    )
    config = config_for(tmp, sim, result.org_fingerprint, **relay)
    layout = Layout(config.data_dir)
    org = SigningKeyPair.from_seed(read_secret_file(layout.org_key, ADMIN_PASS, kind=ORG_KEY_KIND))
    store = await open_store(config.store_url)
    handlers = []
    for name in ("alice", "bob"):
        keys = HandlerKeys(name, EncryptionKeyPair.generate(), SigningKeyPair.generate())
        await enrol_handler(
            store, org, name, keys.enc.public, keys.sign.public, default_intake=name == "alice"
        )
        handlers.append(keys)
    ring = RelayKeyRing.load(layout.relay_key, RELAY_PASS)
    bot = Bot(sim.token, base_url=sim.base_url, base_file_url=sim.base_file_url)
    await bot.initialize()
    relay = Relay(config, store, ring, bot, phrase_params=FAST_PHRASE)
    return RelayEnv(config, store, ring, relay, bot, handlers)
