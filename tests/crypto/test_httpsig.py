"""Request signatures for the console gateway (RFC 9421, Ed25519): the RFC's own test
vector, round trips, and every way a request or its signature can be altered or stale."""

from __future__ import annotations

import base64
import datetime
import hashlib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from http_message_signatures import (
    HTTPMessageSigner,
    HTTPMessageVerifier,
    InvalidSignature,
    MappingKeyResolver,
    algorithms,
)

from crypto import (
    CryptoError,
    InvalidRequestSignature,
    SignedRequest,
    SigningKeyPair,
    SigningPublicKey,
    sign_request,
    verify_request,
)
from crypto.httpsig import COVERED, LABEL, MAX_LIFETIME, TAG, _KeyResolver

from .support import seed

ALICE = SigningKeyPair(seed("alice signing"))
BOB = SigningKeyPair(seed("bob signing"))
URL = "http://127.0.0.1:8080/v1/cases/K7QX4F/replies?after_seq=3"
BODY = b'{"core":"AAAA","wraps":{}}'


Keys = Callable[[bytes], SigningPublicKey | None]
Headers = dict[str, str] | list[tuple[str, str]] | None


def trusted(*pairs: SigningKeyPair) -> Keys:
    keys = {p.public.key_id: p.public for p in pairs}
    return keys.get


def verify(
    method: str = "POST",
    url: str = URL,
    headers: Headers = None,
    body: bytes = BODY,
    keys: Keys | None = None,
) -> SignedRequest:
    return verify_request(
        method, url, headers if headers is not None else {}, body, keys=keys or trusted(ALICE)
    )


def refused(
    method: str = "POST",
    url: str = URL,
    headers: Headers = None,
    body: bytes = BODY,
    keys: Keys | None = None,
) -> None:
    with pytest.raises(InvalidRequestSignature) as caught:
        verify(method, url, headers, body, keys)
    # Opaque: one message, no reason, nothing chained.
    assert str(caught.value) == "invalid request signature"
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


# -- an independent signer: the library itself, with a plain cryptography key ------------


@dataclass
class _Message:
    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)


class _OtherAlg(algorithms.ED25519):
    algorithm_id = "eddsa"


def raw_sign(
    key: SigningKeyPair = ALICE,
    method: str = "POST",
    url: str = URL,
    body: bytes | None = BODY,
    *,
    created: int | None = None,
    lifetime: int | None = 60,
    nonce: str | None = "n" * 24,
    tag: str | None = TAG,
    label: str = LABEL,
    include_alg: bool = True,
    covered: tuple[str, ...] = COVERED,
    key_id: str | None = None,
    headers: dict[str, str] | None = None,
    alg: type[algorithms.ED25519] = algorithms.ED25519,
) -> dict[str, str]:
    private = ed25519.Ed25519PrivateKey.from_private_bytes(key.seed)
    kid = key_id or key.public.key_id.hex()
    start = int(time.time()) if created is None else created
    message = _Message(method, url, dict(headers or {}))
    signer = HTTPMessageSigner(
        signature_algorithm=alg,
        key_resolver=MappingKeyResolver(public_keys={}, private_keys={kid: private}),
    )
    signer.sign(
        message,
        key_id=kid,
        created=datetime.datetime.fromtimestamp(start, datetime.UTC),
        expires=None
        if lifetime is None
        else datetime.datetime.fromtimestamp(start + lifetime, datetime.UTC),
        nonce=nonce,
        label=label,
        tag=tag,
        include_alg=include_alg,
        covered_component_ids=covered,
        body=body,
        use_existing_digest="Content-Digest" in message.headers,
    )
    return message.headers


# -- RFC 9421 appendix B.2.6 -------------------------------------------------------------

# The test key of RFC 9421 B.1.4 (JWK "d" and "x").
RFC_SEED = base64.urlsafe_b64decode("n4Ni-HpISpVObnQMW0wOhCKROaIKqKtW_2ZYb2p9KcU=")
RFC_PUBLIC = base64.urlsafe_b64decode("JrQLj5P_89iXES9-vFgrIy29clF9CC_oPPsw3c5D0bs=")
RFC_KEY_ID = "test-key-ed25519"
RFC_COVERED = ("date", "@method", "@path", "@authority", "content-type", "content-length")
RFC_INPUT = (
    'sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length")'
    ';created=1618884473;keyid="test-key-ed25519"'
)
RFC_SIGNATURE = (
    "sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQ"
    "v5lIp5WPpBKRCw==:"
)


