"""HTTP Message Signatures (RFC 9421) with an officer's own Ed25519 key.

A console signs every request to the gateway with the signing key the organisation
certified for it; the gateway checks the signature before it reads anything else.
The work is done by the ``http-message-signatures`` package; this module only fixes
the profile and hands it writein's keys.

The profile (docs/decisions/0079-the-console-gateway.md):

- label ``writein``, tag ``writein-gateway`` (signed: a signature made for something
  else never counts here), ``alg="ed25519"``, ``keyid`` = the signing key id in hex;
- covered: ``@method``, ``@target-uri`` and ``content-digest`` (RFC 9530, sha-256 of
  the body as sent; an empty body has a digest too), in that order and nothing else;
- ``created``, ``expires`` (at most :data:`MAX_LIFETIME` seconds later) and a random
  ``nonce``, all required. The verifier leaves replay to its caller: it returns the
  nonce and when it stops mattering.

``@target-uri`` rather than ``@path`` + ``@query`` + ``@authority``: one component
binds scheme, host, port, path and query together, and the gateway rebuilds it from
its own configured public origin, never from a Host header a proxy may rewrite, so a
request signed for one gateway does not verify at another.

The signature is over the RFC 9421 signature base exactly, so any RFC 9421 library
checks it. It stays apart from every other writein signature: a signature base starts
with ``"`` (0x22), every other message a writein key signs starts with a ``WR`` magic.

Every failure is the one opaque :class:`InvalidRequestSignature`.
"""

from __future__ import annotations

import datetime
import re
import secrets
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

from cryptography.hazmat.primitives.asymmetric import ed25519
from http_message_signatures import (
    ContentDigest,
    HTTPMessageSigner,
    HTTPMessageVerifier,
    HTTPSignatureKeyResolver,
    algorithms,
)

from ._errors import CryptoError
from ._keys import SigningKeyPair, SigningPublicKey
from ._suite import KEY_ID_SIZE

__all__ = [
    "CLOCK_SKEW",
    "COVERED",
    "DEFAULT_LIFETIME",
    "LABEL",
    "MAX_LIFETIME",
    "TAG",
    "InvalidRequestSignature",
    "SignedRequest",
    "sign_request",
    "verify_request",
]

LABEL: Final = "writein"
TAG: Final = "writein-gateway"
ALG: Final = "ed25519"
COVERED: Final = ("@method", "@target-uri", "content-digest")
#: A signature counts for at most this long after ``created``: it bounds the replay cache.
MAX_LIFETIME: Final = 300
DEFAULT_LIFETIME: Final = 60
#: How far the signer's clock may be off the verifier's, either way.
CLOCK_SKEW: Final = 30
_PARAMETERS: Final = frozenset({"alg", "created", "expires", "keyid", "nonce", "tag"})
_NONCE: Final = re.compile(r"[A-Za-z0-9_-]{16,64}")
_KEY_ID: Final = re.compile(f"[0-9a-f]{{{2 * KEY_ID_SIZE}}}")
_COVERED_BASE: Final = [f'"{c}"' for c in COVERED]


class InvalidRequestSignature(CryptoError):
    """A request's signature is missing, malformed, stale, replayed, by an unknown key or
    does not match the request. The message never says which."""

    def __init__(self) -> None:
        super().__init__("invalid request signature")


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """What a verified signature says: who signed, and what a replay cache needs."""

    key_id: bytes
    nonce: str
    created: int
    expires: int


class _Headers:
    """The field lines of a request, for the library (names kept in order, repeats too)."""

    def __init__(self, lines: Iterable[tuple[str, str]]) -> None:
        self._lines = list(lines)

    def items(self) -> list[tuple[str, str]]:
        return list(self._lines)

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys(name for name, _ in self._lines))

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and any(n.lower() == name.lower() for n, _ in self._lines)

    def __setitem__(self, name: str, value: str) -> None:
        del self[name]
        self._lines.append((name, value))

    def __delitem__(self, name: str) -> None:
        self._lines = [(n, v) for n, v in self._lines if n.lower() != name.lower()]


@dataclass
class _Request:
    """The request view the library resolves components from."""

    method: str
    url: str
    headers: _Headers


class _KeyResolver(HTTPSignatureKeyResolver):
    """Hands the library writein's keys: ours to sign with, the caller's lookup to verify."""

    def __init__(
        self,
        *,
        private: Mapping[str, SigningKeyPair] | None = None,
        public: Callable[[str], SigningPublicKey | None] | None = None,
    ) -> None:
        self._private = dict(private or {})
        self._public = public

    def resolve_private_key(self, key_id: str) -> ed25519.Ed25519PrivateKey:
        return self._private[key_id]._key

    def resolve_public_key(self, key_id: str) -> ed25519.Ed25519PublicKey | None:
        key = self._public(key_id) if self._public is not None else None
        return None if key is None else key._key


