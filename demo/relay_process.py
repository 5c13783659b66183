"""The relay as the demo runs it: a real `writein bot` process, stopped with SIGTERM.

The child runs ``python -m writein bot --config …`` (the code behind the `writein`
command) with the interpreter running the demo, so it works from a virtual environment
whether or not its ``bin/`` is on PATH. Its log goes to a file the demo scans.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

STOP_TIMEOUT = 15.0


class RelayProcess:
    def __init__(self, config_file: Path, log_file: Path) -> None:
        self.config_file = config_file
        self.log_file = log_file
        self.proc: subprocess.Popen[bytes] | None = None
        self.returncode: int | None = None

    @property
    def command(self) -> list[str]:
        # -P: nothing in the demo folder (the cwd) may shadow writein's own packages.
        return [sys.executable, "-P", "-m", "writein", "bot", "--config", str(self.config_file)]

    @property
    def pid(self) -> int | None:
        return None if self.proc is None else self.proc.pid

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("WRITEIN_")}
        fd = os.open(self.log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            self.proc = subprocess.Popen(  # noqa: S603 (our own interpreter and arguments)
                self.command,
                stdin=subprocess.DEVNULL,
                stdout=fd,
                stderr=fd,
                env=env,
                cwd=self.config_file.parent,
            )
        finally:
            os.close(fd)

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, lines: int = 20) -> list[str]:
        try:
            text = self.log_file.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return []
        return text.splitlines()[-lines:]

    async def stop(self) -> int | None:
        """SIGTERM, wait; SIGKILL only if it does not stop in time. Returns the exit code."""
        proc = self.proc
        if proc is None:
            return None
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.to_thread(proc.wait, STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                await asyncio.to_thread(proc.wait)
        self.returncode = proc.returncode
        return self.returncode

    def kill_now(self) -> None:
        """Last resort (the demo itself is being torn down): nothing may outlive it."""
        proc = self.proc
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
