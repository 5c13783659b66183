"""writein crypto: envelopes, keys, key files and certificates — bytes in, bytes out.

No I/O, configuration or logging happens here; store/keyfiles.py reads and
writes key files. The byte layouts are in docs/protocol.md.

Sealing and opening messages::

    envelope = seal(text, case_id="K7QX4F", direction=Direction.IN,
                    recipients=[h.public for h in handlers], signer=relay_signing_key)
    opened = open_envelope(envelope, recipient=my_key, trusted_signers=[relay_public],
                           expect_case_id="K7QX4F", expect_direction=Direction.IN)

Every decrypt or verify failure is the one opaque :class:`InvalidEnvelope`;
caller mistakes are ``TypeError``/``ValueError``.
"""

from ._atrest import AT_REST_KEY_SIZE, open_at_rest, seal_at_rest
from ._certs import Certificate, Role, certify, fingerprint, fingerprint_matches, verify_certificate
from ._chunks import CHUNK_SIZE, SealedAttachment, open_chunks, seal_chunks
from ._envelope import Envelope, Opened, open_envelope, rewrap, seal, unverified_header
from ._errors import CryptoError, InvalidEnvelope, InvalidKeyFile, WrongPassphrase
from ._header import Direction, Header
from ._keyfile import DEFAULT_ARGON2, Argon2Params, open_secret, seal_secret
from ._keys import EncryptionKeyPair, EncryptionPublicKey, SigningKeyPair, SigningPublicKey
from ._padding import MAX_PLAINTEXT_SIZE, padded_size
from ._phrase import phrase_hash
from ._suite import KEY_ID_SIZE, SUITE_XWING_ED25519
from .httpsig import InvalidRequestSignature, SignedRequest, sign_request, verify_request

__all__ = [
    "AT_REST_KEY_SIZE",
    "CHUNK_SIZE",
    "DEFAULT_ARGON2",
    "KEY_ID_SIZE",
    "MAX_PLAINTEXT_SIZE",
    "SUITE_XWING_ED25519",
    "Argon2Params",
    "Certificate",
    "CryptoError",
    "Direction",
    "EncryptionKeyPair",
    "EncryptionPublicKey",
    "Envelope",
    "Header",
    "InvalidEnvelope",
    "InvalidKeyFile",
    "InvalidRequestSignature",
    "Opened",
    "Role",
    "SealedAttachment",
    "SignedRequest",
    "SigningKeyPair",
    "SigningPublicKey",
    "WrongPassphrase",
    "certify",
    "fingerprint",
    "fingerprint_matches",
    "open_at_rest",
    "open_chunks",
    "open_envelope",
    "open_secret",
    "padded_size",
    "phrase_hash",
    "rewrap",
    "seal",
    "seal_at_rest",
    "seal_chunks",
    "seal_secret",
    "sign_request",
    "unverified_header",
    "verify_certificate",
    "verify_request",
]
