"""Exporting an attachment to a folder the officer chose — never opening it.

A source's file is hostile until proven otherwise: its name may climb directories, hide
its real extension behind a bidi override, or name a device; its bytes may be anything.
The console decrypts and checks it (crypto.open_chunks: every chunk in place, size and
SHA-256 as the signed message states), then writes a new private file (mode 0600, never
over an existing file, never through a symlink) under a cleaned name. Nothing is ever
opened or previewed automatically.
"""

from __future__ import annotations

import asyncio
import mimetypes
import os
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import store
from core.payload import AttachmentRef
from crypto import InvalidEnvelope, open_chunks

from ._errors import ConsoleError, UnknownCaseError, UsageError
from .cases import require_assigned
from .session import Session
from .thread import open_items

__all__ = [
    "EXPORT_FOLDER",
    "Exported",
    "export_attachment",
    "export_folder",
    "export_ref",
    "find_attachment",
    "safe_filename",
    "what_it_reveals",
]

#: The console's default export folder, under the officer's data directory (mode 0700).
EXPORT_FOLDER: Final = "exports"

_KINDS: Final = (
    ("image/", "an image", "camera, GPS position, time taken, editing software"),
    ("video/", "a video", "device, GPS position, time recorded"),
    ("audio/", "an audio file", "device, time recorded, a voice"),
    ("application/pdf", "a PDF document", "author, organisation, software, dates, comments"),
    (
        "application/vnd.openxmlformats",
        "an Office document",
        "author, organisation, tracked changes, comments, printer and template paths",
    ),
    ("application/msword", "an Office document", "author, organisation, tracked changes"),
    ("application/vnd.oasis", "an OpenDocument file", "author, dates, editing history"),
    ("text/", "a text file", "names or paths inside the text"),
    ("application/zip", "an archive", "names, dates and owners of the files inside"),
)

_MAX_NAME_BYTES: Final = 150
_UNSAFE: Final = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]')
_RESERVED: Final = frozenset(
    ["CON", "PRN", "AUX", "NUL"] + [f"{p}{n}" for p in ("COM", "LPT") for n in range(1, 10)]
)
_CHUNK_PAGE: Final = 64
_SCAN_PAGE: Final = 200


def safe_filename(name: str, *, fallback: str) -> str:
    """A file name that is one harmless component on every common filesystem.

    Keeps the last path component, drops control, format (bidi, zero-width) and
    reserved characters, leading dots and trailing dots/spaces, shortens to 150 bytes
    keeping the extension, and uses ``fallback`` if nothing is left or the name is a
    reserved device name.
    """
    text = unicodedata.normalize("NFC", name)
    text = re.split(r"[/\\]", text)[-1]
    text = "".join(
        "_" if _UNSAFE.match(ch) else ch
        for ch in text
        if unicodedata.category(ch) not in ("Cf", "Cc", "Cs", "Zl", "Zp")
    )
    text = text.strip().lstrip(".").rstrip(". ")
    stem, dot, ext = text.rpartition(".")
    if not dot:
        stem, ext = text, ""
    ext = ext[:16]
    while stem and len((stem + dot + ext).encode("utf-8")) > _MAX_NAME_BYTES:
        stem = stem[:-1]
    text = (stem + dot + ext) if stem else ""
    if not text or text.split(".")[0].upper() in _RESERVED:
        return fallback
    return text


def _fallback_name(ref: AttachmentRef) -> str:
    ext = mimetypes.guess_extension(ref.mime.split(";")[0].strip(), strict=False) or ".bin"
    return f"attachment-{ref.id[:12]}{ext}"


def _write_new(directory: Path, name: str, data: bytes) -> Path:
    """Write ``data`` to a new 0600 file in ``directory``; add " (2)" etc. if taken."""
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    flags |= getattr(os, "O_CLOEXEC", 0)
    for attempt in range(1, 1000):
        candidate = name if attempt == 1 else f"{stem} ({attempt}){dot}{ext}"
        target = directory / candidate
        try:
            fd = os.open(target, flags, 0o600)
        except FileExistsError:
            continue
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
        except BaseException:
            target.unlink(missing_ok=True)
            raise
        return target
    raise ConsoleError(f"too many files named like {name} in {directory}")


async def _read_chunks(
    session: Session, case_id: str, message_id: bytes | None, ref: AttachmentRef
) -> list[bytes]:
    chunks: list[bytes] = []
    attachment_id = bytes.fromhex(ref.id)
    while len(chunks) < ref.chunks:
        page = await session.workspace.port.read_chunks(
            case_id, message_id, attachment_id, start=len(chunks), limit=_CHUNK_PAGE
        )
        if not page:
            break
        chunks += page
    return chunks


