"""Files the simulator holds: ``file_id`` opaque per upload, ``file_unique_id`` per content."""

from __future__ import annotations

import base64
import hashlib
import mimetypes
import random
from dataclasses import dataclass

from telesim._images import photo_sizes

# What Telegram's file_ids start with, per kind (cosmetic, but familiar in logs).
_ID_PREFIX = {
    "photo": "AgACAgIAAxkBAAI",
    "document": "BQACAgIAAxkBAAI",
    "voice": "AwACAgIAAxkBAAI",
    "video": "BAACAgIAAxkBAAI",
    "audio": "CQACAgIAAxkBAAI",
    "animation": "CgACAgIAAxkBAAI",
    "thumbnail": "AAMCAgADGQEAAg",
}
_FOLDER = {
    "photo": ("photos", ".jpg"),
    "document": ("documents", ""),
    "voice": ("voice", ".oga"),
    "video": ("videos", ".mp4"),
    "audio": ("music", ".mp3"),
    "animation": ("animations", ".mp4"),
    "thumbnail": ("thumbnails", ".jpg"),
}
LINK_LIFETIME = 3600.0  # getFile links are valid for at least an hour


@dataclass(frozen=True, slots=True)
class StoredFile:
    """One file as Telegram stores it."""

    file_id: str
    file_unique_id: str
    kind: str
    data: bytes
    file_path: str
    file_name: str | None = None
    mime_type: str | None = None
    width: int | None = None
    height: int | None = None
    duration: int | None = None

    @property
    def file_size(self) -> int:
        return len(self.data)


class FileStore:
    """All files, by ``file_id`` and by ``file_path``."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._by_id: dict[str, StoredFile] = {}
        self._by_path: dict[str, StoredFile] = {}
        self._photo_sets: dict[str, tuple[str, ...]] = {}
        self._links: dict[str, float] = {}
        self._count = 0

    def add(
        self,
        kind: str,
        data: bytes,
        *,
        file_name: str | None = None,
        mime_type: str | None = None,
        width: int | None = None,
        height: int | None = None,
        duration: int | None = None,
    ) -> StoredFile:
        """Store an upload; every upload gets a new ``file_id``."""
        self._count += 1
        folder, ext = _FOLDER.get(kind, ("documents", ""))
        if kind in ("document", "video", "audio") and file_name and "." in file_name:
            ext = "." + file_name.rsplit(".", 1)[1][:10]
        if mime_type is None and file_name:
            mime_type = mimetypes.guess_type(file_name)[0]
        token = base64.urlsafe_b64encode(self._rng.randbytes(36)).decode().rstrip("=")
        digest = hashlib.sha256(kind.encode() + b"\0" + data).digest()
        stored = StoredFile(
            file_id=_ID_PREFIX.get(kind, "BQACAgIAAxkBAAI") + token,
            file_unique_id="AgAD" + base64.urlsafe_b64encode(digest[:9]).decode(),
            kind=kind,
            data=data,
            file_path=f"{folder}/file_{self._count}{ext}",
            file_name=file_name,
            mime_type=mime_type,
            width=width,
            height=height,
            duration=duration,
        )
        self._by_id[stored.file_id] = stored
        self._by_path[stored.file_path] = stored
        return stored

    def add_photo(self, data: bytes) -> list[StoredFile]:
        """Store an uploaded photo as Telegram does: re-encoded, in several sizes.

        Raises ``ImageError`` for data Telegram would not accept as a photo.
        """
        sizes = [
            self.add("photo", size.data, width=size.width, height=size.height)
            for size in photo_sizes(data)
        ]
        ids = tuple(s.file_id for s in sizes)
        for file_id in ids:
            self._photo_sets[file_id] = ids
        return sizes

    def get(self, file_id: str) -> StoredFile | None:
        return self._by_id.get(file_id)

    def photo_set(self, file_id: str) -> list[StoredFile]:
        """All sizes of the photo that ``file_id`` is one size of."""
        return [self._by_id[i] for i in self._photo_sets.get(file_id, (file_id,))]

    def issue_link(self, stored: StoredFile, now: float) -> None:
        """Record a ``getFile`` call: the file's path is downloadable for an hour."""
        self._links[stored.file_path] = now

    def download(self, file_path: str, now: float) -> StoredFile | None:
        """The file at ``file_path`` if a ``getFile`` link to it is still valid."""
        issued = self._links.get(file_path)
        if issued is None or now - issued > LINK_LIFETIME:
            return None
        return self._by_path.get(file_path)
