"""Every subcommand through the bad inputs that apply to it: one line, the exit code, no traceback.

The `writein` command has one border (core.subcommands, ADR 0046): whatever a person must
fix is one line on stderr, ``writein: <what went wrong and what to do>``, with the exit
code of core.errors, never a traceback (``--debug`` shows it). Each case here is a real
``python -m writein …`` process on its own copy of a small set-up (keys sealed with cheap
Argon2id parameters, as in the other tests). The ``outcomes`` fixture starts them all, a
few at a time, and waits for each to end; each test then checks one case.

What the cases cover. Every subcommand that reads the configuration meets a missing one,
and every one that opens the store meets a store URL that names nothing (which it must
leave so). The other faults meet one subcommand per way in (init, the relay, an admin
store command, the organisation key, the rotation, the scripted console, the TUI, the
officer's rotation), since past that way in they share the code: a configuration that is
unreadable, writable by others, or with a boolean written as a string; a data directory
that is a file or belongs to another user; a wrong passphrase, saying whose (admin,
relay, officer) on each path that asks for one; Telegram unreachable when the relay or
`set-token` starts; output cut off by its reader (``writein … | head``); bad arguments;
and the simulator's options passed through ``writein sim``.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from admin.enrolment import enrol_handler
from admin.setup import ORG_KEY_KIND, initialise
from core.bundle import parse_handler_bundle
from core.config import Config
from crypto import Argon2Params, SigningKeyPair
from handlers.keygen import keygen
from store import open_store
from store.keyfiles import read_secret_file

ROOT = Path(__file__).resolve().parent.parent
INSECURE = Argon2Params.insecure_for_tests()
ADMIN = "admin passphrase of the border tests"
RELAY = "relay passphrase of the border tests"
ALICE = "alice passphrase of the border tests"
WRONG = "not the right passphrase at all"
TIMEOUT = 60.0  # bounds a hang; no case waits on a clock of its own but the relay's backoff
WORKERS = 4
CASE_ID = "7K3M-QX9B-2HD4"

CONFIG_COMMANDS: dict[str, list[str]] = {
    "init": ["init"],
    "bot": ["bot"],
    "admin-status": ["admin", "status"],
    "admin-audit": ["admin", "audit"],
    "admin-handlers": ["admin", "handlers"],
    "admin-add-handler": ["admin", "add-handler", "bob", "--public-key", "bob.pub", "--yes"],
    "admin-renew-handler": [
        "admin",
        "renew-handler",
        "alice",
        "--public-key",
        "alice2.pub",
        "--yes",
    ],
    "admin-remove-handler": ["admin", "remove-handler", "alice"],
    "admin-rotate-keys": ["admin", "rotate-keys", "--wait-for-relay", "0"],
    "admin-set-token": ["admin", "set-token"],
    "admin-purge": ["admin", "purge", "--older-than", "30", "--dry-run"],
    "console-tui": ["console"],
    "console-cases": ["console", "cases"],
    "console-show": ["console", "show", CASE_ID],
    "console-reply": ["console", "reply", CASE_ID, "--text", "hello"],
    "console-note": ["console", "note", CASE_ID, "--text", "a note"],
    "console-export": ["console", "export", CASE_ID, "0" * 32, "--out", "."],
    "console-assign": ["console", "assign", CASE_ID, "alice"],
    "console-close": ["console", "close", CASE_ID],
    "console-reopen": ["console", "reopen", CASE_ID],
    "handler-rotate": ["handler", "rotate"],
}
# Commands that open the store (and must never create one).
STORE_COMMANDS = [
    name for name in CONFIG_COMMANDS if name not in ("init", "bot", "admin-set-token")
]
# One per way in: init, the relay, an admin store command, an admin command that needs the
# organisation key, the rotation, the scripted console, the TUI, the officer's rotation.
DATA_DIR_COMMANDS = [
    "init",
    "bot",
    "admin-status",
    "admin-add-handler",
    "admin-rotate-keys",
    "console-cases",
    "console-tui",
    "handler-rotate",
]
ROOMS = ["init", "bot", "admin-status", "console-cases", "console-tui", "handler-rotate"]


# -- the set-up every case copies ---------------------------------------------------------------


def _closed_port() -> tuple[socket.socket, int]:
    """A local port bound but never listening: connecting to it is refused at once."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    return sock, sock.getsockname()[1]


def _write_config(root: Path, fingerprint: str, port: int) -> None:
    path = root / "writein.toml"
    path.write_text(
        '[paths]\ndata_dir = "data"\n\n'
        f'[trust]\norg_fingerprint = "{fingerprint}"\n\n'
        '[console]\nkey_file = "alice.key"\n\n'
        f'[telegram]\ntoken_file = "bot-token"\nbase_url = "http://127.0.0.1:{port}/bot"\n'
        f'base_file_url = "http://127.0.0.1:{port}/file/bot"\nstart_attempts = 2\n',
        encoding="utf-8",
    )
    path.chmod(0o600)


