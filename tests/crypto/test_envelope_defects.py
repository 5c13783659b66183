"""One test per defect; every one must end in the same opaque InvalidEnvelope."""

from __future__ import annotations

import hashlib
import struct

import pytest
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from crypto import (
    Direction,
    Envelope,
    InvalidEnvelope,
    SigningKeyPair,
    open_envelope,
    rewrap,
)
from crypto._envelope import _seal_from_parts
from crypto._suite import HPKE_SUITE

from .support import ALICE, BOB, CAROL, CASE, HANDLER_SIGNER, RELAY, open_in, seal_in

HEADER_SIZE = 49 + len(CASE)
COMMIT = slice(HEADER_SIZE, HEADER_SIZE + 32)
BODY_LENGTH = HEADER_SIZE + 32
BODY_START = BODY_LENGTH + 4
DATA_KEY = bytes(range(32))

# Offsets of the header fields (docs/protocol.md, "Header").
HEADER_FIELDS = {
    "magic": 0,
    "version": 4,
    "suite": 6,
    "message-id": 7,
    "case-id-length": 23,
    "case-id": 24,
    "direction": 24 + len(CASE),
    "created": 25 + len(CASE) + 7,
    "signer-key-id": 33 + len(CASE),
}


def flip(data: bytes, index: int, bit: int = 0) -> bytes:
    out = bytearray(data)
    out[index] ^= 1 << bit
    return bytes(out)


def with_core(envelope: Envelope, core: bytes) -> Envelope:
    return Envelope(core, envelope.wraps)


def resign(core: bytes, signer: SigningKeyPair = RELAY) -> bytes:
    """Replace the signature: what a trusted but malicious (or buggy) sender could do."""
    signed = core[:-64]
    return signed + signer._sign_raw(signed)


def known_key_envelope(plaintext: bytes = b"hello") -> Envelope:
    return _seal_from_parts(
        plaintext,
        case_id=CASE,
        direction=Direction.IN,
        recipients=[ALICE.public],
        signer=RELAY,
        message_id=bytes(16),
        created=1_767_225_600,
        data_key=DATA_KEY,
    )


def reseal_body(envelope: Envelope, padded: bytes) -> Envelope:
    """A correctly signed and committed core whose body is ``padded`` as sent."""
    core = envelope.core
    header = core[:HEADER_SIZE]
    body = ChaCha20Poly1305(DATA_KEY).encrypt(bytes(12), padded, header)
    signed = core[:BODY_LENGTH] + struct.pack(">I", len(body)) + body
    return with_core(envelope, resign(signed + bytes(64)))


def test_the_layout_offsets_used_below_are_right(envelope: Envelope) -> None:
    core = envelope.core
    assert core[:4] == b"WRIE"
    assert core[24 : 24 + len(CASE)] == CASE.encode()
    assert core[HEADER_SIZE - 16 : HEADER_SIZE] == RELAY.public.key_id
    assert struct.unpack(">I", core[BODY_LENGTH:BODY_START])[0] == len(core) - BODY_START - 64


# --- truncation --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cut",
    [0, 1, 4, 7, 23, HEADER_SIZE - 1, HEADER_SIZE, BODY_LENGTH + 2, BODY_START + 10, -65, -64, -1],
)
def test_truncated_core(envelope: Envelope, cut: int) -> None:
    with pytest.raises(InvalidEnvelope):
        open_in(with_core(envelope, envelope.core[:cut]))


@pytest.mark.parametrize("cut", [0, 3, 5, 9, 100, -1169, -1168, -1, -600])
def test_truncated_blob(envelope: Envelope, cut: int) -> None:
    with pytest.raises(InvalidEnvelope):
        open_in(Envelope.from_bytes(envelope.to_bytes()[:cut]))


@pytest.mark.parametrize("cut", [0, 1, 1119, 1120, 1167])
def test_truncated_wrap(envelope: Envelope, cut: int) -> None:
    key_id = ALICE.public.key_id
    with pytest.raises(InvalidEnvelope):
        open_in(Envelope(envelope.core, {key_id: envelope.wraps[key_id][:cut]}))


def test_trailing_bytes_after_the_signature(envelope: Envelope) -> None:
    with pytest.raises(InvalidEnvelope):
        open_in(with_core(envelope, envelope.core + b"\x00"))


# --- flipped bits ------------------------------------------------------------------------


