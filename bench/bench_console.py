"""How fast the handler console is with a big store: 100,000 cases, a case of 10,000 messages.

    .venv/bin/python bench/bench_console.py [--cases 100000] [--messages 10000] [--runs 5]

Builds a throw-away relay (writein init, two enrolled handlers) in a temporary folder,
then measures, as the officer experiences it:

- the case list: the first page (100 cases with unread counts, flags and assignees),
  a deep page, counting, a search by a case-id fragment, every case as `cases --json`;
- opening the big case: access check, intake answers and the newest 50 messages
  verified and decrypted — the first screen — and, for comparison, the whole thread;
- the TUI, headless: unlock → case list shown, Enter → the case's first screen, and a
  new message → its unread count on the list with no key pressed (the live list);
- assigning the big case to a colleague (every message re-wrapped);
- the caseload (issue 15, item 3): the labels of the first page (cold: read from the
  store; warm: the session's memory), a filtered view, and a content search across the
  officer's 200 most recent cases, cold (every message decrypted, and each case's read
  audited) and warm (only what arrived since).

The big case's messages are sealed exactly as the relay seals them, and so are the
messages of the most recent cases the content search reads. The other cases get one
incoming envelope each, copied from one sealed core with fresh message ids: the list never
decrypts them, and sealing 100,000 envelopes would only make the set-up slow.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

import store
from admin.enrolment import enrol_handler
from admin.keyring import RelayKeyRing
from admin.setup import ORG_KEY_KIND, initialise
from core.config import Config, load_config
from core.payload import IntakeAnswer, SourceMessage, encode_body
from core.roster import Signer
from core.rosterlog import read_roster
from crypto import (
    DEFAULT_ARGON2,
    Argon2Params,
    Direction,
    SigningKeyPair,
    seal,
    unverified_header,
)
from demo.gateway_process import GatewayProcess
from handlers.cases import View, iter_cases, list_cases, list_view, require_assigned, search_cases
from handlers.identity import HandlerIdentity, read_identity, write_identity
from handlers.labels import current_labels
from handlers.manage import assign
from handlers.search import RECENT_CASES, search_content
from handlers.session import Session, open_workspace, start_session
from handlers.thread import load_intake, load_page, load_thread
from store.keyfiles import read_secret_file

if TYPE_CHECKING:
    from handlers.tui import ConsoleApp

ADMIN = b"bench admin passphrase"
RELAY = b"bench relay passphrase"
ALICE = b"bench alice passphrase 42"
BIG_CASE = "BIGC-ASE0-0001"
BATCH = 1000
#: The most recent ordinary cases get messages sealed one by one (the search reads them).
SEALED_CASES = RECENT_CASES
#: The word the content search looks for: in one message of every 20th sealed case.
NEEDLE = "quayside"


def case_id(i: int) -> str:
    return f"C{i:07d}-BENCH"


async def timed(action: Callable[[], Awaitable[object]], runs: int) -> float:
    """Median seconds of ``runs`` calls (after one warm-up)."""
    await action()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        await action()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


async def until(predicate: Callable[[], bool]) -> None:
    """Wait (at most two minutes) until ``predicate()`` holds, polling every millisecond."""
    async with asyncio.timeout(120):
        while True:
            if predicate():
                return
            await asyncio.sleep(0.001)


def show(label: str, seconds: float) -> None:
    print(f"  {label:<58} {seconds * 1000:>10.1f} ms")


async def build(root: Path, cases: int, messages: int) -> tuple[Config, Path]:
    insecure = Argon2Params.insecure_for_tests()
    result = await initialise(
        Config(base_dir=root), admin_passphrase=ADMIN, relay_passphrase=RELAY, argon2=insecure
    )
    path = root / "writein.toml"
    path.write_text(
        f'[paths]\ndata_dir = "data"\n[trust]\norg_fingerprint = "{result.org_fingerprint}"\n'
        '[console]\nkey_file = "alice.key"\n'
    )
    config = load_config(path)
    org = SigningKeyPair.from_seed(
        read_secret_file(result.layout.org_key, ADMIN, kind=ORG_KEY_KIND)
    )
    relay = RelayKeyRing.load(result.layout.relay_key, RELAY).current
    alice, bob = HandlerIdentity.generate("alice"), HandlerIdentity.generate("bob")
    write_identity(root / "alice.key", alice, ALICE)  # real Argon2id: unlocking is measured
    started = time.perf_counter()
    async with await store.open_store(config.store_url) as db:
        for h in (alice, bob):
            await enrol_handler(
                db, org, h.name, h.encryption.public, h.signing.public, default_intake=h is alice
            )
        template = seal(
            encode_body(SourceMessage(kind="text", text="hello")),
            case_id=case_id(0),
            direction=Direction.IN,
            recipients=[alice.encryption.public],
            signer=relay.signing,
        )
        # Each case is opened in the signed roster as the relay opens it (ADR 0076).
        roster = await read_roster(db, org.public)
        relay_signer = Signer("relay", version=relay.version)
        for start in range(0, cases, BATCH):
            async with db.transaction() as tx:
                for i in range(start, min(start + BATCH, cases)):
                    await tx.create_case(case_id(i), language="en")
                    entry = roster.next_entry(
                        relay_signer, relay.signing, "open_case", case_id=case_id(i),
                        handlers=["alice"],
                    )  # fmt: skip
                    await tx.append_roster(roster.head.seq, entry)
                    await tx.assign_handler(case_id(i), "alice")
                    if i < cases - SEALED_CASES:
                        await tx.add_envelope(
                            os.urandom(16), case_id(i), store.Direction.IN, template.core,
                            dict(template.wraps),
                        )  # fmt: skip
                        continue
                    for n in range(3):  # among the most recent: sealed as the relay seals
                        said = f"case {i}, message {n}: the tender documents"
                        if n == 1 and i % 20 == 0:
                            said += f", and the {NEEDLE} warehouse"
                        sealed = seal(
                            encode_body(SourceMessage(kind="text", text=said)),
                            case_id=case_id(i),
                            direction=Direction.IN,
                            recipients=[alice.encryption.public],
                            signer=relay.signing,
                        )
                        await tx.add_envelope(
                            unverified_header(sealed.core).message_id, case_id(i),
                            store.Direction.IN, sealed.core, dict(sealed.wraps),
                        )  # fmt: skip
        print(f"  built {cases:,} cases in {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        await db.create_case(BIG_CASE, language="en")
        entry = roster.next_entry(
            relay_signer, relay.signing, "open_case", case_id=BIG_CASE, handlers=["alice"]
        )
        await db.append_roster(roster.head.seq, entry)
        await db.assign_handler(BIG_CASE, "alice")
        for start in range(0, messages, BATCH):
            async with db.transaction() as tx:
                for i in range(start, min(start + BATCH, messages)):
                    answers = (IntakeAnswer(question="topic", answer="tenders"),) if i == 0 else ()
                    text = f"message {i} " * 8 + (f"near the {NEEDLE}" if i % 1000 == 0 else "")
                    body = SourceMessage(kind="text", text=text, answers=answers)
                    envelope = seal(
                        encode_body(body),
                        case_id=BIG_CASE,
                        direction=Direction.IN,
                        recipients=[alice.encryption.public],
                        signer=relay.signing,
                    )
                    await tx.add_envelope(  # under its own id: the console checks it
                        unverified_header(envelope.core).message_id, BIG_CASE,
                        store.Direction.IN, envelope.core, dict(envelope.wraps),
                    )  # fmt: skip
        print(f"  sealed and stored {messages:,} messages in {time.perf_counter() - started:.1f} s")
    return config, root / "alice.key"


async def first_screen(session: Session) -> None:
    """What opening the big case shows first: access check, intake, newest 50 messages."""
    case = await require_assigned(session, BIG_CASE)
    await load_intake(session, case.case_id)
    await load_page(session, case.case_id, limit=50)


async def bench_functions(config: Config, key: Path, runs: int, cases: int) -> dict[str, float]:
    """The console on the store; returns the figures the gateway run is compared with."""
    figures: dict[str, float] = {}
    started = time.perf_counter()
    workspace = await open_workspace(config)
    assert workspace.trust.roster is not None
    figures["open"] = time.perf_counter() - started
    show(
        f"open: verify the signed roster ({workspace.trust.roster.head.seq:,} entries)",
        figures["open"],
    )
    started = time.perf_counter()
    identity = await asyncio.to_thread(read_identity, key, ALICE)
    unlock = time.perf_counter() - started
    session: Session = start_session(workspace, identity)
    print(f"\nconsole functions ({cases:,} cases; median of {runs} runs)")
    show(f"unlock the key file (Argon2id t={DEFAULT_ARGON2.iterations}, 64 MiB)", unlock)
    first = await list_cases(session, limit=100)
    figures["list"] = await timed(lambda: list_cases(session), runs)
    show("case list: first page of 100", figures["list"])
    cursor, depth = first.next_cursor, 100
    while cursor is not None and depth < min(50_000, cases - 100):
        cursor = (await list_cases(session, before=cursor, with_assigned=False)).next_cursor
        depth += 100
    show(
        f"case list: the page {depth:,} cases deep",
        await timed(lambda: list_cases(session, before=cursor), runs),
    )
    show(
        "count the officer's cases",
        await timed(lambda: session.store.count_cases(handler="alice"), runs),
    )
    show(
        "search a case-id fragment (walks every case id)",
        await timed(lambda: search_cases(session, "0099999"), max(1, runs // 2)),
    )

    async def all_cases() -> int:
        return len([c async for c in iter_cases(session)])

    show(f"every case, as `cases --json` ({cases:,})", await timed(all_cases, 1))

    print("\nopening a case of 10,000 messages")
    figures["screen"] = await timed(lambda: first_screen(session), runs)
    show("first screen: access check + intake + newest 50 messages", figures["screen"])
    show(
        "whole thread decrypted (`console show`)",
        await timed(lambda: load_thread(session, BIG_CASE), 1),
    )
    figures |= await bench_caseload(session, runs, "")
    started = time.perf_counter()
    done = await assign(session, BIG_CASE, "bob")
    show(
        f"assign to a colleague ({done.rewrapped:,} messages re-wrapped)",
        time.perf_counter() - started,
    )
    await workspace.close()
    return figures


async def bench_caseload(session: Session, runs: int, where: str) -> dict[str, float]:
    """Labels, a filtered view and the content search (ADRs 0090, 0091)."""
    print(f"\nthe caseload{where}")
    figures: dict[str, float] = {}
    page = await list_cases(session)
    rows = [(item.case_id, item.activity_seq) for item in page.items]
    session.memory.labels.clear()
    started = time.perf_counter()
    await current_labels(session, rows)
    figures["labels"] = time.perf_counter() - started
    show("labels of the first page of 100, cold (read from the store)", figures["labels"])
    show(
        "labels of the first page of 100, warm (session memory)",
        await timed(lambda: current_labels(session, rows), runs),
    )
    figures["unread"] = await timed(lambda: list_view(session, View.UNREAD), runs)
    show("view unread: first page", figures["unread"])
    session.memory.texts.clear()
    started = time.perf_counter()
    result = await search_content(session, NEEDLE)
    figures["search"] = time.perf_counter() - started
    show(
        f"content search, {result.cases} most recent cases, cold "
        f"({result.messages:,} messages decrypted, {len(result.hits)} hits)",
        figures["search"],
    )
    figures["search_warm"] = await timed(lambda: search_content(session, NEEDLE), runs)
    show("content search, same cases, warm (in memory; nothing new)", figures["search_warm"])
    return figures


async def bench_gateway(
    config: Config, key: Path, runs: int, cases: int, local: dict[str, float]
) -> None:
    """The same console functions on an officer's machine: through a `writein gateway`
    process on the same store (loopback HTTP, every request signed)."""
    root = config.base_dir
    gateway = GatewayProcess(root / "writein.toml", root / "gateway.log")
    url = await gateway.start()
    try:
        remote = root / "officer.toml"
        remote.write_text(
            f'[paths]\ndata_dir = "officer-data"\n[trust]\norg_fingerprint = '
            f'"{config.trust.org_fingerprint}"\n[console]\nurl = "{url}"\n'
            f'key_file = "{key}"\n'
        )
        remote_config = load_config(remote)
        identity = await asyncio.to_thread(read_identity, key, ALICE)
        started = time.perf_counter()
        workspace = await open_workspace(remote_config, identity)
        opened = time.perf_counter() - started
        session = start_session(workspace, identity)

        figures = {
            "open": opened,
            "list": await timed(lambda: list_cases(session), runs),
            "screen": await timed(lambda: first_screen(session), runs),
        }
        figures |= await bench_caseload(session, runs, " through the gateway")
        await workspace.close()
    finally:
        await gateway.stop()
    print(f"\nthrough the gateway ({cases:,} cases; median of {runs} runs; goal: at most 2x)")
    labels = {
        "open": "open: fetch and verify the signed roster",
        "list": "case list: first page of 100",
        "screen": "first screen of the 10,000-message case",
        "labels": "labels of the first page, cold",
        "unread": "view unread: first page",
        "search": f"content search, {RECENT_CASES} cases, cold",
        "search_warm": f"content search, {RECENT_CASES} cases, warm",
    }
    for name, label in labels.items():
        ratio = figures[name] / local[name] if local[name] else float("inf")
        print(
            f"  {label:<44} {local[name] * 1000:>9.1f} ms local"
            f" {figures[name] * 1000:>9.1f} ms gateway  {ratio:>5.2f}x"
        )


async def bench_tui(config: Config, key: Path) -> None:
    from textual.widgets import DataTable, Input

    from handlers.tui import ConsoleApp
    from handlers.tui.caselist import CaseListScreen
    from handlers.tui.casescreen import CaseScreen, MessageView

    app = ConsoleApp(
        open_workspace=lambda me: open_workspace(config, me),
        key_file=key,
        lock_after_seconds=600,
    )
    print("\nTUI, headless (Textual run_test), 120x40")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        app.screen.query_one("#passphrase", Input).value = ALICE.decode()
        started = time.perf_counter()
        await pilot.press("enter")
        await until(
            lambda: (
                isinstance(app.screen, CaseListScreen)
                and app.screen.query_one("#cases", DataTable).row_count > 0
            )
        )
        show("unlock (Argon2id) → case list with its first 100 rows", time.perf_counter() - started)
        await app.workers.wait_for_complete()
        await pilot.pause()
        table = app.screen.query_one("#cases", DataTable)
        table.move_cursor(row=table.get_row_index(BIG_CASE))
        started = time.perf_counter()
        await pilot.press("enter")
        await until(
            lambda: isinstance(app.screen, CaseScreen) and len(app.screen.query(MessageView)) == 50
        )
        await pilot.pause()
        show("Enter on the 10,000-message case → first screen shown", time.perf_counter() - started)
        started = time.perf_counter()
        await pilot.press("escape")
        await until(lambda: isinstance(app.screen, CaseListScreen))
        await app.workers.wait_for_complete()
        show("back to the case list (page reloaded)", time.perf_counter() - started)
        await live_list(app, config)


async def live_list(app: ConsoleApp, config: Config, times: int = 10) -> None:
    """A message stored for a case → its unread count on the list, no key pressed.

    Each new message is a copy of the case's first (under a fresh id): the list counts it
    and never decrypts it. The console looks every 0.5 s (``LIVE_SECONDS``), so the time
    is spread over that period plus one load of the page.
    """
    from handlers.tui.caselist import CaseListScreen

    screen = app.screen
    assert isinstance(screen, CaseListScreen)

    def unread() -> int:
        return next((i.unread for i in screen.items if i.case_id == case_id(0)), 0)

    samples = []
    async with await store.open_store(config.store_url) as db:
        [first] = await db.list_envelopes(case_id(0), limit=1)
        for _ in range(times):
            before = unread()
            await asyncio.sleep(0.5 * random.random())  # at any point of the console's period
            started = time.perf_counter()
            await db.add_envelope(
                os.urandom(16), case_id(0), store.Direction.IN, first.core, dict(first.wraps)
            )
            await until(lambda: unread() > before)  # noqa: B023 - awaited in this turn
            samples.append(time.perf_counter() - started)
    show(f"a new message → the list shows it (median of {times})", statistics.median(samples))
    show(f"a new message → the list shows it (slowest of {times})", max(samples))


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print(f"writein console benchmark — Python {platform.python_version()}, {platform.machine()}")
    with tempfile.TemporaryDirectory() as tmp:
        config, key = await build(Path(tmp), args.cases, args.messages)
        local = await bench_functions(config, key, args.runs, args.cases)
        await bench_gateway(config, key, args.runs, args.cases, local)
        await bench_tui(config, key)


if __name__ == "__main__":
    asyncio.run(main())
