"""How long `writein admin rotate-keys` takes for many cases. Not a test: prints figures.

    .venv/bin/python bench/bench_rotation.py [--cases 10000 100000] [--messages 1 10]

For each case count and messages-per-case figure it sets up a relay the way
`writein init` does (cheap Argon2 for the key files), creates the cases as the relay
would — each with a lookup hash and a chat reference sealed under key set v1, and
the given number of stored messages — then times one full rotation to v2 (no relay
running, so no waiting). A rotation re-seals per case, never per message: the time
should grow with cases and stay flat across messages per case.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from admin.keyring import RelayKeyRing
from admin.refs import seal_chat_ref
from admin.rotation import rotate_relay_keys
from admin.setup import Layout, initialise
from core.config import Config, parse_config
from crypto import Argon2Params

ADMIN = b"bench admin passphrase"
RELAY = b"bench relay passphrase"
BATCH = 1000
CORE = 1024  # a short message's signed core; rotation never reads it


def config_in(folder: Path, fingerprint: str = "") -> Config:
    data = {"paths": {"data_dir": "data"}, "trust": {"org_fingerprint": fingerprint}}
    return parse_config(data, base_dir=folder, source=folder / "writein.toml")


def case_id(i: int) -> str:
    return f"ROT{i // 10_000:04d}-{i % 10_000:04d}"


async def set_up(folder: Path, cases: int, messages: int) -> tuple[Config, float]:
    weak = Argon2Params.insecure_for_tests()
    first = await initialise(
        config_in(folder), admin_passphrase=ADMIN, relay_passphrase=RELAY, argon2=weak
    )
    config = config_in(folder, first.org_fingerprint)
    ring = RelayKeyRing.load(Layout(config.data_dir).relay_key, RELAY)
    today = datetime.now(UTC).date().isoformat()
    started = time.perf_counter()
    # Rows go in with executemany, under the store (the store's own calls make set-up
    # take minutes); the values are the relay's own: sealed refs and lookup hashes.
    db = sqlite3.connect(config.data_dir / "writein.db")
    try:
        for start in range(0, cases, BATCH):
            ids = range(start, min(start + BATCH, cases))
            db.executemany(
                "INSERT INTO cases (case_id, status, created_on, language, lookup_hash,"
                " sealed_chat_ref, last_activity_on, activity_seq)"
                " VALUES (?, 'open', ?, 'en', ?, ?, ?, ?)",
                [
                    (
                        case_id(i),
                        today,
                        ring.current.lookup_hash(10_000_000 + i),
                        seal_chat_ref(ring, case_id(i), 10_000_000 + i),
                        today,
                        i + 1,
                    )
                    for i in ids
                ],
            )
            db.executemany(
                "INSERT INTO envelopes (message_id, case_id, direction, stored_on, core)"
                " VALUES (?, ?, 'in', ?, ?)",
                [
                    (os.urandom(16), case_id(i), today, os.urandom(CORE))
                    for i in ids
                    for _ in range(messages)
                ],
            )
            db.commit()
    finally:
        db.close()
    return config, time.perf_counter() - started


async def measure(cases: int, messages: int, keep: Path | None) -> None:
    with tempfile.TemporaryDirectory(dir=keep) as tmp:
        folder = Path(tmp)
        config, seeding = await set_up(folder, cases, messages)
        started = time.perf_counter()
        report = await rotate_relay_keys(
            config, admin_passphrase=ADMIN, relay_passphrase=RELAY, wait_for_relay=0
        )
        seconds = time.perf_counter() - started
        assert report.moved.get("chat references") == cases, report.moved
        assert report.moved.get("lookup hashes") == cases, report.moved
        size = (config.data_dir / "writein.db").stat().st_size / 1e6
        print(
            f"  {cases:>9,} cases {messages:>4} msg/case {cases * messages:>11,} messages"
            f"   rotate-keys {seconds:7.2f} s   {seconds / cases * 1e6:6.1f} µs/case"
            f"   (set-up {seeding:6.1f} s, store {size:7.1f} MB)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--messages", type=int, nargs="+", default=[1, 10])
    parser.add_argument("--dir", type=Path, help="put the temporary stores under this folder")
    args = parser.parse_args()
    print("rotate-keys: relay key set v1 → v2, everything re-sealed, old keys destroyed")
    for cases in args.cases:
        for messages in args.messages:
            if cases * messages > 2_000_000:
                continue  # the point is made without a 2 GB store
            asyncio.run(measure(cases, messages, args.dir))


if __name__ == "__main__":
    main()
