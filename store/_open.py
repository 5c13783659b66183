"""``open_store``: a store from a URL or a path."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

from ._errors import StoreURLError
from ._interface import Store
from ._sqlite import open_sqlite_store

__all__ = ["open_existing_store", "open_store"]


def sqlite_path(url_or_path: str | os.PathLike[str]) -> Path:
    """The database file a path or ``sqlite:///path`` URL names.

    ``sqlite:///relative/x.db`` is relative, ``sqlite:////abs/x.db`` absolute
    (the SQLAlchemy convention). Other schemes raise StoreURLError.
    """
    if isinstance(url_or_path, os.PathLike):
        return Path(url_or_path)
    if not isinstance(url_or_path, str):
        raise TypeError("open_store takes a str or a path")
    text = url_or_path.strip()
    if not text:
        raise StoreURLError("the store URL is empty")
    if "://" not in text:
        if text == ":memory:":
            raise StoreURLError("an in-memory SQLite store is not supported: give a file path")
        return Path(text)
    scheme = text.partition("://")[0].lower()
    if scheme in ("postgresql", "postgres") or scheme.startswith("postgresql+"):
        raise StoreURLError(
            "postgresql:// stores are not supported yet: use an SQLite path or sqlite:///path"
        )
    if scheme != "sqlite":
        raise StoreURLError(f"unknown store URL scheme {scheme!r}: use a path or sqlite:///path")
    parts = urlsplit(text)
    if parts.netloc or parts.query or parts.fragment:
        raise StoreURLError("write an SQLite URL as sqlite:///relative/path or sqlite:////abs/path")
    path = unquote(parts.path)
    if path.startswith("/"):
        path = path[1:]
    if not path:
        raise StoreURLError("the sqlite:/// URL names no file")
    return Path(path)


async def open_store(url_or_path: str | os.PathLike[str]) -> Store:
    """Open (creating and migrating as needed) the store a URL or path names.

    - ``/var/lib/writein/writein.db`` or ``sqlite:///data/writein.db``: SQLite.
    - ``postgresql://...``: not supported yet (StoreURLError).

    Raises SchemaTooNewError if a newer writein has migrated the database.
    Close the store with ``await store.close()`` or ``async with``.
    """
    return await open_sqlite_store(sqlite_path(url_or_path))


async def open_existing_store(url_or_path: str | os.PathLike[str]) -> Store:
    """Open the store a URL or path names, only if it exists: never create or migrate.

    Every command but `writein init` and the relay opens the store this way, so that a
    mistyped URL is a clear error rather than a new, empty store. Raises
    StoreMissingError (a StoreUnavailableError) when nothing is there, or an empty file;
    SchemaError when the store is older than this writein (the relay migrates it).
    """
    return await open_sqlite_store(sqlite_path(url_or_path), create=False)
