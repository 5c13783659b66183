"""The rules of the house: the import-linter contracts hold, each one catches the import it
forbids, and the console loads without the relay's Telegram and image libraries.

Each case copies the rooms to a temporary folder, adds one forbidden import and runs the
real `lint-imports` on the copy (it analyses whatever PYTHONPATH puts first).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ROOMS = (
    "writein",
    "core",
    "bot",
    "handlers",
    "admin",
    "demo",
    "crypto",
    "store",
    "telesim",
    "gateway",
)
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", "pyproject.toml", "--no-cache"],
        capture_output=True,
        text=True,
        cwd=tree,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(tree)},
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tree = tmp_path_factory.mktemp("rooms")
    for room in ROOMS:
        shutil.copytree(ROOT / room, tree / room, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tree / "pyproject.toml")
    return tree


def test_the_tree_keeps_every_contract(pristine: Path) -> None:
    out = lint_imports(pristine)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "0 broken" in out.stdout


# (module that gains the import, the import, words of the contract that must break)
VIOLATIONS = [
    ("bot/pace.py", "import handlers.cases", "relay and the console never import each other"),
    ("handlers/cases.py", "import bot.pace", "relay and the console never import each other"),
    ("handlers/cases.py", "import telegram", "The console stands alone"),
    ("handlers/cases.py", "import PIL.Image", "The console stands alone"),
    ("handlers/cases.py", "import admin.keyring", "The console stands alone"),
    ("crypto/_padding.py", "import store", "crypto/ imports nothing of writein"),
    ("store/_time.py", "import core.config", "store/ imports only crypto/"),
    ("core/caseid.py", "import bot.pace", "core/ is shared"),
    ("admin/retention.py", "import bot.pace", "admin/ acts on keys and the store"),
    ("bot/pace.py", "import telesim", "Only the demo, tests and benches import telesim"),
    ("core/caseid.py", "import cryptography.hazmat.primitives.hashes", "Only crypto/ imports"),
    ("gateway/app.py", "import handlers.cases", "The gateway serves the store"),
    ("gateway/auth.py", "import admin.keyring", "The gateway serves the store"),
    ("gateway/bodies.py", "import telegram", "The gateway serves the store"),
    ("handlers/cases.py", "import gateway.app", "Only writein/ (with tests and benches) imports"),
    ("core/caseid.py", "import gateway.auth", "Only writein/ (with tests and benches) imports"),
    ("gateway/app.py", "import cryptography.hazmat.primitives.hashes", "Only crypto/ imports"),
]


@pytest.mark.parametrize(("module", "line", "contract"), VIOLATIONS)
def test_each_contract_catches_a_forbidden_import(
    pristine: Path, tmp_path: Path, module: str, line: str, contract: str
) -> None:
    tree = tmp_path / "tree"
    shutil.copytree(pristine, tree)
    with (tree / module).open("a") as f:
        f.write(f"\n{line}  # noqa\n")
    out = lint_imports(tree)
    assert out.returncode != 0, out.stdout
    broken = [s for s in out.stdout.splitlines() if "BROKEN" in s or contract in s]
    assert any(contract in s for s in broken), out.stdout


def test_the_console_loads_without_telegram_or_pillow() -> None:
    # Every module of the console, TUI and CLI included, in a fresh interpreter.
    probe = (
        "import importlib, pkgutil, sys\n"
        "import handlers\n"
        "for info in pkgutil.walk_packages(handlers.__path__, 'handlers.'):\n"
        "    importlib.import_module(info.name)\n"
        "loaded = sorted({m.split('.')[0] for m in sys.modules} & {'telegram', 'PIL', 'bot'})\n"
        "print(len([m for m in sys.modules if m.startswith('handlers.')]), loaded)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
        timeout=120,
        check=True,
    )
    count, loaded = out.stdout.strip().split(" ", 1)
    assert int(count) >= 15  # the walk really imported the console (CLI and TUI)
    assert loaded == "[]", out.stdout
