"""How fast does the real writein relay take messages in, and what does it cost?

    .venv/bin/python bench/bench_relay.py [--sources 30] [--messages 1500] [--json]

Everything runs on loopback; nothing waits on a fixed sleep to start. Prints:

1. **Intake throughput**: messages per second of ``writein bot`` (a real subprocess, the
   way tests/bot/relay_process.py runs it) against an in-process telesim, once every
   source is onboarded and then all send at once; timed from the first message sent to
   the moment the last one is sealed in the store (the store is checked at the end: every
   message decrypts, exactly once). Beside it, a bare python-telegram-bot relay (no
   crypto, no store; run as a subprocess of this file) that makes the same Bot API calls
   per message as writein made in its first burst (``deleteMessages`` batches included),
   against a fresh telesim of the same kind. The bare relay talks to Telegram through
   python-telegram-bot's default transport (httpx), writein through its own
   (bot/transport.py, aiohttp). The two take turns (``--rounds`` bursts each), so that a
   busy machine's ups and downs fall on both; the medians are reported, and the CPU time
   each relay process spent per message. Goal: writein / bare >= 0.8.
2. **Intake latency**: from the moment telesim queued a source's update to the moment
   the relay's deleteMessage(s) removed the source's copy (telesim's call log), p50/p99,
   under light paced load and during the burst of 1.
3. **Event-loop stall**: p99 and maximum lateness of a 5 ms sleep on the relay's own
   event loop while sources onboard and other accounts guess ``/recover`` phrases, with
   the production Argon2 parameters for recovery phrases. The relay runs in-process here
   (telesim in its own process, so that its work does not count), and a watchdog thread
   samples the loop thread's stack during each long stall to say where it was spent;
   a bare event loop in a process of its own probes alongside, to show what the machine
   alone does to a loop meanwhile. Goal: p99 < 20 ms, max < 100 ms.
4. **Relay RSS**: VmRSS/VmHWM of the relay subprocess during the throughput run.

The [relay] rate limit (a per-source hard cap) is raised for the run, so that a large
``--messages`` is not refused. ``--profile FILE`` runs the relay subprocess under cProfile
and prints its top cumulative costs per ingested message; ``--keep DIR`` keeps the data
dirs and the relays' logs.

The exit status is non-zero only when the run itself breaks (a message missing from the
store, a process that does not start, a bound exceeded); timings are reported, never
judged, and so is a relay that does not exit cleanly when stopped.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import math
import os
import platform
import pstats
import re
import signal
import sqlite3
import statistics
import sys
import sysconfig
import tempfile
import threading
import time
import traceback
from collections import Counter, deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import aiohttp
from telegram import Bot, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import ApplicationBuilder, ContextTypes, MessageHandler, filters

from admin.enrolment import enrol_handler
from admin.keyring import RelayKeyRing
from admin.setup import ORG_KEY_KIND, Layout, initialise
from bot.logsafety import setup_logging
from bot.phrase import new_phrase
from bot.relay import Relay
from core.config import Config, load_config
from core.i18n import catalog
from core.payload import SourceMessage, decode_body
from core.trust import load_trust
from crypto import (
    DEFAULT_ARGON2,
    Argon2Params,
    Direction,
    EncryptionKeyPair,
    Envelope,
    SigningKeyPair,
    open_envelope,
)
from store import open_store
from store.keyfiles import read_secret_file
from telesim import SimUser, TelegramSimulator

SELF = Path(__file__).resolve()
ROOT = SELF.parents[1]
ADMIN_PASS = b"admin passphrase for the bench"
RELAY_PASS = "relay passphrase for the bench"
# Shaped like a real BotFather token, so the relay's log redaction sees a realistic one.
TOKEN = "7012345678:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0"
STEP_TIMEOUT = 120.0  # one onboarding step, one wait for a process: generous on a busy box
POLL = 0.01  # how often the bench looks at the store and the simulator while timing
# A relay's calls for a burst are counted until it has made none for this long: writein
# holds a chat's acknowledgement until the chat has been quiet for 2 s.
QUIET = 3.0
MiB = 1024 * 1024


_T0 = time.monotonic()


def progress(text: str) -> None:
    print(f"[bench_relay {time.monotonic() - _T0:6.1f} s] {text}", file=sys.stderr, flush=True)


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of ``values``; NaN when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def split_messages(total: int, sources: int) -> list[int]:
    """How many messages each source sends: ``total`` spread as evenly as possible."""
    return [total // sources + (1 if i < total % sources else 0) for i in range(sources)]


def due(k: int, milli: int) -> int:
    """How many calls of a kind message ``k`` makes when the kind averages milli/1000."""
    return ((k + 1) * milli) // 1000 - (k * milli) // 1000


def planned(messages: int, milli: int) -> int:
    """Calls of a kind over ``messages`` messages (the sum of ``due``)."""
    return (messages * milli) // 1000


# -- a relay's data dir -----------------------------------------------------------------------


@dataclass
class Prepared:
    config_path: Path
    config: Config
    handler: EncryptionKeyPair

    @property
    def db_path(self) -> Path:
        return Path(self.config.store_url)


async def prepare(tmp: Path, base_url: str, base_file_url: str, relay_toml: str = "") -> Prepared:
    """``writein init`` and one enrolled default handler, as tests/bot/relay_process.py does.

    The key files get fast Argon2 (they are opened once at start); recovery phrases keep
    the production parameters, which the relay uses unless told otherwise.
    """
    config_path = _config_file(tmp)

    def write(fingerprint: str) -> Config:
        config_path.write_text(
            "[paths]\ndata_dir = 'data'\n"
            f"[telegram]\nbase_url = '{base_url}'\nbase_file_url = '{base_file_url}'\n"
            f"[trust]\norg_fingerprint = '{fingerprint}'\n"
            f"[relay]\n{relay_toml}"
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
    return Prepared(config_path, config, handler)


def _config_file(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return folder / "writein.toml"


def relay_command() -> list[str]:
    """``python -m writein bot``: the code behind `writein bot`."""
    return ["-m", "writein", "bot"]


def child_env() -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(ROOT),
        "WRITEIN_BOT_TOKEN": TOKEN,
        "WRITEIN_RELAY_PASSPHRASE": RELAY_PASS,
        "PTB_TIMEDELTA": "true",
    }


async def stop_process(proc: asyncio.subprocess.Process, grace: float = 30.0) -> int:
    """SIGTERM, wait for a clean exit (SIGKILL after ``grace`` s); the exit code."""
    if proc.returncode is None:
        proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), grace)
        except TimeoutError:
            proc.kill()
            await proc.wait()
    return proc.returncode if proc.returncode is not None else -1


def tail(path: Path, lines: int = 20) -> str:
    if not path.exists():
        return "(no log)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


class BenchError(Exception):
    """The run itself broke (not a slow figure): the bench exits non-zero."""


# -- counting in the store while the relay writes -------------------------------------------


class InboundCount:
    """``count(*)`` of inbound envelopes over a read-only connection: cheap enough to poll.

    Only for timing; the end of each run checks the store through its own API.
    """

    def __init__(self, db: Path) -> None:
        self._db = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)

    def __call__(self) -> int:
        row = self._db.execute("SELECT count(*) FROM envelopes WHERE direction = 'in'").fetchone()
        return int(row[0])

    def close(self) -> None:
        self._db.close()


async def stored_texts(prep: Prepared) -> list[str]:
    """Every source message in the store, decrypted with the handler's key (each verified)."""
    texts: list[str] = []
    async with await open_store(prep.config.store_url) as store:
        trust = await load_trust(store, prep.config.trust.org_fingerprint)
        signers = trust.relay_signers()
        for case in await store.list_cases(limit=1000):
            after: int | None = None
            for _ in range(10_000):  # pages of 500; bounded
                page = await store.list_envelopes(case.case_id, after_seq=after, limit=500)
                if not page:
                    break
                for env in page:
                    opened = open_envelope(
                        Envelope(env.core, env.wraps),
                        recipient=prep.handler,
                        trusted_signers=signers,
                        expect_case_id=case.case_id,
                        expect_direction=Direction.IN,
                    )
                    body = decode_body(opened.plaintext)
                    if isinstance(body, SourceMessage) and body.text is not None:
                        texts.append(body.text)
                after = page[-1].seq
    return texts


