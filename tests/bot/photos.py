"""A phone's EXIF for the media tests: the device, a GPS position and canaries to look for."""

from __future__ import annotations

from PIL import Image

Degrees = tuple[float, float, float]


def phone_exif(
    canary: str,
    gps_canary: bytes,
    *,
    latitude: Degrees,
    longitude: Degrees,
    orientation: int | None = None,
) -> Image.Exif:
    """EXIF as a phone writes it, ``canary`` in ImageDescription and ``gps_canary`` in the
    GPS IFD's GPSProcessingMethod (north and east of ``latitude``, ``longitude``)."""
    exif = Image.Exif()
    exif[0x010E] = f"ImageDescription {canary}"  # ImageDescription
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0110] = "PhoneModel X"  # Model
    if orientation is not None:
        exif[0x0112] = orientation  # Orientation
    exif[0x8825] = {  # GPS IFD
        1: "N",
        2: latitude,
        3: "E",
        4: longitude,
        27: b"ASCII\x00\x00\x00" + gps_canary,  # GPSProcessingMethod
    }
    return exif
