"""The exceptions of the handler console, and the one border that translates into them.

Everything the console refuses is a :class:`ConsoleError` (a core.errors.WriteinError)
whose message is one line a case officer can act on, and whose ``exit_code`` (the shared
convention of core.errors) the `writein` command's border returns. Lower layers' errors
(key files, crypto, the store, the configuration) are mapped in :func:`translating`, the
one place that knows about them::

    ConsoleError                 exit 1   root; anything else the console refuses
     ├── UsageError              exit 2   bad input: empty reply, bad duration, bad id
     ├── KeyProblem              exit 3   no key file, unsafe or not a handler key
     │    └── WrongPassphraseError        the passphrase does not open the key file
     ├── NotCertifiedError       exit 4   this key is not (or no longer) certified;
     │                                    the store's organisation key is not the pinned one
     ├── StoreUnreachableError   exit 5   no store, locked, damaged, newer schema
     ├── UnknownCaseError        exit 6   no such case (or attachment, or handler)
     └── NotAssignedError        exit 7   the case is not assigned to this handler
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import ClassVar

from core.config import ConfigError
from core.errors import WriteinError
from core.passphrase import OFFICER, PassphraseError, wrong_passphrase_message
from core.roster import RosterError
from core.trust import TrustError
from crypto import InvalidKeyFile, WrongPassphrase
from store import (
    SchemaError,
    StoreMissingError,
    StoreUnavailableError,
    StoreURLError,
)
from store.keyfiles import KeyFileError

__all__ = [
    "ConsoleError",
    "KeyProblem",
    "NotAssignedError",
    "NotCertifiedError",
    "StoreUnreachableError",
    "UnknownCaseError",
    "UsageError",
    "WrongPassphraseError",
    "translating",
]


class ConsoleError(WriteinError):
    """Root of what the console refuses; ``str(exc)`` is one line for the officer."""

    exit_code: ClassVar[int] = 1


class UsageError(ConsoleError):
    exit_code = 2


class KeyProblem(ConsoleError):
    exit_code = 3


class WrongPassphraseError(KeyProblem):
    pass


class NotCertifiedError(ConsoleError):
    exit_code = 4


class StoreUnreachableError(ConsoleError):
    exit_code = 5


class UnknownCaseError(ConsoleError):
    exit_code = 6


class NotAssignedError(ConsoleError):
    exit_code = 7


def _one_line(text: str) -> str:
    return " ".join(text.split())


@contextmanager
def translating(*, key_file: object = None) -> Iterator[None]:
    """Turn the lower layers' errors into ConsoleErrors (the one border that does so)."""
    try:
        yield
    except WrongPassphrase:
        raise WrongPassphraseError(wrong_passphrase_message(OFFICER, key_file)) from None
    except InvalidKeyFile:
        raise KeyProblem(f"{key_file} is not a writein case officer key file") from None
    except KeyFileError as exc:
        raise KeyProblem(_one_line(str(exc))) from None
    except PassphraseError as exc:
        raise KeyProblem(_one_line(str(exc))) from None
    except TrustError as exc:
        raise NotCertifiedError(_one_line(str(exc))) from None
    except RosterError as exc:
        raise NotCertifiedError(
            f"the signed roster does not verify: {_one_line(str(exc))}"
        ) from None
    except ConfigError as exc:
        raise UsageError(_one_line(str(exc))) from None
    except (StoreMissingError, SchemaError) as exc:
        raise StoreUnreachableError(_one_line(str(exc))) from None
    except (StoreUnavailableError, StoreURLError) as exc:
        raise StoreUnreachableError(f"the store is unreachable: {_one_line(str(exc))}") from None
