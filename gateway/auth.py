"""Who is asking: every request is signed by an active officer of the verified roster.

The middleware reads the body (bounded by the application's ``client_max_size``), checks
the request's RFC 9421 signature (crypto.httpsig) against the signing keys of the officers
the verified roster holds now, refuses a nonce it has seen within its lifetime, and only
then lets the request through, with the officer attached. Every refusal is a 401 with
one short reason and one log line: the method, the path, the reason and the key id, never
a signature, a header value or a byte of the body.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Final

from aiohttp import web

from core.roster import HeadMemory, RosterError
from core.settings import TRUST_CHANGED_SETTING
from core.trust import Trust, TrustError, load_trust
from core.untrusted import render_untrusted
from crypto import Certificate, InvalidRequestSignature, SigningPublicKey, verify_request
from crypto.httpsig import CLOCK_SKEW
from store import Store

__all__ = [
    "GATEWAY",
    "OFFICER",
    "Gateway",
    "Officer",
    "ReplayCache",
    "TrustKeeper",
    "authenticate",
    "json_error",
    "officers_by_key",
    "refuse",
]

log = logging.getLogger("writein.gateway")

#: Re-read the roster at least this often, even if no marker changed (as the relay does).
TRUST_TTL: Final = 5.0
#: Nonces remembered at once; a signature lives at most 300 s, so this is ~300 requests/s.
REPLAY_CAPACITY: Final = 100_000


def json_error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def _where(request: web.Request) -> str:
    # The path as received, shown safely: a hostile one cannot forge a log line.
    return render_untrusted(f"{request.method} {request.raw_path}", single_line=True)


def refuse(
    request: web.Request, status: int, reason: str, key_id: bytes | None = None
) -> web.Response:
    """One log line and one JSON answer for a refused request."""
    who = f" (key {key_id.hex()})" if key_id else ""
    # A reason may quote the request (a field name, a roster entry's case id).
    shown = render_untrusted(reason, single_line=True)
    log.warning("refused %d %s: %s%s", status, _where(request), shown, who)
    return json_error(status, reason)


class ReplayCache:
    """The nonces of the signatures accepted lately, each kept until it cannot verify again.

    Bounded: when it is full of live nonces, new requests are refused (busy) rather than a
    live nonce forgotten, which would let its request be replayed.
    """

    def __init__(self, capacity: int = REPLAY_CAPACITY) -> None:
        self.capacity = capacity
        self._seen: dict[tuple[bytes, str], int] = {}
        self._expiry: list[tuple[int, bytes, str]] = []

    def __len__(self) -> int:
        return len(self._seen)

    def _prune(self, now: float) -> None:
        # A signature is accepted until ``expires`` + the clock skew: keep it that long.
        while self._expiry and self._expiry[0][0] + CLOCK_SKEW < now:
            _, key_id, nonce = heapq.heappop(self._expiry)
            self._seen.pop((key_id, nonce), None)

    def remember(
        self, key_id: bytes, nonce: str, expires: int, *, now: float | None = None
    ) -> bool:
        """True the first time; False for a replay. OverflowError when full."""
        self._prune(time.time() if now is None else now)
        if (key_id, nonce) in self._seen:
            return False
        if len(self._seen) >= self.capacity:
            raise OverflowError("the replay cache is full")
        self._seen[(key_id, nonce)] = expires
        heapq.heappush(self._expiry, (expires, key_id, nonce))
        return True


class TrustKeeper:
    """The verified roster's view, re-read when an admin or officer changed it (the
    ``trust.changed`` marker) and every few seconds regardless, as the relay does."""

    def __init__(self, store: Store, fingerprint: str, memory: HeadMemory | None = None) -> None:
        self.store = store
        self.fingerprint = fingerprint
        self.memory = memory
        #: Held while the roster is read or extended: both change the same Roster object.
        self.lock = asyncio.Lock()
        self._trust: Trust | None = None
        self._marker: str | None = None
        self._at = 0.0
        self._alarm = False

    async def current(self) -> Trust:
        """RosterError or TrustError (logged once as an alarm) if the roster does not
        verify, or the store's organisation key is not the pinned one."""
        async with self.lock:
            marker = await self.store.get_setting(TRUST_CHANGED_SETTING)
            now = time.monotonic()
            if self._trust is None or marker != self._marker or now - self._at > TRUST_TTL:
                await self._load(marker, now)
            assert self._trust is not None
            return self._trust

    async def _load(self, marker: str | None, now: float) -> None:
        try:
            trust = await load_trust(
                self.store, self.fingerprint, previous=self._trust, memory=self.memory
            )
        except (RosterError, TrustError) as exc:
            self._trust = None  # refuse everything until it verifies again
            if not self._alarm:
                log.error("ALARM: the roster does not verify; refusing every request: %s", exc)  # noqa: TRY400
            self._alarm = True
            raise
        if self._alarm:
            log.warning("the roster verifies again")
        self._alarm = False
        self._trust, self._marker, self._at = trust, marker, now

    def invalidate(self) -> None:
        """Read the roster again on the next request (after this gateway appended to it)."""
        self._at = 0.0
        self._marker = None


