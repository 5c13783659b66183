"""The gateway's web application: what a console on an officer's machine may read and write.

Only ciphertext and pseudonymous metadata cross it (case ids, officer names, sealed cores
and wraps, sealed attachment chunks, roster entries); it holds no private key. Every
request is signed by an active officer (gateway.auth); every case endpoint serves only a
case the verified roster assigns to that officer (403 otherwise, logged). JSON in and out,
bytes as standard base64, ids in paths as hex::

    GET  /v1/roster?after=N&limit=M                   roster entries after seq N
    POST /v1/roster                                   one officer-signed entry (assign, leave)
    GET  /v1/cases?status=&flag=&before=&limit=       the officer's cases, most recent first
    GET  /v1/cases/{case}                             one of them
    GET  /v1/cases/{case}/envelopes?after_seq=&before_seq=&newest_first=&limit=
    GET  /v1/cases/{case}/outbox?after_id=&limit=     delivery state of replies
    GET  /v1/cases/{case}/attachments/{message}       the attachments of one message
    GET  /v1/cases/{case}/attachments/{message}/{attachment}?start=&limit=   sealed chunks
    POST /v1/cases/{case}/replies                     a sealed reply: stored, queued, audited
    POST /v1/cases/{case}/notes                       a sealed note: stored, audited
    POST /v1/cases/{case}/read                        the officer's read mark
    GET  /v1/settings                                 the organisation key, the change markers
    GET  /v1/settings/{key}                           one of them
    GET  /v1/case-count?status=&flag=                 how many cases the store lists for them
    GET  /v1/marks?case=…                             unread counts and read marks of their cases
    GET  /v1/cases/{case}/lacking/{key}?after_seq=&limit=   envelopes without a wrap for key
    POST /v1/cases/{case}/wraps                       re-wraps for an assigned colleague's key
    POST /v1/cases/{case}/status                      close or reopen: changed, audited
    POST /v1/cases/{case}/cancel                      withdraw the officer's own queued reply
    POST /v1/cases/{case}/exports                     the audit entry of an exported attachment
    GET  /v1/pulse?case=                              change markers for a live console (ADR 0084)
    GET  /v1/awaiting?case=…                          which of their cases await a reply
    GET  /v1/cases/{case}/events                      what the source did (officer-facing audit)
    POST /v1/cases/{case}/opened                      the audit entry of the officer reading it
"""

from __future__ import annotations

import base64
import enum
import json
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any, Final, TypeVar

from aiohttp import web

import store
from core.caseview import case_marker, source_events
from core.roster import RosterError, entry_statement
from core.rosterlog import append_entry
from core.settings import KEY_VERSION_SETTING, TRUST_CHANGED_SETTING
from core.trust import ORG_PUBLIC_KEY_SETTING
from crypto import Direction, Envelope, InvalidEnvelope, unverified_header
from store import (
    Case,
    CaseFlag,
    CaseStatus,
    ConflictError,
    NotCancellableError,
    NotFoundError,
    Store,
)

from .auth import (
    GATEWAY,
    OFFICER,
    Gateway,
    Officer,
    ReplayCache,
    TrustKeeper,
    authenticate,
    json_error,
    refuse,
)
from .bodies import (
    MAX_BODY,
    BadBody,
    CancelBody,
    ExportBody,
    NoteBody,
    ReadBody,
    ReplyBody,
    RosterBody,
    StatusBody,
    WrapsBody,
    parse,
)

__all__ = ["build_app"]

log = logging.getLogger("writein.gateway")