def check_stored(sent: Iterable[str], stored: Sequence[str], label: str) -> None:
    missing = Counter(sent) - Counter(stored)
    extra = Counter(stored) - Counter(sent)
    duplicated = [t for t, n in Counter(stored).items() if n > 1]
    if missing or duplicated:
        raise BenchError(
            f"{label}: {sum(missing.values())} message(s) missing from the store, "
            f"{len(duplicated)} stored more than once, {sum(extra.values())} unexpected"
        )


# -- telesim observations -------------------------------------------------------------------


def keep_every_call(sim: TelegramSimulator) -> None:
    """telesim keeps its last 10,000 calls; a run makes more, and every one is counted."""
    sim.world.calls = deque(sim.world.calls, maxlen=1_000_000)


def deletion_times(sim: TelegramSimulator) -> dict[tuple[int, int], float]:
    """(chat, message) -> when its first successful deleteMessage(s) call was answered."""
    times: dict[tuple[int, int], float] = {}
    calls = sorted(
        [*sim.calls_to("deleteMessage"), *sim.calls_to("deleteMessages")], key=lambda c: c.at
    )
    for call in calls:
        if not call.ok:
            continue
        with contextlib.suppress(KeyError, TypeError, ValueError):
            chat = int(str(call.params["chat_id"]))
            ids = call.params.get("message_ids")
            if isinstance(ids, str):
                ids = json.loads(ids)
            if not isinstance(ids, list):
                ids = [call.params["message_id"]]
            for mid in ids:
                times.setdefault((chat, int(str(mid))), call.at)
    return times


def calls_between(sim: TelegramSimulator, start: float, end: float) -> Counter[str]:
    return Counter(c.method for c in sim.calls if start <= c.at <= end)


async def settled(sim: TelegramSimulator, quiet: float, bound: float) -> float:
    """When the bot's last call other than getUpdates was answered, once it has made none
    for ``quiet`` seconds (a relay may hold acknowledgements until a chat goes quiet)."""
    deadline = time.monotonic() + bound
    while True:
        last = max((c.at for c in sim.calls if c.method != "getUpdates"), default=0.0)
        if sim.clock.now() - last >= quiet or time.monotonic() > deadline:
            return last
        await asyncio.sleep(0.1)


async def wait_gone(
    users: dict[int, SimUser],
    keys: Iterable[tuple[int, int]],
    deadline: float,
    proc: asyncio.subprocess.Process | None = None,
) -> None:
    """Until every (chat, message) has left its chat; ``deadline`` is a monotonic time."""
    remaining = set(keys)
    while remaining:
        if proc is not None and proc.returncode is not None:
            raise BenchError(f"the relay exited with {proc.returncode}")
        gone = set()
        for chat, mid in remaining:
            try:
                users[chat].message(mid)
            except LookupError:
                gone.add((chat, mid))
        remaining -= gone
        if not remaining:
            return
        if time.monotonic() > deadline:
            raise BenchError(f"{len(remaining)} source message(s) never left the chat")
        await asyncio.sleep(POLL)


@dataclass
class Sent:
    """What the sources sent: text, and when telesim queued each (sim clock, seconds)."""

    texts: list[str] = field(default_factory=list)
    at: dict[tuple[int, int], float] = field(default_factory=dict)

    def add(self, user: SimUser, message_id: int, text: str, at: float) -> None:
        self.texts.append(text)
        self.at[(user.id, message_id)] = at


async def burst(sim: TelegramSimulator, users: Sequence[SimUser], total: int, tag: str) -> Sent:
    """Every source sends its share at once (each source in order, all sources together)."""
    sent = Sent()

    async def source(index: int, user: SimUser, count: int) -> None:
        for j in range(count):
            text = f"{tag} source {index} message {j}: " + " ".join(["the quick brown fox"] * 4)
            at = sim.clock.now()  # the update is queued synchronously inside send_text
            message = await user.send_text(text)
            sent.add(user, message.message_id, text, at)

    shares = split_messages(total, len(users))
    pairs = enumerate(zip(users, shares, strict=True))
    await asyncio.gather(*(source(i, user, n) for i, (user, n) in pairs))
    return sent


async def paced(sim: TelegramSimulator, users: Sequence[SimUser], total: int, rate: float) -> Sent:
    """``total`` messages at ``rate`` a second, the sources taking turns."""
    sent = Sent()
    loop = asyncio.get_running_loop()
    start = loop.time()
    for i in range(total):
        await asyncio.sleep(max(0.0, start + i / rate - loop.time()))
        user = users[i % len(users)]
        text = f"paced message {i}: " + " ".join(["jumps over the lazy dog"] * 3)
        at = sim.clock.now()
        message = await user.send_text(text)
        sent.add(user, message.message_id, text, at)
    return sent


def latencies(sent: Sent, deleted: dict[tuple[int, int], float]) -> list[float]:
    return [deleted[key] - at for key, at in sent.at.items() if key in deleted]


