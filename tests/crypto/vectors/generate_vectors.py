"""Regenerate writein-v1.json, the known-answer vectors for writein's own formats.

    .venv/bin/python tests/crypto/vectors/generate_vectors.py

Cores, certificates and key files are deterministic given the inputs below;
wraps are not (HPKE draws fresh randomness), so every run writes new wraps —
all of them must open. Regenerate only when the format changes on purpose.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from crypto import Argon2Params, Direction, EncryptionKeyPair, SigningKeyPair, certify
from crypto._envelope import _seal_from_parts
from crypto._keyfile import _seal_secret_from_parts

OUT = Path(__file__).with_name("writein-v1.json")


def seed(label: str) -> bytes:
    return hashlib.sha256(label.encode()).digest()


def main() -> None:
    signer = SigningKeyPair(seed("writein test vector: relay signing key"))
    org = SigningKeyPair(seed("writein test vector: organisation key"))
    recipients = [EncryptionKeyPair(seed(f"writein test vector: handler {n}")) for n in (1, 2)]
    envelopes = []
    cases = [
        (b"", "K7-QX4F", Direction.IN, 1767225600),
        (
            "Привет! The documents are in the usual place.".encode(),
            "K7-QX4F",
            Direction.OUT,
            1767225601,
        ),
        (bytes(range(256)) * 2, "case-0042", Direction.NOTE, 1767225602),
    ]
    for n, (plaintext, case_id, direction, created) in enumerate(cases):
        message_id = seed(f"writein test vector: message id {n}")[:16]
        data_key = seed(f"writein test vector: data key {n}")
        envelope = _seal_from_parts(
            plaintext,
            case_id=case_id,
            direction=direction,
            recipients=[key.public for key in recipients],
            signer=signer,
            message_id=message_id,
            created=created,
            data_key=data_key,
        )
        envelopes.append(
            {
                "plaintext": plaintext.hex(),
                "case_id": case_id,
                "direction": int(direction),
                "created": created,
                "message_id": message_id.hex(),
                "data_key": data_key.hex(),
                "core": envelope.core.hex(),
                "envelope": envelope.to_bytes().hex(),
            }
        )
    cert = certify(
        org,
        role="handler",
        name="Handler One",
        encryption_key=recipients[0].public,
        signing_key=signer.public,
        issued=1767225600,
        key_version=1,
    )
    key_file = _seal_secret_from_parts(
        recipients[0].seed,
        b"correct horse battery staple",
        kind="handler",
        params=Argon2Params.insecure_for_tests(iterations=1, lanes=1, memory_kib=64),
        salt=seed("writein test vector: salt")[:16],
    )
    data = {
        "description": "Known answers for writein format v1 (docs/protocol.md). "
        "Cores, certificate and key file are deterministic; wraps are random but must open.",
        "signer": {
            "seed": signer.seed.hex(),
            "public": signer.public.raw.hex(),
            "key_id": signer.public.key_id.hex(),
        },
        "org": {
            "seed": org.seed.hex(),
            "public": org.public.raw.hex(),
            "key_id": org.public.key_id.hex(),
        },
        "recipients": [
            {"seed": k.seed.hex(), "public": k.public.raw.hex(), "key_id": k.public.key_id.hex()}
            for k in recipients
        ],
        "envelopes": envelopes,
        "certificate": {
            "issued": 1767225600,
            "name": "Handler One",
            "role": "handler",
            "cert": cert.hex(),
        },
        "key_file": {
            "passphrase": "correct horse battery staple",
            "kind": "handler",
            "secret": recipients[0].seed.hex(),
            "blob": key_file.hex(),
        },
    }
    OUT.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
