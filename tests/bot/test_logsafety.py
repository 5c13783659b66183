"""bot/logsafety.py on its own: every form of the token is redacted, and no library logs a
DEBUG line (Pillow's EXIF values above all) when the relay runs at DEBUG."""

from __future__ import annotations

import io
import logging
import urllib.parse
from collections.abc import Iterator

import pytest
from PIL import Image

from bot.logsafety import REDACTED, RedactingFormatter, setup_logging
from bot.media import strip_image_metadata

from .photos import phone_exif

TOKEN = "7012345678:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0"
SECRET = TOKEN.split(":", 1)[1]
# A token the formatter was not told about: only the pattern can catch it.
OTHER = "5550001234:AAFzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"
LIBRARIES = ("PIL", "httpx", "httpcore", "aiosqlite", "telegram", "telegram.ext", "aiohttp")
FORMS = ["api URL", "download, %3A", "download, %3a", "download, %253A", "httpx URL", "bytes"]


def encodings(token: str) -> list[str]:
    bot_id, secret = token.split(":", 1)
    quoted = urllib.parse.quote(token, safe="")
    return [
        f"POST https://api.telegram.org/bot{token}/getUpdates",
        f"GET http://127.0.0.1:8081/file/bot{quoted}/documents/file_3.jpg",
        f"GET /file/bot{bot_id}%3a{secret}/photos/file_1.jpg",
        f"GET /file/bot{urllib.parse.quote(quoted, safe='')}/x",
        f"URL('http://h/bot{token}')",
        f"b'/bot{token}/getMe'",
    ]


@pytest.mark.parametrize("line", encodings(TOKEN), ids=FORMS)
def test_a_known_token_is_redacted_in_every_encoding(line: str) -> None:
    text = RedactingFormatter(secrets=[TOKEN]).redact(line)
    assert SECRET not in text and REDACTED in text


@pytest.mark.parametrize("line", encodings(OTHER), ids=FORMS)
def test_an_unknown_token_is_redacted_by_its_shape(line: str) -> None:
    text = RedactingFormatter().redact(line)
    assert OTHER.split(":", 1)[1] not in text and REDACTED in text


def test_the_secret_half_is_redacted_when_split_from_the_bot_id() -> None:
    line = f"base_url=http://h/bot7012345678 path=:{SECRET}/getUpdates, again {SECRET}"
    text = RedactingFormatter(secrets=[TOKEN]).redact(line)
    assert SECRET not in text


def test_a_token_added_later_is_redacted_in_every_encoding() -> None:
    formatter = RedactingFormatter(secrets=[TOKEN])
    new = "7012345678:AAG-new-token-after-revoke-0123456789"
    formatter.add_secret(new)
    for line in encodings(new):
        assert new.split(":", 1)[1] not in formatter.redact(line)


def test_other_text_is_left_alone() -> None:
    line = "relay running (key set v3); update 123456789 processed in 0.25 s"
    assert RedactingFormatter(secrets=[TOKEN]).redact(line) == line


@pytest.fixture
def relay_logging() -> Iterator[io.StringIO]:
    """The process's logging as setup_logging leaves it at DEBUG, writing to a buffer;
    restored afterwards (pytest's own handlers included)."""
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    names = (*LIBRARIES, "httpx", "aiohttp.access", "hpack", "h2", "PIL.TiffImagePlugin")
    saved_levels = {name: logging.getLogger(name).level for name in names}
    out = io.StringIO()
    root.handlers = [logging.StreamHandler(out)]
    try:
        setup_logging(logging.DEBUG, secrets=[TOKEN])
        yield out
    finally:
        logging.captureWarnings(False)
        root.handlers = saved_handlers
        root.setLevel(saved_level)
        for name, level in saved_levels.items():
            logging.getLogger(name).setLevel(level)


def test_at_debug_libraries_stay_at_info_and_writein_logs_debug(relay_logging) -> None:
    for name in LIBRARIES:
        assert logging.getLogger(name).getEffectiveLevel() >= logging.INFO, name
        logging.getLogger(name).debug("library detail %s", name)
    logging.getLogger("some.library.nobody.listed").debug("unlisted library detail")
    logging.getLogger("writein.relay").debug("writein's own detail")
    logging.getLogger("httpx").info("HTTP Request: GET http://h/file/bot%s/x", TOKEN)
    text = relay_logging.getvalue()
    assert "library detail" not in text and "unlisted library detail" not in text
    assert "writein's own detail" in text
    assert "HTTP Request" in text and SECRET not in text


def test_pillow_logs_no_exif_value_at_debug(relay_logging) -> None:
    exif = phone_exif("exifcanary7731", b"gpscanary7731", latitude=(1, 2, 3), longitude=(4, 5, 6))
    original = io.BytesIO()
    Image.new("RGB", (16, 12), "red").save(original, "JPEG", exif=exif)
    strip_image_metadata(original.getvalue())
    text = relay_logging.getvalue()
    assert "exifcanary7731" not in text and "PhoneModel" not in text
