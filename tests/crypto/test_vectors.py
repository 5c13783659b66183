"""Known answers for writein's own formats (tests/crypto/vectors/writein-v1.json).

Cores, the certificate and the key file must come out byte for byte from the
recorded inputs; the recorded wraps (random when made) must still open.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from crypto import (
    Argon2Params,
    Direction,
    EncryptionKeyPair,
    Envelope,
    SigningKeyPair,
    certify,
    open_envelope,
    open_secret,
    verify_certificate,
)
from crypto._envelope import _seal_from_parts
from crypto._keyfile import _seal_secret_from_parts
from crypto._suite import HPKE_SUITE

VECTORS = json.loads((Path(__file__).with_name("vectors") / "writein-v1.json").read_text())
SIGNER = SigningKeyPair(bytes.fromhex(VECTORS["signer"]["seed"]))
ORG = SigningKeyPair(bytes.fromhex(VECTORS["org"]["seed"]))
RECIPIENTS = [EncryptionKeyPair(bytes.fromhex(r["seed"])) for r in VECTORS["recipients"]]


def test_public_keys_and_key_ids() -> None:
    for pair, recorded in [(SIGNER, VECTORS["signer"]), (ORG, VECTORS["org"])]:
        assert pair.public.raw.hex() == recorded["public"]
        assert pair.public.key_id.hex() == recorded["key_id"]
    for enc_pair, recorded in zip(RECIPIENTS, VECTORS["recipients"], strict=True):
        assert enc_pair.public.raw.hex() == recorded["public"]
        assert enc_pair.public.key_id.hex() == recorded["key_id"]


@pytest.mark.parametrize(
    "vector", VECTORS["envelopes"], ids=lambda v: f"direction={v['direction']}"
)
def test_core_is_reproduced_byte_for_byte(vector: dict[str, Any]) -> None:
    envelope = _seal_from_parts(
        bytes.fromhex(vector["plaintext"]),
        case_id=vector["case_id"],
        direction=Direction(vector["direction"]),
        recipients=[key.public for key in RECIPIENTS],
        signer=SIGNER,
        message_id=bytes.fromhex(vector["message_id"]),
        created=vector["created"],
        data_key=bytes.fromhex(vector["data_key"]),
    )
    assert envelope.core.hex() == vector["core"]


@pytest.mark.parametrize(
    "vector", VECTORS["envelopes"], ids=lambda v: f"direction={v['direction']}"
)
def test_recorded_envelope_opens_for_every_recipient(vector: dict[str, Any]) -> None:
    envelope = Envelope.from_bytes(bytes.fromhex(vector["envelope"]))
    assert envelope.core.hex() == vector["core"]
    assert envelope.to_bytes().hex() == vector["envelope"]
    for recipient in RECIPIENTS:
        opened = open_envelope(
            envelope,
            recipient=recipient,
            trusted_signers=[SIGNER.public],
            expect_case_id=vector["case_id"],
            expect_direction=Direction(vector["direction"]),
        )
        assert opened.plaintext.hex() == vector["plaintext"]
        assert opened.header.message_id.hex() == vector["message_id"]
        assert opened.header.created == vector["created"]


@pytest.mark.parametrize(
    "vector", VECTORS["envelopes"], ids=lambda v: f"direction={v['direction']}"
)
def test_recorded_wraps_hold_the_recorded_data_key(vector: dict[str, Any]) -> None:
    import hashlib

    envelope = Envelope.from_bytes(bytes.fromhex(vector["envelope"]))
    header_size = 49 + len(vector["case_id"])
    header_hash = hashlib.sha256(envelope.core[:header_size]).digest()
    for recipient in RECIPIENTS:
        key_id = recipient.public.key_id
        info = b"writein/v1/wrap" + header_hash + key_id
        data_key = HPKE_SUITE.decrypt(envelope.wraps[key_id], recipient._hpke, info=info)
        assert data_key.hex() == vector["data_key"]


def test_certificate() -> None:
    recorded = VECTORS["certificate"]
    cert = certify(
        ORG,
        role=recorded["role"],
        name=recorded["name"],
        encryption_key=RECIPIENTS[0].public,
        signing_key=SIGNER.public,
        issued=recorded["issued"],
    )
    assert cert.hex() == recorded["cert"]
    assert verify_certificate(cert, ORG.public).name == recorded["name"]


def test_key_file() -> None:
    recorded = VECTORS["key_file"]
    blob = bytes.fromhex(recorded["blob"])
    passphrase = recorded["passphrase"].encode()
    secret = open_secret(blob, passphrase, kind=recorded["kind"])
    assert secret.hex() == recorded["secret"]
    salt = blob[5 + 1 + len(recorded["kind"]) + 1 + 12 + 1 :][:16]
    again = _seal_secret_from_parts(
        secret,
        passphrase,
        kind=recorded["kind"],
        params=Argon2Params.insecure_for_tests(iterations=1, lanes=1, memory_kib=64),
        salt=salt,
    )
    assert again == blob
