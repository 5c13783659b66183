"""writein's case store: sealed bytes and pseudonymous metadata, nothing else.

Nothing in here sees plaintext or a Telegram id. Open a store with
:func:`open_store` (creating and migrating it: `writein init` and the relay) or
:func:`open_existing_store` (every other command: only a store that is there, as it
is); code against :class:`Store` / :class:`StoreOperations`
(``store/_interface.py`` documents every call). SQLite is the embedded
default; a PostgreSQL backend will implement the same interface.

::

    store = await open_store(config.store_url)
    async with store.transaction() as tx:
        await tx.add_envelope(message_id, case_id, Direction.IN, core, wraps)
        await tx.finish_inbox(update_id)
"""

from ._errors import (
    ConflictError,
    IntegrityError,
    LeaseLostError,
    NotCancellableError,
    NotFoundError,
    SchemaError,
    SchemaTooNewError,
    StoreError,
    StoreMissingError,
    StoreUnavailableError,
    StoreURLError,
    TransactionError,
)
from ._interface import Store, StoreOperations
from ._open import open_existing_store, open_store, sqlite_path
from ._records import (
    Attachment,
    AuditEntry,
    AuditVerification,
    Case,
    CaseFlag,
    CaseStatus,
    Dialogue,
    Direction,
    Envelope,
    Handler,
    HandlerStatus,
    InboxItem,
    KeyPurpose,
    KeyStatus,
    OutboxItem,
    OutboxStatus,
    PastCertificate,
    RelayKey,
    ScheduledDeletion,
    SealedItem,
    SealedKind,
    WrapSelection,
)

__all__ = [
    "Attachment",
    "AuditEntry",
    "AuditVerification",
    "Case",
    "CaseFlag",
    "CaseStatus",
    "ConflictError",
    "Dialogue",
    "Direction",
    "Envelope",
    "Handler",
    "HandlerStatus",
    "InboxItem",
    "IntegrityError",
    "KeyPurpose",
    "KeyStatus",
    "LeaseLostError",
    "NotCancellableError",
    "NotFoundError",
    "OutboxItem",
    "OutboxStatus",
    "PastCertificate",
    "RelayKey",
    "ScheduledDeletion",
    "SchemaError",
    "SchemaTooNewError",
    "SealedItem",
    "SealedKind",
    "Store",
    "StoreError",
    "StoreMissingError",
    "StoreOperations",
    "StoreURLError",
    "StoreUnavailableError",
    "TransactionError",
    "WrapSelection",
    "open_existing_store",
    "open_store",
    "sqlite_path",
]
