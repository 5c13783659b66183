"""An officer's machine installs only the console (issue 12): `pip install 'writein[console]'`
into a fresh virtual environment brings no python-telegram-bot and no Pillow, the relay's
commands say which extra they need, and that environment's `writein console cases` works
against a real `writein gateway` process.

The install is real (pip, the pinned constraints, a wheel built from this tree), about
20 s; the gateway runs from the test's own environment, as on the relay host.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.handlers.conftest import CASE_A, CASE_B, World

from .test_gateway_process import ROOT, _console, _officer_config, gateway_process

INSTALL_TIMEOUT = 900


@pytest.fixture(scope="module")
def console_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    venv = tmp_path_factory.mktemp("officer-machine") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    # pip builds in a copy of the tree's files (git's view: CI runs on a clone), so
    # nothing lands in the checkout.
    build = tmp_path_factory.mktemp("source")
    source = build / "writein"
    source.mkdir()
    listed = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        check=True,
        capture_output=True,
    ).stdout.split(b"\0")
    for name in filter(None, listed):
        origin = ROOT / os.fsdecode(name)
        if origin.is_file():
            target = source / os.fsdecode(name)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(origin.read_bytes())
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    subprocess.run(
        [*pip, "-c", str(ROOT / "constraints.txt"), f"{source}[console]"],
        check=True,
        timeout=INSTALL_TIMEOUT,
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )
    yield venv


def test_the_console_install_has_no_telegram_and_no_pillow(console_env: Path) -> None:
    python = str(console_env / "bin" / "python")
    probe = "import importlib.util as u; print([m for m in {mods} if u.find_spec(m)])"
    absent = ["telegram", "PIL", "pikepdf", "lxml", "pillow_heif"]
    out = subprocess.run(
        [python, "-c", probe.format(mods=absent)], check=True, capture_output=True, text=True
    ).stdout
    assert out.strip() == "[]"
    present = ["textual", "aiohttp", "cryptography", "handlers", "crypto"]
    out = subprocess.run(
        [python, "-c", probe.format(mods=present)], check=True, capture_output=True, text=True
    ).stdout
    assert out.strip() == str(present)
    relay = subprocess.run(
        [str(console_env / "bin" / "writein"), "bot", "--config", "/nonexistent"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert relay.returncode == 2
    assert relay.stderr == (
        "writein: `writein bot` needs packages this install does not have (telegram): "
        "pip install 'writein[relay]'\n"
    )


async def test_console_cases_from_the_console_install_through_a_gateway(
    console_env: Path, cases: World
) -> None:
    async with gateway_process(cases) as (_, url):
        config = _officer_config(cases, url)
        writein = (str(console_env / "bin" / "writein"),)
        code, out, err_text = await _console(config, "cases", command=writein)
        assert (code, err_text) == (0, ""), err_text
        assert [row.split()[0] for row in out.splitlines()[1:-1]] == [CASE_B, CASE_A]
