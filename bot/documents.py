"""Documents from sources, cleaned of what names them before they are sealed.

A file a source sends "as a file" arrives byte for byte as it left their computer: a PDF
with its author and the program that made it (document info and XMP), an Office file
with its author, company, template path, comments, tracked changes and revision-session
IDs, a photo with its GPS position. `clean` removes what it knows how to remove and says,
as `Residue` kinds and never as values, what it could not:

    PDF             pikepdf (libqpdf): document info, XMP on any object, PieceInfo,
                    the file ID, comment annotations and the author and dates of the
                    others, EXIF/XMP segments of embedded JPEG images. The file is
                    rewritten whole, so earlier revisions and unreachable objects go.
    DOCX XLSX PPTX  the zip is rewritten entry by entry: core, app and custom
                    properties emptied or dropped; comments, their authors, people and
                    persons parts, threaded comments, revision logs, printer settings,
                    custom XML, glossary, thumbnails and sensitivity labels dropped;
                    tracked changes accepted; rsid attributes, template paths, document
                    IDs and absolute paths dropped; embedded JPEG/PNG images stripped;
                    zip timestamps, comments and extra fields reset.
    JPEG PNG WebP   re-encoded from their pixels by `bot.media` (as photos are).
    TIFF HEIC       the same; HEIC becomes a JPEG, and only if pillow-heif is installed.
    plain text      nothing inside to remove (.txt, .csv, .tsv, .md).

The original file name is always replaced by a neutral one (``document-1.pdf``) with an
extension chosen from what the bytes are, never from the name.

Everything that arrives is hostile. A file that is not one of these formats, that is
encrypted, malformed, a zip bomb, or that a library fails on, is returned unchanged with
the residue `Residue.UNKNOWN`: never passed through as if it were clean. Sizes, entry
counts and nesting are bounded here; memory and time are bounded by `clean_isolated`,
which runs `clean` in a child process with resource limits, so a parser that loops,
explodes or crashes costs one document, not the relay.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import os
import posixpath
import re
import struct
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

from bot.media import MediaError, sniff_mime, strip_image_metadata

__all__ = [
    "Cleaned",
    "Residue",
    "clean",
    "clean_isolated",
]

log = logging.getLogger("writein.relay")


class Residue(StrEnum):
    """A kind of thing a cleaned file may still reveal (the source is told these)."""

    AUTHOR = "author"
    SOFTWARE = "software"
    LOCATION = "location"
    FILE_NAME = "file_name"
    DATES = "dates"
    COMMENTS = "comments"
    TRACKED_CHANGES = "tracked_changes"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Cleaned:
    data: bytes
    name: str
    mime: str
    residue: tuple[Residue, ...] = ()
    """What could not be removed, in `Residue` order; empty when the file is clean."""
    cleaned: bool = True
    """False when ``data`` is the original bytes (unknown or unreadable format)."""


# -- limits -------------------------------------------------------------------------------

MB: Final = 1 << 20
ZIP_MAX_ENTRIES: Final = 5_000
ZIP_MAX_ENTRY: Final = 128 * MB
ZIP_MAX_TOTAL: Final = 256 * MB
ZIP_MAX_RATIO: Final = 200  # uncompressed/compressed, over the whole archive
XML_MAX_PART: Final = 48 * MB
MAX_NESTING: Final = 2  # an Office file embedded in an Office file embedded in one
PDF_MAX_OBJECTS: Final = 2_000_000

# The child process running `clean`: what it may use before it is stopped.
CHILD_MEMORY: Final = 1536 * MB
CHILD_CPU_SECONDS: Final = 60
CHILD_WALL_SECONDS: Final = 90.0


class _Refused(Exception):
    """The file cannot be cleaned (malformed, encrypted, too large): report it unknown."""


# -- entry point --------------------------------------------------------------------------

_TEXT_EXTENSIONS: Final = frozenset({"txt", "csv", "tsv", "md"})
_OOXML_MIMES: Final = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}
_IMAGE_EXTENSIONS: Final = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
    "image/tiff": "tif",
}


def clean(data: bytes, *, name: str, mime: str, index: int = 1) -> Cleaned:
    """Remove what ``data`` carries besides its content; see the module's docstring.

    ``name`` and ``mime`` are what the sender claimed: they choose nothing but the
    extension of a file of unknown format. Never raises for bad input.
    """
    data = bytes(data)
    sniffed = sniff_mime(data)
    claimed_ext = _extension(name)
    try:
        if sniffed == "application/pdf":
            out, residue = _clean_pdf(data)
            return _result(out, "pdf", "application/pdf", residue, index)
        if sniffed == "application/zip":
            kind = _ooxml_kind(data)
            if kind is not None:
                out, residue = _clean_ooxml(data, depth=0)
                return _result(out, kind, _OOXML_MIMES[kind], residue, index)
        if sniffed in _IMAGE_EXTENSIONS or sniffed == "image/heic":
            out = strip_image_metadata(data)
            out_mime = sniff_mime(out)
            return _result(out, _IMAGE_EXTENSIONS[out_mime], out_mime, set(), index)
        if sniffed == "text/plain" and claimed_ext in _TEXT_EXTENSIONS:
            return _result(data, claimed_ext, "text/plain", set(), index)
    except Exception as exc:  # hostile input: any library failure means "could not check"
        log.info("document not cleaned: %s", type(exc).__name__)
    return _unknown(data, claimed_ext, mime or sniffed, index)


def _result(data: bytes, ext: str, mime: str, residue: set[Residue], index: int) -> Cleaned:
    order = list(Residue)
    return Cleaned(
        data=data,
        name=f"document-{index}.{ext}",
        mime=mime,
        residue=tuple(sorted(residue, key=order.index)),
    )


def _unknown(data: bytes, ext: str, mime: str, index: int) -> Cleaned:
    safe_mime = mime if re.fullmatch(r"[a-z0-9.+-]{1,40}/[a-z0-9.+-]{1,80}", mime) else ""
    return Cleaned(
        data=data,
        name=f"document-{index}.{ext or 'bin'}",
        mime=safe_mime or "application/octet-stream",
        residue=(Residue.UNKNOWN,),
        cleaned=False,
    )


def _extension(name: str) -> str:
    """The claimed extension if it is short and plain (``pdf``, ``odt``), else ''."""
    _, dot, ext = name.rpartition(".")
    ext = ext.lower()
    return ext if dot and re.fullmatch(r"[a-z0-9]{1,8}", ext) else ""


# -- PDF ----------------------------------------------------------------------------------

# Annotations that are comments: dropped whole. Others lose their author and dates.
_COMMENT_ANNOTS: Final = frozenset({"/Text", "/Popup", "/FileAttachment", "/Sound"})
_CONTENT_ANNOTS: Final = frozenset({"/Link", "/Widget", "/FreeText"})
_ANNOT_META: Final = ("/T", "/M", "/CreationDate", "/NM", "/Popup", "/IRT", "/RT")
_OBJECT_META: Final = ("/Metadata", "/PieceInfo", "/LastModified")
# A document-information dictionary, wherever a hostile file hides one.
_INFO_MARKERS: Final = ("/Author", "/Creator", "/Producer")
_INFO_KEYS: Final = (
    "/Author", "/Creator", "/Producer", "/CreationDate", "/ModDate", "/Title", "/Subject",
    "/Keywords", "/Trapped", "/Company", "/SourceModified",
)  # fmt: skip


def _clean_pdf(data: bytes) -> tuple[bytes, set[Residue]]:
    import pikepdf  # heavy: only the child process needs it

    residue: set[Residue] = set()
    try:
        pdf = pikepdf.open(io.BytesIO(data))
    except pikepdf.PasswordError as exc:
        raise _Refused("encrypted") from exc
    with pdf:
        if len(pdf.objects) > PDF_MAX_OBJECTS:
            raise _Refused("too many objects")
        for key in ("/Info", "/ID"):
            if key in pdf.trailer:
                del pdf.trailer[key]
        for obj in pdf.objects:
            if not isinstance(obj, pikepdf.Dictionary | pikepdf.Stream):
                continue
            for key in _OBJECT_META:
                if key in obj:
                    del obj[key]
            if any(key in obj for key in _INFO_MARKERS):
                for key in [*_INFO_KEYS, *_INFO_MARKERS]:
                    if key in obj:
                        del obj[key]
            if "/ByteRange" in obj or obj.get("/Type") == pikepdf.Name.Sig:
                # A signature names its signer and dates it; a rewrite breaks it anyway.
                # The source is asked, and may send the original with the signature valid.
                residue.update((Residue.AUTHOR, Residue.DATES))
            if isinstance(obj, pikepdf.Stream) and obj.get("/Subtype") == pikepdf.Name.Image:
                _strip_pdf_jpeg(obj, pikepdf)
        root = pdf.Root
        names = root.get("/Names")
        if isinstance(names, pikepdf.Dictionary) and "/EmbeddedFiles" in names:
            residue.add(Residue.UNKNOWN)  # attached files we do not open
        for page in pdf.pages:
            _clean_annotations(page.obj, pikepdf)
        out = io.BytesIO()
        pdf.save(
            out,
            encryption=False,
            deterministic_id=True,
            fix_metadata_version=False,
            preserve_pdfa=False,
        )
    result = out.getvalue()
    _check_pdf(result, residue, pikepdf)
    return result, residue


def _clean_annotations(page: Any, pikepdf: Any) -> None:
    annots = page.get("/Annots")
    if not isinstance(annots, pikepdf.Array):
        return
    kept = pikepdf.Array()
    for annot in annots:
        if not isinstance(annot, pikepdf.Dictionary):
            continue
        subtype = str(annot.get("/Subtype", ""))
        if subtype in _COMMENT_ANNOTS:
            continue
        if subtype not in ("/Link", "/Widget"):
            for key in _ANNOT_META:
                if key in annot:
                    del annot[key]
        if subtype not in _CONTENT_ANNOTS:
            for key in ("/Contents", "/RC", "/Subj"):
                if key in annot:
                    del annot[key]
        kept.append(annot)
    page.Annots = kept


def _strip_pdf_jpeg(stream: Any, pikepdf: Any) -> None:
    filters = stream.get("/Filter")
    if isinstance(filters, pikepdf.Array) and len(filters) == 1:
        filters = filters[0]
    if filters != pikepdf.Name.DCTDecode:
        return
    raw = bytes(stream.read_raw_bytes())
    stripped = strip_jpeg_segments(raw)
    if stripped != raw:
        stream.write(stripped, filter=pikepdf.Name.DCTDecode, decode_parms=None)


def _check_pdf(data: bytes, residue: set[Residue], pikepdf: Any) -> None:
    """Read our own output back: anything left that names or dates the file is residue."""
    with pikepdf.open(io.BytesIO(data)) as pdf:
        if "/Info" in pdf.trailer:
            residue.update((Residue.AUTHOR, Residue.SOFTWARE, Residue.DATES))
        for obj in pdf.objects:
            if isinstance(obj, pikepdf.Dictionary | pikepdf.Stream) and "/Metadata" in obj:
                residue.update((Residue.AUTHOR, Residue.SOFTWARE, Residue.DATES))


# -- JPEG and PNG, losslessly (images inside documents) -------------------------------------

# APP0 JFIF, APP2 ICC profile and APP14 Adobe say how to read the pixels; every other
# APPn (EXIF, XMP, Photoshop/IPTC, MPF) and COM is metadata.
_JPEG_KEEP_APP: Final = ((0xE0, b"JFIF\x00"), (0xE2, b"ICC_PROFILE\x00"), (0xEE, b"Adobe"))


def strip_jpeg_segments(data: bytes) -> bytes:
    """``data`` without its metadata segments and without anything after EOI.

    Lossless: the compressed picture is copied as it is. Raises `_Refused` if the
    markers do not parse.
    """
    if not data.startswith(b"\xff\xd8"):
        raise _Refused("not a JPEG")
    out = bytearray(b"\xff\xd8")
    pos, end = 2, len(data)
    in_scan = False
    while pos < end:
        if in_scan:
            # Entropy-coded data: 0xFF is followed by 0x00 (stuffing) or RSTn; any other
            # marker ends the scan.
            nxt = data.find(b"\xff", pos)
            if nxt < 0 or nxt + 1 >= end:
                raise _Refused("truncated scan")
            marker = data[nxt + 1]
            if marker == 0x00 or 0xD0 <= marker <= 0xD7 or marker == 0xFF:
                out += data[pos : nxt + 2] if marker != 0xFF else data[pos : nxt + 1]
                pos = nxt + 2 if marker != 0xFF else nxt + 1
                continue
            out += data[pos:nxt]
            pos = nxt
            in_scan = False
        if data[pos] != 0xFF:
            raise _Refused("marker expected")
        while pos < end and data[pos] == 0xFF:
            pos += 1
        if pos >= end:
            raise _Refused("truncated marker")
        marker = data[pos]
        pos += 1
        if marker == 0xD9:  # EOI: what follows (MPF images, trailers) is dropped
            out += b"\xff\xd9"
            return bytes(out)
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            out += bytes((0xFF, marker))
            continue
        if pos + 2 > end:
            raise _Refused("truncated segment")
        (length,) = struct.unpack(">H", data[pos : pos + 2])
        if length < 2 or pos + length > end:
            raise _Refused("bad segment length")
        segment = data[pos + 2 : pos + length]
        keep = True
        if 0xE0 <= marker <= 0xEF:
            keep = any(marker == m and segment.startswith(ident) for m, ident in _JPEG_KEEP_APP)
        elif marker == 0xFE:
            keep = False
        if keep:
            out += bytes((0xFF, marker)) + data[pos : pos + length]
        pos += length
        if marker == 0xDA:
            in_scan = True
    raise _Refused("no EOI")


_PNG_SIGNATURE: Final = b"\x89PNG\r\n\x1a\n"
_PNG_KEEP: Final = frozenset(
    {
        b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"cHRM", b"gAMA", b"iCCP", b"sBIT",
        b"sRGB", b"bKGD", b"pHYs", b"hIST", b"acTL", b"fcTL", b"fdAT", b"cICP",
    }
)  # fmt: skip


def strip_png_chunks(data: bytes) -> bytes:
    """``data`` with only the chunks that draw the picture (no text, EXIF or time)."""
    if not data.startswith(_PNG_SIGNATURE):
        raise _Refused("not a PNG")
    out = bytearray(_PNG_SIGNATURE)
    pos = len(_PNG_SIGNATURE)
    while pos + 12 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        stop = pos + 12 + length
        if stop > len(data):
            raise _Refused("truncated chunk")
        if kind in _PNG_KEEP:
            out += data[pos:stop]
        pos = stop
        if kind == b"IEND":
            return bytes(out)
    raise _Refused("no IEND")


# -- Office Open XML ------------------------------------------------------------------------

_NS: Final = {
    "w": "http://schemas.openxmlformats.org/wordprocessingml/2006/main",
    "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "pr": "http://schemas.openxmlformats.org/package/2006/relationships",
    "ct": "http://schemas.openxmlformats.org/package/2006/content-types",
    "mc": "http://schemas.openxmlformats.org/markup-compatibility/2006",
    "x": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "x15ac": "http://schemas.microsoft.com/office/spreadsheetml/2010/11/ac",
    "xr": "http://schemas.microsoft.com/office/spreadsheetml/2014/revision",
    "w14": "http://schemas.microsoft.com/office/word/2010/wordml",
    "w15": "http://schemas.microsoft.com/office/word/2012/wordml",
}
_EMPTY_CORE: Final = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/'
    b'core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" '
    b'xmlns:dcterms="http://purl.org/dc/terms/" '
    b'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"/>'
)
_EMPTY_APP: Final = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/'
    b'extended-properties"/>'
)
# Parts that are only metadata: dropped, with every relationship and content type naming them.
_DROP: Final = re.compile(
    r"""^(?:
        docProps/custom\.xml | docProps/thumbnail\.[a-z]+ | docMetadata/.* | customXml/.*
      | (?:word|xl|ppt)/(?:
            comments\d*\.xml | commentsExtended\.xml | commentsIds\.xml
          | commentsExtensible\.xml | people\.xml | persons/.* | threadedComments/.*
          | comments/.* | commentAuthors\.xml | authors\.xml | revisionInfo\.xml
          | changesInfos/.* | revisions/.* | printerSettings/.* | glossary/.*
        )
    )$""",
    re.VERBOSE,
)
_COMMENT_PART: Final = re.compile(r"(?:^|/)(?:comments|threadedComments|people|persons|authors)")
_EMBEDDED_OOXML: Final = re.compile(r"^(?:word|xl|ppt)/embeddings/[^/]+\.(docx|xlsx|pptx)$")
_EMBEDDED_OTHER: Final = re.compile(r"^(?:word|xl|ppt)/embeddings/")
_REL_TYPES_DROPPED: Final = ("/attachedTemplate",)
_ZIP_DATE: Final = (1980, 1, 1, 0, 0, 0)
# Tracked changes (Word): removed with their content, or unwrapped (accepted).
_W_REMOVE: Final = (
    "del", "moveFrom", "moveFromRangeStart", "moveFromRangeEnd", "moveToRangeStart",
    "moveToRangeEnd", "rPrChange", "pPrChange", "sectPrChange", "tblPrChange", "trPrChange",
    "tcPrChange", "tblGridChange", "tblPrExChange", "numberingChange", "cellIns", "cellDel",
    "cellMerge", "commentRangeStart", "commentRangeEnd", "commentReference", "rsids",
    "attachedTemplate", "docVars",
)  # fmt: skip
_W_UNWRAP: Final = ("ins", "moveTo")
_PATHLIKE: Final = re.compile(r"^(?:[A-Za-z]:[\\/]|\\\\|/|file:)")


def _ooxml_kind(data: bytes) -> str | None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = set(zf.namelist()[:ZIP_MAX_ENTRIES])
    except (zipfile.BadZipFile, ValueError, OSError, EOFError):
        return None
    if "[Content_Types].xml" not in names:
        return None
    for kind, main in (
        ("docx", "word/document.xml"),
        ("xlsx", "xl/workbook.xml"),
        ("pptx", "ppt/presentation.xml"),
    ):
        if main in names:
            return kind
    return None


@dataclass
class _Package:
    """One zip being rewritten: what goes, and which relationship ids went with it."""

    drop: set[str] = field(default_factory=set)
    gone_ids: dict[str, set[str]] = field(default_factory=dict)  # source part -> rIds
    residue: set[Residue] = field(default_factory=set)


def _clean_ooxml(data: bytes, *, depth: int) -> tuple[bytes, set[Residue]]:
    if depth > MAX_NESTING:
        raise _Refused("nested too deep")
    try:
        zin = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise _Refused("not a zip") from exc
    with zin:
        infos = _checked_entries(zin, len(data))
        package = _Package(drop={i.filename for i in infos if _DROP.match(i.filename)})
        rels = {
            i.filename: _read_entry(zin, i)
            for i in infos
            if i.filename.endswith(".rels") and i.filename not in package.drop
        }
        _plan_relationships(rels, package)
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
            for info in infos:
                if info.filename in package.drop or info.is_dir():
                    continue
                part = _clean_part(info.filename, _read_entry(zin, info), package, depth)
                entry = zipfile.ZipInfo(info.filename, date_time=_ZIP_DATE)
                entry.compress_type = zipfile.ZIP_DEFLATED
                entry.external_attr = 0o644 << 16
                zout.writestr(entry, part)
    result = out.getvalue()
    _check_ooxml(result, package.residue)
    return result, package.residue


def _checked_entries(zin: zipfile.ZipFile, compressed: int) -> list[zipfile.ZipInfo]:
    infos = zin.infolist()
    if len(infos) > ZIP_MAX_ENTRIES:
        raise _Refused("too many entries")
    names = [i.filename for i in infos]
    if len(set(names)) != len(names):
        raise _Refused("duplicate entries")
    total = 0
    for info in infos:
        name = info.filename
        if name.startswith("/") or "\\" in name or ".." in name.split("/"):
            raise _Refused("unsafe entry name")
        if info.flag_bits & 0x1:
            raise _Refused("encrypted entry")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise _Refused("unusual compression")
        if info.file_size > ZIP_MAX_ENTRY:
            raise _Refused("entry too large")
        total += info.file_size
    if total > ZIP_MAX_TOTAL or total > ZIP_MAX_RATIO * max(compressed, 1):
        raise _Refused("archive expands too much")
    return infos


def _read_entry(zin: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """Read one entry, trusting neither its declared size nor its compression ratio."""
    limit = min(info.file_size, ZIP_MAX_ENTRY)
    with zin.open(info) as stream:
        data = stream.read(limit + 1)
    if len(data) > limit:
        raise _Refused("entry larger than declared")
    return data


def _rels_source(rels_name: str) -> str:
    """``word/_rels/document.xml.rels`` -> ``word/document.xml``; ``_rels/.rels`` -> ''."""
    folder, _, base = rels_name.rpartition("_rels/")
    return folder + base.removesuffix(".rels")


def _rel_target(source: str, target: str) -> str:
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join(posixpath.dirname(source), target))


def _plan_relationships(rels: dict[str, bytes], package: _Package) -> None:
    """Decide which relationships go: to dropped parts, and those that name a path
    (attached templates). Comment drawings (legacy VML notes) go with their comments."""
    for rels_name, raw in rels.items():
        source = _rels_source(rels_name)
        root = _parse_xml(raw)
        has_comments = False
        vml: list[str] = []
        for rel in root:
            target, kind = rel.get("Target", ""), rel.get("Type", "")
            if rel.get("TargetMode") == "External":
                if _PATHLIKE.match(target) and not kind.endswith(_REL_TYPES_DROPPED):
                    package.residue.add(Residue.FILE_NAME)  # a link to a local file
                continue
            resolved = _rel_target(source, target)
            if kind.endswith("/comments") or _COMMENT_PART.search(kind.rsplit("/", 1)[-1]):
                has_comments = True
            if kind.endswith("/vmlDrawing"):
                vml.append(resolved)
        if has_comments:
            package.drop.update(vml)
    for rels_name, raw in rels.items():
        source = _rels_source(rels_name)
        gone = package.gone_ids.setdefault(source, set())
        for rel in _parse_xml(raw):
            target, kind = rel.get("Target", ""), rel.get("Type", "")
            external = rel.get("TargetMode") == "External"
            if kind.endswith(_REL_TYPES_DROPPED) or (
                not external and _rel_target(source, target) in package.drop
            ):
                gone.add(rel.get("Id", ""))


def _clean_part(name: str, data: bytes, package: _Package, depth: int) -> bytes:
    if name == "docProps/core.xml":
        return _EMPTY_CORE
    if name == "docProps/app.xml":
        return _EMPTY_APP
    lower = name.lower()
    if lower.endswith((".xml", ".rels", ".vml")):
        if len(data) > XML_MAX_PART:
            raise _Refused("XML part too large")
        return _clean_xml(name, data, package)
    if lower.endswith((".jpg", ".jpeg")):
        return _or_residue(strip_jpeg_segments, data, package)
    if lower.endswith(".png"):
        return _or_residue(strip_png_chunks, data, package)
    if lower.endswith((".tif", ".tiff", ".webp")):
        return _or_residue(strip_image_metadata, data, package)
    embedded = _EMBEDDED_OOXML.match(name)
    if embedded:
        try:
            cleaned, residue = _clean_ooxml(data, depth=depth + 1)
        except _Refused:
            package.residue.add(Residue.UNKNOWN)
            return data
        package.residue.update(residue)
        return cleaned
    if _EMBEDDED_OTHER.match(name):
        package.residue.add(Residue.UNKNOWN)  # OLE objects and the like: not opened
    return data


def _or_residue(strip: Callable[[bytes], bytes], data: bytes, package: _Package) -> bytes:
    try:
        return strip(data)
    except (_Refused, MediaError):
        package.residue.add(Residue.UNKNOWN)
        return data


def _parse_xml(data: bytes) -> Any:
    from lxml import etree  # type: ignore[import-untyped]

    if b"<!DOCTYPE" in data[:4096] or b"<!ENTITY" in data:
        raise _Refused("DTD in an Office part")
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    try:
        return etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise _Refused("malformed XML") from exc


def _clean_xml(name: str, data: bytes, package: _Package) -> bytes:
    from lxml import etree

    root = _parse_xml(data)
    if name == "[Content_Types].xml":
        for override in root.findall(f"{{{_NS['ct']}}}Override"):
            if override.get("PartName", "").lstrip("/") in package.drop:
                root.remove(override)
    elif name.endswith(".rels"):
        gone = package.gone_ids.get(_rels_source(name), set())
        for rel in list(root):
            if rel.get("Id") in gone:
                root.remove(rel)
    else:
        _scrub_tree(root, package.gone_ids.get(name, set()))
    out: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
    return out


def _scrub_tree(root: Any, gone_ids: set[str]) -> None:
    w, r = _NS["w"], _NS["r"]
    remove = {f"{{{w}}}{tag}" for tag in _W_REMOVE} | {
        f"{{{_NS['x15ac']}}}absPath",
        f"{{{_NS['xr']}}}revisionPtr",
        f"{{{_NS['x']}}}fileVersion",
        f"{{{_NS['w14']}}}docId",
        f"{{{_NS['w15']}}}docId",
    }
    unwrap = {f"{{{w}}}{tag}" for tag in _W_UNWRAP}
    doomed, wrappers = [], []
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        if element.tag in remove:
            doomed.append(element)
            continue
        if element.tag in unwrap:
            wrappers.append(element)
        for attr in list(element.attrib):
            local = attr.rsplit("}", 1)[-1]
            if attr.startswith(f"{{{w}}}rsid") or attr == "userName":
                del element.attrib[attr]
            elif local in ("descr", "title") and _PATHLIKE.match(element.get(attr, "")):
                del element.attrib[attr]  # pictures' alt text defaults to their file path
            elif attr.startswith(f"{{{r}}}") and element.get(attr) in gone_ids:
                del element.attrib[attr]
                if not element.attrib and len(element) == 0:
                    doomed.append(element)
    for element in doomed:
        _remove(element)
    for element in wrappers:
        parent = element.getparent()
        if parent is None:
            continue
        position = parent.index(element)
        for offset, child in enumerate(list(element)):
            parent.insert(position + offset, child)
        parent.remove(element)


def _remove(element: Any) -> None:
    """Remove ``element``, and an mc:AlternateContent left with an empty choice."""
    parent = element.getparent()
    if parent is None:
        return
    parent.remove(element)
    mc = _NS["mc"]
    if parent.tag == f"{{{mc}}}Choice" and len(parent) == 0:
        holder = parent.getparent()
        if holder is not None and holder.getparent() is not None:
            holder.getparent().remove(holder)


def _check_ooxml(data: bytes, residue: set[Residue]) -> None:
    """Read our own output back; whatever still names or dates the file is residue."""
    w = _NS["w"]
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for info in zf.infolist():
            name = info.filename
            if _DROP.match(name):
                residue.add(Residue.COMMENTS if _COMMENT_PART.search(name) else Residue.UNKNOWN)
            if name in ("docProps/core.xml", "docProps/app.xml"):
                if len(_parse_xml(zf.read(info))):
                    residue.update((Residue.AUTHOR, Residue.SOFTWARE, Residue.DATES))
            elif name.startswith("word/") and name.endswith(".xml"):
                root = _parse_xml(zf.read(info))
                for tag in ("ins", "del", "moveFrom", "moveTo"):
                    if root.find(f".//{{{w}}}{tag}") is not None:
                        residue.add(Residue.TRACKED_CHANGES)
                if root.find(f".//{{{w}}}commentReference") is not None:
                    residue.add(Residue.COMMENTS)


# -- isolation ----------------------------------------------------------------------------


async def clean_isolated(
    data: bytes,
    *,
    name: str,
    mime: str,
    memory: int = CHILD_MEMORY,
    cpu_seconds: int = CHILD_CPU_SECONDS,
    wall_seconds: float = CHILD_WALL_SECONDS,
) -> Cleaned:
    """`clean` in a child process limited in memory and CPU time, off the event loop.

    A child that fails, runs out of time or memory, or answers garbage costs this one
    document: it comes back unchanged with `Residue.UNKNOWN`.
    """
    request = json.dumps({"name": name, "mime": mime, "memory": memory, "cpu": cpu_seconds})
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.documents",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env=_child_environment(),
    )
    try:
        out, _ = await asyncio.wait_for(
            proc.communicate(request.encode() + b"\n" + data), wall_seconds
        )
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
        log.warning("document cleaner stopped: out of time")
        return _unknown(data, _extension(name), mime, 1)
    if proc.returncode != 0:
        log.warning("document cleaner failed: exit %s", proc.returncode)
        return _unknown(data, _extension(name), mime, 1)
    try:
        return _decode_answer(out)
    except (ValueError, KeyError, TypeError):
        log.warning("document cleaner answered garbage")
        return _unknown(data, _extension(name), mime, 1)


def _child_environment() -> dict[str, str]:
    # Not the relay's environment: it may hold passphrases.
    keep = ("PATH", "PYTHONPATH", "LANG", "LC_ALL", "SYSTEMROOT", "COVERAGE_PROCESS_START")
    return {key: os.environ[key] for key in keep if key in os.environ}


def _encode_answer(cleaned: Cleaned) -> bytes:
    head = {
        "name": cleaned.name,
        "mime": cleaned.mime,
        "residue": [r.value for r in cleaned.residue],
        "cleaned": cleaned.cleaned,
    }
    return json.dumps(head).encode() + b"\n" + cleaned.data


def _decode_answer(raw: bytes) -> Cleaned:
    head, sep, data = raw.partition(b"\n")
    if not sep:
        raise ValueError("no header")
    fields = json.loads(head)
    name, mime = fields["name"], fields["mime"]
    if not isinstance(name, str) or not isinstance(mime, str):
        raise TypeError("bad header")
    return Cleaned(
        data=data,
        name=name,
        mime=mime,
        residue=tuple(Residue(r) for r in fields["residue"]),
        cleaned=bool(fields["cleaned"]),
    )


def _limit_self(memory: int, cpu_seconds: int) -> None:
    import resource  # POSIX only; the child alone needs it

    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a crash leaves no core with the file


def _child_main() -> int:
    raw = sys.stdin.buffer.read()
    head, sep, data = raw.partition(b"\n")
    if not sep:
        return 2
    request = json.loads(head)
    _limit_self(int(request["memory"]), int(request["cpu"]))
    logging.disable(logging.CRITICAL)  # nothing about a document reaches any log
    cleaned = clean(data, name=str(request["name"]), mime=str(request["mime"]))
    sys.stdout.buffer.write(_encode_answer(cleaned))
    sys.stdout.buffer.flush()
    return 0


if __name__ == "__main__":  # pragma: no cover - run by clean_isolated
    sys.exit(_child_main())