def rfc_request() -> _Message:
    # RFC 9421 B.2's test request.
    return _Message(
        "POST",
        "http://example.com/foo?param=Value&Pet=dog",
        {
            "Host": "example.com",
            "Date": "Tue, 20 Apr 2021 02:07:55 GMT",
            "Content-Type": "application/json",
            "Content-Digest": "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBW"
            "nrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:",
            "Content-Length": "18",
        },
    )


def test_the_rfc_test_key_is_a_writein_signing_key() -> None:
    assert SigningKeyPair.from_seed(RFC_SEED).public.raw == RFC_PUBLIC


def test_writein_keys_sign_the_rfc_9421_b26_vector() -> None:
    message = rfc_request()
    pair = SigningKeyPair.from_seed(RFC_SEED)
    signer = HTTPMessageSigner(
        signature_algorithm=algorithms.ED25519,
        key_resolver=_KeyResolver(private={RFC_KEY_ID: pair}),
    )
    signer.sign(
        message,
        key_id=RFC_KEY_ID,
        created=datetime.datetime.fromtimestamp(1618884473, datetime.UTC),
        label="sig-b26",
        include_alg=False,
        covered_component_ids=RFC_COVERED,
        use_existing_digest=True,  # the request's own sha-512 digest, not covered
    )
    assert message.headers["Signature-Input"] == RFC_INPUT
    assert message.headers["Signature"] == RFC_SIGNATURE


def test_writein_keys_verify_the_rfc_9421_b26_vector() -> None:
    message = rfc_request()
    message.headers |= {"Signature-Input": RFC_INPUT, "Signature": RFC_SIGNATURE}
    public = SigningPublicKey.from_raw(RFC_PUBLIC)
    verifier = HTTPMessageVerifier(
        signature_algorithm=algorithms.ED25519,
        key_resolver=_KeyResolver(public=lambda kid: public if kid == RFC_KEY_ID else None),
    )
    (result,) = verifier.verify(message, max_age=None)
    assert result.parameters["keyid"] == RFC_KEY_ID
    # One bit off and it fails.
    message.headers["Signature"] = RFC_SIGNATURE.replace("wqcA", "wqcB")
    with pytest.raises(InvalidSignature):
        verifier.verify(message, max_age=None)


def test_the_rfc_vector_is_not_a_gateway_request() -> None:
    message = rfc_request()
    message.headers |= {"Signature-Input": RFC_INPUT, "Signature": RFC_SIGNATURE}
    keys = {SigningPublicKey.from_raw(RFC_PUBLIC).key_id: SigningPublicKey.from_raw(RFC_PUBLIC)}
    with pytest.raises(InvalidRequestSignature):
        verify_request(
            message.method, message.url, message.headers, b'{"hello": "world"}', keys=keys.get
        )


# -- round trips ---------------------------------------------------------------------------


def test_a_signed_post_verifies_and_names_its_signer() -> None:
    before = int(time.time())
    headers = sign_request(ALICE, "POST", URL, BODY, lifetime=90)
    assert set(headers) == {"Content-Digest", "Signature-Input", "Signature"}
    expected = base64.b64encode(hashlib.sha256(BODY).digest()).decode()
    assert headers["Content-Digest"] == f"sha-256=:{expected}:"
    assert headers["Signature-Input"].startswith(
        'writein=("@method" "@target-uri" "content-digest");'
    )
    signed = verify(headers=headers)
    assert signed.key_id == ALICE.public.key_id
    assert before <= signed.created <= int(time.time())
    assert signed.expires == signed.created + 90
    assert re.fullmatch(r"[A-Za-z0-9_-]{32}", signed.nonce)


def test_a_get_without_body_is_signed_with_the_empty_digest() -> None:
    url = "http://127.0.0.1:8080/v1/roster?after=0"
    headers = sign_request(BOB, "GET", url)
    assert verify("GET", url, headers, b"", trusted(ALICE, BOB)).key_id == BOB.public.key_id


