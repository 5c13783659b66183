"""The one place that reads and writes key files on disk.

Key files hold passphrase-sealed secrets (crypto.seal_secret). Writing is
atomic and private: a temporary file with mode 0600 in the same directory,
fsync, then a rename (or a hard link when overwriting is not allowed, so an
existing key is never clobbered by a race). Reading refuses anything that is
not a regular file or that other users could read or write — the same rule
ssh applies to private keys.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import stat
import tempfile
from pathlib import Path

from crypto import DEFAULT_ARGON2, Argon2Params, open_secret, seal_secret

__all__ = [
    "MAX_KEY_FILE_SIZE",
    "KeyFileError",
    "key_file_params",
    "read_key_file",
    "read_secret_file",
    "write_key_file",
    "write_secret_file",
]

MAX_KEY_FILE_SIZE = 1 << 20
_PRIVATE_MODE = 0o600

StrPath = str | os.PathLike[str]


class KeyFileError(Exception):
    """A key file is missing, unsafe (permissions, not a regular file) or cannot be written."""


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_key_file(path: StrPath, blob: bytes, *, overwrite: bool = False) -> None:
    """Write ``blob`` to ``path`` atomically with mode 0600.

    Raises KeyFileError if ``path`` exists and ``overwrite`` is false, or if
    the file cannot be written.
    """
    target = Path(path)
    directory = target.parent
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise KeyFileError(f"cannot create a key file in {directory}: {exc.strerror}") from exc
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), _PRIVATE_MODE)
            handle.write(blob)
            handle.flush()
            os.fsync(handle.fileno())
        if overwrite:
            tmp.replace(target)
        else:
            try:
                os.link(tmp, target)  # fails if target exists: no clobbering, no race
            except FileExistsError:
                raise KeyFileError(
                    f"key file {target} already exists; refusing to overwrite it"
                ) from None
            tmp.unlink()
        _fsync_dir(directory)
    except OSError as exc:
        raise KeyFileError(f"cannot write key file {target}: {exc.strerror}") from exc
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def read_key_file(path: StrPath) -> bytes:
    """Read a key file, refusing it unless it is a regular file only its owner can access."""
    target = Path(path)
    try:
        # O_NONBLOCK: opening a FIFO must not hang; fstat below rejects it.
        fd = os.open(target, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise KeyFileError(f"key file {target} does not exist") from None
    except OSError as exc:
        raise KeyFileError(f"cannot open key file {target}: {exc.strerror}") from exc
    try:
        _check_private_regular_file(fd, target)
    except BaseException:
        os.close(fd)
        raise
    with os.fdopen(fd, "rb") as handle:
        blob = handle.read(MAX_KEY_FILE_SIZE + 1)
    if len(blob) > MAX_KEY_FILE_SIZE:
        raise KeyFileError(f"key file {target} is too large to be a key file")
    return blob


def _check_private_regular_file(fd: int, target: Path) -> None:
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        raise KeyFileError(f"key file {target} is not a regular file")
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o077:
        raise KeyFileError(
            f"key file {target} is accessible by other users (mode {mode:04o}); "
            f"run: chmod 600 {shlex.quote(str(target))}"
        )
    if info.st_size > MAX_KEY_FILE_SIZE:
        raise KeyFileError(f"key file {target} is too large to be a key file")


def write_secret_file(
    path: StrPath,
    secret: bytes,
    passphrase: bytes,
    *,
    kind: str,
    params: Argon2Params = DEFAULT_ARGON2,
    overwrite: bool = False,
) -> None:
    """Seal ``secret`` under ``passphrase`` (crypto.seal_secret) and write it as a key file."""
    write_key_file(
        path, seal_secret(secret, passphrase, kind=kind, params=params), overwrite=overwrite
    )


def read_secret_file(path: StrPath, passphrase: bytes, *, kind: str) -> bytes:
    """Read a key file and open it (crypto.open_secret).

    Raises KeyFileError for file problems, crypto.InvalidKeyFile for a bad or
    wrong-kind file and crypto.WrongPassphrase for a wrong passphrase.
    """
    return open_secret(read_key_file(path), passphrase, kind=kind)


def key_file_params(path: StrPath) -> Argon2Params:
    """The Argon2id cost an existing key file was sealed with (docs/protocol.md §6).

    Replacing a key file (a key rotation) keeps its cost. A file already sealed below
    the RFC 9106 profile (a test or demo set-up) keeps that weak cost too, rather than
    being refused: the caller did not choose it.
    """
    blob = read_key_file(path)
    kind_end = 6 + (blob[5] if len(blob) > 5 else 0)
    fields = blob[kind_end + 1 : kind_end + 13]
    if blob[:4] != b"WRIK" or len(fields) != 12:
        raise KeyFileError(f"{path} is not a writein key file")
    iterations, lanes, memory = (int.from_bytes(fields[i : i + 4], "big") for i in (0, 4, 8))
    try:
        params = Argon2Params(iterations=iterations, lanes=lanes, memory_kib=memory)
    except ValueError:
        raise KeyFileError(f"{path} has Argon2 parameters out of range") from None
    if params.is_strong:
        return params
    return Argon2Params.insecure_for_tests(iterations=iterations, lanes=lanes, memory_kib=memory)
