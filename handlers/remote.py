"""The console through a console gateway (``[console] url``, ADR 0079): reads and writes over
HTTP, every request signed with the officer's own Ed25519 key (crypto.sign_request).

- :class:`RemoteStore` — the store's read methods the console calls (handlers.port.Reads),
  each a GET. The gateway serves only the officer's cases and only their wraps; the console
  still verifies the roster from its genesis (core.trust.load_trust over this reader) and
  every envelope's signature, so a gateway that lies shows nothing that does not verify.
- :class:`GatewayPort` — every write one POST (handlers.port.Port). Sealing, re-wrapping and
  roster entries are made here, with the officer's keys; the gateway only stores them.

A gateway that is down, slow or failing is one line, "the gateway at … is unreachable: …"
(StoreUnreachableError); its refusals become the console's own errors with its reason.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any, Final
from urllib.parse import quote, urlencode

import aiohttp
from yarl import URL

import store
from core.config import Config
from core.roster import RosterError, Signer
from core.untrusted import render_untrusted
from crypto import Direction, EncryptionPublicKey, SigningKeyPair, seal, sign_request
from store import Case, CaseFlag, CaseStatus, NotCancellableError, OutboxItem, WrapSelection

from ._errors import (
    ConsoleError,
    NotAssignedError,
    NotCertifiedError,
    StoreUnreachableError,
    UnknownCaseError,
    UsageError,
)
from .cases import require_assigned
from .compose import SHORTEST_ID, cancel_refusal, handler_keys
from .identity import HandlerIdentity
from .manage import BATCH, rewrap_batch
from .port import CaseEvent, Pulse
from .session import Session

__all__ = ["GatewayClient", "GatewayPort", "RemoteStore", "open_remote"]

#: No request waits longer than this in all (connecting included).
TIMEOUT: Final = aiohttp.ClientTimeout(total=30, connect=10)
_CASE_ID: Final = re.compile(r"[0-9A-Za-z][0-9A-Za-z-]{2,63}")  # as the store takes them
_MAX_ENVELOPES: Final = 500  # the gateway's page limits
_MAX_CASES: Final = 1000
_MAX_CHUNKS: Final = 8
_MAX_AWAITING: Final = 200
_MAX_REASON: Final = 200
#: How long one answer of the settings stands in for them (seconds).
_SETTINGS_TTL: Final = 1.0
#: The gateway does not serve when a reply is due: the console never shows it.
_NOT_SERVED: Final = datetime.fromtimestamp(0, UTC)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: object) -> bytes:
    if not isinstance(text, str):
        raise TypeError("not base64 text")
    return base64.b64decode(text, validate=True)


def _seg(text: str) -> str:
    return quote(text, safe="")


class Refused(ConsoleError):
    """The gateway answered a 4xx: ``status`` and the body, for the callers that word it."""

    def __init__(self, status: int, reason: str, body: dict[str, Any]) -> None:
        super().__init__(reason)
        self.status = status
        self.body = body


class GatewayClient:
    """Signed JSON requests to one gateway with one officer's signing key."""

    def __init__(self, url: str, key: SigningKeyPair) -> None:
        self.url = url.rstrip("/")
        self._key = key
        self._http: aiohttp.ClientSession | None = None

    def _unreachable(self, why: str) -> StoreUnreachableError:
        shown = render_untrusted(why, single_line=True)[:_MAX_REASON]
        return StoreUnreachableError(f"the gateway at {self.url} is unreachable: {shown}")

    async def request(
        self,
        method: str,
        path: str,
        query: Sequence[tuple[str, str]] = (),
        payload: object = None,
    ) -> dict[str, Any]:
        """The JSON answer; Refused for a 4xx, StoreUnreachableError for the rest."""
        target = path + ("?" + urlencode(list(query), quote_via=quote) if query else "")
        body = b"" if payload is None else json.dumps(payload).encode()
        # Signed for the gateway's public origin and this exact target (ADR 0079).
        headers = sign_request(self._key, method, self.url + target, body)
        if body:
            headers["Content-Type"] = "application/json"
        if self._http is None:
            self._http = aiohttp.ClientSession(timeout=TIMEOUT)
        try:
            async with self._http.request(
                method, URL(self.url + target, encoded=True), data=body, headers=headers
            ) as response:
                status, raw = response.status, await response.read()
        except TimeoutError:
            raise self._unreachable(f"no answer within {TIMEOUT.total:.0f} s") from None
        except (aiohttp.ClientError, OSError) as exc:
            raise self._unreachable(str(exc) or type(exc).__name__) from None
        try:
            answer = json.loads(raw)
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise self._unreachable(f"it answered {status} without a JSON object")
        if status < 400:
            return answer
        reason = render_untrusted(str(answer.get("error", "")), single_line=True)[:_MAX_REASON]
        if status >= 500 or status in (502, 503, 504):
            raise self._unreachable(f"{status} {reason}")
        if status == 401:
            raise NotCertifiedError(
                f"the gateway at {self.url} refused your key (not certified, or revoked?): {reason}"
            )
        raise Refused(status, reason, answer)

    async def get(self, path: str, query: Sequence[tuple[str, str]] = ()) -> dict[str, Any]:
        try:
            return await self.request("GET", path, query)
        except Refused as exc:
            raise _plain(exc) from None

    async def post(self, path: str, payload: object) -> dict[str, Any]:
        try:
            return await self.request("POST", path, payload=payload)
        except Refused as exc:
            raise _plain(exc) from None

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None


