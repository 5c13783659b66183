"""The writein command: init sets up once and refuses twice; errors are one line.

Each call runs the command to its end (no readiness to wait for); the timeout only
bounds a hang.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

from demo.steps import writein_command

ROOT = Path(__file__).resolve().parent.parent
# `python -m writein` is what the `writein` command runs (writein/main.py).
MODULE = "writein"


def writein(
    *args: str, env: dict[str, str], cwd: Path, module: str = MODULE
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), **env},
        cwd=cwd,
        timeout=120,
        check=False,
    )


def test_version_and_help(tmp_path: Path) -> None:
    out = writein("--version", env={}, cwd=tmp_path)
    assert out.returncode == 0 and out.stdout.startswith("writein "), out.stderr
    out = writein("--help", env={}, cwd=tmp_path)
    assert out.returncode == 0
    for command in ("init", "bot", "sim", "admin", "console", "handler", "demo", "exit codes"):
        assert command in out.stdout


def test_init_then_refuse_second_init(tmp_path: Path) -> None:
    (tmp_path / "writein.toml").write_text("[paths]\ndata_dir = 'd'\n")
    env = {
        "WRITEIN_ADMIN_PASSPHRASE": "correct horse battery staple",
        "WRITEIN_RELAY_PASSPHRASE": "another long relay passphrase",
    }
    first = writein("init", env=env, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "org_fingerprint" in first.stdout
    assert (tmp_path / "d" / "keys" / "relay.key").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "d").stat().st_mode & 0o777 == 0o700
    second = writein("init", env=env, cwd=tmp_path)
    assert second.returncode == 1
    assert "already set up" in second.stderr
    assert "Traceback" not in second.stderr


def test_bad_config_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "writein.toml").write_text("[relay]\nbogus = 1\n")
    out = writein("bot", env={}, cwd=tmp_path)
    assert out.returncode == 2  # usage or configuration (core.errors)
    assert "relay.bogus: unknown key" in out.stderr
    assert "Traceback" not in out.stderr


def test_bot_without_token_says_so(tmp_path: Path) -> None:
    (tmp_path / "writein.toml").write_text("")
    out = writein("bot", env={}, cwd=tmp_path)
    assert out.returncode == 1
    assert "WRITEIN_BOT_TOKEN" in out.stderr


def test_the_demos_writein_runs_as_printed(tmp_path: Path) -> None:
    """The demo's "Explore further" prints `writein` so that it runs from anywhere."""
    command, venv_bin = writein_command()
    assert Path(shlex.split(command)[0]).is_absolute()
    out = subprocess.run(
        [*shlex.split(command), "--version"],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin"},
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0 and out.stdout.startswith("writein "), out.stderr
    if venv_bin is not None:
        assert (venv_bin / "activate").is_file() and (venv_bin / "writein").is_file()
