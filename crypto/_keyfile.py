"""Secrets at rest: a small blob sealed under a passphrase with Argon2id.

Layout (big-endian; docs/protocol.md)::

    header = "WRIK" ‖ version u8 = 1 ‖ kind length u8 ‖ kind (ASCII)
             ‖ kdf u8 = 1 (Argon2id v1.3) ‖ iterations u32 ‖ lanes u32
             ‖ memory u32 (KiB) ‖ salt length u8 ‖ salt
    file   = header ‖ ciphertext length u32 ‖ ChaCha20-Poly1305(key, 0^12, secret, aad=header)

    key    = Argon2id(passphrase, salt, iterations, lanes, memory, 32 bytes)

The key is fresh for every file (random salt), so the all-zero nonce is
never reused. Only the blob lives here; reading and writing files with safe
permissions is store/keyfiles.py's job.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

from ._encoding import DecodeError, Reader, u8, u32
from ._errors import InvalidKeyFile, WrongPassphrase
from ._keys import as_bytes
from ._suite import MAGIC_KEYFILE, VERSION, ZERO_NONCE

__all__ = ["DEFAULT_ARGON2", "Argon2Params", "open_secret", "seal_secret"]

KDF_ARGON2ID: Final = 1
SALT_SIZE: Final = 16
MAX_SECRET_SIZE: Final = 64 * 1024
_KIND = re.compile(r"[a-z][a-z0-9-]{0,31}")

# Hard limits for any file, read or written (docs/protocol.md §6): a key file's header is
# checked against them before any Argon2id work, so a tampered header cannot make opening
# take long or the machine's memory. The default (t=3, p=4, 64 MiB) takes about 0.3 s on
# the 2-core build machine. At most 1 GiB (16x the default's memory): a relay on a small
# VPS and an officer's laptop can still allocate it, 4 GiB they cannot. At most 16 passes
# and 16 lanes (5x the default's passes, 4x its lanes), and passes x memory at most 4 GiB
# (21x the default's work: t=4 at 1 GiB takes about 4 s there, t=16 at 1 GiB would take
# 10 s).
MAX_ITERATIONS: Final = 16
MAX_LANES: Final = 16
MAX_MEMORY_KIB: Final = 1024 * 1024  # 1 GiB
MAX_WORK_KIB: Final = 4 * 1024 * 1024  # iterations x memory_kib: 4 GiB of passes


def too_much_work(iterations: int, lanes: int, memory_kib: int) -> bool:
    """Whether Argon2id parameters ask for more than any writein file may (the limits above)."""
    return (
        iterations > MAX_ITERATIONS
        or lanes > MAX_LANES
        or memory_kib > MAX_MEMORY_KIB
        or iterations * memory_kib > MAX_WORK_KIB
    )


@dataclass(frozen=True, slots=True)
class Argon2Params:
    """Argon2id cost parameters. The defaults are RFC 9106's second recommended
    profile (t=3, p=4, m=64 MiB); :func:`seal_secret` refuses anything weaker
    unless it comes from :meth:`insecure_for_tests`."""

    iterations: int = 3
    lanes: int = 4
    memory_kib: int = 64 * 1024

    def __post_init__(self) -> None:
        for name in ("iterations", "lanes", "memory_kib"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"Argon2 {name} must be an int")
        too_little = self.iterations < 1 or self.lanes < 1 or self.memory_kib < 8 * self.lanes
        if too_little or too_much_work(self.iterations, self.lanes, self.memory_kib):
            raise ValueError(f"Argon2 parameters out of range: {self}")

    @property
    def is_strong(self) -> bool:
        """At least RFC 9106's second profile in time and memory (lanes add no strength)."""
        default = DEFAULT_ARGON2
        return self.iterations >= default.iterations and self.memory_kib >= default.memory_kib

    @classmethod
    def insecure_for_tests(
        cls, *, iterations: int = 1, lanes: int = 1, memory_kib: int = 8
    ) -> Argon2Params:
        """Cheap parameters that :func:`seal_secret` accepts below the minimum. Tests only."""
        return _InsecureArgon2Params(iterations=iterations, lanes=lanes, memory_kib=memory_kib)


@dataclass(frozen=True, slots=True)
class _InsecureArgon2Params(Argon2Params):
    """Marks parameters as deliberately weak (see Argon2Params.insecure_for_tests)."""


DEFAULT_ARGON2: Final = Argon2Params()


def _check_kind(kind: object) -> str:
    if not isinstance(kind, str):
        raise TypeError(f"kind must be str, not {type(kind).__name__}")
    if not _KIND.fullmatch(kind):
        raise ValueError("kind must be 1-32 characters of a-z, 0-9 and '-', starting with a letter")
    return kind


def require_strong(params: object) -> None:
    """Refuse parameters below the default unless made by Argon2Params.insecure_for_tests."""
    if not isinstance(params, Argon2Params):
        raise TypeError("params must be Argon2Params")
    if not params.is_strong and not isinstance(params, _InsecureArgon2Params):
        raise ValueError(
            "Argon2id parameters below RFC 9106's second profile (t=3, m=64 MiB) are refused; "
            "use Argon2Params.insecure_for_tests() in tests"
        )


