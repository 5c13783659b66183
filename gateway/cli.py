"""`writein gateway`: serve consoles on officers' own machines until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType
from urllib.parse import urlsplit

from core.config import Config, ConfigError, load_config
from core.roster import HeadMemory
from core.subcommands import run_group

__all__ = ["HEAD_FILE", "main", "register", "serve"]

#: The gateway's own memory of the last roster head it verified (ADR 0076).
HEAD_FILE = "gateway-roster.head"
DEFAULT_PORT = 8470

log = logging.getLogger("writein.gateway")


def _origin(text: str) -> str:
    """``scheme://host[:port]``, as consoles reach the gateway (no path, no query)."""
    parts = urlsplit(text.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError("--origin is the gateway's public URL, like https://gateway.example.org")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise ConfigError("--origin has no path, query or user: like https://gateway.example.org")
    return f"{parts.scheme}://{parts.netloc.lower()}"


def _url_host(host: str) -> str:
    try:
        return f"[{host}]" if ipaddress.ip_address(host).version == 6 else host
    except ValueError:
        return host


async def serve(
    config: Config,
    *,
    host: str,
    port: int,
    origin: str | None,
    stop: asyncio.Event | None = None,
) -> int:
    """Serve until ``stop`` is set (by SIGTERM/SIGINT when run as a command)."""
    from aiohttp import web

    from store import open_existing_store

    from .app import build_app
    from .auth import GATEWAY, TrustKeeper

    stop = stop or asyncio.Event()
    store = await open_existing_store(config.store_url)
    runner: web.AppRunner | None = None
    try:
        memory = HeadMemory(config.data_dir / HEAD_FILE) if config.data_dir.is_dir() else None
        keeper = TrustKeeper(store, config.trust.org_fingerprint, memory)
        await keeper.current()  # refuse to start on a roster that does not verify
        app = build_app(store, keeper, origin=origin or "")
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, host, port, shutdown_timeout=5)
        await site.start()
        bound = runner.addresses[0][1]
        # Set before the loop runs again, so no request meets an empty origin.
        app[GATEWAY].origin = origin or f"http://{_url_host(host)}:{bound}"
        print(f"gateway listening on http://{_url_host(host)}:{bound}", flush=True)
        log.info("consoles sign requests for %s", app[GATEWAY].origin)
        await stop.wait()
        log.info("stopping")
    finally:
        if runner is not None:
            await runner.cleanup()
        await store.close()
    return 0


_EARLY_STOP = threading.Event()


def _early_stop(signum: int, frame: FrameType | None) -> None:
    _EARLY_STOP.set()


async def _serve_until_signalled(config: Config, args: argparse.Namespace) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if _EARLY_STOP.is_set():
        return 0
    return await serve(config, host=args.host, port=args.port, origin=args.origin, stop=stop)


def _cmd_gateway(args: argparse.Namespace) -> int:
    # A stop while the configuration loads is a clean exit too, not -15 or a traceback.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _early_stop)
    logging.basicConfig(
        stream=sys.stderr,
        level=getattr(logging, args.log_level.upper()),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not 0 <= args.port <= 65535:
        raise ConfigError("--port is from 0 to 65535")
    if args.origin:
        args.origin = _origin(args.origin)
    config = load_config(args.config)
    if _EARLY_STOP.is_set():
        return 0
    return asyncio.run(_serve_until_signalled(config, args))


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``gateway`` to the `writein` command's subcommands."""
    p = subparsers.add_parser(
        "gateway",
        help="serve consoles on officers' own machines over HTTP until SIGINT/SIGTERM",
        description=(
            "Serve the console gateway: signed requests from officers' consoles, ciphertext "
            "and pseudonymous metadata only. Put TLS (a reverse proxy) or a Tor onion "
            "service in front of it (docs/operations.md)."
        ),
    )
    p.add_argument("--config", help="the configuration file")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    p.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port ({DEFAULT_PORT}; 0: any free one)"
    )
    p.add_argument(
        "--origin",
        help="the public URL consoles use, e.g. https://gateway.example.org "
        "(default: http://HOST:PORT); requests are signed for it",
    )
    p.add_argument(
        "--log-level",
        choices=("debug", "info", "warning"),
        default="info",
        help="how much to log (never a signature, a body or a message)",
    )
    p.set_defaults(func=_cmd_gateway)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``gateway`` on its own (as `writein gateway` would)."""
    return run_group(register, argv)


if __name__ == "__main__":
    sys.exit(main())