@pytest.mark.parametrize("field", HEADER_FIELDS.values(), ids=HEADER_FIELDS.keys())
def test_flipped_bit_in_header(envelope: Envelope, field: int) -> None:
    with pytest.raises(InvalidEnvelope):
        open_in(with_core(envelope, flip(envelope.core, field)))


def test_flipped_bit_in_commitment(envelope: Envelope) -> None:
    with pytest.raises(InvalidEnvelope):
        open_in(with_core(envelope, flip(envelope.core, COMMIT.start + 5)))


def test_flipped_bit_in_body_length(envelope: Envelope) -> None:
    with pytest.raises(InvalidEnvelope):
        open_in(with_core(envelope, flip(envelope.core, BODY_START - 1)))


@pytest.mark.parametrize("where", [BODY_START, BODY_START + 100, -65])
def test_flipped_bit_in_body(envelope: Envelope, where: int) -> None:
    with pytest.raises(InvalidEnvelope):
        open_in(with_core(envelope, flip(envelope.core, where)))


@pytest.mark.parametrize("where", [-64, -33, -1])
def test_flipped_bit_in_signature(envelope: Envelope, where: int) -> None:
    with pytest.raises(InvalidEnvelope):
        open_in(with_core(envelope, flip(envelope.core, where, bit=3)))


@pytest.mark.parametrize("where", [0, 1087, 1100, 1119, 1120, 1150, 1167], ids=str)
def test_flipped_bit_in_wrap(envelope: Envelope, where: int) -> None:
    """Bytes 0–1087 are the ML-KEM ciphertext, 1088–1119 the X25519 share, then the sealed key."""
    key_id = ALICE.public.key_id
    wraps = dict(envelope.wraps)
    wraps[key_id] = flip(wraps[key_id], where)
    with pytest.raises(InvalidEnvelope):
        open_in(Envelope(envelope.core, wraps))


# --- wrong reader, wrong place -----------------------------------------------------------


def test_wrong_recipient(envelope: Envelope) -> None:
    with pytest.raises(InvalidEnvelope):
        open_in(envelope, recipient=CAROL)


def test_wrap_relabelled_for_another_recipient(envelope: Envelope) -> None:
    stolen = {CAROL.public.key_id: envelope.wraps[ALICE.public.key_id]}
    with pytest.raises(InvalidEnvelope):
        open_in(Envelope(envelope.core, stolen), recipient=CAROL)


def test_wrap_swapped_between_recipients(envelope: Envelope) -> None:
    a, b = ALICE.public.key_id, BOB.public.key_id
    swapped = {a: envelope.wraps[b], b: envelope.wraps[a]}
    with pytest.raises(InvalidEnvelope):
        open_in(Envelope(envelope.core, swapped))


def test_envelope_moved_to_another_case(envelope: Envelope) -> None:
    with pytest.raises(InvalidEnvelope):
        open_in(envelope, expect_case_id="K7-QX4G")


@pytest.mark.parametrize("direction", [Direction.OUT, Direction.NOTE])
def test_envelope_moved_to_another_direction(envelope: Envelope, direction: Direction) -> None:
    with pytest.raises(InvalidEnvelope):
        open_in(envelope, expect_direction=direction)


def test_case_id_rewritten_in_the_header(envelope: Envelope) -> None:
    """A DB attacker edits the case id so the row fits another case: the signature breaks."""
    core = envelope.core.replace(CASE.encode(), b"K7-QX4G", 1)
    with pytest.raises(InvalidEnvelope):
        open_in(with_core(envelope, core), expect_case_id="K7-QX4G")


# --- signers -----------------------------------------------------------------------------


def test_untrusted_signer(envelope: Envelope) -> None:
    with pytest.raises(InvalidEnvelope):
        open_in(envelope, trusted_signers=[HANDLER_SIGNER.public])


def test_no_trusted_signers(envelope: Envelope) -> None:
    with pytest.raises(InvalidEnvelope):
        open_in(envelope, trusted_signers=[])


def test_envelope_forged_by_someone_with_database_access() -> None:
    """Public keys are in the store; the forger signs with a key of their own."""
    forged = seal_in(signer=SigningKeyPair.generate())
    with pytest.raises(InvalidEnvelope):
        open_in(forged)