_HEX_ID: Final = re.compile(r"[0-9a-f]{32}")
_CASE_ID: Final = re.compile(r"[0-9A-Za-z][0-9A-Za-z-]{2,63}")  # as the store takes them
_MAX_SEQ: Final = 2**62
_MAX_CHUNKS: Final = 8  # 2 MiB of sealed chunks per answer
#: Roster entries an officer may sign through the gateway (ADR 0076's rules decide the rest).
_OFFICER_KINDS: Final = frozenset({"assign", "leave"})
#: The only settings a console reads: what it verifies the roster with, and when to re-read.
_SETTINGS: Final = frozenset({ORG_PUBLIC_KEY_SETTING, KEY_VERSION_SETTING, TRUST_CHANGED_SETTING})
_MAX_MARKS: Final = 1000
_SCAN: Final = 1000
_MAX_AWAITING: Final = 200


class Refusal(Exception):
    """The request is refused: ``status`` and one short reason for the console."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


# -- query parameters ----------------------------------------------------------------------


def _int(request: web.Request, name: str, default: int | None, low: int, high: int) -> int | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isascii() or not raw.isdigit() or len(raw) > 19 or not low <= int(raw) <= high:
        raise Refusal(400, f"{name} must be a whole number from {low} to {high}")
    return int(raw)


E = TypeVar("E", bound=enum.Enum)


def _choice(request: web.Request, name: str, kind: type[E]) -> E | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return None
    for member in kind:
        if member.value == raw:
            return member
    allowed = ", ".join(str(m.value) for m in kind)
    raise Refusal(400, f"{name} must be one of: {allowed}")


def _flag(request: web.Request, name: str) -> bool:
    raw = request.query.get(name, "")
    if raw not in ("", "0", "1", "true", "false"):
        raise Refusal(400, f"{name} must be true or false")
    return raw in ("1", "true")


def _hex_id(request: web.Request, name: str) -> bytes:
    raw = request.match_info[name]
    if not _HEX_ID.fullmatch(raw):
        raise Refusal(400, f"{name} must be 32 hexadecimal digits")
    return bytes.fromhex(raw)


# -- who and which case ----------------------------------------------------------------------


def _gateway(request: web.Request) -> Gateway:
    return request.app[GATEWAY]


def _assigned(request: web.Request) -> tuple[Officer, str]:
    """The officer and the case of the path, if the verified roster assigns it to them."""
    officer = request[OFFICER]
    case_id = request.match_info["case_id"]
    if officer.name not in officer.trust.assigned(case_id):
        raise Refusal(403, "this case is not assigned to you")
    return officer, case_id


async def _case(ops: store.StoreOperations, case_id: str) -> Case:
    case = await ops.get_case(case_id)
    if case is None:  # on the roster, but not (or no longer) in the store
        raise Refusal(404, "no such case in the store")
    return case


def _case_json(
    case: Case, officer: Officer, unread: dict[str, int], marks: dict[str, int]
) -> dict[str, Any]:
    return {
        "case_id": case.case_id,
        "status": case.status.value,
        "flags": sorted(flag.value for flag in case.flags),
        "language": case.language,
        "created_on": case.created_on.isoformat(),
        "last_activity_on": case.last_activity_on.isoformat(),
        "activity_seq": case.activity_seq,
        "unread": unread.get(case.case_id, 0),
        "read_mark": marks.get(case.case_id, 0),
        "assigned": sorted(officer.trust.assigned(case.case_id)),
    }


async def _cases_json(gateway: Gateway, officer: Officer, cases: list[Case]) -> list[Any]:
    ids = [c.case_id for c in cases]
    unread = await gateway.store.unread_counts(officer.name, ids) if ids else {}
    marks = await gateway.store.read_marks(officer.name, ids) if ids else {}
    return [_case_json(c, officer, unread, marks) for c in cases]


# -- reading ---------------------------------------------------------------------------------


async def get_roster(request: web.Request) -> web.Response:
    after = _int(request, "after", 0, 0, _MAX_SEQ) or 0
    limit = _int(request, "limit", 1000, 1, 1000) or 1000
    entries = await _gateway(request).store.list_roster(after=after, limit=limit)
    return web.json_response({"after": after, "entries": [_b64(e) for e in entries]})


async def list_cases(request: web.Request) -> web.Response:
    gateway, officer = _gateway(request), request[OFFICER]
    limit = _int(request, "limit", 50, 1, 1000) or 50
    cases = await gateway.store.list_cases(
        status=_choice(request, "status", CaseStatus),
        flag=_choice(request, "flag", CaseFlag),
        handler=officer.name,
        before_activity=_int(request, "before", None, 1, _MAX_SEQ),
        limit=limit,
    )
    cursor = cases[-1].activity_seq if len(cases) == limit else None
    # Store rows only find candidates: the verified roster decides what the officer sees.
    mine = [c for c in cases if officer.name in officer.trust.assigned(c.case_id)]
    cases_json = await _cases_json(gateway, officer, mine)
    return web.json_response({"cases": cases_json, "next_before": cursor})


async def get_case(request: web.Request) -> web.Response:
    gateway = _gateway(request)
    officer = request[OFFICER]
    case_id = request.match_info["case_id"]
    if officer.name not in officer.trust.assigned(case_id):
        # As on the relay host, an officer may learn whether a case id they typed exists
        # (ids are random and pseudonymous); never anything else about it.
        if not _CASE_ID.fullmatch(case_id) or await gateway.store.get_case(case_id) is None:
            raise Refusal(404, "no such case in the store")
        raise Refusal(403, "this case is not assigned to you")
    [case_json] = await _cases_json(gateway, officer, [await _case(gateway.store, case_id)])
    return web.json_response(case_json)


async def list_envelopes(request: web.Request) -> web.Response:
    officer, case_id = _assigned(request)
    key_id = officer.certificate.encryption_key.key_id
    envelopes = await _gateway(request).store.list_envelopes(
        case_id,
        after_seq=_int(request, "after_seq", None, 0, _MAX_SEQ),
        before_seq=_int(request, "before_seq", None, 0, _MAX_SEQ),
        newest_first=_flag(request, "newest_first"),
        limit=_int(request, "limit", 100, 1, 500) or 100,
        wraps=key_id,  # this officer's wrap only
    )
    return web.json_response({"envelopes": [_envelope_json(e, key_id) for e in envelopes]})


async def list_notes(request: web.Request) -> web.Response:
    """The case's NOTE envelopes (notes and label records, ADR 0090), newest first, with the
    officer's wrap: what the console reads to find a case's label without fetching every
    message. A case without a note costs one indexed count."""
    officer, case_id = _assigned(request)
    key_id = officer.certificate.encryption_key.key_id
    ops = _gateway(request).store
    after = _int(request, "after_seq", None, 0, _MAX_SEQ)
    cursor = _int(request, "before_seq", None, 0, _MAX_SEQ)
    limit = _int(request, "limit", 100, 1, 500) or 100
    left = await ops.count_envelopes(case_id, direction=store.Direction.NOTE)
    found: list[store.Envelope] = []
    while left and len(found) < limit:
        page = await ops.list_envelopes(
            case_id, after_seq=after, before_seq=cursor, newest_first=True, limit=_SCAN,
            wraps="none",
        )  # fmt: skip
        notes = [e for e in page if e.direction is store.Direction.NOTE]
        found += notes
        left -= len(notes)
        if len(page) < _SCAN:
            break
        cursor = page[-1].seq
    out = []
    for e in found[:limit]:
        wraps = await ops.get_wraps(e.message_id, key_id)  # this officer's wrap only
        out.append(_envelope_json(e.model_copy(update={"wraps": wraps}), key_id))
    return web.json_response({"envelopes": out})


def _envelope_json(e: store.Envelope, key_id: bytes) -> dict[str, Any]:
    return {
        "message_id": _b64(e.message_id),
        "direction": e.direction.value,
        "seq": e.seq,
        "stored_on": e.stored_on.isoformat(),
        "core": _b64(e.core),
        "wrap": _b64(e.wraps[key_id]) if key_id in e.wraps else None,
    }


async def list_outbox(request: web.Request) -> web.Response:
    _, case_id = _assigned(request)
    items = await _gateway(request).store.list_outbox(
        case_id,
        after_id=_int(request, "after_id", None, 0, _MAX_SEQ),
        limit=_int(request, "limit", 100, 1, 1000) or 100,
    )
    # Delivery state only: the sealed envelope and the relay's references stay here.
    out = [
        {
            "outbox_id": i.outbox_id,
            "message_id": None if i.message_id is None else _b64(i.message_id),
            "status": i.status.value,
            "attempts": i.attempts,
            "last_error": i.last_error,
            "author": i.author,
        }
        for i in items
    ]
    return web.json_response({"outbox": out})


async def _message_of_case(ops: store.StoreOperations, case_id: str, message_id: bytes) -> None:
    envelope = await ops.get_envelope(message_id, wraps="none")
    if envelope is None or envelope.case_id != case_id:
        raise Refusal(404, "no such message in this case")


async def list_attachments(request: web.Request) -> web.Response:
    _, case_id = _assigned(request)
    message_id = _hex_id(request, "message_id")
    ops = _gateway(request).store
    await _message_of_case(ops, case_id, message_id)
    found = await ops.list_attachments(message_id)
    out = [
        {"attachment_id": _b64(a.attachment_id), "chunks": a.chunks, "size": a.size} for a in found
    ]
    return web.json_response({"attachments": out})


async def read_chunks(request: web.Request) -> web.Response:
    _, case_id = _assigned(request)
    message_id = _hex_id(request, "message_id")
    attachment_id = _hex_id(request, "attachment_id")
    ops = _gateway(request).store
    await _message_of_case(ops, case_id, message_id)
    # Only an attachment of this message of this case: ids alone prove nothing.
    if attachment_id not in {a.attachment_id for a in await ops.list_attachments(message_id)}:
        raise Refusal(404, "no such attachment in this message")
    start = _int(request, "start", 0, 0, _MAX_SEQ) or 0
    limit = _int(request, "limit", 4, 1, _MAX_CHUNKS) or 4
    chunks = await ops.read_attachment_chunks(attachment_id, start=start, limit=limit)
    return web.json_response({"start": start, "chunks": [_b64(c) for c in chunks]})


# -- writing ---------------------------------------------------------------------------------


def _check_core(officer: Officer, case_id: str, core: bytes, direction: Direction) -> bytes:
    """The envelope's message id, once its header names this case, this direction and the
    request's signer (checked again by every reader against the signature)."""
    try:
        header = unverified_header(core)
    except InvalidEnvelope:
        raise Refusal(400, "core: not an envelope") from None
    if header.case_id != case_id:
        raise Refusal(400, "core: the envelope is for another case")
    if header.direction is not direction:
        raise Refusal(400, f"core: the envelope is not a {direction.name.lower()}")
    if header.signer_key_id != officer.key_id:
        raise Refusal(403, "the envelope is signed by someone else")
    return header.message_id


