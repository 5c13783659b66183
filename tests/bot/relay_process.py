"""The relay as a real subprocess (`python -m bot.cli bot`) against an in-process telesim."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path

from bot.admin import enrol_handler
from bot.config import Config, load_config
from bot.payload import SourceMessage, decode_body
from bot.setup import ORG_KEY_KIND, Layout, initialise
from bot.trust import load_trust
from crypto import (
    Argon2Params,
    Direction,
    EncryptionKeyPair,
    Envelope,
    SigningKeyPair,
    SigningPublicKey,
    open_envelope,
)
from store import Store, open_store
from store.keyfiles import read_secret_file
from telesim import SimUser, TelegramSimulator

ROOT = Path(__file__).resolve().parents[2]
ADMIN_PASS = b"admin passphrase for tests"
RELAY_PASS = "relay passphrase for tests"
# Shaped like a real BotFather token, so the redaction's pattern is exercised too.
TOKEN = "7012345678:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0"


@dataclass
class RelayProcess:
    tmp: Path
    sim: TelegramSimulator
    config_path: Path
    config: Config
    handler: EncryptionKeyPair
    log_path: Path
    proc: asyncio.subprocess.Process | None = None
    starts: int = 0
    logs: list[Path] = field(default_factory=list)

    async def start(self, *, log_level: str = "info") -> None:
        self.starts += 1
        log = self.tmp / f"relay-{self.starts}.log"
        self.logs.append(log)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "PYTHONPATH": str(ROOT),
            "WRITEIN_BOT_TOKEN": TOKEN,
            "WRITEIN_RELAY_PASSPHRASE": RELAY_PASS,
            "PTB_TIMEDELTA": "true",
        }
        with log.open("wb") as out:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot.cli",
                "bot",
                "--config",
                str(self.config_path),
                "--log-level",
                log_level,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                env=env,
            )

    async def kill(self) -> None:
        """SIGKILL: no clean-up of any kind, as a power cut would do."""
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGKILL)
            await self.proc.wait()

    async def stop(self) -> int:
        """SIGTERM and wait for a clean exit; returns the exit code."""
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), timeout=20)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
                raise
        return self.proc.returncode if self.proc.returncode is not None else -1

    def log_text(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in self.logs if p.exists())

    async def store(self) -> Store:
        return await open_store(self.config.store_url)

    async def source_messages(self, case_id: str) -> list[SourceMessage]:
        """What the handler decrypts from a case (every envelope must verify)."""
        async with await open_store(self.config.store_url) as store:
            trust = await load_trust(store, self.config.trust.org_fingerprint)
            signers: list[SigningPublicKey] = trust.relay_signers()
            out = []
            for env in await store.list_envelopes(case_id, limit=1000):
                opened = open_envelope(
                    Envelope(env.core, env.wraps),
                    recipient=self.handler,
                    trusted_signers=signers,
                    expect_case_id=case_id,
                    expect_direction=Direction.IN,
                )
                body = decode_body(opened.plaintext)
                assert isinstance(body, SourceMessage)
                out.append(body)
            return out


async def prepare(
    tmp: Path, sim: TelegramSimulator, extra_toml: str = "", telegram_toml: str = ""
) -> RelayProcess:
    """A data dir set up by init, one enrolled default handler, no intake questions."""
    config_path = tmp / "writein.toml"

    def write(fingerprint: str) -> Config:
        config_path.write_text(
            "[paths]\ndata_dir = 'data'\n"
            f"[telegram]\nbase_url = '{sim.base_url}'\nbase_file_url = '{sim.base_file_url}'\n"
            "poll_timeout_seconds = 1\n"
            + telegram_toml
            + f"[trust]\norg_fingerprint = '{fingerprint}'\n"
            + extra_toml
        )
        return load_config(config_path)

    result = await initialise(
        write(""),
        admin_passphrase=ADMIN_PASS,
        relay_passphrase=RELAY_PASS.encode(),
        argon2=Argon2Params.insecure_for_tests(),
    )
    config = write(result.org_fingerprint)
    org = SigningKeyPair.from_seed(
        read_secret_file(Layout(config.data_dir).org_key, ADMIN_PASS, kind=ORG_KEY_KIND)
    )
    handler = EncryptionKeyPair.generate()
    async with await open_store(config.store_url) as store:
        await enrol_handler(
            store,
            org,
            "alice",
            handler.public,
            SigningKeyPair.generate().public,
            default_intake=True,
        )
    return RelayProcess(tmp, sim, config_path, config, handler, tmp / "relay.log")


async def onboard(user: SimUser, *, timeout: float = 20.0) -> str:
    """Walk a source through onboarding against a running relay; returns the case id text."""
    await user.send_text("/start")
    prompt = await user.wait_for_bot_message(where=lambda m: bool(m.buttons), timeout=timeout)
    await user.press_button(prompt.message_id, "lang:en")
    consent = await user.wait_for_bot_message(
        after=prompt.message_id, where=lambda m: bool(m.buttons), timeout=timeout
    )
    await user.press_button(consent.message_id, "consent:yes")
    phrase = await user.wait_for_bot_message(
        after=consent.message_id, where=lambda m: bool(m.buttons), timeout=timeout
    )
    created = [m for m in user.bot_messages() if m.text and "case ID" in m.text]
    await user.press_button(phrase.message_id, "saved")
    await user.wait_for_bot_message(
        after=phrase.message_id, where=lambda m: "write now" in (m.text or ""), timeout=timeout
    )
    assert created, "the case ID message was shown"
    text = created[-1].text or ""
    return text.split("case ID is ", 1)[1].split(".", 1)[0].strip()