def officers_by_key(trust: Trust) -> dict[bytes, str]:
    """Active officers' signing key ids → their names (revoked and past keys are absent)."""
    return {c.signing_key.key_id: name for name, c in trust.handlers.items()}


@dataclass(frozen=True)
class Officer:
    """The signer of the request being served, as the verified roster has them."""

    name: str
    certificate: Certificate
    trust: Trust
    key_id: bytes  # the signing key id that signed the request

    @property
    def actor(self) -> str:
        """How the audit log names them (as the console does)."""
        return f"handler {self.name}"


@dataclass
class Gateway:
    """What every request needs: the store, the roster, the replay cache, the public origin."""

    store: Store
    keeper: TrustKeeper
    replays: ReplayCache
    #: The public origin consoles sign against, e.g. ``https://gateway.example.org``.
    origin: str = ""
    #: Signatures made before this are refused: the replay cache starts empty.
    started: int = field(default_factory=lambda: int(time.time()))


GATEWAY: Final = web.AppKey("gateway", Gateway)
OFFICER: Final = web.RequestKey("officer", Officer)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
    gateway = request.app[GATEWAY]
    if "Signature" not in request.headers and "Signature-Input" not in request.headers:
        return refuse(request, 401, "unsigned request")
    if not request.raw_path.startswith("/"):
        return refuse(request, 400, "the request target must be a path")
    body = await request.read()  # HTTPRequestEntityTooLarge beyond client_max_size
    try:
        trust = await gateway.keeper.current()
    except (RosterError, TrustError):
        return json_error(503, "the roster does not verify: ask an admin")
    officers = officers_by_key(trust)
    asked: list[bytes] = []

    def keys(key_id: bytes) -> SigningPublicKey | None:
        asked.append(key_id)
        name = officers.get(key_id)
        return None if name is None else trust.handlers[name].signing_key

    try:
        signed = verify_request(
            request.method,
            gateway.origin + request.raw_path,
            request.headers.items(),
            body,
            keys=keys,
        )
    except InvalidRequestSignature:
        if asked and asked[-1] not in officers:
            return refuse(request, 401, "unknown or revoked key", asked[-1])
        return refuse(request, 401, "invalid signature", asked[-1] if asked else None)
    if signed.created < gateway.started:
        # Its nonce may have been seen by this gateway before it restarted.
        return refuse(request, 401, "signed before this gateway started: sign again", signed.key_id)
    try:
        fresh = gateway.replays.remember(signed.key_id, signed.nonce, signed.expires)
    except OverflowError:
        return refuse(request, 503, "too many requests: try again shortly", signed.key_id)
    if not fresh:
        return refuse(request, 401, "replayed request", signed.key_id)
    name = officers[signed.key_id]  # verify_request found the key through it
    request[OFFICER] = Officer(name, trust.handlers[name], trust, signed.key_id)
    return await handler(request)
