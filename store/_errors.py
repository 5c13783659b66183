"""The exceptions raised by writein's store.

Every backend translates its driver's errors into this tree at one border
(``store/_sqlite/_errors.py`` for SQLite), so the relay and the console
catch the same classes whichever database is underneath. Mistakes by the
calling code (a message id that is not 16 bytes, a naive datetime, an
unknown status) are ordinary ``ValueError``/``TypeError``.

::

    StoreError                    root of everything store/ raises on purpose
     ├── StoreURLError            open_store() got a URL it cannot open
     ├── SchemaError              the database schema cannot be used
     │    └── SchemaTooNewError   written by a newer writein than this one
     ├── NotFoundError            the row to change does not exist
     ├── ConflictError            a unique key is taken, or the row's state forbids it
     │    ├── LeaseLostError      an outbox claim expired and was taken over
     │    └── NotCancellableError a reply is claimed, sent or failed, or not the caller's
     ├── IntegrityError           a reference or check failed (unknown case, ...)
     ├── TransactionError         a transaction used wrongly (nested, closed)
     └── StoreUnavailableError    the database is locked, unreachable or broken
          └── StoreMissingError   open_existing_store(): the URL names no store
"""

from __future__ import annotations

__all__ = [
    "ConflictError",
    "IntegrityError",
    "LeaseLostError",
    "NotCancellableError",
    "NotFoundError",
    "SchemaError",
    "SchemaTooNewError",
    "StoreError",
    "StoreMissingError",
    "StoreURLError",
    "StoreUnavailableError",
    "TransactionError",
]


class StoreError(Exception):
    """Root of the exceptions that writein's store raises on purpose."""


class StoreURLError(StoreError):
    """``open_store`` was given a URL or path it cannot open."""


class SchemaError(StoreError):
    """The database's schema cannot be used by this version of writein."""


class SchemaTooNewError(SchemaError):
    """The database was migrated by a newer writein; this one refuses to touch it."""

    def __init__(self, database_version: int, code_version: int) -> None:
        super().__init__(
            f"the database has schema version {database_version}, but this writein only "
            f"knows versions up to {code_version}: upgrade writein before opening it"
        )
        self.database_version = database_version
        self.code_version = code_version


class NotFoundError(StoreError):
    """The row an update or delete names does not exist."""


class ConflictError(StoreError):
    """A unique key is already taken (case id, message id, lookup hash, ...), or the
    row's state forbids the change (e.g. making a revoked handler a default)."""


class LeaseLostError(ConflictError):
    """The outbox claim is no longer held: its lease ran out and it was reclaimed or finished."""


class NotCancellableError(ConflictError):
    """``cancel_outbox`` refused: the reply is no longer pending, or another handler wrote it.

    ``reason`` says which: ``claimed`` (the relay is sending it now), ``sent``, ``failed``
    or ``not_author`` (``author`` then names who wrote it).
    """

    def __init__(self, reason: str, *, author: str | None = None) -> None:
        messages = {
            "claimed": "the relay has claimed this reply and may be sending it now",
            "sent": "the relay has already sent this reply",
            "failed": "the relay gave up on this reply; it was not delivered",
            "not_author": "this reply was queued by another handler",
        }
        super().__init__(messages.get(reason, f"this reply cannot be cancelled ({reason})"))
        self.reason = reason
        self.author = author


class IntegrityError(StoreError):
    """A reference or check constraint failed, e.g. an envelope for an unknown case."""


class TransactionError(StoreError):
    """A transaction was used wrongly: nested, used after it ended, or bypassed."""


class StoreUnavailableError(StoreError):
    """The database is locked for too long, unreachable, or damaged."""


class StoreMissingError(StoreUnavailableError):
    """``open_existing_store`` found no writein store where the URL points."""
