"""docs/protocol.md, re-implemented from the page with standard primitives only.

If crypto/ and the page ever disagree, these tests fail: the page is what a
second client (e.g. the JavaScript Mini App) will be written from.
"""

from __future__ import annotations

import hashlib
import hmac
import struct

from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric import ed25519, mlkem, x25519
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

from crypto import (
    Argon2Params,
    Direction,
    EncryptionKeyPair,
    Envelope,
    SigningKeyPair,
    certify,
    fingerprint,
    open_envelope,
    seal,
    seal_secret,
)

from .support import seed

SUITE = hpke.Suite(hpke.KEM.MLKEM768_X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.CHACHA20_POLY1305)
MIB = 1 << 20


def xwing(seed32: bytes) -> tuple[hpke.MLKEM768X25519PrivateKey, bytes]:
    expanded = hashlib.shake_256(seed32).digest(96)
    m = mlkem.MLKEM768PrivateKey.from_seed_bytes(expanded[:64])
    x = x25519.X25519PrivateKey.from_private_bytes(expanded[64:])
    public = m.public_key().public_bytes_raw() + x.public_key().public_bytes_raw()
    return hpke.MLKEM768X25519PrivateKey(m, x), public


def enc_key_id(public: bytes) -> bytes:
    return hashlib.sha256(b"writein/v1/key-id/encryption" + public).digest()[:16]


def sig_key_id(public: bytes) -> bytes:
    return hashlib.sha256(b"writein/v1/key-id/signing" + public).digest()[:16]


