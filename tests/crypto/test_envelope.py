"""Envelopes: round trips, the blob form, rewrap, headers and caller misuse."""

from __future__ import annotations

import dataclasses
import os
import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto import (
    Direction,
    EncryptionKeyPair,
    Envelope,
    InvalidEnvelope,
    SigningKeyPair,
    open_envelope,
    padded_size,
    rewrap,
    seal,
    unverified_header,
)

from .support import ALICE, BOB, CAROL, CASE, HANDLER_SIGNER, RELAY, open_in, seal_in


@settings(max_examples=40, deadline=None)
@given(plaintext=st.binary(min_size=0, max_size=5000))
def test_round_trip_of_any_size(plaintext: bytes) -> None:
    envelope = seal_in(plaintext)
    assert open_in(envelope).plaintext == plaintext
    assert open_in(envelope, recipient=BOB).plaintext == plaintext


@settings(max_examples=15, deadline=None)
@given(
    plaintext=st.binary(max_size=300),
    case_id=st.text(
        alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=64
    ),
    direction=st.sampled_from(Direction),
    created=st.integers(min_value=0, max_value=2**64 - 1),
)
def test_round_trip_keeps_the_header(
    plaintext: bytes, case_id: str, direction: Direction, created: int
) -> None:
    envelope = seal(
        plaintext,
        case_id=case_id,
        direction=direction,
        recipients=[CAROL.public],
        signer=HANDLER_SIGNER,
        created=created,
    )
    opened = open_envelope(
        Envelope.from_bytes(envelope.to_bytes()),
        recipient=CAROL,
        trusted_signers=[HANDLER_SIGNER.public],
        expect_case_id=case_id,
        expect_direction=direction,
    )
    assert opened.plaintext == plaintext
    assert (opened.header.case_id, opened.header.direction) == (case_id, direction)
    assert opened.header.created == created
    assert opened.header.signer_key_id == HANDLER_SIGNER.public.key_id
    assert unverified_header(envelope.core) == opened.header


def test_twenty_megabyte_round_trip() -> None:
    plaintext = os.urandom(20 * 1000 * 1000)  # (its speed: bench/bench_crypto.py)
    envelope = seal_in(plaintext)
    assert len(envelope.core) > padded_size(len(plaintext)) > len(plaintext)
    assert open_in(envelope, recipient=BOB).plaintext == plaintext


def test_empty_plaintext_round_trips() -> None:
    assert open_in(seal_in(b"")).plaintext == b""


def test_lengths_leak_only_the_bucket() -> None:
    short, longer = seal_in(b"yes"), seal_in(b"y" * 200)
    assert len(short.core) == len(longer.core)
    assert len(seal_in(b"y" * 300).core) == len(short.core) + 256


def test_header_fields_from_seal() -> None:
    message_id = bytes(range(16))
    envelope = seal_in(message_id=message_id, created=1_767_225_600)
    header = open_in(envelope).header
    assert header.message_id == message_id
    assert header.created == 1_767_225_600
    assert (header.version, header.suite) == (1, 1)
    assert header.case_id == CASE
    assert header.direction is Direction.IN


def test_defaults_are_fresh_message_id_and_now() -> None:
    a, b = seal_in(), seal_in()
    ha, hb = unverified_header(a.core), unverified_header(b.core)
    assert ha.message_id != hb.message_id
    assert abs(ha.created - time.time()) < 60


def test_each_recipient_gets_one_wrap_keyed_by_key_id(envelope: Envelope) -> None:
    assert set(envelope.wraps) == {ALICE.public.key_id, BOB.public.key_id}
    assert all(len(wrap) == 1168 for wrap in envelope.wraps.values())


def test_duplicate_recipients_get_one_wrap() -> None:
    envelope = seal_in(recipients=[ALICE.public, ALICE.public, BOB.public])
    assert len(envelope.wraps) == 2


def test_wraps_are_read_only(envelope: Envelope) -> None:
    with pytest.raises(TypeError):
        envelope.wraps[CAROL.public.key_id] = b"x"  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        envelope.core = b""  # type: ignore[misc]


def test_blob_round_trip(envelope: Envelope) -> None:
    blob = envelope.to_bytes()
    assert blob[:4] == b"WRIB"
    again = Envelope.from_bytes(blob)
    assert again == envelope
    assert hash(again) == hash(envelope)
    assert again.to_bytes() == blob


