"""crypto.phrase_hash: the recovery phrase's Argon2id hash, a standard PHC string."""

from __future__ import annotations

import base64
import re

import pytest
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto import DEFAULT_ARGON2, Argon2Params, phrase_hash

FAST = Argon2Params.insecure_for_tests()
PHRASE = "abacus abdomen t-shirt zoom drop-down yo-yo felt-tip"
SALT = bytes(range(16))


def test_a_phc_string_any_argon2_library_verifies():
    stored = phrase_hash(PHRASE, salt=SALT, params=FAST)
    assert re.fullmatch(
        rb"\$argon2id\$v=19\$m=8,t=1,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}", stored
    )
    Argon2id.verify_phc_encoded(PHRASE.encode(), stored.decode())


def test_known_answer_matches_what_existing_stores_hold():
    # Computed by bot.phrase.hash_phrase before the hash moved into crypto/: cases stored
    # before the move must still be found by their phrase.
    params = Argon2Params.insecure_for_tests(memory_kib=64)
    assert phrase_hash(PHRASE, salt=SALT, params=params) == (
        b"$argon2id$v=19$m=64,t=1,p=1$AAECAwQFBgcICQoLDA0ODw"
        b"$PmFURr/1SaQF9++6ROojRwlV6wrPBZBJayvGPpgTrzw"
    )
    expected = Argon2id(salt=SALT, length=32, iterations=1, lanes=1, memory_cost=64).derive(
        PHRASE.encode()
    )
    assert phrase_hash(PHRASE, salt=SALT, params=params).endswith(
        b"$" + base64.b64encode(expected).rstrip(b"=")
    )


def test_the_salt_decides_the_index():
    first = phrase_hash(PHRASE, salt=SALT, params=FAST)
    assert first == phrase_hash(PHRASE, salt=SALT, params=FAST)
    assert first != phrase_hash(PHRASE, salt=bytes(16), params=FAST)
    assert first != phrase_hash(PHRASE.replace("zoom", "zone"), salt=SALT, params=FAST)


def test_the_default_is_rfc9106_second_profile():
    assert (DEFAULT_ARGON2.iterations, DEFAULT_ARGON2.lanes, DEFAULT_ARGON2.memory_kib) == (
        3,
        4,
        65536,
    )
    assert phrase_hash(PHRASE, salt=SALT).startswith(b"$argon2id$v=19$m=65536,t=3,p=4$")


def test_weak_parameters_are_refused_outside_tests():
    with pytest.raises(ValueError, match="RFC 9106"):
        phrase_hash(PHRASE, salt=SALT, params=Argon2Params(iterations=1, lanes=1, memory_kib=64))


@pytest.mark.parametrize(
    ("phrase", "salt"),
    [
        (PHRASE, b"short"),
        (PHRASE, bytes(65)),
        ("", SALT),
        ("абакус", SALT),  # not canonical: the words are read into ASCII first
    ],
)
def test_bad_input_is_a_value_error(phrase, salt):
    with pytest.raises(ValueError):
        phrase_hash(phrase, salt=salt, params=FAST)


@settings(max_examples=20, deadline=None)
@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz- ", min_size=1, max_size=80))
def test_round_trip_through_a_standard_verifier(phrase):
    stored = phrase_hash(phrase, salt=SALT, params=FAST)
    Argon2id.verify_phc_encoded(phrase.encode(), stored.decode())
