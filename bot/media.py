"""Images from sources, stripped of everything but their pixels.

A phone photo carries the source's location (EXIF GPS), the phone's make,
model and serial, the capture time, editing software (XMP), and colour
profiles whose description strings can name a device. `strip_image_metadata`
decodes a JPEG, PNG, WebP or TIFF (and HEIC, see below) with Pillow, turns it upright by its EXIF
orientation, copies only the pixels into a brand-new image and encodes that
again, so no metadata block of the original can survive. JPEGs are encoded
with Pillow's standard quantisation tables, not the camera's (those tables
fingerprint the camera model). Colour profiles are applied (converted to
sRGB) and then dropped.

What this cannot remove: the picture itself (faces, screens, documents,
reflections) and the sensor noise pattern that forensic tools can match to
a camera. Handlers should know this; sources are told to think about what a
picture shows.

HEIC (iPhones) is read only if pillow-heif is installed, and comes out as a
JPEG: writein never encodes HEIC. TIFF keeps only the tags that describe its
pixels (`_assert_clean`); multi-page TIFFs are refused.

Decoding is limited to these formats (Pillow's other plugins never see
the bytes) and to `DEFAULT_MAX_PIXELS` pixels, so a decompression bomb is
refused before its pixels are allocated. Failures raise one of:

    MediaError            root of this module's errors
    ├── NotAnImage        not a JPEG/PNG/WebP/TIFF/HEIC, or corrupt/truncated
    ├── ImageTooLarge     more pixels than allowed (decompression bomb)
    └── UnsupportedImage  decodable but refused (animated images, multi-page TIFF)

`sniff_mime` names a few file types from their first bytes, for choosing
what to do with an upload; it never trusts a file name or Telegram's
``mime_type``.

Both are CPU-bound: call them from a worker thread, not the event loop.
"""

from __future__ import annotations

import io
from typing import Final

from PIL import Image, ImageCms, ImageOps

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "ImageTooLarge",
    "MediaError",
    "NotAnImage",
    "UnsupportedImage",
    "sniff_mime",
    "strip_image_metadata",
]

DEFAULT_MAX_PIXELS: Final = 64_000_000
"""64 megapixels: a full-resolution 48/50 MP phone photo fits, a bomb does not."""


def _heif_opener() -> tuple[str, ...]:
    try:
        import pillow_heif  # optional: without it HEIC is refused
    except ImportError:  # pragma: no cover - it is a dependency; the relay copes without it
        return ()
    pillow_heif.register_heif_opener()
    return ("HEIF",)


_FORMATS: Final = ("JPEG", "PNG", "WEBP", "TIFF", *_heif_opener())
# Formats encoded as another: HEIC becomes a JPEG (consoles open it; no HEVC encoder needed).
_OUTPUT: Final = {"HEIF": "JPEG"}
# TIFF tags that describe the pixels; any other tag (Artist, Make, Software, DateTime,
# GPS, EXIF, XMP, IPTC, ImageDescription...) is metadata.
_TIFF_PIXEL_TAGS: Final = frozenset(
    {254, 256, 257, 258, 259, 262, 273, 274, 277, 278, 279, 282, 283, 284, 296, 317, 320, 338, 339}
)
_JPEG_QUALITY: Final = 90
_WEBP_QUALITY: Final = 90
# Keys Pillow may report for a clean re-encoded file; anything else is metadata.
_ALLOWED_INFO: Final = frozenset(
    {"jfif", "jfif_version", "jfif_unit", "jfif_density", "dpi", "loop", "background"}
)
_METADATA_INFO: Final = frozenset(
    {"exif", "icc_profile", "xmp", "XML:com.adobe.xmp", "comment", "photoshop", "adobe"}
)


class MediaError(Exception):
    """Root of the errors raised by `bot.media`."""


class NotAnImage(MediaError):
    """The bytes are not a JPEG, PNG or WebP image that decodes cleanly."""


class ImageTooLarge(MediaError):
    """The image has more pixels than allowed (possible decompression bomb)."""


class UnsupportedImage(MediaError):
    """The image decodes but is of a kind writein refuses (e.g. animated)."""


