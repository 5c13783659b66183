"""store/keyfiles.py: the one place that reads and writes key files."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from crypto import Argon2Params, EncryptionKeyPair, InvalidKeyFile, WrongPassphrase
from store.keyfiles import (
    MAX_KEY_FILE_SIZE,
    KeyFileError,
    read_key_file,
    read_secret_file,
    write_key_file,
    write_secret_file,
)

FAST = Argon2Params.insecure_for_tests()
BLOB = b"WRIK-not-really-but-bytes"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask():
    """Write files under the most permissive umask: the 0600 must not come from it."""
    old = os.umask(0)
    yield
    os.umask(old)


def test_write_then_read(tmp_path: Path) -> None:
    path = tmp_path / "handler.key"
    write_key_file(path, BLOB)
    assert read_key_file(path) == BLOB
    assert read_key_file(str(path)) == BLOB


@pytest.mark.usefixtures("open_umask")
def test_written_file_is_mode_0600(tmp_path: Path) -> None:
    path = tmp_path / "handler.key"
    write_key_file(path, BLOB)
    assert mode(path) == 0o600
    write_key_file(path, BLOB + b"2", overwrite=True)
    assert mode(path) == 0o600


def test_refuses_to_overwrite_unless_asked(tmp_path: Path) -> None:
    path = tmp_path / "org.key"
    write_key_file(path, BLOB)
    with pytest.raises(KeyFileError, match=r"already exists; refusing to overwrite"):
        write_key_file(path, b"other")
    assert read_key_file(path) == BLOB
    write_key_file(path, b"other", overwrite=True)
    assert read_key_file(path) == b"other"


def test_no_temporary_files_are_left_behind(tmp_path: Path) -> None:
    path = tmp_path / "org.key"
    write_key_file(path, BLOB)
    with pytest.raises(KeyFileError):
        write_key_file(path, BLOB)
    write_key_file(path, BLOB, overwrite=True)
    assert [p.name for p in tmp_path.iterdir()] == ["org.key"]


def test_overwrite_replaces_a_symlink_rather_than_following_it(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.write_bytes(b"keep me")
    link = tmp_path / "relay.key"
    link.symlink_to(elsewhere)
    write_key_file(link, BLOB, overwrite=True)
    assert elsewhere.read_bytes() == b"keep me"
    assert not link.is_symlink()
    assert read_key_file(link) == BLOB


def test_write_into_a_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match="cannot create a key file in"):
        write_key_file(tmp_path / "missing" / "handler.key", BLOB)


@pytest.mark.parametrize("bad_mode", [0o644, 0o640, 0o604, 0o620, 0o660, 0o601])
def test_refuses_a_file_others_can_access(tmp_path: Path, bad_mode: int) -> None:
    path = tmp_path / "handler.key"
    write_key_file(path, BLOB)
    path.chmod(bad_mode)
    with pytest.raises(KeyFileError) as info:
        read_key_file(path)
    message = str(info.value)
    assert str(path) in message
    assert f"chmod 600 {path}" in message
    assert f"{bad_mode:04o}" in message


def test_owner_only_modes_are_fine(tmp_path: Path) -> None:
    path = tmp_path / "handler.key"
    write_key_file(path, BLOB)
    path.chmod(0o400)
    assert read_key_file(path) == BLOB


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match="does not exist"):
        read_key_file(tmp_path / "nope.key")


def test_refuses_a_directory(tmp_path: Path) -> None:
    directory = tmp_path / "handler.key"
    directory.mkdir(mode=0o700)
    with pytest.raises(KeyFileError, match="not a regular file"):
        read_key_file(directory)


def test_refuses_a_fifo_without_hanging(tmp_path: Path) -> None:
    fifo = tmp_path / "handler.key"
    os.mkfifo(fifo, 0o600)
    with pytest.raises(KeyFileError, match="not a regular file"):
        read_key_file(fifo)


def test_follows_a_symlink_to_a_private_file(tmp_path: Path) -> None:
    """Secret mounts (e.g. Kubernetes) are symlinks; the target's mode is what counts."""
    target = tmp_path / "real.key"
    write_key_file(target, BLOB)
    link = tmp_path / "handler.key"
    link.symlink_to(target)
    assert read_key_file(link) == BLOB
    target.chmod(0o644)
    with pytest.raises(KeyFileError, match="chmod 600"):
        read_key_file(link)


def test_refuses_an_oversized_file(tmp_path: Path) -> None:
    path = tmp_path / "handler.key"
    write_key_file(path, bytes(MAX_KEY_FILE_SIZE + 1))
    with pytest.raises(KeyFileError, match="too large"):
        read_key_file(path)


@pytest.mark.skipif(os.geteuid() == 0, reason="root can open anything")
def test_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "handler.key"
    write_key_file(path, BLOB)
    path.chmod(0o000)
    with pytest.raises(KeyFileError, match="cannot open key file"):
        read_key_file(path)


def test_secret_file_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "handler.key"
    key = EncryptionKeyPair.generate()
    write_secret_file(path, key.seed, b"passphrase", kind="handler", params=FAST)
    assert mode(path) == 0o600
    assert EncryptionKeyPair(read_secret_file(path, b"passphrase", kind="handler")) == key


def test_secret_file_wrong_passphrase(tmp_path: Path) -> None:
    path = tmp_path / "handler.key"
    write_secret_file(path, b"seed", b"passphrase", kind="handler", params=FAST)
    with pytest.raises(WrongPassphrase):
        read_secret_file(path, b"Passphrase", kind="handler")


def test_secret_file_wrong_kind(tmp_path: Path) -> None:
    path = tmp_path / "org.key"
    write_secret_file(path, b"seed", b"passphrase", kind="org", params=FAST)
    with pytest.raises(InvalidKeyFile, match="'org' key, expected 'relay'"):
        read_secret_file(path, b"passphrase", kind="relay")


def test_secret_file_refuses_weak_parameters_before_touching_the_disk(tmp_path: Path) -> None:
    path = tmp_path / "org.key"
    with pytest.raises(ValueError, match="RFC 9106"):
        write_secret_file(
            path,
            b"seed",
            b"pw",
            kind="org",
            params=Argon2Params(iterations=1, lanes=1, memory_kib=8),
        )
    assert not path.exists()


def test_secret_file_refuses_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "org.key"
    write_secret_file(path, b"one", b"pw", kind="org", params=FAST)
    with pytest.raises(KeyFileError, match="already exists"):
        write_secret_file(path, b"two", b"pw", kind="org", params=FAST)
    write_secret_file(path, b"two", b"pw", kind="org", params=FAST, overwrite=True)
    assert read_secret_file(path, b"pw", kind="org") == b"two"
