"""`writein console cases` as a process on an officer's "machine" (its own folder and config,
no store), against `writein gateway` as a process: the readiness line, never a fixed wait."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from tests.handlers.conftest import CASE_A, CASE_B, World, passphrase_of

ROOT = Path(__file__).resolve().parents[2]
READY = re.compile(r"gateway listening on (http://127\.0\.0\.1:\d+)")
READY_TIMEOUT = 90.0  # a start on a loaded 2-core machine takes seconds
RUN_TIMEOUT = 120.0


def _env(**extra: str) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(ROOT), **extra}


async def _console(
    config: Path, *argv: str, command: tuple[str, ...] = (sys.executable, "-m", "writein")
) -> tuple[int, str, str]:
    env = _env(WRITEIN_PASSPHRASE=passphrase_of("alice").decode())
    if command[0] != sys.executable:
        del env["PYTHONPATH"]  # an installed `writein` runs only what was installed
    proc = await asyncio.create_subprocess_exec(
        *command,
        "console",
        "--config",
        str(config),
        *argv,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
        cwd=config.parent,
    )
    out, err = await asyncio.wait_for(proc.communicate(), RUN_TIMEOUT)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def _officer_config(world: World, url: str) -> Path:
    """The officer's machine: their key, the pinned fingerprint, the gateway's URL."""
    home = world.root / "officer"
    home.mkdir(exist_ok=True)
    path = home / "writein.toml"
    path.write_text(
        f'[trust]\norg_fingerprint = "{world.config.trust.org_fingerprint}"\n\n'
        f'[console]\nkey_file = "{world.key_files["alice"]}"\nurl = "{url}"\n',
        encoding="utf-8",
    )
    return path


@asynccontextmanager
async def gateway_process(world: World) -> AsyncIterator[tuple[asyncio.subprocess.Process, str]]:
    """`writein gateway` on the world's store, once it says it listens: (process, URL)."""
    log = world.root / "gateway.log"
    with log.open("wb") as err:
        gateway = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "writein", "gateway",
            "--config", str(world.config_path), "--port", "0",
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=err,
            env=_env(),
            cwd=ROOT,
        )  # fmt: skip
    try:
        assert gateway.stdout is not None
        line = await asyncio.wait_for(gateway.stdout.readline(), READY_TIMEOUT)
        ready = READY.fullmatch(line.decode().strip())
        assert ready, f"{line!r}; log: {log.read_text(errors='replace')[-2000:]}"
        yield gateway, ready[1]
    finally:
        if gateway.returncode is None:
            gateway.kill()
            await gateway.wait()


async def test_console_cases_through_a_gateway_process(cases: World) -> None:
    async with gateway_process(cases) as (gateway, url):
        config = _officer_config(cases, url)
        code, out, err_text = await _console(config, "cases")
        assert (code, err_text) == (0, ""), err_text
        rows = [row.split()[0] for row in out.splitlines()[1:-1]]
        assert rows == [CASE_B, CASE_A]
        assert out.splitlines()[-1] == "(2 of 2 cases)"
        # The officer's machine has no store: only the head of the roster it verified.
        assert sorted(p.name for p in (config.parent / "data").iterdir()) == ["console-roster.head"]
        gateway.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(gateway.wait(), 30) == 0
        # A gateway that is down: one line and the store's exit code, no traceback.
        code, out, err_text = await _console(config, "cases")
        assert (code, out) == (5, "")
        assert err_text.startswith(f"writein: the gateway at {url} is unreachable: ")
        assert err_text.count("\n") == 1