def strip_image_metadata(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> bytes:
    """Return *data* re-encoded in the same format with all metadata removed.

    The result shows the same picture, upright, with the same size (after
    EXIF rotation). Raises `NotAnImage`, `ImageTooLarge` or `UnsupportedImage`.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError(f"strip_image_metadata expects bytes, not {type(data).__name__}")
    if max_pixels < 1:
        raise ValueError("max_pixels must be positive")
    source = _open(bytes(data), max_pixels)
    try:
        fmt = source.format
        if fmt not in _FORMATS:  # pragma: no cover - Image.open(formats=...) guarantees it
            raise NotAnImage("unsupported image format")
        if getattr(source, "n_frames", 1) > 1:
            raise UnsupportedImage("animated images are not supported")
        try:
            source.load()
        except Image.DecompressionBombError as exc:
            raise ImageTooLarge("image has too many pixels") from exc
        except Exception as exc:
            raise NotAnImage("image data is corrupt or truncated") from exc
        picture = _upright(source)
        picture = _to_srgb(picture, source.info.get("icc_profile"))
        fmt = _OUTPUT.get(fmt, fmt)
        picture = _plain_mode(picture, fmt, has_transparency="transparency" in source.info)
        clean = Image.new(picture.mode, picture.size)
        clean.paste(picture)
    finally:
        source.close()
    out = _encode(clean, fmt)
    _assert_clean(out, fmt)
    return out


def _open(data: bytes, max_pixels: int) -> Image.Image:
    # Pillow warns (or, where warnings are errors, raises) past its own global
    # MAX_IMAGE_PIXELS and raises past twice that; our own, lower limit follows.
    # warnings.catch_warnings is not used: it is not thread-safe.
    try:
        image = Image.open(io.BytesIO(data), formats=_FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageTooLarge("image has too many pixels") from exc
    except Exception as exc:
        raise NotAnImage("not a JPEG, PNG or WebP image") from exc
    width, height = image.size
    if width < 1 or height < 1 or width * height > max_pixels:
        image.close()
        raise ImageTooLarge(f"image has {width}x{height} pixels, limit {max_pixels}")
    return image


def _upright(image: Image.Image) -> Image.Image:
    """Apply the EXIF orientation; a corrupt EXIF block leaves the image as it is."""
    try:
        upright = ImageOps.exif_transpose(image)
    except Exception:
        return image
    return upright if upright is not None else image


def _to_srgb(image: Image.Image, icc: object) -> Image.Image:
    """Convert pixels from an embedded colour profile to sRGB, so dropping it keeps colours."""
    if not isinstance(icc, bytes) or not icc or image.mode not in ("RGB", "RGBA", "CMYK"):
        return image
    out_mode = "RGBA" if image.mode == "RGBA" else "RGB"
    try:
        converted = ImageCms.profileToProfile(
            image,
            ImageCms.ImageCmsProfile(io.BytesIO(icc)),
            ImageCms.createProfile("sRGB"),
            outputMode=out_mode,
        )
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return image
    return converted if converted is not None else image


def _plain_mode(image: Image.Image, fmt: str, *, has_transparency: bool) -> Image.Image:
    """Bring the pixels into a mode the output format writes without side information."""
    mode = image.mode
    if fmt == "JPEG":
        return image if mode in ("L", "RGB") else image.convert("RGB")
    if fmt == "PNG" and mode in ("L", "LA", "RGB", "RGBA", "I;16", "I") and not has_transparency:
        return image
    if fmt == "PNG" and mode == "1":
        return image.convert("L")
    if fmt in ("WEBP", "TIFF") and mode in ("RGB", "RGBA"):
        return image
    if fmt == "TIFF" and mode in ("1", "L"):
        return image
    alpha = has_transparency or "A" in mode
    return image.convert("RGBA" if alpha else "RGB")


def _encode(image: Image.Image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    if fmt == "JPEG":
        image.save(buffer, "JPEG", quality=_JPEG_QUALITY, optimize=True, exif=b"")
    elif fmt == "PNG":
        image.save(buffer, "PNG", optimize=False)
    elif fmt == "TIFF":
        image.save(buffer, "TIFF", compression="group4" if image.mode == "1" else "tiff_lzw")
    else:
        image.save(buffer, "WEBP", quality=_WEBP_QUALITY, exif=b"", xmp="", icc_profile="")
    return buffer.getvalue()


def _assert_clean(data: bytes, fmt: str) -> None:
    """Belt and braces: read our own output back and refuse it if anything but pixels is there."""
    with Image.open(io.BytesIO(data), formats=(fmt,)) as check:
        leaked = set(check.info) & _METADATA_INFO
        unknown = set(check.info) - _ALLOWED_INFO
        text = getattr(check, "text", None)
        tags = set(check.getexif())
        if fmt == "TIFF":  # a TIFF's own structure is in its tags
            tags -= _TIFF_PIXEL_TAGS
            unknown -= {"compression", "dpi", "resolution"}
        if leaked or unknown or tags or text:
            raise MediaError("re-encoded image still carries metadata")


def sniff_mime(data: bytes) -> str:
    """Name the type of *data* from its first bytes; ``application/octet-stream`` if unknown."""
    head = bytes(data[:64])
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head[4:8] == b"ftyp":
        return _sniff_ftyp(head[8:12])
    if head.startswith(b"OggS"):
        return "audio/ogg"
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "application/zip"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "image/tiff"
    if head.startswith(b"\x1f\x8b"):
        return "application/gzip"
    if head.startswith(b"\x1aE\xdf\xa3"):
        return "video/webm"
    if head.startswith((b"ID3", b"\xff\xfb", b"\xff\xf3", b"\xff\xf2")):
        return "audio/mpeg"
    if _looks_like_text(bytes(data[:4096])):
        return "text/plain"
    return "application/octet-stream"


_HEIF_BRANDS: Final = frozenset({b"heic", b"heix", b"heim", b"heis", b"mif1", b"msf1", b"hevc"})
_AVIF_BRANDS: Final = frozenset({b"avif", b"avis"})


def _sniff_ftyp(brand: bytes) -> str:
    if brand in _HEIF_BRANDS:
        return "image/heic"
    if brand in _AVIF_BRANDS:
        return "image/avif"
    if brand == b"qt  ":
        return "video/quicktime"
    if brand in (b"M4A ", b"M4B "):
        return "audio/mp4"
    return "video/mp4"


def _looks_like_text(sample: bytes) -> bool:
    if not sample or b"\x00" in sample:
        return False
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut off at the end of the sample is still text.
        return exc.start >= len(sample) - 3 and exc.reason == "unexpected end of data"
    return True