def _handler_wraps(officer: Officer, case_id: str, body: NoteBody) -> dict[bytes, bytes]:
    """Wraps only for officers the roster assigns to the case, one each."""
    keys = {
        officer.trust.handlers[n].encryption_key.key_id
        for n in officer.trust.assigned(case_id)
        if n in officer.trust.handlers
    }
    wraps = {w.key_id: w.wrap for w in body.wraps}
    if len(wraps) != len(body.wraps):
        raise Refusal(400, "wraps: a key id appears twice")
    if not set(wraps) <= keys:
        raise Refusal(400, "wraps: a wrap is for a key not assigned to this case")
    return wraps


async def post_reply(request: web.Request) -> web.Response:
    officer, case_id = _assigned(request)
    body = parse(ReplyBody, await request.read())
    message_id = _check_core(officer, case_id, body.core, Direction.OUT)
    wraps = _handler_wraps(officer, case_id, body)
    relay = officer.trust.current_relay()
    if relay is None:
        raise Refusal(503, "the roster holds no relay key in force")
    relay_id = relay.encryption_key.key_id
    if body.relay_wrap.key_id != relay_id:
        raise Refusal(409, "relay_wrap: not for the relay key in force; seal the reply again")
    for_relay = Envelope(body.core, {relay_id: body.relay_wrap.wrap}).to_bytes()
    # As the console does it (handlers/compose.py): stored, queued and audited, or nothing.
    async with _gateway(request).store.transaction() as tx:
        case = await _case(tx, case_id)
        if case.status is CaseStatus.CLOSED:
            raise Refusal(409, f"case {case_id} is closed: reopen it to reply")
        await tx.add_envelope(message_id, case_id, store.Direction.OUT, body.core, wraps)
        await tx.enqueue_outbox(case_id, for_relay, message_id=message_id, author=officer.name)
        await tx.append_audit(officer.actor, "reply", case_id=case_id, detail="via gateway")
    flags = sorted(f.value for f in case.flags)
    return web.json_response({"message_id": _b64(message_id), "flags": flags}, status=201)


