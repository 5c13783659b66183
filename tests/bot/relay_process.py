"""The relay as a real subprocess (`python -m writein bot`) against an in-process telesim.

Readiness is read, never guessed: the log lines in the newest log file, the kernel's view
of the process (/proc/PID/status) and the simulator's state. Waits poll a condition with a
deadline; the deadlines are generous because CI runs on a busy 2-core machine.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from admin.keyring import RelayKeyRing
from admin.setup import Layout
from bot.inbox_keys import InboxKeys
from core.config import Config, load_config
from core.payload import SourceMessage, decode_body
from core.trust import load_trust
from crypto import (
    Direction,
    EncryptionKeyPair,
    Envelope,
    SigningKeyPair,
    SigningPublicKey,
    open_envelope,
)
from store import Store, open_store
from telesim import ChatMessage, SimUser, TelegramSimulator
from tests.support.onboarding import Onboarding, walk
from tests.support.world import RELAY_PASS, found

ROOT = Path(__file__).resolve().parents[2]
# Shaped like a real BotFather token, so the redaction's pattern is exercised too.
TOKEN = "7012345678:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0"
# The relay's INFO lines, in the order `writein bot` logs them.
STARTING = "relay starting"
UNLOCKING = "unlocking the relay key ring"
UNLOCKED = "relay key ring unlocked"
RUNNING = "relay running (key set v"
STOPPED = "relay stopped"
# Generous: a start on a loaded 2-core CI machine takes seconds (imports, key unlock).
READY_TIMEOUT = 90.0
EXIT_TIMEOUT = 30.0
POLL = 0.01


def signal_mask(pid: int, field_name: str) -> int | None:
    """A signal mask from /proc/PID/status (SigCgt: caught, SigPnd/ShdPnd: pending);
    None once the process is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    for line in status.splitlines():
        name, _, value = line.partition(":")
        if name == field_name:
            return int(value.strip(), 16)
    raise AssertionError(f"no {field_name} in /proc/{pid}/status")