# -- 1, 2, 4: the writein relay as a subprocess ------------------------------------------------


def plain(html: str) -> str:
    """A catalogue message as the user sees it (Telegram HTML rendered to text)."""
    text = re.sub(r"<[^>]+>", "", html)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


READY_TEXT = plain(catalog("en").gettext("case.ready"))


async def onboard(user: SimUser) -> None:
    """Through the whole onboarding, as a source on their phone (tests' ``onboard``)."""

    def buttons(message: Any) -> bool:
        return bool(message.buttons)

    await user.send_text("/start")
    prompt = await user.wait_for_bot_message(where=buttons, timeout=STEP_TIMEOUT)
    await user.press_button(prompt.message_id, "lang:en")
    consent = await user.wait_for_bot_message(
        after=prompt.message_id, where=buttons, timeout=STEP_TIMEOUT
    )
    await user.press_button(consent.message_id, "consent:yes")
    phrase = await user.wait_for_bot_message(
        after=consent.message_id, where=buttons, timeout=STEP_TIMEOUT
    )
    await user.press_button(phrase.message_id, "saved")
    await user.wait_for_bot_message(
        after=phrase.message_id, where=lambda m: m.text == READY_TEXT, timeout=STEP_TIMEOUT
    )


class RssSampler:
    """VmRSS and VmHWM of a process, read from /proc every 100 ms."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.rss = 0
        self.peak_rss = 0
        self.hwm = 0

    def read(self) -> None:
        try:
            status = Path(f"/proc/{self.pid}/status").read_text()
        except OSError:
            return
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        self.rss = int(fields.get("VmRSS", "0 kB").split()[0]) * 1024
        self.hwm = int(fields.get("VmHWM", "0 kB").split()[0]) * 1024
        self.peak_rss = max(self.peak_rss, self.rss)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            self.read()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.1)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far, all its threads (/proc/PID/stat)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return math.nan
    fields = stat.rsplit(")", 1)[1].split()  # the name may hold spaces; fields after it
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Burst:
    """One burst through one relay."""

    stored_seconds: float  # first message sent -> last one stored (the bare relay: handled)
    deleted_seconds: float  # first message sent -> last source copy deleted
    calls: Counter[str]  # the relay's calls from the first message until it went quiet
    sent: Sent
    cpu_seconds: float  # the relay process's CPU time from the first message until quiet


class WriteinSide:
    """The real relay (``python -m writein bot``) against its own in-process telesim."""

    def __init__(self, args: argparse.Namespace, tmp: Path) -> None:
        self.args = args
        self.tmp = tmp
        self.log = tmp / "writein-relay.log"
        self.sim = TelegramSimulator(token=TOKEN, seed=1, strict=False)
        self.users: list[SimUser] = []
        self.sent: list[str] = []
        self.onboarding_seconds = math.nan
        self.rss_after_onboarding = 0
        self.exit_code = -1
        self.warnings = 0
        self._stack = contextlib.AsyncExitStack()

    async def start(self) -> None:
        """Start telesim and the relay, onboard every source."""
        args, sim = self.args, self.sim
        await self._stack.enter_async_context(sim)
        keep_every_call(sim)
        room = 10 * (args.rounds * args.messages + args.latency_messages)
        self.prep = await prepare(
            self.tmp / "writein", sim.base_url, sim.base_file_url, f"rate_limit_messages = {room}\n"
        )
        command = [sys.executable]
        if args.profile:
            command += ["-m", "cProfile", "-o", args.profile]
        command += [*relay_command(), "--config", str(self.prep.config_path), "--log-level", "info"]
        progress(f"starting {' '.join(['python', *command[1:]])}")
        with self.log.open("wb") as out:
            self.proc = await asyncio.create_subprocess_exec(
                *command, stdin=asyncio.subprocess.DEVNULL, stdout=out, stderr=out, env=child_env()
            )
        self._stack.push_async_callback(self._stop)
        self.rss = RssSampler(self.proc.pid)
        self._rss_stop = asyncio.Event()
        self._sampler = asyncio.create_task(self.rss.run(self._rss_stop))
        await wait_ready(sim, self.proc, self.log)
        self.users = [
            sim.add_user(first_name=f"Source{i}", username=f"source_{i}")
            for i in range(args.sources)
        ]
        self.by_id = {u.id: u for u in self.users}
        progress(f"onboarding {args.sources} sources")
        t = time.perf_counter()
        await asyncio.gather(*(onboard(u) for u in self.users))
        self.onboarding_seconds = time.perf_counter() - t
        self.rss.read()
        self.rss_after_onboarding = self.rss.rss
        self.count = InboundCount(self.prep.db_path)
        self._stack.callback(self.count.close)

    async def paced(self) -> list[float]:
        """Light load: latencies (s) of ``--latency-messages`` sent at ``--latency-rate``."""
        args = self.args
        progress(f"light load: {args.latency_messages} messages at {args.latency_rate:g}/s")
        before = self.count()
        slow = await paced(self.sim, self.users, args.latency_messages, args.latency_rate)
        self.sent += slow.texts
        await wait_count(self.count, before + args.latency_messages, args.timeout)
        await wait_gone(self.by_id, slow.at, time.monotonic() + args.timeout, self.proc)
        await settled(self.sim, QUIET, args.timeout)
        self.rss.peak_rss = 0  # from here on: the peak during the bursts
        return latencies(slow, deletion_times(self.sim))

    async def burst(self, r: int) -> Burst:
        args, sim = self.args, self.sim
        progress(f"writein burst {r + 1}/{args.rounds}: {args.messages} messages at once")
        before = self.count()
        cpu0 = cpu_seconds(self.proc.pid)
        t0 = sim.clock.now()
        sent = await burst(sim, self.users, args.messages, f"burst {r}")
        self.sent += sent.texts
        await wait_count(self.count, before + args.messages, args.timeout)
        stored_at = sim.clock.now()
        await wait_gone(self.by_id, sent.at, time.monotonic() + args.timeout, self.proc)
        progress(f"all stored and deleted; waiting for {QUIET:g} s without a call")
        quiet_at = await settled(sim, QUIET, args.timeout)
        deleted = deletion_times(sim)
        deleted_at = max(deleted[key] for key in sent.at)
        calls = calls_between(sim, t0, max(stored_at, deleted_at, quiet_at))
        cpu = cpu_seconds(self.proc.pid) - cpu0
        return Burst(stored_at - t0, deleted_at - t0, calls, sent, cpu)

    async def finish(self) -> None:
        """Stop the relay, then check the store: every message decrypts, exactly once."""
        self.rss.read()
        self.rss_burst_peak, self.rss_final = self.rss.peak_rss, self.rss.rss
        await self._stack.aclose()
        if self.exit_code != 0:
            progress(f"the relay exited with {self.exit_code} when stopped:\n{tail(self.log, 5)}")
        log_text = self.log.read_text(errors="replace")
        self.warnings = len(re.findall(r" (WARNING|ERROR|CRITICAL) ", log_text))
        progress("checking the store: every message decrypts, exactly once")
        check_stored(self.sent, await stored_texts(self.prep), "writein")

    async def _stop(self) -> None:
        self._rss_stop.set()
        await self._sampler
        self.exit_code = await stop_process(self.proc)

    async def close(self) -> None:
        """After a failure: stop whatever runs."""
        await self._stack.aclose()


# The relay's last start-up call, and its first loop's: telesim logs a call once answered,
# so a long poll shows only when it returns, and the command menu is what shows first.
READY_CALLS = ("setMyCommands", "getUpdates")


async def wait_ready(sim: TelegramSimulator, proc: asyncio.subprocess.Process, log: Path) -> None:
    """Until the relay has made its start-up calls (it is polling), or it died."""
    deadline = time.monotonic() + STEP_TIMEOUT

    def ready() -> bool:
        return any(sim.calls_to(method) for method in READY_CALLS)

    while not ready():
        if proc.returncode is not None:
            raise BenchError(f"the relay exited with {proc.returncode}:\n{tail(log)}")
        if time.monotonic() > deadline:
            raise BenchError(f"the relay did not start within {STEP_TIMEOUT:.0f} s:\n{tail(log)}")
        with contextlib.suppress(TimeoutError):
            await sim.wait_for(ready, timeout=0.5)


async def wait_count(count: Callable[[], int], target: int, bound: float) -> None:
    deadline = time.monotonic() + bound
    while (now := count()) < target:
        if time.monotonic() > deadline:
            raise BenchError(f"only {now} of {target} messages stored after {bound:.0f} s")
        await asyncio.sleep(POLL)


def print_profile(path: Path, messages: int, top: int = 25) -> None:
    stats = pstats.Stats(str(path))
    rows = []
    for func, (_cc, nc, tt, ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        filename, line, name = func
        rows.append((ct, tt, nc, f"{_short(filename)}:{line} {name}"))
    rows.sort(reverse=True)
    print(f"\ncProfile of the relay process (whole run: startup, onboarding, {messages} msgs)")
    print(f"  {'cum s':>8} {'ms/msg':>8} {'self s':>8} {'calls':>9}  function")
    for ct, tt, nc, where in rows[:top]:
        print(f"  {ct:8.2f} {ct * 1000 / messages:8.2f} {tt:8.2f} {nc:9d}  {where}")


STDLIB = sysconfig.get_paths()["stdlib"]


def _short(filename: str) -> str:
    if "site-packages/" in filename:
        return filename.split("site-packages/", 1)[1]
    if filename.startswith(STDLIB + "/"):
        return filename[len(STDLIB) + 1 :]
    with contextlib.suppress(ValueError):
        return str(Path(filename).relative_to(ROOT))
    return filename


# -- 1: the bare PTB relay ------------------------------------------------------------------

ACK_HTML = catalog("en").gettext("ack.received")


def bare_child(spec: str) -> int:
    """The bare relay, in its own process: per message the call mix it is given, in order.

    What it deletes (the source's copy, later its own acknowledgements) waits in a list per
    chat; a ``deleteMessage`` call that falls due takes the oldest one, a
    ``deleteMessages`` call the rest of the chat's list (writein deletes what is due in one
    chat with one call). The last message of a burst deletes what is left, one call per
    chat.
    """
    options = json.loads(spec)
    send_milli, single_milli = int(options["send_milli"]), int(options["single_milli"])
    batch_milli, burst = int(options["batch_milli"]), int(options["burst"])
    warm = int(options["warm"])
    app = (
        ApplicationBuilder()
        .token(TOKEN)
        .base_url(options["base_url"])
        .base_file_url(options["base_file_url"])
        .build()
    )
    pending: dict[int, deque[int]] = {}
    handled = [0]

    async def delete(bot: Bot, chat: int, ids: list[int]) -> None:
        with contextlib.suppress(BadRequest):
            if len(ids) == 1:
                await bot.delete_message(chat, ids[0])
            else:
                await bot.delete_messages(chat, ids)

    async def relay(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is None:
            return
        k = handled[0]
        handled[0] += 1
        chat, bot = message.chat_id, context.bot
        queue = pending.setdefault(chat, deque())
        queue.append(message.message_id)
        if k < warm:
            await delete(bot, chat, [queue.popleft()])
            return
        k -= warm
        for _ in range(due(k, send_milli)):
            ack = await bot.send_message(
                chat, ACK_HTML, parse_mode=ParseMode.HTML, protect_content=True
            )
            queue.append(ack.message_id)
        for _ in range(due(k, single_milli)):
            if queue:
                await delete(bot, chat, [queue.popleft()])
        for _ in range(due(k, batch_milli)):
            if len(queue) > 1:
                ids = [queue.popleft() for _ in range(min(100, len(queue)))]
                await delete(bot, chat, ids)
        if (k + 1) % burst == 0:
            for other, left in pending.items():
                while left:
                    await delete(bot, other, [left.popleft() for _ in range(min(100, len(left)))])

    app.add_handler(MessageHandler(filters.ALL, relay))
    app.run_polling(
        poll_interval=0,
        timeout=1,  # a backlog is fetched at once anyway; a short poll stops promptly
        allowed_updates=["message", "edited_message", "callback_query"],
        stop_signals=(signal.SIGTERM, signal.SIGINT),
    )
    return 0


class BareSide:
    """The bare PTB relay (a child process of this file) against its own telesim."""

    def __init__(self, args: argparse.Namespace, tmp: Path, mix: Counter[str], per: int) -> None:
        self.args = args
        self.log = tmp / "bare-relay.log"
        # The call mix writein made per message, as calls per 1000 messages.
        self.send_milli = round(1000 * mix["sendMessage"] / per)
        self.single_milli = round(1000 * mix["deleteMessage"] / per)
        self.batch_milli = round(1000 * mix["deleteMessages"] / per)
        self.sim = TelegramSimulator(token=TOKEN, seed=2, strict=False)
        self._stack = contextlib.AsyncExitStack()

    async def start(self) -> None:
        sim = self.sim
        await self._stack.enter_async_context(sim)
        keep_every_call(sim)
        self.users = [
            sim.add_user(first_name=f"Source{i}", username=f"source_{i}")
            for i in range(self.args.sources)
        ]
        self.by_id = {u.id: u for u in self.users}
        warm = Sent()
        for user in self.users:  # a first message each, handled before the clock starts
            message = await user.send_text("/start")
            warm.add(user, message.message_id, "/start", sim.clock.now())
        spec = {
            "base_url": sim.base_url,
            "base_file_url": sim.base_file_url,
            "send_milli": self.send_milli,
            "single_milli": self.single_milli,
            "batch_milli": self.batch_milli,
            "burst": self.args.messages,
            "warm": len(self.users),
        }
        progress("starting the bare PTB relay")
        with self.log.open("wb") as out:
            self.proc = await asyncio.create_subprocess_exec(
                *(sys.executable, str(SELF), "--bare-child", json.dumps(spec)),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                env=child_env(),
            )
        self._stack.push_async_callback(stop_process, self.proc)
        # Ready once it has handled a first message from each source.
        await wait_gone(self.by_id, warm.at, time.monotonic() + STEP_TIMEOUT, self.proc)

    async def burst(self, r: int) -> Burst:
        args, sim = self.args, self.sim
        progress(f"bare burst {r + 1}/{args.rounds}: {args.messages} messages at once")
        cpu0 = cpu_seconds(self.proc.pid)
        t0 = sim.clock.now()
        sent = await burst(sim, self.users, args.messages, f"bare {r}")
        deadline = time.monotonic() + args.timeout
        await wait_gone(self.by_id, sent.at, deadline, self.proc)
        await settled(sim, QUIET, args.timeout)
        kinds = ("sendMessage", "deleteMessage", "deleteMessages")
        done = max(c.at for c in sim.calls if c.method in kinds)
        deleted_at = max(deletion_times(sim)[key] for key in sent.at)
        cpu = cpu_seconds(self.proc.pid) - cpu0
        return Burst(done - t0, deleted_at - t0, calls_between(sim, t0, done), sent, cpu)

    async def close(self) -> None:
        await self._stack.aclose()


@dataclass
class Intake:
    writein: WriteinSide
    bare: BareSide
    writein_bursts: list[Burst]
    bare_bursts: list[Burst]
    paced_latency: list[float]

    def latency(self, bursts: list[Burst], side: WriteinSide | BareSide) -> list[float]:
        deleted = deletion_times(side.sim)
        return [x for b in bursts for x in latencies(b.sent, deleted)]


async def run_intake(args: argparse.Namespace, tmp: Path) -> Intake:
    """Parts 1, 2, 4: the relays' bursts alternate, so that a busy machine's ups and downs
    fall on both alike; the bare relay copies the call mix of writein's first burst."""
    writein = WriteinSide(args, tmp)
    bare: BareSide | None = None
    try:
        await writein.start()
        paced_latency = await writein.paced()
        writein_bursts = [await writein.burst(0)]
        first = writein_bursts[0]
        bare = BareSide(args, tmp, first.calls, args.messages)
        await bare.start()
        bare_bursts = [await bare.burst(0)]
        for r in range(1, args.rounds):
            writein_bursts.append(await writein.burst(r))
            bare_bursts.append(await bare.burst(r))
        await bare.close()
        await writein.finish()
    except BaseException:
        if bare is not None:
            await bare.close()
        await writein.close()
        raise
    return Intake(writein, bare, writein_bursts, bare_bursts, paced_latency)