async def post_note(request: web.Request) -> web.Response:
    officer, case_id = _assigned(request)
    body = parse(NoteBody, await request.read())
    message_id = _check_core(officer, case_id, body.core, Direction.NOTE)
    wraps = _handler_wraps(officer, case_id, body)
    async with _gateway(request).store.transaction() as tx:
        await _case(tx, case_id)
        await tx.add_envelope(message_id, case_id, store.Direction.NOTE, body.core, wraps)
        await tx.append_audit(officer.actor, "note", case_id=case_id, detail="via gateway")
    return web.json_response({"message_id": _b64(message_id)}, status=201)


async def post_read(request: web.Request) -> web.Response:
    officer, case_id = _assigned(request)
    body = parse(ReadBody, await request.read())
    ops = _gateway(request).store
    await _case(ops, case_id)
    await ops.mark_read(case_id, officer.name, body.seq)
    return web.json_response({"read_mark": await ops.get_read_mark(case_id, officer.name)})


def _officer_statement(officer: Officer, entry: bytes) -> tuple[str, str, str]:
    """(kind, case id, name) of an entry this officer signed; its rules are checked later."""
    try:
        fields, _, _ = entry_statement(entry)
    except RosterError:
        raise Refusal(400, "entry: not a roster entry") from None
    if fields.get("signer") != {"role": "handler", "name": officer.name}:
        raise Refusal(403, "entry: a roster entry sent here must be signed by you")
    kind, case_id, name = fields.get("kind"), fields.get("case_id"), fields.get("name")
    if kind not in _OFFICER_KINDS:
        raise Refusal(403, "entry: an officer may only assign or leave")
    if not isinstance(case_id, str) or not isinstance(name, str):
        raise Refusal(400, "entry: names no case or officer")
    return str(kind), case_id, name