def test_nonces_differ_and_headers_may_come_as_lines() -> None:
    first, second = sign_request(ALICE, "POST", URL, BODY), sign_request(ALICE, "POST", URL, BODY)
    assert verify(headers=first).nonce != verify(headers=second).nonce
    lines = [(name.lower(), value) for name, value in first.items()] + [("Accept", "*/*")]
    assert verify(headers=lines).key_id == ALICE.public.key_id


def test_an_independent_rfc_9421_signer_is_accepted() -> None:
    assert verify(headers=raw_sign()).key_id == ALICE.public.key_id


def test_the_signature_base_can_never_be_a_writein_message() -> None:
    # Every other message a writein key signs starts with a "WR" magic.
    signer = HTTPMessageSigner(signature_algorithm=algorithms.ED25519)
    prepared = signer.prepare(
        _Message("POST", URL), key_id="k", covered_component_ids=COVERED, body=BODY
    )
    assert prepared.signature_base.startswith(b'"@method": POST\n')


# -- refusals --------------------------------------------------------------------------------


def test_unsigned_and_garbled_requests_are_refused() -> None:
    refused(headers={})
    headers = sign_request(ALICE, "POST", URL, BODY)
    refused(headers={**headers, "Signature": "writein=:AAAA:"})
    refused(headers={**headers, "Signature": "not a structured field"})
    refused(headers={**headers, "Signature-Input": "writein=()"})
    refused(headers={k: v for k, v in headers.items() if k != "Content-Digest"})


def test_an_unknown_key_is_refused() -> None:
    refused(headers=sign_request(BOB, "POST", URL, BODY))


def test_a_lookup_that_answers_with_another_key_is_not_believed() -> None:
    refused(
        headers=sign_request(BOB, "POST", URL, BODY),
        keys=lambda _: BOB.public.__class__(ALICE.public.raw),
    )
    # The signer's own key under the signer's own id does verify.
    assert verify(headers=sign_request(BOB, "POST", URL, BODY), keys=trusted(BOB))


def test_a_signature_by_another_key_under_alices_id_is_refused() -> None:
    refused(headers=raw_sign(BOB, key_id=ALICE.public.key_id.hex()))


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("PUT", URL, BODY),  # method
        ("POST", URL.replace("K7QX4F", "K7QX4G"), BODY),  # path
        ("POST", URL.replace("/replies", "/notes"), BODY),  # path
        ("POST", URL.replace("after_seq=3", "after_seq=4"), BODY),  # query
        ("POST", URL.split("?")[0], BODY),  # query dropped
        ("POST", URL + "&limit=1", BODY),  # query added
        ("POST", URL.replace("127.0.0.1:8080", "127.0.0.1:8081"), BODY),  # authority
        ("POST", URL.replace("http://", "https://"), BODY),  # scheme
        ("POST", URL, BODY.replace(b"AAAA", b"AAAB")),  # body
        ("POST", URL, BODY + b" "),  # body
        ("POST", URL, b""),  # body
    ],
)
def test_a_changed_request_is_refused(method: str, url: str, body: bytes) -> None:
    headers = sign_request(ALICE, "POST", URL, BODY)
    refused(method, url, headers, body)


def test_a_digest_changed_with_the_body_is_refused() -> None:
    # The attacker swaps the body and recomputes its digest: the signature covers the digest.
    other = b'{"core":"EVIL","wraps":{}}'
    headers = sign_request(ALICE, "POST", URL, BODY)
    digest = base64.b64encode(hashlib.sha256(other).digest()).decode()
    refused(headers={**headers, "Content-Digest": f"sha-256=:{digest}:"}, body=other)
    refused(headers={**headers, "Content-Digest": f"sha-256=:{digest}:"})


