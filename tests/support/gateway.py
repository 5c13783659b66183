"""A console gateway on a store, in the test's own event loop, on a loopback port."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web

from core.roster import HeadMemory
from gateway.app import build_app
from gateway.auth import GATEWAY, TrustKeeper
from store import open_existing_store


async def serve_gateway(
    store_url: str, fingerprint: str, head: Path, cleanup: list[Callable[[], Awaitable[None]]]
) -> str:
    """Serve the store at ``store_url``; returns the origin consoles sign against.
    What must be closed afterwards is appended to ``cleanup`` (close it in reverse)."""
    db = await open_existing_store(store_url)
    cleanup.append(db.close)
    app = build_app(db, TrustKeeper(db, fingerprint, HeadMemory(head)))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    cleanup.append(runner.cleanup)
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    origin = f"http://127.0.0.1:{runner.addresses[0][1]}"
    app[GATEWAY].origin = origin
    return origin
