"""Envelope v1: seal once, wrap the data key per recipient, sign the core.

An envelope has two parts (docs/protocol.md has the exact layout):

- the *core*: header ‖ key commitment ‖ padded body sealed with the data key
  ‖ the sender's Ed25519 signature over all of that;
- one *wrap* per recipient: the data key HPKE-sealed to the recipient's
  X-Wing key, bound to the header and the recipient's key id through
  HPKE's ``info``.

The signature covers the core but not the wraps, so a handler can re-wrap a
message for a colleague or a rotated key without the sender's private key;
docs/decisions/0001-envelope-signature-scope.md says why that is safe.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from ._encoding import DecodeError, Reader, u8, u16, u32
from ._errors import InvalidEnvelope
from ._header import Direction, Header, check_case_id, new_header, read_header
from ._keys import (
    EncryptionKeyPair,
    EncryptionPublicKey,
    SigningKeyPair,
    SigningPublicKey,
    as_bytes,
)
from ._padding import pad, unpad
from ._suite import (
    COMMITMENT_SIZE,
    DATA_KEY_SIZE,
    HPKE_SUITE,
    KEY_ID_SIZE,
    LABEL_COMMIT,
    LABEL_WRAP,
    MAGIC_BUNDLE,
    MESSAGE_ID_SIZE,
    SIGNATURE_SIZE,
    VERSION,
    ZERO_NONCE,
)

__all__ = ["Envelope", "Opened", "open_envelope", "rewrap", "seal", "unverified_header"]

_U16_MAX = 0xFFFF
_U32_MAX = 0xFFFF_FFFF


@dataclass(frozen=True, slots=True, repr=False)
class Envelope:
    """A sealed message: the signed ``core`` and its ``wraps`` (recipient key id → wrap).

    The store keeps the two parts apart (one core per message, one wrap row
    per recipient) and rebuilds an Envelope from them; ``to_bytes`` and
    ``from_bytes`` give the single-blob form used by the outbox.
    """

    core: bytes
    wraps: Mapping[bytes, bytes] = field(default_factory=dict)

    def __post_init__(self) -> None:
        core = as_bytes(self.core, "core")
        pairs = [(as_bytes(k, "key id"), as_bytes(v, "wrap")) for k, v in self.wraps.items()]
        object.__setattr__(self, "core", core)
        object.__setattr__(self, "wraps", MappingProxyType(dict(sorted(pairs))))

    def to_bytes(self) -> bytes:
        """The single blob: ``"WRIB" ‖ version u8 ‖ u32 core length ‖ core ‖ u16 count
        ‖ (key id ‖ u16 wrap length ‖ wrap)*`` with wraps in ascending key-id order."""
        if len(self.core) > _U32_MAX or len(self.wraps) > _U16_MAX:
            raise ValueError("envelope too large to serialise")
        parts = [MAGIC_BUNDLE, u8(VERSION), u32(len(self.core)), self.core, u16(len(self.wraps))]
        for key_id, wrap in self.wraps.items():
            if len(key_id) != KEY_ID_SIZE or len(wrap) > _U16_MAX:
                raise ValueError("malformed wrap entry")
            parts += [key_id, u16(len(wrap)), wrap]
        return b"".join(parts)

    @classmethod
    def from_bytes(cls, blob: bytes) -> Envelope:
        """Parse the single-blob form; anything malformed raises InvalidEnvelope."""
        try:
            core, wraps = _read_bundle(Reader(as_bytes(blob, "blob")))
        except DecodeError:
            raise InvalidEnvelope from None
        return cls(core, wraps)

    def __hash__(self) -> int:
        return hash((self.core, tuple(self.wraps.items())))

    def __repr__(self) -> str:
        return f"Envelope(core=<{len(self.core)} bytes>, wraps=<{len(self.wraps)}>)"


def _read_bundle(reader: Reader) -> tuple[bytes, dict[bytes, bytes]]:
    reader.expect(MAGIC_BUNDLE + u8(VERSION))
    core = reader.take(reader.u32())
    wraps: dict[bytes, bytes] = {}
    previous = b""
    for _ in range(reader.u16()):
        key_id = reader.take(KEY_ID_SIZE)
        if key_id <= previous:
            raise DecodeError("wraps not in strictly ascending key-id order")
        wraps[key_id] = reader.take(reader.u16())
        previous = key_id
    reader.end()
    return core, wraps


@dataclass(frozen=True, slots=True)
class Opened:
    """A verified, decrypted message. ``repr`` leaves the plaintext out."""

    header: Header
    plaintext: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class _Core:
    header: Header
    header_bytes: memoryview
    header_hash: bytes
    commitment: bytes
    body: memoryview
    signed: memoryview
    signature: bytes


def _parse_core(core: bytes) -> _Core:
    view = memoryview(core)
    reader = Reader(core)
    try:
        header = read_header(reader)
        header_end = reader.pos
        commitment = reader.take(COMMITMENT_SIZE)
        body_size = reader.u32()
        body_start = reader.pos
        reader.skip(body_size)
        signed_end = reader.pos
        signature = reader.take(SIGNATURE_SIZE)
        reader.end()
    except DecodeError:
        raise InvalidEnvelope from None
    return _Core(
        header=header,
        header_bytes=view[:header_end],
        header_hash=hashlib.sha256(view[:header_end]).digest(),
        commitment=commitment,
        body=view[body_start:signed_end],
        signed=view[:signed_end],
        signature=signature,
    )


def _commitment(data_key: bytes, header_hash: bytes) -> bytes:
    return hmac.new(data_key, LABEL_COMMIT + header_hash, hashlib.sha256).digest()


def _wrap_info(header_hash: bytes, key_id: bytes) -> bytes:
    return LABEL_WRAP + header_hash + key_id


def _recipient_list(recipients: Iterable[EncryptionPublicKey]) -> list[EncryptionPublicKey]:
    if isinstance(recipients, EncryptionPublicKey):
        raise TypeError("recipients must be a collection of EncryptionPublicKey")
    unique: dict[bytes, EncryptionPublicKey] = {}
    for key in recipients:
        if not isinstance(key, EncryptionPublicKey):
            raise TypeError(f"recipients must be EncryptionPublicKey, not {type(key).__name__}")
        unique[key.key_id] = key
    if not unique:
        raise ValueError("an envelope needs at least one recipient")
    return list(unique.values())


def _wrap_all(
    data_key: bytes, header_hash: bytes, recipients: list[EncryptionPublicKey]
) -> dict[bytes, bytes]:
    wraps = {}
    for key in recipients:
        try:
            wraps[key.key_id] = HPKE_SUITE.encrypt(
                data_key, key._hpke, info=_wrap_info(header_hash, key.key_id)
            )
        except ValueError:
            raise ValueError(f"recipient key {key.key_id.hex()} is not usable") from None
    return wraps


def _check_signer(signer: object) -> SigningKeyPair:
    if not isinstance(signer, SigningKeyPair):
        raise TypeError(f"signer must be a SigningKeyPair, not {type(signer).__name__}")
    return signer


def _check_recipient(recipient: object) -> EncryptionKeyPair:
    if not isinstance(recipient, EncryptionKeyPair):
        raise TypeError(f"recipient must be an EncryptionKeyPair, not {type(recipient).__name__}")
    return recipient


def _check_envelope(envelope: object) -> Envelope:
    if not isinstance(envelope, Envelope):
        raise TypeError(f"expected an Envelope, not {type(envelope).__name__}")
    return envelope


def _trusted_by_id(trusted_signers: Iterable[SigningPublicKey]) -> dict[bytes, SigningPublicKey]:
    if isinstance(trusted_signers, SigningPublicKey):
        raise TypeError("trusted_signers must be a collection of SigningPublicKey")
    trusted = {}
    for key in trusted_signers:
        if not isinstance(key, SigningPublicKey):
            raise TypeError(f"trusted_signers must hold SigningPublicKey, not {type(key).__name__}")
        trusted[key.key_id] = key
    return trusted


def seal(
    plaintext: bytes,
    *,
    case_id: str,
    direction: Direction,
    recipients: Iterable[EncryptionPublicKey],
    signer: SigningKeyPair,
    message_id: bytes | None = None,
    created: int | None = None,
) -> Envelope:
    """Seal ``plaintext`` for ``recipients`` and sign it as ``signer``.

    ``message_id`` (16 bytes) and ``created`` (Unix seconds) default to fresh
    random bytes and the current time; pass them to reproduce a header.
    Raises TypeError/ValueError on misuse (no recipients, a case id that is
    not 1–64 printable ASCII characters, a plaintext over 256 MiB).
    """
    return _seal_from_parts(
        plaintext,
        case_id=case_id,
        direction=direction,
        recipients=recipients,
        signer=signer,
        message_id=secrets.token_bytes(MESSAGE_ID_SIZE) if message_id is None else message_id,
        created=int(time.time()) if created is None else created,
        data_key=secrets.token_bytes(DATA_KEY_SIZE),
    )


def _seal_from_parts(
    plaintext: bytes,
    *,
    case_id: str,
    direction: Direction,
    recipients: Iterable[EncryptionPublicKey],
    signer: SigningKeyPair,
    message_id: bytes,
    created: int,
    data_key: bytes,
) -> Envelope:
    """:func:`seal` with every random input given: the core is then deterministic."""
    plaintext = as_bytes(plaintext, "plaintext")
    signer = _check_signer(signer)
    keys = _recipient_list(recipients)
    if len(data_key) != DATA_KEY_SIZE:
        raise ValueError(f"data_key must be {DATA_KEY_SIZE} bytes")
    header = new_header(
        message_id=as_bytes(message_id, "message_id"),
        case_id=case_id,
        direction=direction,
        created=created,
        signer_key_id=signer.public.key_id,
    )
    padded = pad(plaintext)
    header_bytes = header.to_bytes()
    header_hash = hashlib.sha256(header_bytes).digest()
    body = ChaCha20Poly1305(data_key).encrypt(ZERO_NONCE, padded, header_bytes)
    signed = b"".join((header_bytes, _commitment(data_key, header_hash), u32(len(body)), body))
    core = signed + signer._sign_raw(signed)
    return Envelope(core, _wrap_all(data_key, header_hash, keys))


def _verified_core(core: bytes, trusted_signers: Iterable[SigningPublicKey]) -> _Core:
    trusted = _trusted_by_id(trusted_signers)
    parsed = _parse_core(core)
    signer = trusted.get(parsed.header.signer_key_id)
    if signer is None or not signer._verify_raw(parsed.signature, parsed.signed):
        raise InvalidEnvelope
    return parsed


def _unwrap(envelope: Envelope, parsed: _Core, recipient: EncryptionKeyPair) -> bytes:
    key_id = recipient.public.key_id
    wrap = envelope.wraps.get(key_id)
    if wrap is None:
        raise InvalidEnvelope
    try:
        data_key = HPKE_SUITE.decrypt(
            wrap, recipient._hpke, info=_wrap_info(parsed.header_hash, key_id)
        )
    except (InvalidTag, ValueError):
        raise InvalidEnvelope from None
    if len(data_key) != DATA_KEY_SIZE or not hmac.compare_digest(
        _commitment(data_key, parsed.header_hash), parsed.commitment
    ):
        raise InvalidEnvelope
    return data_key


def open_envelope(
    envelope: Envelope,
    *,
    recipient: EncryptionKeyPair,
    trusted_signers: Iterable[SigningPublicKey],
    expect_case_id: str,
    expect_direction: Direction,
) -> Opened:
    """Verify and decrypt an envelope addressed to ``recipient``.

    In order: the signature (its signer must be one of ``trusted_signers`` —
    pass only the keys allowed to sign this direction: the relay's key for IN,
    handlers' keys for OUT and NOTE), then the case and direction, then the
    recipient's wrap, the key commitment, the body and its padding. Every
    failure raises the same :class:`InvalidEnvelope`.
    """
    envelope = _check_envelope(envelope)
    recipient = _check_recipient(recipient)
    expect_case_id = check_case_id(expect_case_id)
    direction = Direction(expect_direction)
    parsed = _verified_core(envelope.core, trusted_signers)
    header = parsed.header
    if header.case_id != expect_case_id or header.direction is not direction:
        raise InvalidEnvelope
    data_key = _unwrap(envelope, parsed, recipient)
    try:
        padded = ChaCha20Poly1305(data_key).decrypt(ZERO_NONCE, parsed.body, parsed.header_bytes)
        plaintext = unpad(padded)
    except (InvalidTag, DecodeError):
        raise InvalidEnvelope from None
    return Opened(header=header, plaintext=plaintext)


def rewrap(
    envelope: Envelope,
    *,
    recipient: EncryptionKeyPair,
    new_recipients: Iterable[EncryptionPublicKey],
    trusted_signers: Iterable[SigningPublicKey],
) -> Envelope:
    """Give ``new_recipients`` access to a message that ``recipient`` can open.

    Verifies the sender's signature and the recipient's wrap and commitment
    (not the body), then returns an Envelope with the same core, byte for
    byte, and only the new wraps; merge or replace the stored wraps as needed.
    """
    envelope = _check_envelope(envelope)
    recipient = _check_recipient(recipient)
    keys = _recipient_list(new_recipients)
    parsed = _verified_core(envelope.core, trusted_signers)
    data_key = _unwrap(envelope, parsed, recipient)
    return Envelope(envelope.core, _wrap_all(data_key, parsed.header_hash, keys))


def unverified_header(core: bytes) -> Header:
    """Parse a core's header without checking anything: for routing and display only.

    Raises InvalidEnvelope if the core is malformed.
    """
    return _parse_core(as_bytes(core, "core")).header
