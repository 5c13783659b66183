"""Format v1 constants: magics, the suite, sizes and domain-separation labels.

A writein suite id names every algorithm an object depends on, the way a TLS
cipher suite does. Suite 0x0001 is:

- HPKE base mode (RFC 9180): KEM 0x647A MLKEM768-X25519 (X-Wing),
  KDF 0x0001 HKDF-SHA256, AEAD 0x0003 ChaCha20-Poly1305 — for wraps;
- ChaCha20-Poly1305 for bodies and key files, HMAC-SHA256 key commitment;
- Ed25519 signatures; key ids are SHA-256 truncated to 16 bytes.
"""

from __future__ import annotations

from typing import Final

from cryptography.hazmat.primitives import hpke

VERSION: Final = 1
SUITE_XWING_ED25519: Final = 0x0001

# Every signed or sealed byte string starts with one of these 4-byte magics,
# so a signature made for one kind of object can never verify as another.
MAGIC_CORE: Final = b"WRIE"  # envelope core (signed by the sender)
MAGIC_BUNDLE: Final = b"WRIB"  # core + wraps in one blob
MAGIC_CERT: Final = b"WRIC"  # certificate (signed by the organisation)
MAGIC_KEYFILE: Final = b"WRIK"  # passphrase-sealed secret
MAGIC_SIGNED: Final = b"WRIS"  # prefix of SigningKeyPair.sign() messages

LABEL_COMMIT: Final = b"writein/v1/commit"
LABEL_WRAP: Final = b"writein/v1/wrap"
LABEL_KEY_ID_ENCRYPTION: Final = b"writein/v1/key-id/encryption"
LABEL_KEY_ID_SIGNING: Final = b"writein/v1/key-id/signing"

SEED_SIZE: Final = 32
KEY_ID_SIZE: Final = 16
MLKEM768_PUBLIC_SIZE: Final = 1184
X25519_PUBLIC_SIZE: Final = 32
ENCRYPTION_PUBLIC_SIZE: Final = MLKEM768_PUBLIC_SIZE + X25519_PUBLIC_SIZE  # 1216
SIGNING_PUBLIC_SIZE: Final = 32
SIGNATURE_SIZE: Final = 64
DATA_KEY_SIZE: Final = 32
COMMITMENT_SIZE: Final = 32
MESSAGE_ID_SIZE: Final = 16
AEAD_TAG_SIZE: Final = 16
ZERO_NONCE: Final = bytes(12)  # only ever used with single-use keys

HPKE_SUITE: Final = hpke.Suite(
    hpke.KEM.MLKEM768_X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.CHACHA20_POLY1305
)
HPKE_ENC_SIZE: Final = 1120
WRAP_SIZE: Final = HPKE_ENC_SIZE + DATA_KEY_SIZE + AEAD_TAG_SIZE  # 1168