def _plain(exc: Refused) -> ConsoleError:
    """A refusal as the console's own error (its exit code says which)."""
    if exc.status == 403:
        return NotAssignedError(str(exc))
    if exc.status == 404:
        return UnknownCaseError(str(exc))
    if exc.status in (400, 413):
        return UsageError(f"the gateway refused this: {exc}")
    return ConsoleError(str(exc))


def _case(data: dict[str, Any]) -> Case:
    return Case(
        case_id=data["case_id"],
        status=CaseStatus(data["status"]),
        created_on=date.fromisoformat(data["created_on"]),
        language=data["language"],
        lookup_hash=None,  # the gateway keeps what links a case to a source
        sealed_chat_ref=None,
        recovery_hash=None,
        flags=frozenset(CaseFlag(f) for f in data["flags"]),
        last_activity_on=date.fromisoformat(data["last_activity_on"]),
        activity_seq=data["activity_seq"],
    )


class RemoteStore:
    """handlers.port.Reads through the gateway, for one officer (the signer)."""

    def __init__(self, client: GatewayClient, name: str, key_id: bytes) -> None:
        self.client = client
        self._name = name
        self._key_id = key_id  # the officer's encryption key: the only wraps served
        self._marks: tuple[tuple[str, ...], dict[str, int]] | None = None
        self._settings: tuple[float, dict[str, str]] | None = None
        self._listed: dict[str, tuple[int, int]] = {}  # case id → (unread, read mark)

    async def get_setting(self, key: str) -> str | None:
        # One request for all of them, reused for a moment: the console reads both change
        # markers before every list, and the gateway checks every request itself anyway.
        now = time.monotonic()
        if self._settings is None or now - self._settings[0] > _SETTINGS_TTL:
            answer = await self.client.get("/v1/settings")
            self._settings = (now, {k: v for k, v in answer.items() if isinstance(v, str)})
        return self._settings[1].get(key)

    async def list_roster(self, *, after: int = 0, limit: int = 1000) -> list[bytes]:
        query = [("after", str(after)), ("limit", str(min(limit, 1000)))]
        answer = await self.client.get("/v1/roster", query)
        return [_unb64(e) for e in answer["entries"]]

    async def get_case(self, case_id: str) -> Case | None:
        if not _CASE_ID.fullmatch(case_id):
            raise ValueError("not shaped like a case id")  # as the store says it
        try:
            return _case(await self.client.request("GET", f"/v1/cases/{_seg(case_id)}"))
        except Refused as exc:
            if exc.status == 404:
                return None
            if exc.status == 403:
                raise NotAssignedError(f"case {case_id} is not assigned to you") from None
            raise _plain(exc) from None

    def _mine(self, handler: str | None) -> None:
        if handler != self._name:
            raise ValueError("the gateway lists the signer's own cases only")

    async def list_cases(
        self,
        *,
        status: CaseStatus | None = None,
        flag: CaseFlag | None = None,
        handler: str | None = None,
        before_activity: int | None = None,
        limit: int = 50,
    ) -> list[Case]:
        self._mine(handler)
        # The gateway leaves out rows the roster does not confirm; fill the page from the
        # next ones, so a short page still means the last one.
        found: list[Case] = []
        cursor = before_activity
        while len(found) < limit:
            query = [*_filters(status, flag), ("limit", str(min(limit - len(found), _MAX_CASES)))]
            if cursor is not None:
                query.append(("before", str(cursor)))
            answer = await self.client.get("/v1/cases", query)
            found += [_case(c) for c in answer["cases"]]
            # The list carries each case's unread count and read mark: the summaries that
            # follow at once need no second request for them.
            self._listed.update(
                {c["case_id"]: (int(c["unread"]), int(c["read_mark"])) for c in answer["cases"]}
            )
            cursor = answer.get("next_before")
            if cursor is None:
                break
        return found

    async def count_cases(
        self,
        *,
        status: CaseStatus | None = None,
        flag: CaseFlag | None = None,
        handler: str | None = None,
    ) -> int:
        self._mine(handler)
        return int((await self.client.get("/v1/case-count", _filters(status, flag)))["count"])

    async def _fetch_marks(self, ids: Sequence[str]) -> tuple[dict[str, int], dict[str, int]]:
        unread: dict[str, int] = {}
        marks: dict[str, int] = {}
        for start in range(0, len(ids), 1000):
            answer = await self.client.get(
                "/v1/marks", [("case", c) for c in ids[start : start + 1000]]
            )
            unread.update(answer["unread"])
            marks.update(answer["read_marks"])
        return unread, marks

    async def unread_counts(self, handler: str, case_ids: Sequence[str]) -> dict[str, int]:
        self._mine(handler)
        listed, self._listed = self._listed, {}
        if all(c in listed for c in case_ids):
            self._marks = (tuple(case_ids), {c: listed[c][1] for c in case_ids})
            return {c: listed[c][0] for c in case_ids}  # every id, zeros too, as the store
        unread, marks = await self._fetch_marks(case_ids)
        self._marks = (tuple(case_ids), marks)  # one answer serves the read_marks that follows
        return unread

    async def read_marks(self, handler: str, case_ids: Sequence[str]) -> dict[str, int]:
        self._mine(handler)
        memo, self._marks = self._marks, None
        if memo is not None and memo[0] == tuple(case_ids):
            return memo[1]
        return (await self._fetch_marks(case_ids))[1]

    def _envelope(self, case_id: str, data: dict[str, Any], wraps: WrapSelection) -> store.Envelope:
        wrap = data.get("wrap")
        return store.Envelope(
            message_id=_unb64(data["message_id"]),
            case_id=case_id,
            direction=store.Direction(data["direction"]),
            seq=data["seq"],
            stored_on=date.fromisoformat(data["stored_on"]),
            core=_unb64(data["core"]),
            wraps={} if wraps == "none" or wrap is None else {self._key_id: _unb64(wrap)},
        )

    async def list_envelopes(
        self,
        case_id: str,
        *,
        after_seq: int | None = None,
        before_seq: int | None = None,
        newest_first: bool = False,
        limit: int = 100,
        wraps: WrapSelection = "all",
    ) -> list[store.Envelope]:
        # Only this officer's wrap is ever served, whatever ``wraps`` asks for.
        found: list[store.Envelope] = []
        while len(found) < limit:
            page = min(limit - len(found), _MAX_ENVELOPES)
            query = [("limit", str(page)), ("newest_first", "true" if newest_first else "false")]
            if after_seq is not None:
                query.append(("after_seq", str(after_seq)))
            if before_seq is not None:
                query.append(("before_seq", str(before_seq)))
            answer = await self.client.get(f"/v1/cases/{_seg(case_id)}/envelopes", query)
            batch = [self._envelope(case_id, e, wraps) for e in answer["envelopes"]]
            found += batch
            if len(batch) < page:
                break
            if newest_first:
                before_seq = batch[-1].seq
            else:
                after_seq = batch[-1].seq
        return found

    async def list_envelopes_lacking_wrap(
        self,
        key_id: bytes,
        *,
        case_id: str | None = None,
        after_seq: int | None = None,
        limit: int = 100,
        wraps: WrapSelection = "all",
    ) -> list[store.Envelope]:
        if case_id is None:
            raise ValueError("the gateway serves one case at a time")
        query = [("limit", str(min(limit, _MAX_ENVELOPES)))]
        if after_seq is not None:
            query.append(("after_seq", str(after_seq)))
        path = f"/v1/cases/{_seg(case_id)}/lacking/{key_id.hex()}"
        answer = await self.client.get(path, query)
        return [self._envelope(case_id, e, wraps) for e in answer["envelopes"]]

    async def list_outbox(
        self, case_id: str, *, after_id: int | None = None, limit: int = 100
    ) -> list[OutboxItem]:
        query = [("limit", str(min(limit, 1000)))]
        if after_id is not None:
            query.append(("after_id", str(after_id)))
        answer = await self.client.get(f"/v1/cases/{_seg(case_id)}/outbox", query)
        return [
            OutboxItem(
                outbox_id=i["outbox_id"],
                case_id=case_id,
                message_id=None if i["message_id"] is None else _unb64(i["message_id"]),
                envelope=None,  # sealed for the relay: it stays on the gateway
                status=store.OutboxStatus(i["status"]),
                attempts=i["attempts"],
                not_before=_NOT_SERVED,
                claimed_until=None,
                claim_token=None,
                last_error=i["last_error"],
                sent_ref=None,
                self_destruct_at=None,
                author=i["author"],
            )
            for i in answer["outbox"]
        ]

    async def close(self) -> None:
        await self.client.close()