def bucket(x: int) -> int:
    if x <= 256:
        return 256
    if x <= MIB:
        size = 1
        while size < x:
            size *= 2
        return size
    return -(-x // MIB) * MIB


def make_core(
    plaintext: bytes,
    *,
    signer_seed: bytes,
    message_id: bytes,
    case_id: str,
    direction: int,
    created: int,
    data_key: bytes,
) -> bytes:
    signer = ed25519.Ed25519PrivateKey.from_private_bytes(signer_seed)
    header = (
        b"WRIE"
        + struct.pack(">BH", 1, 1)
        + message_id
        + struct.pack(">B", len(case_id))
        + case_id.encode("ascii")
        + struct.pack(">BQ", direction, created)
        + sig_key_id(signer.public_key().public_bytes_raw())
    )
    padded = struct.pack(">I", len(plaintext)) + plaintext
    padded += bytes(bucket(len(padded)) - len(padded))
    body = ChaCha20Poly1305(data_key).encrypt(bytes(12), padded, header)
    commitment = hmac.new(
        data_key, b"writein/v1/commit" + hashlib.sha256(header).digest(), "sha256"
    ).digest()
    signed = header + commitment + struct.pack(">I", len(body)) + body
    return signed + signer.sign(signed)


def test_keys_and_fingerprint_follow_the_page() -> None:
    pair = EncryptionKeyPair(seed("p"))
    _, public = xwing(seed("p"))
    assert pair.public.raw == public
    assert pair.public.key_id == enc_key_id(public)
    signing = SigningKeyPair(seed("s"))
    digits = sig_key_id(signing.public.raw).hex().upper()
    assert fingerprint(signing.public) == " ".join(digits[i : i + 4] for i in range(0, 32, 4))


def test_a_core_built_from_the_page_opens_with_crypto() -> None:
    """The direction a second client needs: it seals, writein's console opens."""
    recipient_seed, signer_seed = seed("recipient"), seed("signer")
    _, recipient_public = xwing(recipient_seed)
    data_key = seed("data key")
    plaintext = "Здравствуйте, это источник.".encode()
    core = make_core(
        plaintext,
        signer_seed=signer_seed,
        message_id=bytes(range(16)),
        case_id="K7-QX4F",
        direction=1,
        created=1_767_225_600,
        data_key=data_key,
    )
    header = core[: 49 + len("K7-QX4F")]
    kid = enc_key_id(recipient_public)
    info = b"writein/v1/wrap" + hashlib.sha256(header).digest() + kid
    assert len(info) == 63
    public_key = hpke.MLKEM768X25519PublicKey(
        mlkem.MLKEM768PublicKey.from_public_bytes(recipient_public[:1184]),
        x25519.X25519PublicKey.from_public_bytes(recipient_public[1184:]),
    )
    wrap = SUITE.encrypt(data_key, public_key, info=info)
    assert len(wrap) == 1168
    blob = (
        b"WRIB\x01"
        + struct.pack(">I", len(core))
        + core
        + struct.pack(">H", 1)
        + kid
        + struct.pack(">H", len(wrap))
        + wrap
    )
    opened = open_envelope(
        Envelope.from_bytes(blob),
        recipient=EncryptionKeyPair(recipient_seed),
        trusted_signers=[SigningKeyPair(signer_seed).public],
        expect_case_id="K7-QX4F",
        expect_direction=Direction.IN,
    )
    assert opened.plaintext == plaintext


def test_an_envelope_from_crypto_opens_by_the_page() -> None:
    """The other direction: writein seals, a second client opens and verifies."""
    recipient_seed = seed("recipient")
    private, public = xwing(recipient_seed)
    signer = SigningKeyPair(seed("signer"))
    plaintext = b"x" * 1000
    envelope = seal(
        plaintext,
        case_id="case-9",
        direction=Direction.OUT,
        recipients=[EncryptionKeyPair(recipient_seed).public],
        signer=signer,
    )
    core = envelope.core
    n = core[23]
    header = core[: 49 + n]
    assert header[24 + n] == 2
    ed25519.Ed25519PublicKey.from_public_bytes(signer.public.raw).verify(core[-64:], core[:-64])
    commitment = core[len(header) : len(header) + 32]
    (body_size,) = struct.unpack(">I", core[len(header) + 32 : len(header) + 36])
    body = core[len(header) + 36 : len(header) + 36 + body_size]
    assert len(header) + 36 + body_size + 64 == len(core)
    kid = enc_key_id(public)
    info = b"writein/v1/wrap" + hashlib.sha256(header).digest() + kid
    data_key = SUITE.decrypt(envelope.wraps[kid], private, info=info)
    assert (
        commitment
        == hmac.new(
            data_key, b"writein/v1/commit" + hashlib.sha256(header).digest(), "sha256"
        ).digest()
    )
    padded = ChaCha20Poly1305(data_key).decrypt(bytes(12), body, header)
    assert len(padded) == bucket(4 + len(plaintext)) == 1024
    (length,) = struct.unpack(">I", padded[:4])
    assert padded[4 : 4 + length] == plaintext
    assert padded[4 + length :] == bytes(len(padded) - 4 - length)


def test_blob_layout_follows_the_page() -> None:
    a, b = EncryptionKeyPair(seed("a")), EncryptionKeyPair(seed("b"))
    envelope = seal(
        b"hi",
        case_id="c",
        direction=Direction.NOTE,
        recipients=[a.public, b.public],
        signer=SigningKeyPair(seed("s")),
    )
    blob = envelope.to_bytes()
    assert blob[:5] == b"WRIB\x01"
    (core_size,) = struct.unpack(">I", blob[5:9])
    assert blob[9 : 9 + core_size] == envelope.core
    at = 9 + core_size
    assert struct.unpack(">H", blob[at : at + 2]) == (2,)
    at += 2
    kids = []
    for _ in range(2):
        kid = blob[at : at + 16]
        (size,) = struct.unpack(">H", blob[at + 16 : at + 18])
        assert blob[at + 18 : at + 18 + size] == envelope.wraps[kid]
        kids.append(kid)
        at += 18 + size
    assert at == len(blob)
    assert kids == sorted(kids)


def test_certificate_follows_the_page() -> None:
    org = SigningKeyPair(seed("org"))
    enc = EncryptionKeyPair(seed("h"))
    sig = SigningKeyPair(seed("hs"))
    cert = certify(
        org,
        role="bot",
        name="relay",
        encryption_key=enc.public,
        signing_key=sig.public,
        issued=7,
        key_version=3,
    )
    m = len("relay")
    expected = (
        b"WRIC\x01\x00\x01"
        + sig_key_id(org.public.raw)
        + b"\x01"
        + bytes([m])
        + b"relay"
        + struct.pack(">QI", 7, 3)
        + enc.public.raw
        + sig.public.raw
    )
    assert cert[:-64] == expected
    assert len(cert) == 1285 + m + 64
    ed25519.Ed25519PublicKey.from_public_bytes(org.public.raw).verify(cert[-64:], cert[:-64])


def test_key_file_opens_by_the_page() -> None:
    secret = seed("handler seed")
    params = Argon2Params.insecure_for_tests(iterations=2, lanes=2, memory_kib=64)
    blob = seal_secret(secret, "pässword".encode(), kind="relay", params=params)
    assert blob[:5] == b"WRIK\x01"
    k = blob[5]
    assert blob[6 : 6 + k] == b"relay"
    at = 6 + k
    assert blob[at] == 1
    t, p, m = struct.unpack(">III", blob[at + 1 : at + 13])
    assert (t, p, m) == (2, 2, 64)
    assert blob[at + 13] == 16
    salt = blob[at + 14 : at + 30]
    header = blob[: at + 30]
    (size,) = struct.unpack(">I", blob[at + 30 : at + 34])
    sealed = blob[at + 34 :]
    assert len(sealed) == size
    key = Argon2id(salt=salt, length=32, iterations=t, lanes=p, memory_cost=m).derive(
        "pässword".encode()
    )
    assert ChaCha20Poly1305(key).decrypt(bytes(12), sealed, header) == secret


def test_application_signatures_follow_the_page() -> None:
    key = SigningKeyPair(seed("s"))
    ed25519.Ed25519PublicKey.from_public_bytes(key.public.raw).verify(
        key.sign(b"hello"), b"WRIS" + b"hello"
    )