def _lines(headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    return [(str(name), str(value)) for name, value in pairs]


def sign_request(
    key: SigningKeyPair,
    method: str,
    url: str,
    body: bytes = b"",
    *,
    created: int | None = None,
    lifetime: int = DEFAULT_LIFETIME,
    nonce: str | None = None,
) -> dict[str, str]:
    """The headers that sign this request: ``Content-Digest``, ``Signature-Input`` and
    ``Signature``. ``url`` is the absolute URL as the gateway's public origin names it;
    ``body`` the exact bytes sent."""
    if not 1 <= lifetime <= MAX_LIFETIME:
        raise ValueError(f"a request signature lives 1 to {MAX_LIFETIME} seconds")
    nonce = secrets.token_urlsafe(24) if nonce is None else nonce
    if not _NONCE.fullmatch(nonce):
        raise ValueError("a nonce is 16 to 64 characters of base64url")
    start = int(time.time()) if created is None else created
    key_id = key.public.key_id.hex()
    request = _Request(method, url, _Headers([]))
    signer = HTTPMessageSigner(
        signature_algorithm=algorithms.ED25519, key_resolver=_KeyResolver(private={key_id: key})
    )
    signer.sign(
        request,
        key_id=key_id,
        created=datetime.datetime.fromtimestamp(start, datetime.UTC),
        expires=datetime.datetime.fromtimestamp(start + lifetime, datetime.UTC),
        nonce=nonce,
        label=LABEL,
        tag=TAG,
        include_alg=True,
        covered_component_ids=COVERED,
        body=bytes(body),
    )
    return dict(request.headers.items())


class _Verifier(HTTPMessageVerifier):
    max_clock_skew = datetime.timedelta(seconds=CLOCK_SKEW)


def verify_request(
    method: str,
    url: str,
    headers: Mapping[str, str] | Iterable[tuple[str, str]],
    body: bytes,
    *,
    keys: Callable[[bytes], SigningPublicKey | None],
) -> SignedRequest:
    """Check the request's ``writein`` signature; return who signed it.

    ``url`` is the absolute URL the request reached, rebuilt from the verifier's own
    public origin; ``body`` the bytes received; ``keys`` looks a signing key id up among
    the keys the caller trusts (None: not one of them). Raises InvalidRequestSignature.
    """
    try:
        return _verify(method, url, _lines(headers), bytes(body), keys)
    except Exception:  # the library's errors, and anything malformed: all look the same
        raise InvalidRequestSignature from None


def _verify(
    method: str,
    url: str,
    lines: list[tuple[str, str]],
    body: bytes,
    keys: Callable[[bytes], SigningPublicKey | None],
) -> SignedRequest:
    def lookup(key_id: str) -> SigningPublicKey | None:
        if not _KEY_ID.fullmatch(key_id):
            return None
        key = keys(bytes.fromhex(key_id))
        # A lookup that answers with another key than the one asked for trusts nothing.
        return key if key is not None and key.key_id.hex() == key_id else None

    verifier = _Verifier(
        signature_algorithm=algorithms.ED25519, key_resolver=_KeyResolver(public=lookup)
    )
    results = verifier.verify(
        _Request(method, url, _Headers(lines)),
        max_age=datetime.timedelta(seconds=MAX_LIFETIME),
        expect_tag=TAG,
        expect_label=LABEL,
        require_components=COVERED,
        body=body,
    )
    if len(results) != 1:
        raise InvalidRequestSignature
    result = results[0]
    params: dict[str, Any] = dict(result.parameters)
    covered = [c for c in result.covered_components if c != '"@signature-params"']
    if covered != _COVERED_BASE or set(params) != _PARAMETERS or params["alg"] != ALG:
        raise InvalidRequestSignature
    # The digest must be exactly sha-256 of these bytes (the library accepts sha-512 too).
    if result.covered_components['"content-digest"'] != ContentDigest.create(body):
        raise InvalidRequestSignature
    created, expires, nonce = params["created"], params["expires"], params["nonce"]
    if not 0 < expires - created <= MAX_LIFETIME or not _NONCE.fullmatch(nonce):
        raise InvalidRequestSignature
    now = time.time()
    if created > now + CLOCK_SKEW or expires < now - CLOCK_SKEW:  # the library checks too
        raise InvalidRequestSignature
    return SignedRequest(bytes.fromhex(params["keyid"]), nonce, created, expires)