# -- 3: event-loop stall, the relay in-process --------------------------------------------------


class Control:
    """telesim's JSON control API (the simulator runs in another process)."""

    def __init__(self, http: aiohttp.ClientSession, url: str) -> None:
        self.http = http
        self.url = url

    async def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        async with self.http.request(method, self.url + path, json=body) as response:
            data = await response.json()
        if response.status == 408:
            return None
        if not data.get("ok"):
            raise BenchError(f"telesim {method} {path}: {data.get('error')}")
        return data["result"]

    async def add_user(self, name: str) -> int:
        user = await self.call("POST", "/users", {"first_name": name, "username": name.lower()})
        return int(user["id"])

    async def send_text(self, user: int, text: str) -> int:
        message = await self.call("POST", f"/users/{user}/send_text", {"text": text})
        return int(message["message_id"])

    async def press(self, user: int, message_id: int, data: str) -> None:
        await self.call(
            "POST", f"/users/{user}/press_button", {"message_id": message_id, "data": data}
        )

    async def wait_bot(
        self, user: int, after: int, where: Callable[[dict[str, Any]], bool]
    ) -> dict[str, Any]:
        """The first bot message newer than ``after`` that ``where`` accepts."""
        deadline = time.monotonic() + STEP_TIMEOUT
        while True:
            messages: list[dict[str, Any]] = await self.call("GET", f"/users/{user}/messages")
            for message in messages:
                if message["from_bot"] and message["message_id"] > after and where(message):
                    return message
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise BenchError(f"no expected bot message within {STEP_TIMEOUT:.0f} s")
            top = max([after, *(m["message_id"] for m in messages)])
            wait = min(remaining, 10.0)
            await self.call("GET", f"/users/{user}/messages/wait?after={top}&timeout={wait:.1f}")


