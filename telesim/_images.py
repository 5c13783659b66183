"""Photo processing as Telegram does it: check dimensions, re-encode, make sizes.

Uses Pillow when it is installed (it is for writein); without it a photo is kept
as one opaque size with unknown (0 x 0) dimensions.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

try:
    from PIL import Image, UnidentifiedImageError
except ImportError:  # pragma: no cover - Pillow is optional
    Image = None  # type: ignore[assignment]
    UnidentifiedImageError = OSError  # type: ignore[assignment,misc]

# Telegram's photo size boxes ("s", "m", "x", "y", "w").
_BOXES = (90, 320, 800, 1280, 2560)
_MAX_SIDE_SUM = 10000
_MAX_RATIO = 20


class ImageError(ValueError):
    """A photo Telegram would refuse; the message is Telegram's error code."""


@dataclass(frozen=True, slots=True)
class Size:
    width: int
    height: int
    data: bytes


def photo_sizes(data: bytes) -> list[Size]:
    """The sizes Telegram keeps of an uploaded photo, smallest first."""
    if Image is None:  # pragma: no cover
        return [Size(0, 0, data)]
    try:
        with Image.open(io.BytesIO(data)) as img:
            img.load()
            width, height = img.size
            if width + height > _MAX_SIDE_SUM or max(width, height) > _MAX_RATIO * min(
                width, height
            ):
                raise ImageError("PHOTO_INVALID_DIMENSIONS")
            rgb = img.convert("RGB")
    except (
        UnidentifiedImageError,
        OSError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,  # an exception when warnings are errors
    ) as exc:
        raise ImageError("IMAGE_PROCESS_FAILED") from exc
    sizes: list[Size] = []
    for box in _BOXES:
        scaled = rgb.copy()
        scaled.thumbnail((box, box))
        sizes.append(Size(scaled.width, scaled.height, _jpeg(scaled)))
        if max(width, height) <= box:
            break
    return sizes


def _jpeg(img: Image.Image) -> bytes:
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=87)
    return out.getvalue()