def _filters(status: CaseStatus | None, flag: CaseFlag | None) -> list[tuple[str, str]]:
    query = [] if status is None else [("status", status.value)]
    return query + ([] if flag is None else [("flag", flag.value)])


class GatewayPort:
    """handlers.port.Port through the gateway: one signed POST per write."""

    def __init__(self, client: GatewayClient) -> None:
        self.client = client
        self.where = client.url

    def _case_path(self, case_id: str, what: str) -> str:
        return f"/v1/cases/{_seg(case_id)}/{what}"

    async def reply(
        self,
        session: Session,
        case_id: str,
        body: bytes,
        relay_key: EncryptionPublicKey,
        message_id: bytes,
    ) -> Case:
        case = await require_assigned(session, case_id)
        if case.status is CaseStatus.CLOSED:
            raise ConsoleError(f"case {case.case_id} is closed: reopen it to reply")
        sealed = seal(
            body,
            case_id=case.case_id,
            direction=Direction.OUT,
            recipients=[relay_key, *handler_keys(session, case.case_id)],
            signer=session.me.signing,
            message_id=message_id,
        )
        relay_id = relay_key.key_id
        await self.client.post(
            self._case_path(case.case_id, "replies"),
            {
                "core": _b64(sealed.core),
                "wraps": [
                    {"key_id": _b64(k), "wrap": _b64(w)}
                    for k, w in sealed.wraps.items()
                    if k != relay_id
                ],
                "relay_wrap": {"key_id": _b64(relay_id), "wrap": _b64(sealed.wraps[relay_id])},
            },
        )
        return case

    async def note(self, session: Session, case_id: str, body: bytes, message_id: bytes) -> str:
        case = await require_assigned(session, case_id)
        sealed = seal(
            body,
            case_id=case.case_id,
            direction=Direction.NOTE,
            recipients=handler_keys(session, case.case_id),
            signer=session.me.signing,
            message_id=message_id,
        )
        wraps = [{"key_id": _b64(k), "wrap": _b64(w)} for k, w in sealed.wraps.items()]
        await self.client.post(
            self._case_path(case.case_id, "notes"), {"core": _b64(sealed.core), "wraps": wraps}
        )
        return case.case_id

    async def cancel(self, session: Session, case_id: str, message_id: bytes) -> bool:
        path = self._case_path(case_id, "cancel")
        try:
            answer = await self.client.request(
                "POST", path, payload={"message_id": _b64(message_id)}
            )
        except Refused as exc:
            if exc.status == 404:
                short = message_id.hex()[:SHORTEST_ID]
                raise UnknownCaseError(f"no queued reply {short} in case {case_id}") from None
            reason, author = exc.body.get("reason"), exc.body.get("author")
            if exc.status == 409 and isinstance(reason, str):
                refused = NotCancellableError(
                    reason, author=author if isinstance(author, str) else None
                )
                raise cancel_refusal(refused, case_id, message_id) from None
            raise _plain(exc) from None
        return bool(answer.get("attempts") and answer.get("last_error") == "network")

    async def _sign(self, session: Session, kind: str, case_id: str, name: str) -> None:
        """Sign a roster entry here and have the gateway append it (its rules check it too)."""
        roster = session.workspace.trust.roster
        if roster is None:
            raise NotCertifiedError("the store holds no roster: ask an admin")
        signer = Signer("handler", name=session.name)
        try:
            entry = roster.next_entry(signer, session.me.signing, kind, case_id=case_id, name=name)
        except RosterError as exc:
            raise NotAssignedError(f"the roster refuses this: {exc}") from None
        try:
            await self.client.post("/v1/roster", {"entry": _b64(entry)})
        finally:
            # Appended or not, the roster in memory is read again (verified afresh if it
            # ran ahead of the store).
            await session.workspace.reload()

    async def assign(
        self,
        session: Session,
        case_id: str,
        handler: str,
        target: EncryptionPublicKey,
        *,
        hand_over: bool,
    ) -> tuple[int, int, bool]:
        # The gateway takes wraps only for an officer the roster assigns: the entry comes
        # first, then every envelope still lacking the colleague's wrap (the relay wraps
        # whatever arrives after the entry).
        added = handler not in session.workspace.trust.assigned(case_id)
        if added:
            await self._sign(session, "assign", case_id, handler)
        done = failed = 0
        cursor: int | None = None
        while True:
            envelopes = await session.reader.list_envelopes_lacking_wrap(
                target.key_id, case_id=case_id, after_seq=cursor, limit=BATCH
            )
            if not envelopes:
                break
            wraps, bad = await asyncio.to_thread(rewrap_batch, session, envelopes, target)
            if wraps:
                await self.client.post(
                    self._case_path(case_id, "wraps"),
                    {
                        "key_id": _b64(target.key_id),
                        "wraps": [
                            {"message_id": _b64(m), "wrap": _b64(w)} for m, w in wraps.items()
                        ],
                    },
                )
            done += len(wraps)
            failed += bad
            cursor = envelopes[-1].seq
        if hand_over:
            await self._sign(session, "leave", case_id, session.name)
        return done, failed, added

    async def set_status(self, session: Session, case_id: str, status: CaseStatus) -> bool:
        case = await require_assigned(session, case_id)
        answer = await self.client.post(
            self._case_path(case.case_id, "status"), {"status": status.value}
        )
        return bool(answer["changed"])

    async def mark_read(self, session: Session, case_id: str, seq: int) -> None:
        await self.client.post(self._case_path(case_id, "read"), {"seq": seq})

    async def attachment_known(self, attachment_id: bytes) -> bool | None:
        return None  # the gateway answers only for a message of one of the officer's cases

    async def read_chunks(
        self,
        case_id: str,
        message_id: bytes | None,
        attachment_id: bytes,
        *,
        start: int,
        limit: int,
    ) -> list[bytes]:
        path = self._case_path(case_id, f"attachments/{_message(message_id)}/{attachment_id.hex()}")
        chunks: list[bytes] = []
        while len(chunks) < limit:
            page = min(limit - len(chunks), _MAX_CHUNKS)
            query = [("start", str(start + len(chunks))), ("limit", str(page))]
            got = [_unb64(c) for c in (await self.client.get(path, query))["chunks"]]
            chunks += got
            if len(got) < page:
                break
        return chunks

    async def exported(
        self, session: Session, case_id: str, message_id: bytes | None, attachment_id: bytes
    ) -> None:
        await self.client.post(
            self._case_path(case_id, "exports"),
            {
                "message_id": _b64(bytes.fromhex(_message(message_id))),
                "attachment_id": _b64(attachment_id),
            },
        )

    async def pulse(self, session: Session, case_id: str | None = None) -> Pulse:
        query = [] if case_id is None else [("case", case_id)]
        answer = await self.client.get("/v1/pulse", query)
        return Pulse(int(answer["activity"]), int(answer["roster"]), str(answer["case"]))

    async def awaiting(self, session: Session, case_ids: Sequence[str]) -> set[str]:
        mine = [c for c in case_ids if session.name in session.workspace.trust.assigned(c)]
        waiting: set[str] = set()
        for start in range(0, len(mine), _MAX_AWAITING):
            query = [("case", c) for c in mine[start : start + _MAX_AWAITING]]
            waiting |= {str(c) for c in (await self.client.get("/v1/awaiting", query))["awaiting"]}
        return waiting

    async def case_events(self, session: Session, case_id: str) -> list[CaseEvent]:
        case = await require_assigned(session, case_id)
        answer = await self.client.get(self._case_path(case.case_id, "events"))
        return [
            CaseEvent(int(e["seq"]), date.fromisoformat(e["on"]), str(e["action"]))
            for e in answer["events"]
        ]

    async def opened(self, session: Session, case_id: str) -> None:
        await self.client.post(self._case_path(case_id, "opened"), None)

    async def notes(
        self,
        session: Session,
        case_id: str,
        *,
        after_seq: int | None = None,
        before_seq: int | None = None,
        limit: int = 100,
    ) -> list[store.Envelope]:
        if session.name not in session.workspace.trust.assigned(case_id):
            raise NotAssignedError(f"case {case_id} is not assigned to you")
        query = [("limit", str(min(limit, _MAX_ENVELOPES)))]
        if after_seq is not None:
            query.append(("after_seq", str(after_seq)))
        if before_seq is not None:
            query.append(("before_seq", str(before_seq)))
        answer = await self.client.get(self._case_path(case_id, "notes"), query)
        key_id = session.me.key_id
        return [
            store.Envelope(
                message_id=_unb64(e["message_id"]),
                case_id=case_id,
                direction=store.Direction(e["direction"]),
                seq=e["seq"],
                stored_on=date.fromisoformat(e["stored_on"]),
                core=_unb64(e["core"]),
                wraps={} if e.get("wrap") is None else {key_id: _unb64(e["wrap"])},
            )
            for e in answer["envelopes"]
        ]


def _message(message_id: bytes | None) -> str:
    if message_id is None:  # the gateway serves an attachment only with its message
        raise UsageError("through a gateway an attachment is exported with its message")
    return message_id.hex()


async def open_remote(config: Config, identity: HandlerIdentity) -> tuple[RemoteStore, GatewayPort]:
    """The reader and the port of a gateway, signing as ``identity``."""
    url = config.console.url
    if url is None:
        raise UsageError("no console gateway: set [console] url")
    client = GatewayClient(url, identity.signing)
    return RemoteStore(client, identity.name, identity.encryption.public.key_id), GatewayPort(
        client
    )