def _has_buttons(message: dict[str, Any]) -> bool:
    return bool(message["buttons"])


async def onboard_remote(sim: Control, name: str) -> None:
    user = await sim.add_user(name)
    start = await sim.send_text(user, "/start")
    prompt = await sim.wait_bot(user, start, _has_buttons)
    await sim.press(user, prompt["message_id"], "lang:en")
    consent = await sim.wait_bot(user, prompt["message_id"], _has_buttons)
    await sim.press(user, consent["message_id"], "consent:yes")
    phrase = await sim.wait_bot(user, consent["message_id"], _has_buttons)
    await sim.press(user, phrase["message_id"], "saved")
    await sim.wait_bot(user, phrase["message_id"], lambda m: m["text"] == READY_TEXT)


WRONG_TEXT = plain(catalog("en").gettext("recover.wrong"))


async def guess_remote(sim: Control, name: str, guesses: int) -> int:
    """A stranger sends /recover, then wrong (well-formed) phrases: each one is hashed.

    Returns how many were answered "wrong phrase" (each of those cost an Argon2id)."""
    user = await sim.add_user(name)
    sent = await sim.send_text(user, "/recover")
    await sim.wait_bot(user, sent, lambda m: True)
    wrong = 0
    for _ in range(guesses):
        sent = await sim.send_text(user, new_phrase())
        answer = await sim.wait_bot(user, sent, lambda m: True)
        wrong += answer["text"] == WRONG_TEXT
    return wrong