async def post_roster(request: web.Request) -> web.Response:
    officer = request[OFFICER]
    body = parse(RosterBody, await request.read())
    kind, case_id, name = _officer_statement(officer, body.entry)
    gateway = _gateway(request)
    roster = officer.trust.roster
    if roster is None:
        raise Refusal(503, "the store holds no roster: ask an admin")
    # The roster object is shared by every request: extend it only under the keeper's lock,
    # and read it afresh afterwards (if the transaction rolled back, it is ahead of the store).
    async with gateway.keeper.lock:
        try:
            async with gateway.store.transaction() as tx:
                await append_entry(tx, roster, body.entry)
                # The store's rows are a cache of the roster, written with the entry.
                if kind == "assign":
                    await tx.assign_handler(case_id, name)
                    await tx.append_audit(officer.actor, "assign", case_id=case_id, detail=name)
                else:
                    key_id = officer.certificate.encryption_key.key_id
                    await tx.unassign_handler(case_id, name)
                    await tx.delete_wraps(key_id, case_id=case_id)
                    await tx.append_audit(officer.actor, "leave", case_id=case_id, detail=name)
                seq = roster.head.seq
        except RosterError as exc:
            raise Refusal(403, f"the roster refuses this: {exc}") from None
        except ConflictError:
            raise Refusal(409, "the roster moved on: read it and sign again") from None
        finally:
            gateway.keeper.invalidate()
    return web.json_response({"seq": seq}, status=201)


