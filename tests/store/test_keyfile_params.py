"""key_file_params: a replaced key file keeps the Argon2id cost it had."""

from __future__ import annotations

import pytest

from crypto import Argon2Params
from store.keyfiles import KeyFileError, key_file_params, write_key_file, write_secret_file


def test_weak_cost_is_kept_and_marked_for_tests(tmp_path):
    weak = Argon2Params.insecure_for_tests(iterations=2, lanes=1, memory_kib=16)
    write_secret_file(tmp_path / "k", b"secret", b"pass", kind="relay", params=weak)
    params = key_file_params(tmp_path / "k")
    assert (params.iterations, params.lanes, params.memory_kib) == (2, 1, 16)
    # It can seal again: the weak cost was already the file's.
    write_secret_file(
        tmp_path / "k", b"again", b"pass", kind="relay", params=params, overwrite=True
    )


def test_not_a_key_file(tmp_path):
    write_key_file(tmp_path / "k", b"hello")
    with pytest.raises(KeyFileError):
        key_file_params(tmp_path / "k")