async def _build(root: Path, port: int) -> None:
    result = await initialise(
        Config(base_dir=root),
        admin_passphrase=ADMIN.encode(),
        relay_passphrase=RELAY.encode(),
        argon2=INSECURE,
    )
    _write_config(root, result.org_fingerprint, port)
    org = SigningKeyPair.from_seed(
        read_secret_file(result.layout.org_key, ADMIN.encode(), kind=ORG_KEY_KIND)
    )
    bundles = {}
    for name, file in (("alice", "alice"), ("alice", "alice2"), ("bob", "bob")):
        made = keygen(name, root / f"{file}.key", ALICE.encode(), argon2=INSECURE)
        (root / f"{file}.pub").write_text(made.bundle_b64 + "\n")
        bundles[file] = made
    token = root / "bot-token"
    token.write_text("123456:ABC-border-tests\n")
    token.chmod(0o600)
    _, encryption, signing = parse_handler_bundle(bundles["alice"].bundle)
    async with await open_store(result.layout.data_dir / "writein.db") as store:
        await enrol_handler(store, org, "alice", encryption, signing, default_intake=True)


@dataclass
class Site:
    template: Path
    copies: Path

    def copy(self, name: str) -> Path:
        root = self.copies / name
        shutil.copytree(self.template, root, symlinks=True)
        return root


# -- the cases ------------------------------------------------------------------------------------

Setup = Callable[[Path], None]
Check = Callable[[Path], None]


@dataclass
class Case:
    id: str
    argv: list[str]
    code: int | tuple[int, ...]
    says: str = ""  # a part of the one `writein: ` line
    setup: Setup | None = None
    env: dict[str, str] = field(default_factory=dict)
    stdin: str = ""
    config: bool = True  # add --config writein.toml
    logs: bool = False  # the relay logs on stderr too: count only the `writein: ` lines
    closed_stdout: bool = False  # stdout is a pipe its reader has closed
    traceback: bool = False  # --debug: a traceback is expected
    serve: bool = False  # runs until stopped: wait for `token=` on stdout, then SIGTERM
    check: Check | None = None
    needs_root: bool = False


@dataclass
class Outcome:
    root: Path
    code: int
    out: str
    err: str


def _edit_config(old: str, new: str) -> Setup:
    def setup(root: Path) -> None:
        path = root / "writein.toml"
        path.write_text(path.read_text().replace(old, new))

    return setup


def _append_config(text: str) -> Setup:
    def setup(root: Path) -> None:
        path = root / "writein.toml"
        path.write_text(path.read_text() + text)

    return setup


def _chmod_config(mode: int) -> Setup:
    return lambda root: (root / "writein.toml").chmod(mode)


def _remove_config(root: Path) -> None:
    (root / "writein.toml").unlink()


def _config_is_a_folder(root: Path) -> None:
    (root / "writein.toml").unlink()
    (root / "writein.toml").mkdir()


def _data_dir_is_a_file(root: Path) -> None:
    (root / "a-file").write_text("not a folder\n")
    _edit_config('data_dir = "data"', 'data_dir = "a-file"')(root)


def _data_dir_of_another_user(root: Path) -> None:
    for path in [root / "data", *(root / "data").rglob("*")]:
        os.chown(path, 65534, 65534, follow_symlinks=False)


def _empty_data_dir_of_another_user(root: Path) -> None:
    (root / "theirs").mkdir()
    os.chown(root / "theirs", 65534, 65534)
    _edit_config('data_dir = "data"', 'data_dir = "theirs"')(root)


def _store_url_to_nothing(root: Path) -> None:
    _append_config('\n[store]\nurl = "sqlite:///nope.db"\n')(root)


def _nothing_created(root: Path) -> None:
    assert not (root / "nope.db").exists(), "the command created a store"


def _data_untouched(root: Path) -> None:
    owners = {p.stat().st_uid for p in [root / "data", *(root / "data").rglob("*")]}
    assert owners == {65534}, "the command left files of its own in another user's folder"