@dataclass(frozen=True)
class Exported:
    """Where an attachment went."""

    path: Path
    size: int


async def export_ref(
    session: Session,
    case_id: str,
    ref: AttachmentRef,
    directory: str | os.PathLike[str],
    *,
    message_id: bytes | None = None,
) -> Exported:
    """Decrypt, check and write one attachment of a message already opened (its id:
    the gateway serves an attachment only as part of its message)."""
    case = await require_assigned(session, case_id)
    folder = Path(directory)
    if not await asyncio.to_thread(folder.is_dir):
        raise UsageError(f"{folder} is not a folder")
    chunks = await _read_chunks(session, case.case_id, message_id, ref)
    try:
        data = await asyncio.to_thread(
            open_chunks,
            chunks,
            attachment_id=bytes.fromhex(ref.id),
            key=ref.key_bytes,
            sha256=bytes.fromhex(ref.sha256),
        )
    except (InvalidEnvelope, ValueError):
        raise ConsoleError("the attachment is damaged or incomplete; nothing was written") from None
    if len(data) != ref.size:
        raise ConsoleError("the attachment is damaged or incomplete; nothing was written")
    name = safe_filename(ref.name, fallback=_fallback_name(ref))
    try:
        path = await asyncio.to_thread(_write_new, folder, name, data)
    except OSError as exc:
        raise ConsoleError(f"cannot write into {folder}: {exc.strerror}") from None
    await session.workspace.port.exported(session, case.case_id, message_id, bytes.fromhex(ref.id))
    return Exported(path, len(data))


async def find_attachment(
    session: Session, case_id: str, attachment_id: str
) -> tuple[AttachmentRef, bytes]:
    """The attachment's reference and its message's id, from the newest message of the case
    that carries it."""
    case = await require_assigned(session, case_id)
    wanted = attachment_id.strip().lower()
    if not re.fullmatch(r"[0-9a-f]{32}", wanted):
        raise UsageError("an attachment id is 32 hexadecimal digits (see `console show`)")
    # (Through the gateway this cannot be told apart from "not in this case": both refuse.)
    if await session.workspace.port.attachment_known(bytes.fromhex(wanted)) is False:
        raise UnknownCaseError(f"no attachment {wanted}")
    before: int | None = None
    while True:
        envelopes: Sequence[store.Envelope] = await session.reader.list_envelopes(
            case.case_id,
            before_seq=before,
            newest_first=True,
            limit=_SCAN_PAGE,
            wraps=session.me.key_id,
        )
        incoming = [e for e in envelopes if e.direction is store.Direction.IN]
        for item in await open_items(session, incoming, {}):
            for ref in item.attachments:
                if ref.id == wanted:
                    return ref, item.message_id
        if len(envelopes) < _SCAN_PAGE:
            raise UnknownCaseError(f"no attachment {wanted} in case {case.case_id}")
        before = envelopes[-1].seq


async def export_attachment(
    session: Session, case_id: str, attachment_id: str, directory: str | os.PathLike[str]
) -> Exported:
    """Find an attachment of the case by id and export it (the CLI's path)."""
    ref, message_id = await find_attachment(session, case_id, attachment_id)
    return await export_ref(session, case_id, ref, directory, message_id=message_id)


def what_it_reveals(ref: AttachmentRef) -> str:
    """What an exported file may tell about who made it, said before it is written: its
    kind (from its stated type, which the source chose), and what metadata of that kind
    carries. The relay removes what it can from photos and documents (ADR 0080); what it
    could not, or files it does not know, keep everything."""
    kind, carries = "a file of a kind writein does not know", "anything, in any format"
    for prefix, name, fields in _KINDS:
        if ref.mime.startswith(prefix):
            kind, carries = name, fields
            break
    cleaned = (
        "The relay removed the metadata it knows how to remove; some may remain."
        if ref.metadata_stripped
        else "The relay did not clean it: its metadata may all remain."
    )
    return (
        f"This is {kind} (type as stated by the source). Files like it can carry {carries}. "
        f"{cleaned} It is written as it is, not opened; open it only on a machine "
        "that is not connected, and never send it on as it is."
    )


def export_folder(session: Session) -> Path:
    """The console's private export folder under the officer's data directory: made with
    mode 0700 (and set to it if it exists), never the current directory."""
    folder = session.workspace.config.data_dir / EXPORT_FOLDER
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    if folder.is_symlink() or not folder.is_dir():
        raise UsageError(f"{folder} is not a folder: choose another one")
    folder.chmod(0o700)
    return folder