def test_blob_from_parts_is_canonical(envelope: Envelope) -> None:
    reversed_parts = Envelope(envelope.core, dict(reversed(list(envelope.wraps.items()))))
    assert reversed_parts.to_bytes() == envelope.to_bytes()


def test_envelope_built_from_store_rows_opens(envelope: Envelope) -> None:
    """The store keeps the core and each wrap in separate rows."""
    rows = {bytes(k): bytearray(v) for k, v in envelope.wraps.items()}
    rebuilt = Envelope(core=memoryview(envelope.core), wraps=rows)  # type: ignore[arg-type]
    assert open_in(rebuilt).plaintext == open_in(envelope).plaintext
    only_mine = Envelope(envelope.core, {ALICE.public.key_id: envelope.wraps[ALICE.public.key_id]})
    assert open_in(only_mine).plaintext == b"the documents are in the usual place"


def test_repr_shows_no_plaintext_or_key_material(envelope: Envelope) -> None:
    opened = open_in(seal_in(b"SECRET-PLAINTEXT"))
    assert "SECRET-PLAINTEXT" not in repr(opened)
    assert "wraps=<2>" in repr(envelope)
    assert envelope.core.hex()[:40] not in repr(envelope)


def test_rewrap_keeps_the_core_and_the_new_recipient_opens(envelope: Envelope) -> None:
    new = rewrap(
        envelope, recipient=ALICE, new_recipients=[CAROL.public], trusted_signers=[RELAY.public]
    )
    assert new.core == envelope.core
    assert set(new.wraps) == {CAROL.public.key_id}
    assert open_in(new, recipient=CAROL).plaintext == open_in(envelope).plaintext


def test_rewrap_for_key_rotation_drops_the_old_wrap_set(envelope: Envelope) -> None:
    rotated = EncryptionKeyPair.generate()
    new = rewrap(
        envelope,
        recipient=ALICE,
        new_recipients=[rotated.public, BOB.public],
        trusted_signers=[RELAY.public],
    )
    assert new.core == envelope.core
    assert open_in(new, recipient=rotated).plaintext == open_in(envelope).plaintext
    assert open_in(new, recipient=BOB).plaintext == open_in(envelope).plaintext
    with pytest.raises(InvalidEnvelope):
        open_in(new, recipient=ALICE)
    merged = Envelope(envelope.core, {**envelope.wraps, **new.wraps})
    assert (
        open_in(merged, recipient=ALICE).plaintext == open_in(merged, recipient=rotated).plaintext
    )


def test_rewrap_keeps_the_original_signer(envelope: Envelope) -> None:
    new = rewrap(
        envelope, recipient=BOB, new_recipients=[CAROL.public], trusted_signers=[RELAY.public]
    )
    assert open_in(new, recipient=CAROL).header.signer_key_id == RELAY.public.key_id
    with pytest.raises(InvalidEnvelope):
        open_in(new, recipient=CAROL, trusted_signers=[HANDLER_SIGNER.public])


def test_rewrap_refuses_an_untrusted_signer(envelope: Envelope) -> None:
    with pytest.raises(InvalidEnvelope):
        rewrap(envelope, recipient=ALICE, new_recipients=[CAROL.public], trusted_signers=[])


def test_rewrap_refuses_a_recipient_without_a_wrap(envelope: Envelope) -> None:
    with pytest.raises(InvalidEnvelope):
        rewrap(
            envelope, recipient=CAROL, new_recipients=[CAROL.public], trusted_signers=[RELAY.public]
        )


def test_unverified_header_needs_a_whole_core(envelope: Envelope) -> None:
    assert unverified_header(envelope.core).case_id == CASE
    with pytest.raises(InvalidEnvelope):
        unverified_header(envelope.core[:-1])


def test_trusted_signers_may_hold_several_keys(envelope: Envelope) -> None:
    trusted = [SigningKeyPair.generate().public, RELAY.public, HANDLER_SIGNER.public]
    assert open_in(envelope, trusted_signers=iter(trusted)).header.case_id == CASE


# Caller misuse: TypeError / ValueError, never InvalidEnvelope.


def test_no_recipients_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="at least one recipient"):
        seal_in(recipients=[])


