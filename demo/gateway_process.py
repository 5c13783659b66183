"""The console gateway and an officer's machine as the demo runs them: real processes.

The gateway is ``python -m writein gateway`` on the relay's configuration, port 0; the demo
waits for its readiness line (``gateway listening on http://…``), never for a fixed time.
The officer's machine is a folder of its own with its own configuration, key file and
passphrase file; its console runs as a separate process, with that folder as its working
directory, and reaches the store only through the gateway's URL.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

READY = re.compile(r"gateway listening on (http://127\.0\.0\.1:\d+)")
READY_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0
CONSOLE_TIMEOUT = 120.0


def _clean_env() -> dict[str, str]:
    # No WRITEIN_* passphrase of the demo's own process leaks into the children.
    return {k: v for k, v in os.environ.items() if not k.startswith("WRITEIN_")}


class GatewayProcess:
    def __init__(self, config_file: Path, log_file: Path) -> None:
        self.config_file = config_file
        self.log_file = log_file
        self.proc: asyncio.subprocess.Process | None = None
        self.url = ""

    async def start(self) -> str:
        """Start it and return its URL once it listens."""
        fd = os.open(self.log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-P", "-m", "writein", "gateway",
                "--config", str(self.config_file), "--port", "0",
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=fd,
                env=_clean_env(),
                cwd=self.config_file.parent,
            )  # fmt: skip
        finally:
            os.close(fd)
        assert self.proc.stdout is not None
        line = await asyncio.wait_for(self.proc.stdout.readline(), READY_TIMEOUT)
        found = READY.fullmatch(line.decode(errors="replace").strip())
        if found is None:
            raise RuntimeError(f"the gateway did not start: {line!r}")
        self.url = found[1]
        return self.url

    def running(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    @property
    def pid(self) -> int | None:
        return None if self.proc is None else self.proc.pid

    async def stop(self) -> int | None:
        proc = self.proc
        if proc is None:
            return None
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), STOP_TIMEOUT)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        return proc.returncode

    def log_lines(self) -> list[str]:
        try:
            return self.log_file.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return []


@dataclass(frozen=True)
class OfficerMachine:
    """A folder standing in for an officer's own computer."""

    root: Path
    name: str

    @property
    def config_file(self) -> Path:
        return self.root / "writein.toml"

    @property
    def key_file(self) -> Path:
        return self.root / f"{self.name}.key"

    @property
    def passphrase_file(self) -> Path:
        return self.root / "passphrase"

    def files(self) -> list[str]:
        return sorted(str(p.relative_to(self.root)) for p in self.root.rglob("*") if p.is_file())

    async def console(self, *argv: str) -> subprocess.CompletedProcess[str]:
        """`writein console …` as a process of this machine (its folder, its config)."""
        command = [
            sys.executable, "-P", "-m", "writein", "console",
            "--config", str(self.config_file),
            "--passphrase-file", str(self.passphrase_file),
            *argv,
        ]  # fmt: skip
        return await asyncio.to_thread(
            subprocess.run,
            command,
            capture_output=True,
            text=True,
            env=_clean_env(),
            cwd=self.root,
            timeout=CONSOLE_TIMEOUT,
            check=False,
        )


def machine_config(*, url: str, fingerprint: str, name: str) -> str:
    """An officer machine's whole configuration: where the gateway is, which organisation
    to trust, its own key file and data folder. No store, no relay secret."""
    return "\n".join(
        [
            "[paths]",
            'data_dir = "data"',
            "",
            "[trust]",
            f'org_fingerprint = "{fingerprint}"',
            "",
            "[console]",
            f'url = "{url}"',
            f'key_file = "{name}.key"',
            "",
        ]
    )