# -- what the console needs besides (issue 12, item 2) -----------------------------------------


async def get_setting(request: web.Request) -> web.Response:
    key = request.match_info["key"]
    if key not in _SETTINGS:
        raise Refusal(404, "no such setting here")
    return web.json_response({"value": await _gateway(request).store.get_setting(key)})


async def get_settings(request: web.Request) -> web.Response:
    """All of them in one answer: a console checks the change markers before each list."""
    store = _gateway(request).store
    return web.json_response({key: await store.get_setting(key) for key in sorted(_SETTINGS)})


async def count_cases(request: web.Request) -> web.Response:
    officer = request[OFFICER]
    count = await _gateway(request).store.count_cases(
        status=_choice(request, "status", CaseStatus),
        flag=_choice(request, "flag", CaseFlag),
        handler=officer.name,
    )
    return web.json_response({"count": count})


def _assigned_cases(request: web.Request, officer: Officer, most: int) -> list[str]:
    """The ``case`` query values, each once: at most ``most``, every one assigned to the
    officer by the verified roster."""
    ids = list(dict.fromkeys(request.query.getall("case", [])))
    if len(ids) > most:
        raise Refusal(400, f"case: at most {most} at once")
    if any(officer.name not in officer.trust.assigned(c) for c in ids):
        raise Refusal(403, "a case asked for is not assigned to you")
    return ids


async def get_marks(request: web.Request) -> web.Response:
    officer = request[OFFICER]
    ids = _assigned_cases(request, officer, _MAX_MARKS)
    ops = _gateway(request).store
    unread = await ops.unread_counts(officer.name, ids) if ids else {}
    marks = await ops.read_marks(officer.name, ids) if ids else {}
    return web.json_response({"unread": unread, "read_marks": marks})


def _colleague_key(officer: Officer, raw: str, *, assigned_to: str | None = None) -> bytes:
    """An active officer's encryption key id (assigned to the case, if named)."""
    names = officer.trust.handlers if assigned_to is None else officer.trust.assigned(assigned_to)
    for name in names:
        cert = officer.trust.handlers.get(name)
        if cert is not None and cert.encryption_key.key_id.hex() == raw:
            return cert.encryption_key.key_id
    if assigned_to is None:
        raise Refusal(400, "key_id: not the key of an active officer")
    raise Refusal(403, "key_id: not the key of an officer assigned to this case")


async def list_lacking(request: web.Request) -> web.Response:
    officer, case_id = _assigned(request)
    target = _colleague_key(officer, request.match_info["key_id"])
    mine = officer.certificate.encryption_key.key_id
    envelopes = await _gateway(request).store.list_envelopes_lacking_wrap(
        target,
        case_id=case_id,
        after_seq=_int(request, "after_seq", None, 0, _MAX_SEQ),
        limit=_int(request, "limit", 100, 1, 500) or 100,
        wraps=mine,
    )
    return web.json_response({"envelopes": [_envelope_json(e, mine) for e in envelopes]})


async def post_wraps(request: web.Request) -> web.Response:
    officer, case_id = _assigned(request)
    body = parse(WrapsBody, await request.read())
    # Only for a colleague the verified roster assigns to this case (assign comes first).
    target = _colleague_key(officer, body.key_id.hex(), assigned_to=case_id)
    added = 0
    async with _gateway(request).store.transaction() as tx:
        for item in body.wraps:
            envelope = await tx.get_envelope(item.message_id, wraps="none")
            if envelope is None or envelope.case_id != case_id:
                raise Refusal(404, "wraps: a message is not in this case")
            added += await tx.add_wraps(item.message_id, {target: item.wrap})
    return web.json_response({"added": added})


