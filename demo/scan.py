"""The demo's plaintext scan: search files for what a source typed and who they are.

P1 says no message text and no Telegram identity is ever written to disk in the clear.
The demo checks it on its own files: every "needle" (the message text, the photo's EXIF
canary, the source's user id, username and names, ...) is searched for as UTF-8,
UTF-16-LE, hex (either case) and base64 (each of the three alignments, standard and
URL-safe alphabets); numbers also as SQLite and C would store them in binary. A hit
anywhere fails the demo.

:func:`self_check` plants every form of every needle in a sample and makes sure the scan
finds each one, so a zero is a real zero and not a broken search.
"""

from __future__ import annotations

import base64
import os
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ENCODINGS = ("utf-8", "utf-16-le", "hex", "base64", "binary")
_MIN_BASE64 = 4


@dataclass(frozen=True)
class Needle:
    """Something that must not be found, and the byte strings that would betray it."""

    label: str
    value: str
    #: Extra binary forms (a user id as an integer column), searched as "binary".
    binary: tuple[bytes, ...] = field(default=(), repr=False)

    def forms(self) -> dict[str, tuple[bytes, ...]]:
        raw = self.value.encode("utf-8")
        return {
            "utf-8": (raw,),
            "utf-16-le": (self.value.encode("utf-16-le"),),
            "hex": (raw.hex().encode("ascii"),),  # matched against a lower-cased haystack
            "base64": base64_forms(raw),
            "binary": self.binary,
        }


def integer_needle(label: str, number: int) -> Needle:
    """A number as text, and as SQLite (big-endian, 6 or 8 bytes) and C (little-endian) store it."""
    forms = [number.to_bytes(8, "big"), number.to_bytes(8, "little")]
    if number < 2**47:
        forms.append(number.to_bytes(6, "big"))
    return Needle(label, str(number), tuple(forms))


def base64_forms(raw: bytes) -> tuple[bytes, ...]:
    """The base64 characters that encode ``raw`` wherever it sits in a longer encoded blob.

    For each of the three byte alignments, only the characters made entirely of ``raw``'s
    bits are kept; both alphabets. Too short a needle gives no reliable characters.
    """
    found: list[bytes] = []
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + raw)
        first = -(-8 * shift // 6)  # the first character that starts inside raw
        last = (8 * (shift + len(raw))) // 6  # characters wholly inside raw end here
        core = encoded[first:last]
        if len(core) >= _MIN_BASE64:
            for form in (core, core.translate(bytes.maketrans(b"+/", b"-_"))):
                if form not in found:
                    found.append(form)
    return tuple(found)


@dataclass(frozen=True)
class Hit:
    needle: str
    encoding: str
    file: str
    count: int


@dataclass(frozen=True)
class ScanReport:
    files: tuple[tuple[str, int], ...]  # (relative path, size)
    counts: dict[str, dict[str, int]]  # needle label → encoding → hits
    hits: tuple[Hit, ...]

    @property
    def total(self) -> int:
        return sum(h.count for h in self.hits)

    @property
    def bytes_scanned(self) -> int:
        return sum(size for _, size in self.files)


def count_in(haystack: bytes, needle: Needle) -> dict[str, int]:
    """Occurrences of each encoding of ``needle`` in ``haystack``."""
    lowered = haystack.lower()
    counts: dict[str, int] = {}
    for encoding, forms in needle.forms().items():
        target = lowered if encoding == "hex" else haystack
        counts[encoding] = sum(target.count(form) for form in forms if form)
    return counts


def files_under(root: Path, *, exclude: Sequence[Path] = ()) -> list[Path]:
    """Every regular file below ``root`` (symlinks not followed), minus ``exclude`` trees."""
    skipped = [p.resolve() for p in exclude]
    found: list[Path] = []
    for folder, dirs, names in os.walk(root):
        here = Path(folder)
        dirs[:] = sorted(d for d in dirs if (here / d).resolve() not in skipped)
        for name in sorted(names):
            path = here / name
            if path.is_file() and not path.is_symlink():
                found.append(path)
    return found


def scan(root: Path, needles: Iterable[Needle], *, exclude: Sequence[Path] = ()) -> ScanReport:
    """Read every file under ``root`` and count every form of every needle."""
    needles = list(needles)
    counts = {n.label: dict.fromkeys(ENCODINGS, 0) for n in needles}
    hits: list[Hit] = []
    files: list[tuple[str, int]] = []
    for path in files_under(root, exclude=exclude):
        data = path.read_bytes()
        name = str(path.relative_to(root))
        files.append((name, len(data)))
        for needle in needles:
            for encoding, n in count_in(data, needle).items():
                if n:
                    counts[needle.label][encoding] += n
                    hits.append(Hit(needle.label, encoding, name, n))
    return ScanReport(tuple(files), counts, tuple(hits))


def self_check(needles: Iterable[Needle]) -> tuple[int, list[str]]:
    """Plant each form of each needle in random bytes and scan: (forms found, forms missed).

    Base64 is planted as real base64 of random bytes around the needle, in all three
    alignments, so the alignment logic itself is tested, not just ``bytes.count``.
    """
    found = 0
    missed: list[str] = []
    for needle in needles:
        raw = needle.value.encode("utf-8")
        planted = {
            "utf-8": [raw],
            "utf-16-le": [needle.value.encode("utf-16-le")],
            "hex": [raw.hex().encode(), raw.hex().upper().encode()],
            "base64": [
                base64.b64encode(secrets.token_bytes(pad) + raw + secrets.token_bytes(3))
                for pad in range(3)
            ]
            + [
                base64.urlsafe_b64encode(secrets.token_bytes(pad) + raw + secrets.token_bytes(3))
                for pad in range(3)
            ],
            "binary": list(needle.binary),
        }
        for encoding, samples in planted.items():
            for sample in samples:
                blob = secrets.token_bytes(64) + sample + secrets.token_bytes(64)
                if count_in(blob, needle)[encoding] >= 1:
                    found += 1
                else:
                    missed.append(f"{needle.label} as {encoding}")
    return found, missed