def test_signer_key_id_pointed_at_a_trusted_key() -> None:
    forger = SigningKeyPair.generate()
    forged = seal_in(signer=forger).core
    start = HEADER_SIZE - 16
    core = forged[:start] + RELAY.public.key_id + forged[HEADER_SIZE:]
    with pytest.raises(InvalidEnvelope):
        open_in(Envelope(resign(core, forger), {}))


def test_signature_from_another_message(envelope: Envelope) -> None:
    other = seal_in(b"another message")
    with pytest.raises(InvalidEnvelope):
        open_in(with_core(envelope, envelope.core[:-64] + other.core[-64:]))


def test_application_signature_does_not_sign_an_envelope(envelope: Envelope) -> None:
    """RELAY.sign() over a core's bytes must not yield a valid envelope signature."""
    signed = envelope.core[:-64]
    with pytest.raises(InvalidEnvelope):
        open_in(with_core(envelope, signed + RELAY.sign(signed)))


# --- downgrades --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("offset", "value"),
    [(4, b"\x00"), (4, b"\x02"), (5, b"\x00\x00"), (5, b"\x00\x02"), (5, b"\xff\xff")],
    ids=["version-0", "version-2", "suite-0", "suite-2", "suite-ffff"],
)
def test_downgrade_of_version_or_suite(envelope: Envelope, offset: int, value: bytes) -> None:
    core = envelope.core[:offset] + value + envelope.core[offset + len(value) :]
    with pytest.raises(InvalidEnvelope):
        open_in(with_core(envelope, core))
    with pytest.raises(InvalidEnvelope):  # even when a trusted key signs it
        open_in(with_core(envelope, resign(core)))


# --- wraps from elsewhere ----------------------------------------------------------------


def test_wrap_replayed_from_another_message(envelope: Envelope) -> None:
    other = seal_in(b"another message")
    key_id = ALICE.public.key_id
    with pytest.raises(InvalidEnvelope):
        open_in(Envelope(envelope.core, {key_id: other.wraps[key_id]}))


def test_wrap_replayed_from_a_message_with_the_same_data_key() -> None:
    """Even with equal data keys, the wrap is bound to its header through info."""
    first = known_key_envelope(b"one")
    second = _seal_from_parts(
        b"one",
        case_id=CASE,
        direction=Direction.IN,
        recipients=[ALICE.public],
        signer=RELAY,
        message_id=bytes([1] * 16),
        created=1_767_225_600,
        data_key=DATA_KEY,
    )
    assert open_in(first).plaintext == open_in(second).plaintext
    with pytest.raises(InvalidEnvelope):
        open_in(Envelope(first.core, second.wraps))


def test_wrap_of_a_different_data_key_forged_from_public_keys(envelope: Envelope) -> None:
    """Everything in info is public, so anyone can wrap a key of their choosing for Alice;
    the signed key commitment is what rejects it."""
    header = envelope.core[:HEADER_SIZE]
    info = b"writein/v1/wrap" + hashlib.sha256(header).digest() + ALICE.public.key_id
    forged = HPKE_SUITE.encrypt(bytes(32), ALICE.public._hpke, info=info)
    assert HPKE_SUITE.decrypt(forged, ALICE._hpke, info=info) == bytes(32)
    with pytest.raises(InvalidEnvelope):
        open_in(Envelope(envelope.core, {ALICE.public.key_id: forged}))
    with pytest.raises(InvalidEnvelope):
        rewrap(
            Envelope(envelope.core, {ALICE.public.key_id: forged}),
            recipient=ALICE,
            new_recipients=[CAROL.public],
            trusted_signers=[RELAY.public],
        )


def test_wrap_of_a_key_of_the_wrong_length(envelope: Envelope) -> None:
    header = envelope.core[:HEADER_SIZE]
    info = b"writein/v1/wrap" + hashlib.sha256(header).digest() + ALICE.public.key_id
    forged = HPKE_SUITE.encrypt(bytes(16), ALICE.public._hpke, info=info)
    with pytest.raises(InvalidEnvelope):
        open_in(Envelope(envelope.core, {ALICE.public.key_id: forged}))


# --- a trusted sender who breaks the format ----------------------------------------------


def test_signed_core_with_a_wrong_commitment() -> None:
    envelope = known_key_envelope()
    core = resign(flip(envelope.core, COMMIT.start))
    with pytest.raises(InvalidEnvelope):
        open_in(with_core(envelope, core))