async def post_status(request: web.Request) -> web.Response:
    officer, case_id = _assigned(request)
    body = parse(StatusBody, await request.read())
    status = CaseStatus(body.status)
    # As the console does it (handlers/local.py): changed and audited together.
    async with _gateway(request).store.transaction() as tx:
        case = await _case(tx, case_id)
        if case.status is status:
            return web.json_response({"changed": False})
        await tx.set_case_status(case_id, status)
        action = "close" if status is CaseStatus.CLOSED else "reopen"
        await tx.append_audit(officer.actor, action, case_id=case_id)
    return web.json_response({"changed": True})


async def post_cancel(request: web.Request) -> web.Response:
    officer, case_id = _assigned(request)
    body = parse(CancelBody, await request.read())
    async with _gateway(request).store.transaction() as tx:
        try:
            # The store enforces that only the reply's author may withdraw it.
            item = await tx.cancel_outbox(case_id, body.message_id, author=officer.name)
        except NotFoundError:
            raise Refusal(404, "no such queued reply in this case") from None
        except NotCancellableError as exc:
            # The console words it; the reason and author say which refusal this is.
            return refuse_cancel(request, officer, exc)
        detail = f"reply {body.message_id.hex()}"
        await tx.append_audit(officer.actor, "reply-cancel", case_id=case_id, detail=detail)
    return web.json_response({"attempts": item.attempts, "last_error": item.last_error})


def refuse_cancel(request: web.Request, officer: Officer, exc: NotCancellableError) -> web.Response:
    answer = refuse(request, 409, str(exc), officer.key_id)
    answer.text = json.dumps({"error": str(exc), "reason": exc.reason, "author": exc.author})
    return answer


async def post_export(request: web.Request) -> web.Response:
    officer, case_id = _assigned(request)
    body = parse(ExportBody, await request.read())
    ops = _gateway(request).store
    await _message_of_case(ops, case_id, body.message_id)
    if body.attachment_id not in {
        a.attachment_id for a in await ops.list_attachments(body.message_id)
    }:
        raise Refusal(404, "no such attachment in this message")
    detail = f"attachment {body.attachment_id.hex()}"
    await ops.append_audit(officer.actor, "export", case_id=case_id, detail=detail)
    return web.json_response({}, status=201)


# -- a live console (ADR 0084) ---------------------------------------------------------------


async def get_pulse(request: web.Request) -> web.Response:
    """One small answer per tick of a live console: its newest activity, the roster's length
    and, for the case it shows (assigned to it only), a marker of that case's state."""
    gateway, officer = _gateway(request), request[OFFICER]
    ops = gateway.store
    newest = await ops.list_cases(handler=officer.name, limit=1)
    roster = officer.trust.roster
    verified = roster.head.seq if roster is not None else 0
    if await ops.roster_length() > verified:
        gateway.keeper.invalidate()  # an entry this gateway has not read: read it next time
    # The roster as this gateway verified it: the console loads again once what it serves
    # (the cases the roster assigns) has changed, not merely the store's rows.
    answer: dict[str, Any] = {
        "activity": newest[0].activity_seq if newest else 0,
        "roster": verified,
        "case": "",
    }
    case_id = request.query.get("case")
    if case_id:
        if officer.name not in officer.trust.assigned(case_id):
            raise Refusal(403, "this case is not assigned to you")
        case = await ops.get_case(case_id)
        answer["case"] = "gone" if case is None else await case_marker(ops, case)
    return web.json_response(answer)


async def get_awaiting(request: web.Request) -> web.Response:
    officer = request[OFFICER]
    ids = _assigned_cases(request, officer, _MAX_AWAITING)
    ops = _gateway(request).store
    waiting = []
    for case_id in ids:
        newest = await ops.list_envelopes(case_id, newest_first=True, limit=5, wraps="none")
        said = [e.direction for e in newest if e.direction is not store.Direction.NOTE]
        if said and said[0] is store.Direction.IN:
            waiting.append(case_id)
    return web.json_response({"awaiting": waiting})