def derive(passphrase: bytes, salt: bytes, params: Argon2Params) -> bytes:
    return Argon2id(
        salt=salt,
        length=32,
        iterations=params.iterations,
        lanes=params.lanes,
        memory_cost=params.memory_kib,
    ).derive(passphrase)


def _header(kind: str, params: Argon2Params, salt: bytes) -> bytes:
    return b"".join(
        (
            MAGIC_KEYFILE,
            u8(VERSION),
            u8(len(kind)),
            kind.encode("ascii"),
            u8(KDF_ARGON2ID),
            u32(params.iterations),
            u32(params.lanes),
            u32(params.memory_kib),
            u8(len(salt)),
            salt,
        )
    )


def seal_secret(
    secret: bytes, passphrase: bytes, *, kind: str, params: Argon2Params = DEFAULT_ARGON2
) -> bytes:
    """Seal ``secret`` (1 byte to 64 KiB) under ``passphrase`` as a key file of ``kind``.

    ``kind`` (e.g. ``"handler"``, ``"org"``, ``"relay"``) is stored and
    authenticated; :func:`open_secret` refuses a file of another kind.
    Encode passphrases as UTF-8 after NFC normalisation.
    """
    return _seal_secret_from_parts(
        secret, passphrase, kind=kind, params=params, salt=secrets.token_bytes(SALT_SIZE)
    )


def _seal_secret_from_parts(
    secret: bytes, passphrase: bytes, *, kind: str, params: Argon2Params, salt: bytes
) -> bytes:
    secret = as_bytes(secret, "secret")
    passphrase = as_bytes(passphrase, "passphrase")
    kind = _check_kind(kind)
    require_strong(params)
    if not passphrase:
        raise ValueError("the passphrase must not be empty")
    if not 1 <= len(secret) <= MAX_SECRET_SIZE:
        raise ValueError(f"a sealed secret is 1..{MAX_SECRET_SIZE} bytes")
    if len(salt) != SALT_SIZE:
        raise ValueError(f"salt must be {SALT_SIZE} bytes")
    header = _header(kind, params, salt)
    sealed = ChaCha20Poly1305(derive(passphrase, salt, params)).encrypt(ZERO_NONCE, secret, header)
    return header + u32(len(sealed)) + sealed


def open_secret(blob: bytes, passphrase: bytes, *, kind: str) -> bytes:
    """Open a key file sealed by :func:`seal_secret`.

    Raises InvalidKeyFile if the blob is not a writein key file, uses an
    unsupported format or parameters (a header asking for more Argon2id work than
    the limits above is refused before any), or holds another ``kind`` of key;
    WrongPassphrase if the passphrase does not open it.
    """
    blob = as_bytes(blob, "blob")
    passphrase = as_bytes(passphrase, "passphrase")
    kind = _check_kind(kind)
    reader = Reader(blob)
    try:
        reader.expect(MAGIC_KEYFILE)
        version = reader.u8()
        if version != VERSION:
            raise InvalidKeyFile(f"unsupported key-file version {version}")
        file_kind = reader.take(reader.u8()).decode("ascii", errors="replace")
        if reader.u8() != KDF_ARGON2ID:
            raise InvalidKeyFile("unsupported key derivation in key file")
        iterations, lanes, memory_kib = reader.u32(), reader.u32(), reader.u32()
        salt = reader.take(reader.u8())
        header_end = reader.pos
        sealed = reader.take(reader.u32())
        reader.end()
    except DecodeError:
        raise InvalidKeyFile("not a writein key file, or the file is truncated") from None
    if file_kind != kind:
        raise InvalidKeyFile(f"this key file holds a {file_kind!r} key, expected {kind!r}")
    if len(salt) != SALT_SIZE:
        raise InvalidKeyFile("unsupported salt size in key file")
    # Before any work: the header alone decides how much memory and time opening takes.
    if too_much_work(iterations, lanes, memory_kib):
        raise InvalidKeyFile(
            "Argon2 parameters in key file are out of range: its header asks for too much "
            f"work (t={iterations}, p={lanes}, m={memory_kib} KiB; writein allows at most "
            f"t={MAX_ITERATIONS}, p={MAX_LANES}, m={MAX_MEMORY_KIB} KiB = 1 GiB and "
            f"t×m={MAX_WORK_KIB} KiB): the file was altered, or not written by writein"
        )
    try:
        params = Argon2Params(iterations=iterations, lanes=lanes, memory_kib=memory_kib)
    except ValueError:
        raise InvalidKeyFile("Argon2 parameters in key file are out of range") from None
    key = derive(passphrase, salt, params)
    try:
        return ChaCha20Poly1305(key).decrypt(ZERO_NONCE, sealed, blob[:header_end])
    except InvalidTag:
        raise WrongPassphrase from None
