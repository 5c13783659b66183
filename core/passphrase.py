"""Where passphrases come from: an environment variable, a file, or a prompt — never the TOML."""

from __future__ import annotations

import getpass
import os
import sys
from pathlib import Path

from core.errors import EXIT_KEY, WriteinError
from store.keyfiles import read_key_file

MIN_PASSPHRASE_CHARS = 12


class PassphraseError(WriteinError):
    """No passphrase could be had, or the one given is unusable."""

    exit_code = EXIT_KEY


def get_passphrase(
    *,
    env: str,
    file: Path | None = None,
    prompt: str | None = None,
    confirm: bool = False,
) -> bytes:
    """The passphrase from ``file`` (mode 0600), else ``$env``, else an interactive prompt."""
    if file is not None:
        value = read_key_file(file).decode("utf-8").rstrip("\r\n")
    elif os.environ.get(env):
        value = os.environ[env]
    elif prompt is not None and sys.stdin.isatty():
        value = getpass.getpass(prompt)
        if confirm and getpass.getpass("Again: ") != value:
            raise PassphraseError("the two passphrases differ")
    else:
        raise PassphraseError(f"no passphrase: set {env} or pass a passphrase file")
    if confirm and len(value) < MIN_PASSPHRASE_CHARS:
        raise PassphraseError(f"a passphrase needs at least {MIN_PASSPHRASE_CHARS} characters")
    if not value:
        raise PassphraseError("the passphrase is empty")
    return value.encode("utf-8")
