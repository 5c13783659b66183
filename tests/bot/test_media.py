"""bot.media: images lose every byte of metadata and keep their pixels."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image, ImageChops, ImageCms, PngImagePlugin

from bot.media import (
    DEFAULT_MAX_PIXELS,
    ImageTooLarge,
    MediaError,
    NotAnImage,
    UnsupportedImage,
    sniff_mime,
    strip_image_metadata,
)

from .photos import phone_exif

CANARY = "CANARY-writein-7f3a9c"
GPS_CANARY = b"GPS-CANARY-55.7558N"
XMP = (
    '<x:xmpmeta xmlns:x="adobe:ns:meta/">'
    f"<rdf:Description>XMP-{CANARY}</rdf:Description></x:xmpmeta>"
)


def _exif(orientation: int = 1) -> Image.Exif:
    return phone_exif(
        CANARY,
        GPS_CANARY,
        latitude=(55.0, 45.0, 20.88),
        longitude=(37.0, 37.0, 3.6),
        orientation=orientation,
    )


def _picture(size=(64, 48), mode="RGB") -> Image.Image:
    """Left half red, right half blue: enough structure to see a rotation."""
    image = Image.new(mode, size, "blue")
    image.paste("red", (0, 0, size[0] // 2, size[1]))
    return image


def _srgb_icc() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def _jpeg_with_everything(orientation: int = 1) -> bytes:
    buffer = io.BytesIO()
    _picture().save(
        buffer,
        "JPEG",
        exif=_exif(orientation),
        xmp=XMP.encode(),
        comment=f"COM {CANARY}".encode(),
        icc_profile=_srgb_icc(),
        quality=95,
    )
    return buffer.getvalue()


def _assert_no_metadata(data: bytes) -> None:
    assert CANARY.encode() not in data
    assert GPS_CANARY not in data
    assert b"Exif\x00\x00" not in data
    assert b"http://ns.adobe.com/xap/1.0/" not in data and b"xmpmeta" not in data
    assert b"ICC_PROFILE" not in data and b"iCCP" not in data
    assert b"PhoneModel" not in data
    with Image.open(io.BytesIO(data)) as image:
        exif = image.getexif()
        assert len(exif) == 0
        assert not exif.get_ifd(0x8825)  # no GPS
        assert "exif" not in image.info
        assert "icc_profile" not in image.info
        assert "xmp" not in image.info and "XML:com.adobe.xmp" not in image.info
        assert "comment" not in image.info
        assert not getattr(image, "text", None)


def test_jpeg_fixture_really_carries_the_metadata():
    data = _jpeg_with_everything()
    assert CANARY.encode() in data and GPS_CANARY in data and b"Exif\x00\x00" in data
    with Image.open(io.BytesIO(data)) as image:
        assert image.getexif().get_ifd(0x8825)[1] == "N"


def test_jpeg_gps_exif_xmp_comment_icc_are_gone():
    data = _jpeg_with_everything()
    out = strip_image_metadata(data)
    _assert_no_metadata(out)
    assert sniff_mime(out) == "image/jpeg"
    with Image.open(io.BytesIO(data)) as before, Image.open(io.BytesIO(out)) as after:
        assert after.format == "JPEG"
        assert after.size == before.size
        assert after.mode == before.mode
        # same picture: a lossy re-encode stays close to the original
        diff = ImageChops.difference(before.convert("RGB"), after.convert("RGB"))
        assert max(hi for _, hi in diff.getextrema()) < 40


@pytest.mark.parametrize(
    ("orientation", "size", "top_left"),
    [
        (1, (64, 48), "red"),
        (3, (64, 48), "blue"),  # rotated 180
        (6, (48, 64), "red"),  # rotated 90 clockwise: the left edge is now on top
        (8, (48, 64), "blue"),  # rotated 90 counter-clockwise
    ],
)
def test_exif_orientation_is_applied_before_it_is_dropped(orientation, size, top_left):
    out = strip_image_metadata(_jpeg_with_everything(orientation))
    with Image.open(io.BytesIO(out)) as image:
        assert image.size == size
        assert 0x0112 not in image.getexif()
        red, _green, blue = image.convert("RGB").getpixel((2, 2))
        assert (red > blue) == (top_left == "red")


def test_png_keeps_exact_pixels_and_loses_text_exif_icc():
    picture = _picture(mode="RGBA")
    picture.putpixel((5, 5), (1, 2, 3, 4))
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", CANARY)
    info.add_itxt("XML:com.adobe.xmp", XMP)
    buffer = io.BytesIO()
    picture.save(buffer, "PNG", pnginfo=info, exif=_exif(), icc_profile=_srgb_icc())
    data = buffer.getvalue()
    assert CANARY.encode() in data and GPS_CANARY in data
    out = strip_image_metadata(data)
    _assert_no_metadata(out)
    with Image.open(io.BytesIO(out)) as after:
        assert after.format == "PNG" and after.mode == "RGBA"
        assert after.tobytes() == picture.tobytes()


def test_png_palette_with_transparency_keeps_its_alpha():
    picture = _picture().convert("P")
    buffer = io.BytesIO()
    picture.save(buffer, "PNG", transparency=0)
    out = strip_image_metadata(buffer.getvalue())
    with Image.open(io.BytesIO(out)) as after:
        assert after.mode == "RGBA"
        expected = picture.convert("RGBA")
        assert after.tobytes() == expected.tobytes()


@pytest.mark.parametrize("mode", ["L", "LA", "1", "I;16"])
def test_png_other_modes(mode):
    picture = Image.new(mode, (10, 10), 1)
    buffer = io.BytesIO()
    picture.save(buffer, "PNG")
    out = strip_image_metadata(buffer.getvalue())
    with Image.open(io.BytesIO(out)) as after:
        assert after.size == (10, 10)


def test_webp_exif_xmp_icc_are_gone():
    buffer = io.BytesIO()
    _picture().save(
        buffer, "WEBP", exif=_exif(), xmp=XMP.encode(), icc_profile=_srgb_icc(), quality=95
    )
    data = buffer.getvalue()
    assert CANARY.encode() in data
    out = strip_image_metadata(data)
    _assert_no_metadata(out)
    assert sniff_mime(out) == "image/webp"
    with Image.open(io.BytesIO(out)) as after:
        assert after.size == (64, 48)


def test_cmyk_jpeg_becomes_rgb():
    buffer = io.BytesIO()
    _picture().convert("CMYK").save(buffer, "JPEG")
    out = strip_image_metadata(buffer.getvalue())
    with Image.open(io.BytesIO(out)) as after:
        assert after.mode == "RGB" and after.size == (64, 48)


def test_corrupt_colour_profile_is_simply_dropped():
    buffer = io.BytesIO()
    _picture().save(buffer, "JPEG", icc_profile=b"not a profile " + CANARY.encode())
    out = strip_image_metadata(buffer.getvalue())
    _assert_no_metadata(out)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"hello, this is text",
        b"%PDF-1.7\n...",
        b"\xff\xd8\xff\xe0" + b"\x00" * 20,  # a JPEG header and nothing else
    ],
)
def test_non_images_are_refused(data):
    with pytest.raises(NotAnImage):
        strip_image_metadata(data)


def test_other_image_formats_are_refused():
    for fmt in ("GIF", "BMP"):  # TIFF is cleaned since ADR 0080 (tests/bot/test_documents.py)
        buffer = io.BytesIO()
        _picture().save(buffer, fmt)
        with pytest.raises(NotAnImage):
            strip_image_metadata(buffer.getvalue())


def test_truncated_image_is_refused():
    data = _jpeg_with_everything()
    with pytest.raises(NotAnImage):
        strip_image_metadata(data[: len(data) // 2])


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims a size; no pixel data is needed to be refused."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


@pytest.mark.parametrize(
    ("width", "height"),
    [
        (9000, 9000),  # over our limit, under Pillow's
        (10_000, 10_000),  # over Pillow's warning limit
        (100_000, 100_000),  # over Pillow's hard limit
        (1, 2**31 - 1),
    ],
)
def test_decompression_bombs_are_refused_before_decoding(width, height):
    with pytest.raises(ImageTooLarge):
        strip_image_metadata(_png_header_only(width, height))


def test_explicit_pixel_limit():
    buffer = io.BytesIO()
    _picture((100, 100)).save(buffer, "PNG")
    with pytest.raises(ImageTooLarge):
        strip_image_metadata(buffer.getvalue(), max_pixels=9_999)
    assert strip_image_metadata(buffer.getvalue(), max_pixels=10_000)
    assert DEFAULT_MAX_PIXELS >= 50_000_000
    with pytest.raises(ValueError):
        strip_image_metadata(buffer.getvalue(), max_pixels=0)


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_animated_images_are_refused(fmt):
    frames = [_picture(), _picture().transpose(Image.Transpose.ROTATE_180)]
    buffer = io.BytesIO()
    frames[0].save(buffer, fmt, save_all=True, append_images=frames[1:], duration=100)
    with pytest.raises(UnsupportedImage):
        strip_image_metadata(buffer.getvalue())


def test_errors_share_one_root():
    assert issubclass(NotAnImage, MediaError)
    assert issubclass(ImageTooLarge, MediaError)
    assert issubclass(UnsupportedImage, MediaError)


def test_rejects_non_bytes():
    with pytest.raises(TypeError):
        strip_image_metadata("not bytes")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("data", "mime"),
    [
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "image/png"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"GIF89a\x01\x00", "image/gif"),
        (b"%PDF-1.7\n", "application/pdf"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00", "image/heic"),
        (b"\x00\x00\x00\x18ftypavif\x00\x00", "image/avif"),
        (b"\x00\x00\x00\x18ftypisom\x00\x00", "video/mp4"),
        (b"\x00\x00\x00\x14ftypqt  \x00\x00", "video/quicktime"),
        (b"\x00\x00\x00\x18ftypM4A \x00\x00", "audio/mp4"),
        (b"OggS\x00\x02", "audio/ogg"),
        (b"PK\x03\x04\x14\x00", "application/zip"),
        (b"II*\x00\x08\x00", "image/tiff"),
        (b"\x1f\x8b\x08\x00", "application/gzip"),
        (b"\x1aE\xdf\xa3\x9f", "video/webm"),
        (b"ID3\x04\x00", "audio/mpeg"),
        ("Привет, это просто текст".encode(), "text/plain"),
        ("ж".encode() * 2048 + "ж".encode()[:1], "text/plain"),  # cut mid-character
        (b"\x00\x01\x02\x03", "application/octet-stream"),
        (b"\xc3\x28 not utf-8", "application/octet-stream"),
        (b"", "application/octet-stream"),
    ],
)
def test_sniff_mime(data, mime):
    assert sniff_mime(data) == mime