def _cases() -> Iterator[Case]:
    for name, argv in CONFIG_COMMANDS.items():
        yield Case(f"no-config-{name}", argv, 2, "no configuration file", setup=_remove_config)
    for name in ROOMS:
        argv = CONFIG_COMMANDS[name]
        yield Case(
            f"world-writable-config-{name}",
            argv,
            2,
            "can be changed by other users (mode 0666)",
            setup=_chmod_config(0o666),
        )
    for name in ("admin-audit", "console-show", "bot"):
        yield Case(
            f"group-writable-config-{name}",
            CONFIG_COMMANDS[name],
            2,
            "can be changed by other users (mode 0620)",
            setup=_chmod_config(0o620),
        )
    for name in ("admin-handlers", "console-reply", "handler-rotate"):
        yield Case(
            f"unreadable-config-{name}",
            CONFIG_COMMANDS[name],
            2,
            "cannot read the configuration",
            setup=_config_is_a_folder,
        )
    yield Case(
        "boolean-config-bot",
        ["bot"],
        2,
        "relay.allow_voice: Input should be a valid boolean",
        setup=_append_config('\n[relay]\nallow_voice = "no"\n'),
    )
    for name in DATA_DIR_COMMANDS:
        argv = CONFIG_COMMANDS[name]
        yield Case(f"data-dir-a-file-{name}", argv, 5, "a-file", setup=_data_dir_is_a_file)
        if name == "init":
            yield Case(
                "data-dir-of-another-user-init",
                argv,
                5,
                "belongs to uid 65534, not to this user",
                setup=_empty_data_dir_of_another_user,
                needs_root=True,
            )
        else:
            yield Case(
                f"data-dir-of-another-user-{name}",
                argv,
                5,
                "belongs to uid 65534, not to this user",
                setup=_data_dir_of_another_user,
                check=_data_untouched,
                needs_root=True,
            )
    for name in STORE_COMMANDS:
        yield Case(
            f"no-store-{name}",
            CONFIG_COMMANDS[name],
            5,
            "no store at nope.db",
            setup=_store_url_to_nothing,
            check=_nothing_created,
        )
    for name, whose, env in (
        ("admin-add-handler", "admin passphrase", "WRITEIN_ADMIN_PASSPHRASE"),
        ("admin-renew-handler", "admin passphrase", "WRITEIN_ADMIN_PASSPHRASE"),
        ("admin-rotate-keys", "admin passphrase", "WRITEIN_ADMIN_PASSPHRASE"),
        ("admin-rotate-keys", "relay passphrase", "WRITEIN_RELAY_PASSPHRASE"),
        ("bot", "relay passphrase", "WRITEIN_RELAY_PASSPHRASE"),
        ("console-cases", "officer passphrase", "WRITEIN_PASSPHRASE"),
        ("console-show", "officer passphrase", "WRITEIN_PASSPHRASE"),
        ("handler-rotate", "officer passphrase", "WRITEIN_PASSPHRASE"),
    ):
        yield Case(
            f"wrong-{whose.split()[0]}-passphrase-{name}",
            CONFIG_COMMANDS[name],
            3,
            f"give the {whose}",
            env={env: WRONG},
            logs=name in ("bot", "admin-rotate-keys"),  # the relay's log, the progress
        )
    yield Case(
        "short-admin-passphrase-init",
        ["init"],
        3,
        "the admin passphrase needs at least 12 characters",
        env={"WRITEIN_ADMIN_PASSPHRASE": "short"},
    )
    yield Case(
        "no-relay-passphrase-init",
        ["init"],
        3,
        "no passphrase for the relay key ring: give the relay passphrase",
        env={"WRITEIN_RELAY_PASSPHRASE": ""},
    )
    yield Case(
        "telegram-unreachable-bot",
        ["bot"],
        1,
        "Telegram did not answer at start-up (2 tries",
        logs=True,
    )
    yield Case(
        "telegram-unreachable-admin-set-token",
        ["admin", "set-token"],
        1,
        "getMe failed: NetworkError",
        stdin="123456:ABC-a-new-token\n",
    )
    for name, argv in (
        ("help", ["--help"]),
        ("admin-help", ["admin", "--help"]),
        ("sim-help", ["sim", "--help"]),
        ("admin-status", ["admin", "status"]),
        ("admin-audit", ["admin", "audit"]),
        ("admin-handlers", ["admin", "handlers", "--json"]),
        ("console-cases", ["console", "cases"]),
    ):
        yield Case(
            f"closed-output-{name}",
            argv,
            1,
            closed_stdout=True,
            config=argv[0] != "sim" and "--help" not in argv,
        )
    for argv in (["--debug", "admin", "status"], ["--debug", "console", "cases"]):
        yield Case(
            f"debug-{argv[1]}",
            argv,
            1,
            "no configuration file",
            setup=_remove_config,
            traceback=True,
        )
    yield Case(
        "bad-argument-admin-purge",
        ["admin", "purge", "--older-than", "soon"],
        2,
        "argument --older-than: a whole number is needed (see `writein admin purge --help`)",
    )
    yield Case(
        "bad-argument-console",
        ["console", "cases", "--status", "lost"],
        2,
        "argument --status: invalid choice",
    )
    yield Case("sim-options", ["sim", "--port", "0", "--token", "1:A"], 0, config=False, serve=True)
    yield Case(
        "sim-options-after-dashes",
        ["sim", "--", "--port", "0", "--token", "1:A"],
        0,
        config=False,
        serve=True,
    )
    yield Case(
        "sim-bad-option",
        ["sim", "--port", "eighty"],
        2,
        "argument --port: invalid int value",
        config=False,
    )
    yield Case(
        "sim-bad-token",
        ["sim", "--port", "0", "--token", "no-colon"],
        2,
        "a bot token looks like",
        config=False,
    )
    yield Case(
        "demo-data-dir-a-file",
        ["demo", "--data-dir", "writein.toml"],
        2,
        "is not a folder",
        config=False,
    )
    yield Case(
        "keygen-would-overwrite",
        ["handler", "keygen", "--name", "carol", "--out", "alice.key"],
        2,
        "keygen never overwrites a key file",
        config=False,
    )
    yield Case(
        "keygen-short-passphrase",
        ["handler", "keygen", "--name", "carol", "--out", "carol.key"],
        3,
        "the officer passphrase needs at least 12 characters",
        env={"WRITEIN_PASSPHRASE": "short"},
        config=False,
    )


