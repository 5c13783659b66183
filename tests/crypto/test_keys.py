"""Keys: X-Wing expansion against the HPKE-PQ vectors, key ids, signatures, reprs."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from crypto import (
    EncryptionKeyPair,
    EncryptionPublicKey,
    InvalidEnvelope,
    SigningKeyPair,
    SigningPublicKey,
)

VECTORS_FILE = Path(__file__).with_name("vectors") / "hpke-pq-xwing.json"
SHARED_VECTORS = (
    Path(__file__).resolve().parents[3] / "shared/testdata/hpke/hpke-pq-test-vectors.json"
)
XWING = [v for v in json.loads(VECTORS_FILE.read_text())["vectors"] if v["kem_id"] == 0x647A]
KDFS = {0x0001: hpke.KDF.HKDF_SHA256, 0x0011: hpke.KDF.SHAKE256}


def vector_id(vector: dict[str, Any]) -> str:
    return f"kem=0x647a-kdf=0x{vector['kdf_id']:04x}-aead=0x{vector['aead_id']:04x}"


def test_vector_copy_matches_the_shared_file() -> None:
    if not SHARED_VECTORS.exists():
        pytest.skip("../shared/testdata is not on this machine")
    shared = json.loads(SHARED_VECTORS.read_text())
    assert [v for v in shared if v["kem_id"] == 0x647A] == XWING
    assert len(XWING) == 2


@pytest.mark.parametrize("vector", XWING, ids=vector_id)
def test_seed_expands_to_the_vector_public_key(vector: dict[str, Any]) -> None:
    pair = EncryptionKeyPair.from_seed(bytes.fromhex(vector["skRm"]))
    assert pair.public.raw.hex() == vector["pkRm"]
    assert len(pair.public.raw) == 1216


@pytest.mark.parametrize("vector", XWING, ids=vector_id)
def test_decapsulating_the_vector_enc_gives_the_vector_key_schedule(
    vector: dict[str, Any],
) -> None:
    """The single-shot API uses sequence 0 and empty aad; the vectors' own
    encryptions use aad "Count-N". So seal the first plaintext under the
    vector's key and base nonce with empty aad, and let cryptography's HPKE
    derive both from enc, our expanded private key and info alone."""
    pair = EncryptionKeyPair.from_seed(bytes.fromhex(vector["skRm"]))
    first = vector["encryptions"][0]
    plaintext = bytes.fromhex(first["pt"])
    assert bytes.fromhex(first["nonce"]) == bytes.fromhex(vector["base_nonce"])
    sealed = ChaCha20Poly1305(bytes.fromhex(vector["key"])).encrypt(
        bytes.fromhex(vector["base_nonce"]), plaintext, b""
    )
    suite = hpke.Suite(
        hpke.KEM.MLKEM768_X25519, KDFS[vector["kdf_id"]], hpke.AEAD.CHACHA20_POLY1305
    )
    enc = bytes.fromhex(vector["enc"])
    assert len(enc) == 1120
    opened = suite.decrypt(enc + sealed, pair._hpke, info=bytes.fromhex(vector["info"]))
    assert opened == plaintext


def test_key_id_is_labelled_truncated_sha256() -> None:
    pair = EncryptionKeyPair.from_seed(bytes(32))
    signing = SigningKeyPair.from_seed(bytes(32))
    assert (
        pair.public.key_id
        == hashlib.sha256(b"writein/v1/key-id/encryption" + pair.public.raw).digest()[:16]
    )
    assert (
        signing.public.key_id
        == hashlib.sha256(b"writein/v1/key-id/signing" + signing.public.raw).digest()[:16]
    )


def test_generated_keys_differ_and_round_trip_through_seed_and_raw() -> None:
    a, b = EncryptionKeyPair.generate(), EncryptionKeyPair.generate()
    assert a != b
    assert EncryptionKeyPair.from_seed(a.seed) == a
    assert hash(EncryptionKeyPair.from_seed(a.seed)) == hash(a)
    assert EncryptionPublicKey.from_raw(a.public.raw) == a.public
    s = SigningKeyPair.generate()
    assert SigningKeyPair.from_seed(s.seed) == s != SigningKeyPair.generate()
    assert hash(SigningKeyPair.from_seed(s.seed)) == hash(s)
    assert SigningPublicKey.from_raw(s.public.raw) == s.public
    assert len({a.public, EncryptionPublicKey.from_raw(a.public.raw)}) == 1
    assert a.__eq__(s) is NotImplemented
    assert s.__eq__(a) is NotImplemented


def test_repr_never_shows_the_seed() -> None:
    for pair in (EncryptionKeyPair.generate(), SigningKeyPair.generate()):
        text = repr(pair) + str(pair) + repr(pair.public)
        assert pair.seed.hex() not in text
        assert pair.public.key_id.hex() in text
        assert "seed" not in text


def test_keys_are_frozen() -> None:
    pair = EncryptionKeyPair.generate()
    with pytest.raises(dataclasses.FrozenInstanceError):
        pair.seed = bytes(32)  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        pair.public.raw = bytes(1216)  # type: ignore[misc]


def test_bytearray_and_memoryview_are_accepted_as_bytes() -> None:
    seed = bytes(range(32))
    assert EncryptionKeyPair(bytearray(seed)).seed == seed  # type: ignore[arg-type]
    assert SigningKeyPair(memoryview(seed)).seed == seed  # type: ignore[arg-type]


@pytest.mark.parametrize("size", [0, 31, 33, 64])
def test_seed_of_the_wrong_size_is_refused(size: int) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        EncryptionKeyPair.from_seed(bytes(size))
    with pytest.raises(ValueError, match="32 bytes"):
        SigningKeyPair.from_seed(bytes(size))


def test_seed_that_is_not_bytes_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        EncryptionKeyPair.from_seed("00" * 32)  # type: ignore[arg-type]


def test_public_keys_of_the_wrong_size_are_refused() -> None:
    with pytest.raises(ValueError, match="1216"):
        EncryptionPublicKey.from_raw(bytes(1215))
    with pytest.raises(ValueError, match="32"):
        SigningPublicKey.from_raw(bytes(31))


def test_an_invalid_mlkem_public_key_is_refused() -> None:
    with pytest.raises(ValueError, match="X-Wing"):
        EncryptionPublicKey.from_raw(b"\xff" * 1216)


def test_sign_and_verify() -> None:
    key = SigningKeyPair.generate()
    signature = key.sign(b"rotate at noon")
    key.public.verify(signature, b"rotate at noon")
    with pytest.raises(InvalidEnvelope):
        key.public.verify(signature, b"rotate at one")
    with pytest.raises(InvalidEnvelope):
        SigningKeyPair.generate().public.verify(signature, b"rotate at noon")
    with pytest.raises(InvalidEnvelope):
        key.public.verify(signature[:-1], b"rotate at noon")


def test_application_signatures_are_domain_separated() -> None:
    """sign() signs "WRIS" ‖ message, so a raw Ed25519 check over the message fails."""
    key = SigningKeyPair.generate()
    signature = key.sign(b"WRIE...")
    assert not key.public._verify_raw(signature, b"WRIE...")
    assert key.public._verify_raw(signature, b"WRISWRIE...")


@pytest.mark.parametrize("vector", XWING, ids=vector_id)
def test_the_vector_first_ciphertext_opens(vector: dict[str, Any]) -> None:
    """The vectors' own first ciphertext (sequence 0, aad "Count-0"), through
    cryptography's private aad-taking entry point when this version has it."""
    from cryptography.hazmat.bindings._rust import openssl as rust_openssl

    decrypt_with_aad = getattr(rust_openssl.hpke, "_decrypt_with_aad", None)
    if decrypt_with_aad is None:
        pytest.skip("this cryptography has no _decrypt_with_aad")
    pair = EncryptionKeyPair.from_seed(bytes.fromhex(vector["skRm"]))
    first = vector["encryptions"][0]
    suite = hpke.Suite(
        hpke.KEM.MLKEM768_X25519, KDFS[vector["kdf_id"]], hpke.AEAD.CHACHA20_POLY1305
    )
    opened = decrypt_with_aad(
        suite,
        bytes.fromhex(vector["enc"]) + bytes.fromhex(first["ct"]),
        pair._hpke,
        info=bytes.fromhex(vector["info"]),
        aad=bytes.fromhex(first["aad"]),
    )
    assert opened.hex() == first["pt"]