async def get_events(request: web.Request) -> web.Response:
    """What the source did in the case: only the officer-facing actions, never who read,
    replied or exported (the admin's audit log keeps those)."""
    _, case_id = _assigned(request)
    ops = _gateway(request).store
    await _case(ops, case_id)
    events = [
        {"seq": e.seq, "on": e.at.isoformat(), "action": e.action}
        for e in await source_events(ops, case_id)
    ]
    return web.json_response({"events": events})


async def post_opened(request: web.Request) -> web.Response:
    officer, case_id = _assigned(request)
    ops = _gateway(request).store
    await _case(ops, case_id)
    await ops.append_audit(officer.actor, "read", case_id=case_id, detail="via gateway")
    return web.json_response({}, status=201)


# -- errors, and the application ---------------------------------------------------------------

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every answer that is not a success is one JSON ``{"error": …}``; refusals are logged."""
    try:
        return await handler(request)
    except Refusal as exc:
        officer = request.get(OFFICER)
        return refuse(request, exc.status, exc.reason, officer.key_id if officer else None)
    except BadBody as exc:
        officer = request.get(OFFICER)
        return refuse(request, 400, str(exc), officer.key_id if officer else None)
    except (ConflictError, NotFoundError):
        return refuse(request, 409, "the store refused this: it conflicts with what is there")
    except web.HTTPException as exc:
        if exc.status == 413:
            return refuse(request, 413, f"the body is larger than {MAX_BODY} bytes")
        return json_error(exc.status, exc.reason)
    except Exception as exc:
        # The type only: a message could quote stored or sent bytes.
        log.error("error serving %s %s: %s", request.method, request.path, type(exc).__name__)  # noqa: TRY400
        return json_error(500, "internal error")


def build_app(store: Store, keeper: TrustKeeper, *, origin: str = "") -> web.Application:
    """The application; ``origin`` is the public origin consoles sign against (it may be set
    on ``app[GATEWAY].origin`` once the port is known)."""
    app = web.Application(middlewares=[errors, authenticate], client_max_size=MAX_BODY)
    app[GATEWAY] = Gateway(store, keeper, ReplayCache(), origin.rstrip("/"))
    case = "/v1/cases/{case_id}"
    app.router.add_get("/v1/roster", get_roster)
    app.router.add_post("/v1/roster", post_roster)
    app.router.add_get("/v1/cases", list_cases)
    app.router.add_get(case, get_case)
    app.router.add_get(case + "/envelopes", list_envelopes)
    app.router.add_get(case + "/outbox", list_outbox)
    app.router.add_get(case + "/attachments/{message_id}", list_attachments)
    app.router.add_get(case + "/attachments/{message_id}/{attachment_id}", read_chunks)
    app.router.add_post(case + "/replies", post_reply)
    app.router.add_post(case + "/notes", post_note)
    app.router.add_get(case + "/notes", list_notes)
    app.router.add_post(case + "/read", post_read)
    app.router.add_get("/v1/settings", get_settings)
    app.router.add_get("/v1/settings/{key}", get_setting)
    app.router.add_get("/v1/case-count", count_cases)
    app.router.add_get("/v1/marks", get_marks)
    app.router.add_get(case + "/lacking/{key_id}", list_lacking)
    app.router.add_post(case + "/wraps", post_wraps)
    app.router.add_post(case + "/status", post_status)
    app.router.add_post(case + "/cancel", post_cancel)
    app.router.add_post(case + "/exports", post_export)
    app.router.add_get("/v1/pulse", get_pulse)
    app.router.add_get("/v1/awaiting", get_awaiting)
    app.router.add_get(case + "/events", get_events)
    app.router.add_post(case + "/opened", post_opened)
    return app