def test_signed_body_with_a_length_beyond_the_padding() -> None:
    envelope = known_key_envelope()
    with pytest.raises(InvalidEnvelope):
        open_in(reseal_body(envelope, struct.pack(">I", 300) + bytes(252)))


def test_signed_body_with_non_canonical_padding() -> None:
    envelope = known_key_envelope()
    with pytest.raises(InvalidEnvelope):
        open_in(reseal_body(envelope, struct.pack(">I", 5) + b"hello" + bytes(503)))


def test_signed_body_with_non_zero_padding() -> None:
    envelope = known_key_envelope()
    with pytest.raises(InvalidEnvelope):
        open_in(reseal_body(envelope, struct.pack(">I", 5) + b"hello" + b"\x01" + bytes(246)))


def test_signed_body_shorter_than_a_bucket() -> None:
    envelope = known_key_envelope()
    with pytest.raises(InvalidEnvelope):
        open_in(reseal_body(envelope, struct.pack(">I", 5) + b"hello"))


def test_the_reseal_helper_itself_produces_an_openable_envelope() -> None:
    envelope = known_key_envelope()
    good = reseal_body(envelope, struct.pack(">I", 5) + b"hello" + bytes(247))
    assert open_in(good).plaintext == b"hello"


# --- the blob form -----------------------------------------------------------------------


def test_blob_with_wrong_magic(envelope: Envelope) -> None:
    with pytest.raises(InvalidEnvelope):
        Envelope.from_bytes(b"WRIX" + envelope.to_bytes()[4:])


def test_blob_with_another_version(envelope: Envelope) -> None:
    with pytest.raises(InvalidEnvelope):
        Envelope.from_bytes(flip(envelope.to_bytes(), 4, bit=1))


def test_blob_with_trailing_bytes(envelope: Envelope) -> None:
    with pytest.raises(InvalidEnvelope):
        Envelope.from_bytes(envelope.to_bytes() + b"\x00")


def test_blob_with_wraps_out_of_order(envelope: Envelope) -> None:
    blob = envelope.to_bytes()
    wraps_at = 9 + len(envelope.core) + 2
    entry = 16 + 2 + 1168
    first, second = blob[wraps_at : wraps_at + entry], blob[wraps_at + entry :]
    with pytest.raises(InvalidEnvelope):
        Envelope.from_bytes(blob[:wraps_at] + second + first)


def test_blob_with_a_duplicate_wrap(envelope: Envelope) -> None:
    blob = envelope.to_bytes()
    wraps_at = 9 + len(envelope.core) + 2
    entry = blob[wraps_at : wraps_at + 16 + 2 + 1168]
    count_at = wraps_at - 2
    doubled = blob[:count_at] + b"\x00\x02" + entry + entry
    with pytest.raises(InvalidEnvelope):
        Envelope.from_bytes(doubled)


def test_opaque_error_says_nothing(envelope: Envelope) -> None:
    errors = []
    for attempt in (
        lambda: open_in(envelope, recipient=CAROL),
        lambda: open_in(envelope, trusted_signers=[]),
        lambda: open_in(with_core(envelope, flip(envelope.core, -1))),
        lambda: open_in(envelope, expect_case_id="other"),
        lambda: Envelope.from_bytes(b""),
    ):
        with pytest.raises(InvalidEnvelope) as info:
            attempt()
        error = info.value
        shown_context = None if error.__suppress_context__ else error.__context__
        errors.append((type(error), str(error), error.__cause__, shown_context))
    assert set(errors) == {(InvalidEnvelope, "invalid envelope", None, None)}


def test_open_envelope_with_another_recipients_trusted_set_is_fine(envelope: Envelope) -> None:
    """Control: the defects above fail for their defect, not for the helpers."""
    opened = open_envelope(
        envelope,
        recipient=BOB,
        trusted_signers=[RELAY.public, HANDLER_SIGNER.public],
        expect_case_id=CASE,
        expect_direction=Direction.IN,
    )
    assert opened.plaintext == b"the documents are in the usual place"


@pytest.mark.parametrize("bad", [b" ", b"\x80", b"\x7f"], ids=["space", "non-ascii", "del"])
def test_signed_header_with_a_forbidden_case_id_byte(envelope: Envelope, bad: bytes) -> None:
    core = envelope.core[:24] + bad + envelope.core[25:]
    with pytest.raises(InvalidEnvelope):
        open_in(with_core(envelope, resign(core)))