@pytest.mark.parametrize(
    "case_id", ["", "x" * 65, "has space", "кейс", "tab\t", "nul\x00"], ids=repr
)
def test_bad_case_id_is_a_value_error(case_id: str) -> None:
    with pytest.raises(ValueError, match="case_id"):
        seal_in(case_id=case_id)


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"case_id": b"K7"}, TypeError),
        ({"recipients": ALICE.public}, TypeError),
        ({"recipients": [ALICE]}, TypeError),
        ({"signer": RELAY.public}, TypeError),
        ({"direction": 9}, ValueError),
        ({"message_id": b"short"}, ValueError),
        ({"created": -1}, ValueError),
        ({"created": 2**64}, ValueError),
        ({"created": 1.5}, TypeError),
        ({"created": True}, TypeError),
    ],
    ids=lambda value: repr(value)[:40],
)
def test_seal_misuse(overrides: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        seal_in(**overrides)


def test_plaintext_must_be_bytes() -> None:
    with pytest.raises(TypeError, match="plaintext"):
        seal_in("text")  # type: ignore[arg-type]


def test_plaintext_over_the_limit_is_a_value_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import crypto._padding

    monkeypatch.setattr(crypto._padding, "MAX_PLAINTEXT_SIZE", 10)
    with pytest.raises(ValueError, match="plaintext"):
        seal_in(b"x" * 11)


@pytest.mark.parametrize(
    "overrides",
    [
        {"trusted_signers": RELAY.public},
        {"trusted_signers": [RELAY]},
        {"recipient": ALICE.public},
    ],
    ids=["single-key", "keypair-as-trusted", "public-as-recipient"],
)
def test_open_misuse(envelope: Envelope, overrides: dict[str, object]) -> None:
    with pytest.raises(TypeError):
        open_in(envelope, **overrides)


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"expect_case_id": b"K7-QX4F"}, TypeError),
        ({"expect_case_id": ""}, ValueError),
        ({"expect_direction": 7}, ValueError),
    ],
    ids=["case-bytes", "case-empty", "direction-7"],
)
def test_open_expectations_misuse(
    envelope: Envelope, overrides: dict[str, object], error: type[Exception]
) -> None:
    with pytest.raises(error):
        open_in(envelope, **overrides)


def test_open_takes_an_envelope_not_bytes(envelope: Envelope) -> None:
    with pytest.raises(TypeError, match="Envelope"):
        open_in(envelope.to_bytes())  # type: ignore[arg-type]


def test_rewrap_needs_new_recipients(envelope: Envelope) -> None:
    with pytest.raises(ValueError, match="at least one recipient"):
        rewrap(envelope, recipient=ALICE, new_recipients=[], trusted_signers=[RELAY.public])


def test_blob_with_an_oversized_wrap_cannot_be_serialised(envelope: Envelope) -> None:
    with pytest.raises(ValueError, match="malformed"):
        Envelope(envelope.core, {b"short": b"x"}).to_bytes()
    with pytest.raises(ValueError, match="malformed"):
        Envelope(envelope.core, {bytes(16): bytes(70000)}).to_bytes()


def test_a_degenerate_recipient_key_is_a_value_error() -> None:
    """An all-zero X25519 share makes the X25519 shared secret zero; HPKE refuses it."""
    from crypto import EncryptionPublicKey

    degenerate = EncryptionPublicKey.from_raw(ALICE.public.raw[:1184] + bytes(32))
    with pytest.raises(ValueError, match="not usable"):
        seal_in(recipients=[degenerate])


def test_data_key_must_be_32_bytes() -> None:
    from crypto._envelope import _seal_from_parts

    with pytest.raises(ValueError, match="data_key"):
        _seal_from_parts(
            b"",
            case_id=CASE,
            direction=Direction.IN,
            recipients=[ALICE.public],
            signer=RELAY,
            message_id=bytes(16),
            created=0,
            data_key=bytes(16),
        )


def test_too_many_wraps_cannot_be_serialised(
    envelope: Envelope, monkeypatch: pytest.MonkeyPatch
) -> None:
    import crypto._envelope

    monkeypatch.setattr(crypto._envelope, "_U16_MAX", 1)
    with pytest.raises(ValueError, match="too large"):
        envelope.to_bytes()