@pytest.mark.parametrize(
    ("pattern", "replacement"),
    [
        (r"created=(\d+)", lambda m: f"created={int(m[1]) - 1}"),
        (r"expires=(\d+)", lambda m: f"expires={int(m[1]) + 1}"),
        (r'nonce="([^"]+)"', lambda m: f'nonce="{m[1][:-1]}x"'),
        (r'keyid="([^"]+)"', lambda m: f'keyid="{BOB.public.key_id.hex()}"'),
        (r'alg="ed25519"', lambda m: 'alg="eddsa"'),
        (r'tag="([^"]+)"', lambda m: 'tag="writein-other"'),
        (r';nonce="[^"]+"', lambda m: ""),
        (r";expires=\d+", lambda m: ""),
        (r';alg="ed25519"', lambda m: ""),
        (r'"content-digest"', lambda m: ""),
        (r'"@target-uri"', lambda m: '"@path"'),
        (r"^writein=", lambda m: "other="),
    ],
)
def test_each_signed_parameter_is_bound(
    pattern: str, replacement: Callable[[re.Match[str]], str]
) -> None:
    headers = sign_request(ALICE, "POST", URL, BODY)
    changed = re.sub(pattern, replacement, headers["Signature-Input"], count=1)
    assert changed != headers["Signature-Input"]
    # Bob is trusted too, so the changed keyid fails on the signature, not the lookup.
    refused(headers={**headers, "Signature-Input": changed}, keys=trusted(ALICE, BOB))


def test_a_flipped_signature_bit_is_refused() -> None:
    headers = sign_request(ALICE, "POST", URL, BODY)
    raw = bytearray(base64.b64decode(headers["Signature"].split(":")[1]))
    raw[10] ^= 1
    refused(headers={**headers, "Signature": f"writein=:{base64.b64encode(raw).decode()}:"})


def test_timing_is_enforced() -> None:
    now = int(time.time())
    refused(headers=raw_sign(created=now + 120))  # created in the future
    refused(headers=raw_sign(created=now - 400, lifetime=60))  # expired long ago
    refused(headers=raw_sign(created=now - 100, lifetime=60))  # expired 40 s ago
    refused(headers=raw_sign(created=now, lifetime=MAX_LIFETIME + 1))  # lives too long
    refused(headers=raw_sign(created=now, lifetime=0))  # expires when created
    refused(headers=raw_sign(created=now, lifetime=-5))  # expires before created
    # Within the limits it passes: a little clock skew, and the longest lifetime.
    assert verify(headers=raw_sign(created=now + 5))
    assert verify(headers=raw_sign(created=now, lifetime=MAX_LIFETIME))


def test_every_parameter_is_required() -> None:
    refused(headers=raw_sign(nonce=None))
    refused(headers=raw_sign(lifetime=None))
    refused(headers=raw_sign(tag=None))
    refused(headers=raw_sign(include_alg=False))
    refused(headers=raw_sign(nonce="short"))
    refused(headers=raw_sign(nonce="n" * 24 + " !"))


def test_the_profile_is_exact() -> None:
    refused(headers=raw_sign(alg=_OtherAlg))  # alg="eddsa"
    refused(headers=raw_sign(label="sig1"))
    refused(headers=raw_sign(tag="writein-gateway-old"))
    refused(headers=raw_sign(covered=("@method", "@target-uri"), body=None))  # no digest
    refused(headers=raw_sign(covered=("@method", "@path", "@query", "content-digest")))
    refused(headers=raw_sign(covered=("@target-uri", "@method", "content-digest")))
    refused(headers=raw_sign(covered=(*COVERED, "content-type"), headers={"Content-Type": "x"}))
    refused(headers=raw_sign(key_id=ALICE.public.key_id.hex().upper()))


def test_a_sha512_digest_is_refused() -> None:
    digest = base64.b64encode(hashlib.sha512(BODY).digest()).decode()
    refused(headers=raw_sign(headers={"Content-Digest": f"sha-512=:{digest}:"}))


def test_signing_refuses_what_would_never_verify() -> None:
    with pytest.raises(ValueError, match="seconds"):
        sign_request(ALICE, "GET", URL, lifetime=MAX_LIFETIME + 1)
    with pytest.raises(ValueError, match="nonce"):
        sign_request(ALICE, "GET", URL, nonce="short")


def test_the_error_is_a_crypto_error() -> None:
    assert issubclass(InvalidRequestSignature, CryptoError)