class StallWatch(threading.Thread):
    """Samples the event loop thread's stack while the loop has not ticked for a while."""

    def __init__(self, loop_thread: int, threshold: float) -> None:
        super().__init__(name="stall-watch", daemon=True)
        self.loop_thread = loop_thread
        self.threshold = threshold
        self.last: tuple[int, float] = (0, time.perf_counter())
        self.samples: dict[int, str] = {}
        self.done = threading.Event()

    def tick(self, n: int) -> None:
        self.last = (n, time.perf_counter())

    def run(self) -> None:
        while not self.done.wait(0.01):
            n, at = self.last
            if time.perf_counter() - at > self.threshold:
                frame = sys._current_frames().get(self.loop_thread)
                if frame is not None:
                    self.samples[n] = where(frame)


def where(frame: FrameType) -> str:
    """The innermost frame, and the innermost frames of writein's own code that led there."""
    stack = traceback.extract_stack(frame)
    innermost = stack[-1]
    own = [
        f
        for f in stack
        if any(f"/{p}/" in f.filename for p in ("bot", "store", "crypto"))
        and str(ROOT) in f.filename
    ]
    parts = [f"{_short(innermost.filename)}:{innermost.lineno} {innermost.name}"]
    for f in reversed(own[-3:]):
        text = f"{_short(f.filename)}:{f.lineno} {f.name}"
        if text not in parts:
            parts.append(text)
    return " <- ".join(parts)


async def lag_probe(stop: asyncio.Event, watch: StallWatch | None, limit: int) -> list[float]:
    """Lateness of each 5 ms sleep (seconds), until ``stop`` (or ``limit`` sleeps)."""
    lags: list[float] = []
    interval = 0.005
    for n in range(limit):
        if stop.is_set():
            break
        if watch is not None:
            watch.tick(n)
        start = time.perf_counter()
        await asyncio.sleep(interval)
        lags.append(time.perf_counter() - start - interval)
    return lags


def probe_child() -> int:
    """A bare event loop in its own process, probing its own lateness until SIGTERM: what
    the machine alone does to a loop meanwhile. Prints p99 and max (seconds) as JSON."""

    async def run() -> list[float]:
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        print("ready", flush=True)
        return await lag_probe(stop, None, 1_000_000)

    lags = asyncio.run(run())
    print(json.dumps({"p99": percentile(lags, 99), "max": max(lags, default=math.nan)}))
    return 0


async def start_control_probe() -> asyncio.subprocess.Process:
    proc = await asyncio.create_subprocess_exec(
        *(sys.executable, str(SELF), "--probe-child"),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), STEP_TIMEOUT)
    if line.strip() != b"ready":
        await stop_process(proc)
        raise BenchError("the control probe did not start")
    return proc


async def control_result(proc: asyncio.subprocess.Process) -> tuple[float, float]:
    """Stop the control probe; its (p99, max) lateness in seconds."""
    proc.send_signal(signal.SIGTERM)
    assert proc.stdout is not None
    try:
        out = await asyncio.wait_for(proc.stdout.read(), STEP_TIMEOUT)
        figures = json.loads(out)
        return float(figures["p99"]), float(figures["max"])
    except (TimeoutError, ValueError, KeyError):
        return math.nan, math.nan
    finally:
        await stop_process(proc)


@dataclass
class StallRun:
    idle: list[float]
    busy: list[float]
    control: tuple[float, float]  # p99, max of a bare loop in its own process meanwhile
    seconds: float
    sites: list[tuple[str, int, float, float]]  # where, count, total s, max s
    hashed: int  # wrong phrases the relay checked (each an Argon2id)
    stop_error: str  # what Relay.run raised when stopped, if anything


async def start_telesim() -> tuple[asyncio.subprocess.Process, dict[str, str]]:
    proc = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "telesim", "--port", "0", "--token", TOKEN, "--seed", "3"),
        "--no-strict",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env={**child_env(), "PYTHONWARNINGS": "ignore"},
    )
    assert proc.stdout is not None
    try:
        urls = await _addresses(proc.stdout)
    except BaseException:
        await stop_process(proc)
        raise
    return proc, urls


async def _addresses(stdout: asyncio.StreamReader) -> dict[str, str]:
    """base_url, base_file_url, control_url and token, as ``python -m telesim`` prints them."""
    urls: dict[str, str] = {}
    while len(urls) < 4:
        line = await asyncio.wait_for(stdout.readline(), STEP_TIMEOUT)
        if not line:
            raise BenchError("telesim exited before it printed its addresses")
        key, _, value = line.decode().strip().partition("=")
        urls[key] = value
    return urls


async def run_stall(args: argparse.Namespace, tmp: Path) -> StallRun:
    sim_proc, urls = await start_telesim()
    try:
        prep = await prepare(tmp / "stall", urls["base_url"], urls["base_file_url"])
        handler = logging.FileHandler(tmp / "stall-relay.log")
        logging.getLogger().addHandler(handler)
        setup_logging(logging.INFO, secrets=[TOKEN])
        ring = RelayKeyRing.load(Layout(prep.config.data_dir).relay_key, RELAY_PASS.encode())
        bot = Bot(TOKEN, base_url=urls["base_url"], base_file_url=urls["base_file_url"])
        async with (
            await open_store(prep.config.store_url) as store,
            bot,
            aiohttp.ClientSession() as http,
        ):
            sim = Control(http, urls["control_url"])
            relay = Relay(prep.config, store, ring, bot, phrase_params=DEFAULT_ARGON2)
            stop = asyncio.Event()
            running = asyncio.create_task(relay.run(stop), name="relay")
            try:
                deadline = time.monotonic() + STEP_TIMEOUT
                while not any([await sim.call("GET", f"/calls?method={m}") for m in READY_CALLS]):
                    if running.done() or time.monotonic() > deadline:
                        raise BenchError("the in-process relay did not start polling")
                    await asyncio.sleep(0.05)
                progress("idle relay: 1 s of loop lateness for a baseline")
                idle_stop = asyncio.Event()
                asyncio.get_running_loop().call_later(1.0, idle_stop.set)
                idle = await lag_probe(idle_stop, None, 100_000)

                progress(
                    f"{args.stall_sources} sources onboard while {args.stall_guessers} "
                    f"accounts guess /recover ({args.guesses} wrong phrases each)"
                )
                control = await start_control_probe()
                watch = StallWatch(threading.get_ident(), threshold=0.04)
                watch.start()
                busy_stop = asyncio.Event()
                probe = asyncio.create_task(lag_probe(busy_stop, watch, 1_000_000))
                t = time.perf_counter()
                onboarding = [onboard_remote(sim, f"Onboard{i}") for i in range(args.stall_sources)]
                guessing = [
                    guess_remote(sim, f"Guess{i}", args.guesses) for i in range(args.stall_guessers)
                ]
                try:
                    results = await asyncio.wait_for(
                        asyncio.gather(*onboarding, *guessing), args.timeout
                    )
                finally:
                    seconds = time.perf_counter() - t
                    busy_stop.set()
                    busy = await probe
                    watch.done.set()
                    watch.join()
                    control_lag = await control_result(control)
            finally:
                stop.set()
                try:
                    await asyncio.wait_for(running, 60)
                except Exception as exc:  # reported, not fatal: the figures are taken
                    stop_error = f"{type(exc).__name__}: {exc}"
                    progress(f"the in-process relay failed when stopped: {stop_error}")
                else:
                    stop_error = ""
        logging.getLogger().removeHandler(handler)
        handler.close()
    finally:
        await stop_process(sim_proc)
    sites: dict[str, list[float]] = {}
    for n, lag in enumerate(busy):
        if lag > 0.05:
            site = watch.samples.get(n, "(not sampled)")
            if re.match(r"selectors\.py:\d+ select\b", site):
                site += " (the loop was waiting for I/O: held up by the OS or another thread)"
            sites.setdefault(site, []).append(lag)
    ranked = sorted(
        ((w, len(v), sum(v), max(v)) for w, v in sites.items()), key=lambda r: r[2], reverse=True
    )
    hashed = sum(r for r in results if isinstance(r, int))
    return StallRun(idle, busy, control_lag, seconds, ranked, hashed, stop_error)


