"""core.passphrase: a passphrase is the UTF-8 of its NFC form, however it was typed."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest

from core.passphrase import get_passphrase, passphrase_bytes
from crypto import Argon2Params, WrongPassphrase
from store.keyfiles import read_secret_file, write_secret_file

# "Йолка ёж" typed composed (one code point per letter) and decomposed (base + combining
# breve/diaeresis), as some keyboards and systems send it.
COMPOSED = "Йолка ёж — пароль"
DECOMPOSED = unicodedata.normalize("NFD", COMPOSED)
FAST = Argon2Params.insecure_for_tests()


def test_the_two_forms_differ_as_text_but_not_as_a_passphrase() -> None:
    assert COMPOSED != DECOMPOSED
    assert passphrase_bytes(DECOMPOSED) == passphrase_bytes(COMPOSED) == COMPOSED.encode()


@pytest.mark.parametrize(
    ("sealed_with", "opened_with"), [(COMPOSED, DECOMPOSED), (DECOMPOSED, COMPOSED)]
)
def test_a_key_file_opens_with_either_form(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sealed_with: str, opened_with: str
) -> None:
    path = tmp_path / "officer.key"
    monkeypatch.setenv("WRITEIN_TEST_PASSPHRASE", sealed_with)
    write_secret_file(
        path, b"secret", get_passphrase(env="WRITEIN_TEST_PASSPHRASE"), kind="handler", params=FAST
    )
    monkeypatch.setenv("WRITEIN_TEST_PASSPHRASE", opened_with)
    passphrase = get_passphrase(env="WRITEIN_TEST_PASSPHRASE")
    assert read_secret_file(path, passphrase, kind="handler") == b"secret"
    # The decomposed form's raw bytes would not open it: the normalisation is what does.
    with pytest.raises(WrongPassphrase):
        read_secret_file(path, DECOMPOSED.encode(), kind="handler")


def test_a_passphrase_file_is_normalised_too(tmp_path: Path) -> None:
    file = tmp_path / "pass"
    file.write_text(DECOMPOSED + "\n", encoding="utf-8")
    file.chmod(0o600)
    assert get_passphrase(env="WRITEIN_UNSET_FOR_TEST", file=file) == COMPOSED.encode()
