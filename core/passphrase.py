"""Where passphrases come from: an environment variable, a file, or a prompt — never the TOML.

writein has three passphrases, and every message about one says which (ADR 0046): the
**admin**'s opens the organisation key, the **relay**'s opens the relay key ring, an
**officer**'s opens their own handler key file.
"""

from __future__ import annotations

import getpass
import os
import sys
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from core.errors import EXIT_KEY, WriteinError
from core.settings import ENV_ADMIN_PASSPHRASE, ENV_RELAY_PASSPHRASE
from crypto import WrongPassphrase
from store.keyfiles import read_key_file

__all__ = [
    "ADMIN",
    "MIN_PASSPHRASE_CHARS",
    "OFFICER",
    "RELAY",
    "PassphraseError",
    "Whose",
    "WrongPassphraseError",
    "get_passphrase",
    "passphrase_bytes",
    "unlocking",
    "wrong_passphrase_message",
]

MIN_PASSPHRASE_CHARS = 12


@dataclass(frozen=True)
class Whose:
    """Whose passphrase, what it opens and where it comes from: for messages only."""

    who: str
    opens: str
    given_by: str


ADMIN = Whose(
    "admin", "the organisation key", f"--admin-passphrase-file or ${ENV_ADMIN_PASSPHRASE}"
)
RELAY = Whose(
    "relay", "the relay key ring", f"relay.key_passphrase_file or ${ENV_RELAY_PASSPHRASE}"
)
OFFICER = Whose("officer", "the handler key file", "--passphrase-file or $WRITEIN_PASSPHRASE")


class PassphraseError(WriteinError):
    """No passphrase could be had, or the one given is unusable."""

    exit_code = EXIT_KEY


class WrongPassphraseError(PassphraseError, WrongPassphrase):
    """The passphrase does not open a key file; the message says whose passphrase it was.

    Still a :class:`crypto.WrongPassphrase`, so code that catches that sees it.
    """

    def __init__(self, whose: Whose, path: object) -> None:
        Exception.__init__(self, wrong_passphrase_message(whose, path))


def wrong_passphrase_message(whose: Whose, path: object) -> str:
    return (
        f"wrong passphrase for {whose.opens} {path} (or the file was altered): "
        f"give the {whose.who} passphrase ({whose.given_by})"
    )


@contextmanager
def unlocking(whose: Whose, path: object) -> Iterator[None]:
    """Turn a wrong passphrase raised in the block into one that says whose it was."""
    try:
        yield
    except WrongPassphraseError:
        raise
    except WrongPassphrase:
        raise WrongPassphraseError(whose, path) from None


def get_passphrase(
    *,
    env: str,
    file: Path | None = None,
    prompt: str | None = None,
    confirm: bool = False,
    whose: Whose | None = None,
) -> bytes:
    """The passphrase from ``file`` (mode 0600), else ``$env``, else an interactive prompt."""
    name = f"{whose.who} passphrase" if whose else "passphrase"
    if file is not None:
        value = read_key_file(file).decode("utf-8").rstrip("\r\n")
    elif os.environ.get(env):
        value = os.environ[env]
    elif prompt is not None and sys.stdin.isatty():
        value = getpass.getpass(prompt)
        if confirm and getpass.getpass("Again: ") != value:
            raise PassphraseError(f"the two {name}s differ")
    elif whose is not None:
        raise PassphraseError(
            f"no passphrase for {whose.opens}: give the {name} ({whose.given_by})"
        )
    else:
        raise PassphraseError(f"no passphrase: set {env} or pass a passphrase file")
    if confirm and len(value) < MIN_PASSPHRASE_CHARS:
        raise PassphraseError(f"the {name} needs at least {MIN_PASSPHRASE_CHARS} characters")
    if not value:
        raise PassphraseError(f"the {name} is empty")
    return passphrase_bytes(value)


def passphrase_bytes(text: str) -> bytes:
    """The bytes a passphrase stands for: UTF-8 of its NFC form (docs/protocol.md §6).

    The same words typed on another keyboard or system may arrive composed ("й") or
    decomposed ("и" + U+0306); both must open the same key file.
    """
    return unicodedata.normalize("NFC", text).encode("utf-8")
