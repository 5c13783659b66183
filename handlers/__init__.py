"""writein's handler console: the case officer's side, the only place messages are decrypted.

Two faces over the same functions: the Textual TUI (``writein console``, handlers.tui)
and scriptable commands (``writein console cases|show|reply|note|label|search|templates|
export|assign|close|reopen``, ``writein handler keygen``; handlers.cli).
``handlers.cli.register`` adds them to the `writein` command.

::

    workspace = await open_workspace(config)              # store + certified keys
    me = await unlock_key(key_path(config, None), passphrase)
    session = start_session(workspace, me)                # refuses an uncertified key
    page = await list_cases(session)
    thread = await load_page(session, page.items[0].case_id)
    await send_reply(session, case_id, "Thank you", self_destruct_seconds=3600)

Modules, one concept each: ``identity`` (the key file), ``keygen``, ``session``,
``cases`` (list, views, search by id, access), ``thread`` (verify and decrypt),
``compose`` (replies, notes), ``labels`` (labels and tags, sealed as notes), ``search``
(content search, in memory only), ``templates`` (the officer's reply templates),
``manage`` (assign by re-wrapping, hand over, close), ``export`` (attachments), ``cli``,
``tui``. Source text reaches a screen only through core.untrusted.
Every refusal is a :class:`ConsoleError` (``handlers/_errors.py`` draws the tree).
"""

from core.bundle import bundle_fingerprint
from core.untrusted import as_text, render_untrusted

from ._errors import (
    ConsoleError,
    KeyProblem,
    NotAssignedError,
    NotCertifiedError,
    StoreUnreachableError,
    UnknownCaseError,
    UsageError,
    WrongPassphraseError,
)
from .cases import CasePage, CaseSummary, count_cases, list_cases, require_assigned, search_cases
from .compose import Sent, parse_duration, preview, send_note, send_reply
from .export import Exported, export_attachment, export_ref, safe_filename
from .identity import HandlerIdentity, read_identity, write_identity
from .keygen import KeygenResult, keygen, passphrase_problem
from .manage import Assigned, assign, set_status
from .session import Session, Workspace, key_path, open_workspace, start_session, unlock_key
from .thread import ThreadItem, ThreadPage, load_intake, load_page, load_thread

__all__ = [
    "Assigned",
    "CasePage",
    "CaseSummary",
    "ConsoleError",
    "Exported",
    "HandlerIdentity",
    "KeyProblem",
    "KeygenResult",
    "NotAssignedError",
    "NotCertifiedError",
    "Sent",
    "Session",
    "StoreUnreachableError",
    "ThreadItem",
    "ThreadPage",
    "UnknownCaseError",
    "UsageError",
    "Workspace",
    "WrongPassphraseError",
    "as_text",
    "assign",
    "bundle_fingerprint",
    "count_cases",
    "export_attachment",
    "export_ref",
    "key_path",
    "keygen",
    "list_cases",
    "load_intake",
    "load_page",
    "load_thread",
    "open_workspace",
    "parse_duration",
    "passphrase_problem",
    "preview",
    "read_identity",
    "render_untrusted",
    "require_assigned",
    "safe_filename",
    "search_cases",
    "send_note",
    "send_reply",
    "set_status",
    "start_session",
    "unlock_key",
    "write_identity",
]
