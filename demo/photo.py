"""The demo's photo: a JPEG a phone could have taken, GPS and camera EXIF included.

It carries a random canary string in its EXIF description, so the demo can show that the
copy a case officer exports has no EXIF at all, and that neither copy nor store holds the
canary.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, ImageDraw
from PIL.TiffImagePlugin import IFDRational

_GPS_IFD = 0x8825
_MAKE, _MODEL, _DESCRIPTION, _DATETIME = 0x010F, 0x0110, 0x010E, 0x0132
# Somewhere in central Moscow, as degrees, minutes, seconds.
LATITUDE = (55, 45, 20.88)
LONGITUDE = (37, 37, 2.04)


def make_photo(canary: str) -> bytes:
    """A 640×420 "photographed document" with GPS, camera and canary EXIF."""
    img = Image.new("RGB", (640, 420), (246, 244, 236))
    draw = ImageDraw.Draw(img)
    draw.rectangle((30, 24, 610, 396), outline=(90, 90, 100), width=3)
    for y in range(70, 380, 22):
        draw.line((60, y, 580 - (y * 7) % 160, y), fill=(60, 60, 70), width=3)
    draw.ellipse((470, 300, 570, 380), outline=(30, 60, 160), width=4)  # a stamp
    exif = Image.Exif()
    exif[_MAKE] = "DemoPhone"
    exif[_MODEL] = "DP-7 Pro"
    exif[_DESCRIPTION] = canary
    exif[_DATETIME] = "2026:03:14 09:26:53"
    gps = exif.get_ifd(_GPS_IFD)
    gps[1] = "N"
    gps[2] = tuple(_rational(v) for v in LATITUDE)
    gps[3] = "E"
    gps[4] = tuple(_rational(v) for v in LONGITUDE)
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=85, exif=exif)
    return out.getvalue()


def _rational(value: float) -> IFDRational:
    return IFDRational(round(value * 100), 100)


@dataclass(frozen=True)
class ExifSummary:
    tags: int
    gps: str | None
    camera: str | None

    def describe(self) -> str:
        if not self.tags:
            return "no EXIF at all"
        parts = [f"{self.tags} EXIF tags"]
        if self.gps:
            parts.append(f"GPS {self.gps}")
        if self.camera:
            parts.append(f"camera {self.camera}")
        return ", ".join(parts)


def read_exif(data: bytes) -> ExifSummary:
    """What EXIF an image file carries (count, GPS position, camera)."""
    with Image.open(io.BytesIO(data)) as img:
        exif = img.getexif()
        gps = exif.get_ifd(_GPS_IFD)
        tags = len(exif) + len(gps)
        position = None
        if 2 in gps and 4 in gps:
            north, east = gps.get(1, ""), gps.get(3, "")
            position = f"{_degrees(gps[2]):.4f}{north} {_degrees(gps[4]):.4f}{east}"
        camera = " ".join(str(exif[t]) for t in (_MAKE, _MODEL) if t in exif) or None
        return ExifSummary(tags, position, camera)


def _degrees(dms: tuple[float, float, float]) -> float:
    d, m, s = (float(v) for v in dms)
    return d + m / 60 + s / 3600
