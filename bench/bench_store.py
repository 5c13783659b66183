"""How fast the SQLite store lists a big case load. Not a test: prints figures.

    .venv/bin/python bench/bench_store.py [--cases 100000] [--envelopes 10000] [--dir DIR]

Creates N cases (a fifth of them closed, one in fifty unreachable, all
assigned to one of four handlers), then times the first page of the case
list under several filters; adds M envelopes (1 KiB core, two 1168-byte
wraps, like crypto's) to one case and times reading pages of it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from store import CaseFlag, CaseStatus, Direction, Store, open_store

HANDLERS = ["alice", "bob", "carol", "dave"]
BATCH = 1000
WRAP = 1168


def case_id(i: int) -> str:
    return f"BNCH-{i // 10_000:04d}-{i % 10_000:04d}"


async def timed(label: str, call: Callable[[], Awaitable[Any]], repeat: int = 20) -> None:
    await call()  # warm the page cache
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        await call()
        samples.append(time.perf_counter() - start)
    print(
        f"  {label:<52} median {statistics.median(samples) * 1000:8.2f} ms"
        f"   max {max(samples) * 1000:8.2f} ms"
    )


async def fill_cases(store: Store, count: int) -> None:
    for name in HANDLERS:
        await store.add_handler(name, os.urandom(200))
    start = time.perf_counter()
    for first in range(0, count, BATCH):
        async with store.transaction() as tx:
            for i in range(first, min(first + BATCH, count)):
                cid = case_id(i)
                await tx.create_case(cid, language="en", lookup_hash=os.urandom(32))
                await tx.assign_handler(cid, HANDLERS[i % len(HANDLERS)])
                if i % 5 == 0:
                    await tx.set_case_status(cid, CaseStatus.CLOSED)
                if i % 50 == 0:
                    await tx.set_case_flag(cid, CaseFlag.UNREACHABLE)
    elapsed = time.perf_counter() - start
    print(f"  created {count} cases in {elapsed:.1f} s ({count / elapsed:,.0f} cases/s)")


async def fill_envelopes(store: Store, target: str, count: int) -> None:
    wraps = {os.urandom(16): os.urandom(WRAP) for _ in range(2)}
    start = time.perf_counter()
    for first in range(0, count, BATCH):
        async with store.transaction() as tx:
            for i in range(first, min(first + BATCH, count)):
                direction = Direction.IN if i % 3 else Direction.OUT
                await tx.add_envelope(os.urandom(16), target, direction, os.urandom(1024), wraps)
    elapsed = time.perf_counter() - start
    print(f"  added {count} envelopes in {elapsed:.1f} s ({count / elapsed:,.0f} envelopes/s)")


async def run(folder: Path, cases: int, envelopes: int) -> None:
    path = folder / "bench.db"
    store = await open_store(path)
    try:
        print(f"store: {path}")
        print(f"filling {cases} cases ...")
        await fill_cases(store, cases)
        print("first page of 50 cases (most recent activity first):")
        await timed("all cases", lambda: store.list_cases(limit=50))
        await timed("status=open", lambda: store.list_cases(status=CaseStatus.OPEN))
        await timed("flag=unreachable", lambda: store.list_cases(flag=CaseFlag.UNREACHABLE))
        await timed("handler=alice", lambda: store.list_cases(handler="alice"))
        await timed(
            "handler=alice, status=open",
            lambda: store.list_cases(handler="alice", status=CaseStatus.OPEN),
        )
        page = await store.list_cases(limit=50)
        deep = page[-1].activity_seq - cases // 2
        await timed(
            "a page half-way down (keyset cursor)", lambda: store.list_cases(before_activity=deep)
        )
        await timed("count open cases", lambda: store.count_cases(status=CaseStatus.OPEN))
        await timed(
            "unread counts for a page of 50",
            lambda: store.unread_counts("alice", [c.case_id for c in page]),
        )

        target = case_id(cases - 1)
        print(f"adding {envelopes} envelopes to one case ...")
        await fill_envelopes(store, target, envelopes)
        key = next(iter((await store.list_envelopes(target, limit=1))[0].wraps))
        print("reading 100 envelopes of that case:")
        await timed("first page, oldest first, all wraps", lambda: store.list_envelopes(target))
        await timed(
            "newest page, one key's wraps",
            lambda: store.list_envelopes(target, newest_first=True, wraps=key),
        )
        middle = (await store.list_envelopes(target, limit=1))[0].seq + envelopes // 2
        await timed(
            "a page half-way (keyset cursor)",
            lambda: store.list_envelopes(target, after_seq=middle, wraps=key),
        )
        await timed("count envelopes of the case", lambda: store.count_envelopes(target))
        print(f"database size: {path.stat().st_size / 2**20:.1f} MiB")
    finally:
        await store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--envelopes", type=int, default=10_000)
    parser.add_argument("--dir", type=Path, help="keep the database in this folder")
    args = parser.parse_args()
    if args.dir:
        args.dir.mkdir(parents=True, exist_ok=True)
        asyncio.run(run(args.dir, args.cases, args.envelopes))
        return
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(run(Path(folder), args.cases, args.envelopes))


if __name__ == "__main__":
    main()
