"""Certificates: the organisation key vouches for the relay's and handlers' keys."""

from __future__ import annotations

import re

import pytest

from crypto import (
    Certificate,
    EncryptionKeyPair,
    InvalidEnvelope,
    Role,
    SigningKeyPair,
    certify,
    fingerprint,
    fingerprint_matches,
    verify_certificate,
)

from .support import ALICE, HANDLER_SIGNER, seed

ORG = SigningKeyPair(seed("organisation"))
NAME = "Ольга"
NAME_AT = 4 + 1 + 2 + 16 + 1 + 1  # magic, version, suite, org key id, role, name length
NAME_SIZE = len(NAME.encode())
ISSUED_AT = NAME_AT + NAME_SIZE
KEYS_AT = ISSUED_AT + 8 + 4


def make(**overrides: object) -> bytes:
    args: dict[str, object] = {
        "role": "handler",
        "name": NAME,
        "encryption_key": ALICE.public,
        "signing_key": HANDLER_SIGNER.public,
        "issued": 1_767_225_600,
        "key_version": 2,
    }
    args.update(overrides)
    return certify(ORG, **args)  # type: ignore[arg-type]


def flip(data: bytes, index: int) -> bytes:
    out = bytearray(data)
    out[index] ^= 1
    return bytes(out)


def resign(cert: bytes) -> bytes:
    return cert[:-64] + ORG._sign_raw(cert[:-64])


def test_round_trip() -> None:
    cert = verify_certificate(make(), ORG.public)
    assert cert == Certificate(
        role=Role.HANDLER,
        name=NAME,
        encryption_key=ALICE.public,
        signing_key=HANDLER_SIGNER.public,
        issued=1_767_225_600,
        key_version=2,
    )
    assert cert.role == "handler"


def test_bot_role_and_default_key_version() -> None:
    cert = verify_certificate(make(role=Role.BOT, name="relay", key_version=1), ORG.public)
    assert (cert.role, cert.key_version) == (Role.BOT, 1)


def test_layout() -> None:
    cert = make()
    assert cert[:7] == b"WRIC\x01\x00\x01"
    assert cert[7:23] == ORG.public.key_id
    assert cert[23] == 2
    assert cert[NAME_AT:ISSUED_AT].decode() == NAME
    assert cert[KEYS_AT : KEYS_AT + 1216] == ALICE.public.raw
    assert len(cert) == KEYS_AT + 1216 + 32 + 64


def test_certificates_are_deterministic() -> None:
    assert make() == make()


@pytest.mark.parametrize(
    "where",
    [0, 4, 5, 7, 23, 24, NAME_AT, ISSUED_AT, ISSUED_AT + 8, KEYS_AT, KEYS_AT + 1216, -64, -1],
    ids=[
        "magic",
        "version",
        "suite",
        "org-key-id",
        "role",
        "name-length",
        "name",
        "issued",
        "key-version",
        "encryption-key",
        "signing-key",
        "signature-start",
        "signature-end",
    ],
)
def test_tampered_certificate(where: int) -> None:
    with pytest.raises(InvalidEnvelope):
        verify_certificate(flip(make(), where), ORG.public)


def test_wrong_org_key() -> None:
    with pytest.raises(InvalidEnvelope):
        verify_certificate(make(), SigningKeyPair.generate().public)


def test_signed_by_another_key_claiming_the_org_key_id() -> None:
    impostor = SigningKeyPair.generate()
    cert = make()
    forged = cert[:-64] + impostor._sign_raw(cert[:-64])
    with pytest.raises(InvalidEnvelope):
        verify_certificate(forged, ORG.public)


@pytest.mark.parametrize("cut", [0, 6, 23, 100, -65, -1])
def test_truncated_certificate(cut: int) -> None:
    with pytest.raises(InvalidEnvelope):
        verify_certificate(make()[:cut], ORG.public)