CASES = list(_cases())


# -- running them -------------------------------------------------------------------------------


def _env(case: Case) -> dict[str, str]:
    return {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(ROOT),
        "WRITEIN_ADMIN_PASSPHRASE": ADMIN,
        "WRITEIN_RELAY_PASSPHRASE": RELAY,
        "WRITEIN_PASSPHRASE": ALICE,
        **case.env,
    }


def _command(case: Case) -> list[str]:
    argv = [sys.executable, "-m", "writein", *case.argv]
    if case.config:
        argv += ["--config", "writein.toml"]
    return argv


def _serve(case: Case, root: Path) -> Outcome:
    """Start the simulator, wait until it prints its token line, stop it with SIGTERM."""
    process = subprocess.Popen(
        _command(case),
        cwd=root,
        env=_env(case),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out = ""
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + TIMEOUT
        while "token=" not in out and time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            out += line
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        rest, err = process.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        return Outcome(root, -1, out, f"still running {TIMEOUT:.0f} s after SIGTERM")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return Outcome(root, process.returncode, out + rest, err)


def _run(case: Case, site: Site) -> Outcome:
    root = site.copy(case.id)
    if case.setup is not None:
        case.setup(root)
    if case.serve:
        return _serve(case, root)
    stdout: int = subprocess.PIPE
    read_end = write_end = -1
    if case.closed_stdout:
        read_end, write_end = os.pipe()
        os.close(read_end)  # whatever the command writes meets a reader that went away
        stdout = write_end
    try:
        done = subprocess.run(
            _command(case),
            cwd=root,
            env=_env(case),
            input=case.stdin,
            stdout=stdout,
            stderr=subprocess.PIPE,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as hung:  # this case fails, the others still count
        return Outcome(root, -1, "", f"still running after {TIMEOUT:.0f} s: {hung.stderr!r}")
    finally:
        if write_end >= 0:
            os.close(write_end)
    return Outcome(root, done.returncode, done.stdout or "", done.stderr)


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Outcome]]:
    template = tmp_path_factory.mktemp("border-site")
    sock, port = _closed_port()
    try:
        asyncio.run(_build(template, port))
        site = Site(template, tmp_path_factory.mktemp("border-cases"))
        runnable = [c for c in CASES if not (c.needs_root and os.geteuid() != 0)]
        with ThreadPoolExecutor(WORKERS) as pool:
            futures = {case.id: pool.submit(_run, case, site) for case in runnable}
            yield {name: future.result() for name, future in futures.items()}
    finally:
        sock.close()


# -- the checks ---------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_one_line_and_the_exit_code(case: Case, outcomes: dict[str, Outcome]) -> None:
    if case.needs_root and os.geteuid() != 0:
        pytest.skip("giving files to another user needs root")
    outcome = outcomes[case.id]
    shown = f"exit {outcome.code}\nstderr:\n{outcome.err}\nstdout:\n{outcome.out[-2000:]}"
    codes = case.code if isinstance(case.code, tuple) else (case.code,)
    assert outcome.code in codes, shown
    if case.traceback:
        assert "Traceback (most recent call last)" in outcome.err, shown
        assert case.says in outcome.err, shown
        return
    assert "Traceback" not in outcome.err, shown
    assert "Exception ignored" not in outcome.err, shown
    if case.closed_stdout:
        assert outcome.err == "", shown  # a reader that went away is not an error to report
        return
    if case.serve:
        assert "base_url=http://127.0.0.1:" in outcome.out, shown
        return
    lines = outcome.err.splitlines()
    border = [line for line in lines if line.startswith("writein: ")]
    assert len(border) == 1, shown
    if not case.logs:
        assert lines == border, shown
    assert not border[0].startswith("writein: error:"), shown
    assert case.says in border[0], shown
    if case.check is not None:
        case.check(outcome.root)
