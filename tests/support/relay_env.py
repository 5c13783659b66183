"""A throw-away relay for tests: real store file, real keys, real PTB Bot against telesim."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from telegram import Bot

from admin.keyring import RelayKeyRing
from bot.pace import Pace
from bot.relay import Relay
from bot.transport import AiohttpRequest
from core.config import Config, parse_config
from core.payload import AttachmentRef, Reply, SourceMessage, decode_body, encode_body
from crypto import (
    Argon2Params,
    Direction,
    EncryptionKeyPair,
    Envelope,
    SigningKeyPair,
    open_chunks,
    open_envelope,
    seal,
    unverified_header,
)
from store import Case, OutboxItem, Store, open_store
from store import Direction as StoreDirection
from telesim import ChatMessage, SimUser, TelegramSimulator
from telesim._render import message_json

from .chat import code_text
from .onboarding import INTAKE, Answer, Onboarding, walk
from .world import found

FAST_PHRASE = Argon2Params.insecure_for_tests(memory_kib=64)


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
    sim: TelegramSimulator | None = None
    org: SigningKeyPair | None = None  # the organisation key, for roster changes in tests

    async def pump(self, rounds: int = 3) -> None:
        """Fetch, process and deliver until nothing is left (deterministic, no loops)."""
        for _ in range(rounds):
            await self.relay.fetch(0)
            await self.relay.process_inbox()
            await self.relay.settle()
            while await self.relay.delivery.deliver_one():
                pass
            await self.relay.delivery.delete_due()

    async def case_of(self, user: SimUser) -> Case | None:
        """The case this Telegram account is linked to, found as the relay finds it."""
        return await self.store.get_case_by_lookup_hash(self.ring.current.lookup_hash(user.id))

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

    async def source_messages(self, case_id: str, handler: HandlerKeys) -> list[SourceMessage]:
        """What the source sent after onboarding (intake answers left out)."""
        return [
            m
            for m in await self.read_case(case_id, handler)
            if isinstance(m, SourceMessage) and m.kind != "intake"
        ]

    async def read_attachment(self, ref: AttachmentRef) -> bytes:
        """Open a sealed attachment with the key its envelope carried, as the console does."""
        attachment_id = bytes.fromhex(ref.id)
        chunks = await self.store.read_attachment_chunks(attachment_id, limit=ref.chunks + 1)
        return open_chunks(
            chunks,
            attachment_id=attachment_id,
            key=ref.key_bytes,
            sha256=bytes.fromhex(ref.sha256),
        )

    async def outbox(self, case_id: str) -> list[OutboxItem]:
        return await self.store.list_outbox(case_id)

    async def reply(
        self,
        case_id: str,
        handler: HandlerKeys,
        text: str,
        *,
        signer: SigningKeyPair | None = None,
        **extra: object,
    ) -> OutboxItem:
        """Seal a reply exactly as the console does and queue it for delivery.

        ``signer`` signs with another key than the handler's (a forgery, for tests).
        """
        trust = await self.relay.trust()
        relay_cert = trust.relay[max(trust.relay)]
        assigned = await self.store.list_case_handlers(case_id)
        recipients = [relay_cert.encryption_key, *trust.encryption_keys(assigned)]
        envelope = seal(
            encode_body(Reply(text=text, **extra)),  # type: ignore[arg-type]
            case_id=case_id,
            direction=Direction.OUT,
            recipients=recipients,
            signer=signer or handler.sign,
        )
        relay_id = relay_cert.encryption_key.key_id
        handler_wraps = {k: v for k, v in envelope.wraps.items() if k != relay_id}
        message_id = unverified_header(envelope.core).message_id
        async with self.store.transaction() as tx:
            await tx.add_envelope(
                message_id, case_id, StoreDirection.OUT, envelope.core, handler_wraps
            )
            outbox = Envelope(envelope.core, {relay_id: envelope.wraps[relay_id]})
            return await tx.enqueue_outbox(case_id, outbox.to_bytes(), message_id=message_id)


@dataclass
class Onboarded:
    user: SimUser
    case: Case
    phrase: str  # the 7 words, read from the phrase message before it was deleted


async def onboard(
    env: RelayEnv,
    sim: TelegramSimulator,
    language: str = "en",
    *,
    first_name: str = "Canary",
    user: SimUser | None = None,
    intake: Sequence[Answer] = INTAKE,
    check: Callable[[str, ChatMessage], None] | None = None,
) -> Onboarded:
    """A user (by default a new one) goes through the whole onboarding, one pump a step.

    Returns them, their case (found with the relay's current keys, which a rotation
    changes) and the recovery phrase as the phrase message showed it. ``intake`` and
    ``check`` are as in tests/support/onboarding.py's ``walk``.
    """
    if user is None:
        user = sim.add_user(first_name=first_name, username=f"{first_name.lower()}_user")
    progress = Onboarding(user)
    await walk(
        progress, language=language, intake=intake, pump=lambda: env.pump(rounds=1), check=check
    )
    assert progress.phrase_message is not None
    phrase = code_text(progress.phrase_message)
    assert len(phrase.split()) == 7
    lookup = env.relay.ring.current.lookup_hash(user.id)
    case = await env.store.get_case_by_lookup_hash(lookup)
    assert case is not None
    return Onboarded(user, case, phrase)


def inject_message(sim: TelegramSimulator, user: SimUser, content: dict[str, Any]) -> int:
    """Put a message telesim's users cannot send (sticker, location, contact...) in the chat.

    The message is added to the chat and queued as an update, as Telegram would.
    """
    world = sim.world
    chat = world.chats[user.id]
    chat.started = True
    message = world.add_message(chat, from_bot=False, kind=next(iter(content)), content=content)
    world.push_update("message", message_json(world, message))
    return message.message_id


def sim_clock(sim: TelegramSimulator) -> Callable[[], datetime]:
    """The relay's clock, following telesim's (so ``sim.clock.advance`` moves both)."""
    return lambda: datetime.fromtimestamp(sim.clock.now(), UTC)


def fast_backoff(attempts: int) -> timedelta:
    return timedelta(seconds=1)


def no_pace() -> Pace:
    """No per-chat wait, for tests about something else than pacing (retries to one chat)."""
    return Pace(per_chat_interval=0.0)


def sim_bot(sim: TelegramSimulator, **request_options: Any) -> Bot:
    """A PTB Bot on telesim with the relay's own transport (bot/transport.py);
    ``request_options`` go to each ``AiohttpRequest`` (``read_timeout=``...)."""
    return Bot(
        sim.token,
        base_url=sim.base_url,
        base_file_url=sim.base_file_url,
        request=AiohttpRequest(**request_options),
        get_updates_request=AiohttpRequest(connections=1, **request_options),
    )


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


async def make_env(
    tmp: Path,
    sim: TelegramSimulator,
    *,
    clock: Callable[[], datetime] | None = None,
    backoff: Callable[[int], timedelta] | None = None,
    pace: Pace | None = None,
    **relay: object,
) -> RelayEnv:
    """A relay on a fresh store, talking to ``sim``; ``relay`` are [relay] config keys.

    The relay's clock follows telesim's unless ``clock`` is given; ``backoff`` and ``pace``
    replace delivery's retry back-off and Telegram pacing (``fast_backoff``; no pacing
    unless a test passes ``Pace()``).
    """
    clock = clock or sim_clock(sim)
    # Telegram's pace would add seconds to every onboarding; tests of pacing pass Pace().
    pace = pace or no_pace()
    founded = await found(lambda fingerprint: config_for(tmp, sim, fingerprint, **relay))
    config = founded.config
    store = await open_store(config.store_url)
    handlers = []
    for name in ("alice", "bob"):
        keys = HandlerKeys(name, EncryptionKeyPair.generate(), SigningKeyPair.generate())
        await founded.enrol(
            store, name, keys.enc.public, keys.sign.public, default_intake=name == "alice"
        )
        handlers.append(keys)
    ring = founded.relay_ring()
    bot = sim_bot(sim)
    await bot.initialize()
    options: dict[str, Any] = {"clock": clock, "pace": pace}
    if backoff is not None:
        options["backoff"] = backoff
    relay = Relay(config, store, ring, bot, phrase_params=FAST_PHRASE, **options)
    return RelayEnv(config, store, ring, relay, bot, handlers, sim, founded.org)


@contextlib.asynccontextmanager
async def running_env(tmp: Path, sim: TelegramSimulator, **options: Any) -> AsyncIterator[RelayEnv]:
    """``make_env`` that closes the bot and the store afterwards, also when a test fails."""
    env = await make_env(tmp, sim, **options)
    try:
        yield env
    finally:
        await env.bot.shutdown()
        await env.store.close()