def test_trailing_bytes() -> None:
    with pytest.raises(InvalidEnvelope):
        verify_certificate(make() + b"\x00", ORG.public)


def test_envelope_signature_is_not_a_certificate_signature() -> None:
    """The org key's application signatures (sign()) never verify as a certificate."""
    cert = make()
    with pytest.raises(InvalidEnvelope):
        verify_certificate(cert[:-64] + ORG.sign(cert[:-64]), ORG.public)


# A (buggy or hostile) org key signing a malformed certificate is still refused.


def test_signed_certificate_with_unknown_role() -> None:
    cert = make()
    with pytest.raises(InvalidEnvelope):
        verify_certificate(resign(cert[:23] + b"\x09" + cert[24:]), ORG.public)


def test_signed_certificate_with_invalid_utf8_name() -> None:
    cert = make()
    with pytest.raises(InvalidEnvelope):
        verify_certificate(resign(cert[:NAME_AT] + b"\xff" + cert[NAME_AT + 1 :]), ORG.public)


def test_signed_certificate_with_control_characters_in_the_name() -> None:
    cert = make(name="ab")
    name_at = NAME_AT
    with pytest.raises(InvalidEnvelope):
        verify_certificate(resign(cert[:name_at] + b"\x1b[" + cert[name_at + 2 :]), ORG.public)


def test_signed_certificate_with_an_invalid_encryption_key() -> None:
    cert = make()
    forged = cert[:KEYS_AT] + b"\xff" * 1216 + cert[KEYS_AT + 1216 :]
    with pytest.raises(InvalidEnvelope):
        verify_certificate(resign(forged), ORG.public)


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"name": ""}, ValueError),
        ({"name": "x" * 65}, ValueError),
        ({"name": "ш" * 33}, ValueError),
        ({"name": "tab\there"}, ValueError),
        ({"name": "evil\u202egnp.exe"}, ValueError),
        ({"name": b"bytes"}, TypeError),
        ({"role": "admin"}, ValueError),
        ({"issued": -1}, ValueError),
        ({"issued": 1.0}, TypeError),
        ({"key_version": 2**32}, ValueError),
        ({"key_version": True}, TypeError),
        ({"encryption_key": ALICE}, TypeError),
        ({"signing_key": ALICE.public}, TypeError),
    ],
    ids=lambda value: repr(value)[:30],
)
def test_certify_misuse(overrides: dict[str, object], error: type[Exception]) -> None:
    with pytest.raises(error):
        make(**overrides)


def test_org_must_be_a_key_pair() -> None:
    with pytest.raises(TypeError):
        certify(
            ORG.public,  # type: ignore[arg-type]
            role="bot",
            name="relay",
            encryption_key=ALICE.public,
            signing_key=HANDLER_SIGNER.public,
            issued=0,
        )
    with pytest.raises(TypeError):
        verify_certificate(make(), ORG)  # type: ignore[arg-type]


def test_fingerprint_is_eight_groups_of_the_key_id() -> None:
    text = fingerprint(ORG.public)
    assert re.fullmatch(r"([0-9A-F]{4} ){7}[0-9A-F]{4}", text)
    assert text.replace(" ", "").lower() == ORG.public.key_id.hex()
    assert fingerprint(SigningKeyPair.generate().public) != text


def test_fingerprint_matches_what_a_person_types() -> None:
    text = fingerprint(ORG.public)
    assert fingerprint_matches(ORG.public, text)
    assert fingerprint_matches(ORG.public, text.lower().replace(" ", ":"))
    assert fingerprint_matches(ORG.public, f"  {text.replace(' ', '-')}\t")
    assert not fingerprint_matches(ORG.public, text[:-1])
    assert not fingerprint_matches(SigningKeyPair.generate().public, text)


def test_fingerprint_takes_a_signing_key() -> None:
    with pytest.raises(TypeError):
        fingerprint(EncryptionKeyPair.generate().public)  # type: ignore[arg-type]