# -- the report --------------------------------------------------------------------------------


def ms(seconds: float) -> str:
    return "n/a" if math.isnan(seconds) else f"{seconds * 1000:.0f} ms"


def mix_text(calls: Counter[str], messages: int) -> str:
    parts = [
        f"{method} {n / messages:.2f}"
        for method, n in sorted(calls.items(), key=lambda kv: (-kv[1], kv[0]))
        if method != "getUpdates"
    ]
    return ", ".join(parts) or "none"


def per_message(calls: Counter[str], messages: int) -> float:
    return sum(n for m, n in calls.items() if m != "getUpdates") / messages


def goal(ok: bool) -> str:
    return "met" if ok else "NOT MET"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--sources", type=int, default=30, help="sources (default 30)")
    parser.add_argument("--messages", type=int, default=1500, help="burst messages in all")
    parser.add_argument("--latency-messages", type=int, default=100, help="paced messages")
    parser.add_argument("--latency-rate", type=float, default=10.0, help="paced messages/s")
    parser.add_argument("--stall-sources", type=int, default=20)
    parser.add_argument("--stall-guessers", type=int, default=20)
    parser.add_argument("--guesses", type=int, default=2, help="wrong phrases per guesser")
    parser.add_argument(
        "--rounds",
        type=int,
        default=2,
        help="bursts per relay, in turns (writein, bare, writein, ...); medians are reported",
    )
    parser.add_argument("--timeout", type=float, default=300.0, help="bound on each phase (s)")
    parser.add_argument("--profile", metavar="FILE", help="run the relay under cProfile")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--keep", metavar="DIR", help="keep data dirs and logs in DIR")
    parser.add_argument("--bare-child", help=argparse.SUPPRESS)
    parser.add_argument("--probe-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.sources < 1 or args.messages < args.sources or args.latency_messages < 1:
        parser.error("need at least one source, one message per source, one paced message")
    if not 1 <= args.rounds <= 10:
        parser.error("--rounds: 1 to 10")
    if args.guesses > 4:
        parser.error("--guesses: at most 4 (the relay allows 5 /recover attempts an hour)")
    if args.profile:
        args.profile = str(Path(args.profile).resolve())
    if args.keep:
        args.keep = str(Path(args.keep).resolve())
    return args


async def main(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-relay-") as name:
        tmp = Path(args.keep) if args.keep else Path(name)
        if args.keep:
            progress(f"keeping data dirs and logs in {tmp}")
        try:
            intake = await run_intake(args, tmp)
            stall = await run_stall(args, tmp)
        except BenchError as exc:
            print(f"bench_relay: {exc}", file=sys.stderr)
            return 1
    elapsed = time.perf_counter() - started

    m = args.messages
    total = m * args.rounds  # calls are counted over every round
    writein = intake.writein
    writein_calls = sum((b.calls for b in intake.writein_bursts), Counter[str]())
    bare_calls = sum((b.calls for b in intake.bare_bursts), Counter[str]())
    writein_rates = [m / b.stored_seconds for b in intake.writein_bursts]
    bare_rates = [m / b.stored_seconds for b in intake.bare_bursts]
    writein_rate = statistics.median(writein_rates)
    deleted_rate = statistics.median(m / b.deleted_seconds for b in intake.writein_bursts)
    bare_rate = statistics.median(bare_rates)
    # Each writein burst is paired with the bare one right after it (same machine load).
    ratios = [w / b for w, b in zip(writein_rates, bare_rates, strict=True)]
    ratio = statistics.median(ratios)
    writein_cpu = statistics.median(1000 * b.cpu_seconds / m for b in intake.writein_bursts)
    bare_cpu = statistics.median(1000 * b.cpu_seconds / m for b in intake.bare_bursts)
    paced_latency = intake.paced_latency
    burst_latency = intake.latency(intake.writein_bursts, writein)
    bare_latency = intake.latency(intake.bare_bursts, intake.bare)
    idle_p99, idle_max = percentile(stall.idle, 99), max(stall.idle, default=math.nan)
    busy_p99, busy_max = percentile(stall.busy, 99), max(stall.busy, default=math.nan)
    result: dict[str, Any] = {
        "machine": {
            "python": platform.python_version(),
            "arch": platform.machine(),
            "cpus": os.cpu_count(),
            "loadavg": os.getloadavg()[0],
        },
        "sources": args.sources,
        "messages": m,
        "relay_command": " ".join(["python", *relay_command()]),
        "throughput": {
            "rounds": args.rounds,
            "writein_stored_per_s": writein_rate,
            "writein_stored_per_s_rounds": writein_rates,
            "writein_deleted_per_s": deleted_rate,
            "bare_per_s": bare_rate,
            "bare_per_s_rounds": bare_rates,
            "ratio": ratio,
            "ratio_rounds": ratios,
            "goal_ratio": 0.8,
            "writein_cpu_ms_per_message": writein_cpu,
            "bare_cpu_ms_per_message": bare_cpu,
            "writein_calls_per_message": {k: v / total for k, v in writein_calls.items()},
            "bare_calls_per_message": {k: v / total for k, v in bare_calls.items()},
            "onboarding_s": writein.onboarding_seconds,
            "relay_warnings": writein.warnings,
            "relay_exit_code_on_sigterm": writein.exit_code,
        },
        "latency_ms": {
            "paced_rate_per_s": args.latency_rate,
            "paced_p50": percentile(paced_latency, 50) * 1000,
            "paced_p99": percentile(paced_latency, 99) * 1000,
            "burst_p50": percentile(burst_latency, 50) * 1000,
            "burst_p99": percentile(burst_latency, 99) * 1000,
            "bare_burst_p50": percentile(bare_latency, 50) * 1000,
            "bare_burst_p99": percentile(bare_latency, 99) * 1000,
        },
        "stall_ms": {
            "idle_p99": idle_p99 * 1000,
            "idle_max": idle_max * 1000,
            "control_p99": stall.control[0] * 1000,
            "control_max": stall.control[1] * 1000,
            "p99": busy_p99 * 1000,
            "max": busy_max * 1000,
            "goal_p99": 20,
            "goal_max": 100,
            "workload_s": stall.seconds,
            "wrong_phrases_checked": stall.hashed,
            "relay_stop_error": stall.stop_error,
            "stalls_over_50ms": sum(n for _, n, _, _ in stall.sites),
            "sites": [
                {"where": w, "count": n, "total_ms": t * 1000, "max_ms": x * 1000}
                for w, n, t, x in stall.sites
            ],
        },
        "rss_mib": {
            "after_onboarding": writein.rss_after_onboarding / MiB,
            "burst_peak": writein.rss_burst_peak / MiB,
            "final": writein.rss_final / MiB,
            "process_peak_vmhwm": writein.rss.hwm / MiB,
        },
        "elapsed_s": elapsed,
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(
            f"writein relay bench: Python {platform.python_version()}, {platform.machine()}, "
            f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}; {args.sources} sources, "
            f"{m} messages; {elapsed:.0f} s"
        )
        print(
            "1. intake throughput (burst; relay = `python "
            + " ".join(relay_command())
            + "`, telesim in the bench process, answer checks off)"
        )
        rounds = (
            f" (median of {args.rounds} bursts each, taken in turns; writein/bare msg/s: "
            + ", ".join(f"{w:.0f}/{b:.0f}" for w, b in zip(writein_rates, bare_rates, strict=True))
            + ")"
            if args.rounds > 1
            else ""
        )
        print(
            f"  writein, all stored:               {writein_rate:7.1f} msg/s   "
            f"calls/msg {per_message(writein_calls, total):.2f}: "
            f"{mix_text(writein_calls, total)}; "
            f"getUpdates {writein_calls['getUpdates'] / total:.3f}"
        )
        print(f"  writein, all source copies deleted: {deleted_rate:7.1f} msg/s")
        print(
            f"  relay process CPU per message (user + system, all threads, until quiet): "
            f"writein {writein_cpu:.2f} ms, bare {bare_cpu:.2f} ms"
        )
        print(
            f"  bare PTB relay, same call mix:      {bare_rate:7.1f} msg/s   "
            f"calls/msg {per_message(bare_calls, total):.2f}: {mix_text(bare_calls, total)}; "
            f"getUpdates {bare_calls['getUpdates'] / total:.3f}"
        )
        print(
            f"  ratio writein/bare: {ratio:.2f}   (goal >= 0.8: {goal(ratio >= 0.8)}){rounds}; "
            f"onboarding {args.sources} sources took {writein.onboarding_seconds:.1f} s; "
            f"{writein.warnings} warning/error lines in the relay log"
        )
        if writein.exit_code != 0:
            print(f"  NOTE: the relay exited with {writein.exit_code} on SIGTERM (expected 0)")
        print("2. intake latency (telesim queued the update -> deleteMessage of the source's copy)")
        print(
            f"  light load, {args.latency_messages} msgs at {args.latency_rate:g}/s:   "
            f"p50 {ms(percentile(paced_latency, 50))}, "
            f"p99 {ms(percentile(paced_latency, 99))}"
        )
        print(
            f"  during the burst (queueing):       "
            f"p50 {ms(percentile(burst_latency, 50))}, "
            f"p99 {ms(percentile(burst_latency, 99))}   (bare relay: "
            f"p50 {ms(percentile(bare_latency, 50))}, "
            f"p99 {ms(percentile(bare_latency, 99))})"
        )
        print(
            "3. event-loop stall (relay in-process, telesim in its own process, "
            "production Argon2 for phrases)"
        )
        print(f"  idle relay:   p99 {ms(idle_p99)}, max {ms(idle_max)}")
        print(
            f"  {args.stall_sources} onboarding + {args.stall_guessers} guessing /recover "
            f"({stall.hashed} wrong phrases checked; {stall.seconds:.1f} s): "
            f"p99 {ms(busy_p99)}, max {ms(busy_max)}"
        )
        print(
            f"  meanwhile, a bare event loop in its own process (the machine's share): "
            f"p99 {ms(stall.control[0])}, max {ms(stall.control[1])}"
        )
        where_text = (
            "stalls over 50 ms, by where the loop thread was when sampled (a sample in a "
            "system call or a trivial line: the thread was waiting for a CPU):"
        )
        print(
            f"  goal p99 < 20 ms: {goal(busy_p99 < 0.020)}; max < 100 ms: {goal(busy_max < 0.1)}; "
            + (where_text if stall.sites else "no stall over 50 ms")
        )
        for w, n, t, x in stall.sites[:4]:
            print(f"    {n:4d} stalls > 50 ms, {t:6.2f} s in all, max {ms(x)}: {w}")
        if stall.stop_error:
            print(f"  NOTE: Relay.run raised when stopped: {stall.stop_error}")
        print("4. relay RSS (subprocess, throughput run; VmRSS sampled every 100 ms)")
        print(
            f"  after onboarding {writein.rss_after_onboarding / MiB:.0f} MiB, "
            f"peak during the burst {writein.rss_burst_peak / MiB:.0f} MiB, "
            f"final {writein.rss_final / MiB:.0f} MiB; "
            f"process peak (VmHWM, Argon2 included) {writein.rss.hwm / MiB:.0f} MiB"
        )
    if args.profile:
        print_profile(Path(args.profile), total + args.latency_messages)
    return 0


def cli(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.bare_child:  # PTB's run_polling runs its own event loop
        return bare_child(args.bare_child)
    if args.probe_child:
        return probe_child()
    return asyncio.run(main(args))


if __name__ == "__main__":
    sys.exit(cli())