def sig_bit(sig: signal.Signals) -> int:
    return 1 << (int(sig) - 1)


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

    @property
    def log(self) -> Path:
        """The newest log: the one of the process started last."""
        assert self.logs, "the relay was never started"
        return self.logs[-1]

    async def start(self, *, log_level: str = "info") -> None:
        self.starts += 1
        log = self.tmp / f"relay-{self.starts}.log"
        self.logs.append(log)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "PYTHONPATH": str(ROOT),
            "WRITEIN_BOT_TOKEN": TOKEN,
            "WRITEIN_RELAY_PASSPHRASE": RELAY_PASS.decode(),
            "PTB_TIMEDELTA": "true",
        }
        with log.open("wb") as out:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "writein",
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

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def exited(self) -> bool:
        return self.proc is None or self.proc.returncode is not None

    def newest_log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def _failure(self, what: str) -> str:
        code = None if self.proc is None else self.proc.returncode
        return f"{what} (exit code {code}); newest log:\n{self.newest_log_text()[-3000:]}"

    async def wait_until(self, what: str, ready, timeout: float = READY_TIMEOUT) -> None:
        """Poll ``ready()`` until true; fail early if the process exits, late at the deadline."""
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while not ready():
            # Let asyncio reap the child so that an early exit is noticed.
            await asyncio.sleep(POLL)
            if self.exited() and not ready():
                raise AssertionError(self._failure(f"the relay exited before: {what}"))
            if time.monotonic() > deadline:
                raise AssertionError(self._failure(f"not within {timeout:.0f} s: {what}"))

    async def wait_for_log(
        self, text: str, timeout: float = READY_TIMEOUT, *, before: str | None = RUNNING
    ) -> None:
        """Until the newest log has a line containing ``text``. Fails at once if ``before``
        (a later line: by default `relay running`) shows up first: ``text`` cannot follow."""

        def ready() -> bool:
            log = self.newest_log_text()
            if text in log:
                return True
            if before is not None and before != text and before in log:
                raise AssertionError(self._failure(f"{before!r} came without {text!r}"))
            return False

        await self.wait_until(f"{text!r} in the log", ready, timeout)

    async def wait_running(self, timeout: float = READY_TIMEOUT) -> None:
        """Until the relay started last logged `relay running`: it polls (or listens) now."""
        await self.wait_for_log(RUNNING, timeout)

    async def wait_catching(
        self, sig: signal.Signals = signal.SIGTERM, timeout: float = READY_TIMEOUT
    ) -> None:
        """Until the kernel says the process catches ``sig`` (its SigCgt bit is set)."""
        pid = self.pid

        def caught() -> bool:
            mask = signal_mask(pid, "SigCgt")
            return mask is not None and bool(mask & sig_bit(sig))

        await self.wait_until(f"{sig.name} caught (SigCgt)", caught, timeout)

    async def wait_delivered(self, sig: signal.Signals, timeout: float = READY_TIMEOUT) -> None:
        """Until a signal sent to the process is no longer pending (its handler ran)."""
        pid = self.pid

        def delivered() -> bool:
            masks = [signal_mask(pid, name) for name in ("SigPnd", "ShdPnd")]
            return any(m is None for m in masks) or not any(m & sig_bit(sig) for m in masks)

        deadline = time.monotonic() + timeout
        while not delivered():
            await asyncio.sleep(POLL)
            assert time.monotonic() < deadline, self._failure(f"{sig.name} still pending")

    def send(self, sig: signal.Signals) -> None:
        assert self.proc is not None and self.proc.returncode is None, "the relay is not running"
        self.proc.send_signal(sig)

    async def wait_exit(self, timeout: float = EXIT_TIMEOUT) -> int:
        """The exit code; SIGKILL and fail if the process does not exit in time."""
        assert self.proc is not None
        try:
            return await asyncio.wait_for(self.proc.wait(), timeout=timeout)
        except TimeoutError:
            await self.kill()
            raise AssertionError(self._failure(f"no exit within {timeout:.0f} s")) from None

    async def stop(self, *, when_running: bool = True) -> int:
        """SIGTERM and wait for a clean exit; returns the exit code.

        By default the signal goes out only once the relay logged `relay running`, so a
        test that just (re)started it stops a relay that is up, not one still importing
        (tests/bot/test_relay_start_stop.py sends signals at every stage on purpose).
        """
        assert self.proc is not None
        if self.proc.returncode is None and when_running:
            try:
                await self.wait_running()
            except AssertionError:
                if not self.exited():
                    raise
        if self.proc.returncode is None:
            self.send(signal.SIGTERM)
        # The relay may use its grace twice (10 s for the turns in hand, 10 s for the
        # drain of what they decided to say) before it closes the store.
        return await self.wait_exit(timeout=45)

    def log_text(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in self.logs if p.exists())

    async def store(self) -> Store:
        return await open_store(self.config.store_url)

    def relay_ring(self) -> RelayKeyRing:
        return RelayKeyRing.load(Layout(self.config.data_dir).relay_key, RELAY_PASS)

    async def inbox_texts(self) -> list[str]:
        """The texts (or captions) of message updates sealed in the inbox, not processed yet."""
        # The relay's own epoch keys, as they are on disk now (ADR 0083).
        keys = InboxKeys.load(Layout(self.config.data_dir).inbox_keys, self.relay_ring())
        texts = []
        async with await open_store(self.config.store_url) as store:
            rows = await store.list_inbox(limit=1000)
            assert len(rows) < 1000, "more rows than one page: read them page by page"
            for row in rows:
                update = json.loads(keys.open(row.update_id, row.sealed_update))
                message = update.get("message") or {}
                text = message.get("text") or message.get("caption")
                if text:
                    texts.append(text)
        return texts

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

    founded = await found(write)
    config = founded.config
    handler = EncryptionKeyPair.generate()
    async with await open_store(config.store_url) as store:
        await founded.enrol(
            store, "alice", handler.public, SigningKeyPair.generate().public, default_intake=True
        )
    return RelayProcess(tmp, sim, config_path, config, handler, tmp / "relay.log")


async def onboard(user: SimUser, *, timeout: float = 20.0) -> str:
    """Walk a source through onboarding against a running relay (no intake questions: see
    ``prepare``), each step waiting up to ``timeout``; returns the case ID it was shown."""
    shown: list[str] = []

    def case_id_shown(button: str, message: ChatMessage) -> None:
        if button == "saved":  # before the phrase is saved, the case ID is in the chat
            shown.extend(m.text or "" for m in user.bot_messages() if "case ID" in (m.text or ""))

    await walk(Onboarding(user), intake=(), timeout=timeout, check=case_id_shown)
    assert shown, "the case ID message was shown"
    return shown[-1].split("case ID is ", 1)[1].split(".", 1)[0].strip()
