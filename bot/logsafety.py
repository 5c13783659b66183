"""Logging that cannot leak: the bot token and Telegram identities stay out of every log line.

Two rules, both applied by ``setup_logging`` (docs/threat-model.md, P1):

- **Redaction.** One formatter redacts the final text of each record, tracebacks included,
  rather than trusting every call site. The token reaches logs in more than one form:
  httpx logs request URLs (``/bot<token>/getUpdates``) at INFO, and python-telegram-bot
  percent-encodes a file's download URL, so a download is logged as
  ``/file/bot7012345678%3AAAH…/documents/file_3.jpg``; NetworkError messages can quote
  either. The token's secret half is letters, digits, ``_`` and ``-``, which URL encoding
  never changes: redacting that half wherever it stands catches the token plain, encoded
  once or twice, inside a path, and split from its bot id.
- **No third-party DEBUG.** Libraries log content at DEBUG: python-telegram-bot whole
  request and response bodies (user ids, names, message text), Pillow the values of EXIF
  tags of every image it reads (descriptions, device, GPS), aiosqlite every statement
  with its parameters, httpcore response headers. At ``--log-level debug`` only writein's
  own loggers (``writein.*``) log DEBUG lines; every other logger stays at INFO or above,
  by its level and again by a filter on the handlers, for loggers nobody listed.
"""

from __future__ import annotations

import logging
import re
import urllib.parse
from collections.abc import Iterable

# A Telegram bot token: the bot's numeric id, a colon (or its percent-encoding, once or
# twice), and a secret of 35 characters. No \b before the id: in a URL it follows "bot".
_TOKEN = re.compile(r"(?<![0-9])[0-9]{5,}(?::|%3[Aa]|%253[Aa])[A-Za-z0-9_-]{30,}")
# The secret half of a known token, on its own (URL encoding leaves it as it is).
_SECRET_HALF = re.compile(r"[0-9]{5,}:([A-Za-z0-9_-]{30,})")
# Loggers that print URLs (with the token) at INFO: quiet unless the relay runs at DEBUG.
_URL_LOGGERS = ("httpx", "aiohttp.access")
# Libraries that can log content, identities, URLs or headers below INFO; they never do,
# whatever level the relay runs at. The handler filter below catches any other library.
_NEVER_DEBUG = (
    "telegram",  # python-telegram-bot: whole updates and request bodies at DEBUG
    "PIL",  # Pillow: EXIF tag values (ImageDescription, Make, Model, GPS) at DEBUG
    "httpx",
    "httpcore",  # request and response headers at DEBUG
    "hpack",
    "h2",
    "aiosqlite",  # every statement with its parameters (sealed blobs, lookup hashes)
    "aiohttp",  # the webhook server: request lines (paths, addresses) and its internals
)
OWN_LOGGERS = "writein"
REDACTED = "[redacted]"


def secret_forms(secret: str) -> list[str]:
    """What to redact for ``secret``: itself, its URL encoding and, for a bot token, the
    secret half alone (which every URL encoding of the token contains unchanged)."""
    forms = [secret, urllib.parse.quote(secret, safe="")]
    half = _SECRET_HALF.fullmatch(secret)
    if half is not None:
        forms.append(half.group(1))
    return [f for f in dict.fromkeys(forms) if f]


class RedactingFormatter(logging.Formatter):
    """Formats as usual, then removes anything that looks like a token, and given secrets."""

    def __init__(self, fmt: str | None = None, secrets: Iterable[str] = ()) -> None:
        super().__init__(fmt)
        self._secrets: list[str] = []
        for secret in secrets:
            self.add_secret(secret)

    def add_secret(self, secret: str) -> None:
        for form in secret_forms(secret) if secret else ():
            if form not in self._secrets:
                self._secrets.append(form)
        # Longest first, so that a whole token goes before its secret half.
        self._secrets.sort(key=len, reverse=True)

    def format(self, record: logging.LogRecord) -> str:
        return self.redact(super().format(record))

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return _TOKEN.sub(REDACTED, text)


class OwnDebugOnly(logging.Filter):
    """Below INFO, only writein's own loggers pass: no library's DEBUG line reaches a log,
    also from a logger that no one thought to quiet."""

    def filter(self, record: logging.LogRecord) -> bool:
        name = record.name
        own = name == OWN_LOGGERS or name.startswith(OWN_LOGGERS + ".")
        return own or record.levelno >= logging.INFO


def setup_logging(level: int = logging.INFO, secrets: Iterable[str] = ()) -> RedactingFormatter:
    """Install the redacting formatter on every root handler (adding one on stderr if none)."""
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.StreamHandler())
    formatter = RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", secrets)
    for handler in root.handlers:
        handler.setFormatter(formatter)
        if not any(isinstance(f, OwnDebugOnly) for f in handler.filters):
            handler.addFilter(OwnDebugOnly())
    root.setLevel(level)
    # Warnings (python-telegram-bot's among them) go through the same formatter.
    logging.captureWarnings(True)
    for name in _NEVER_DEBUG:
        logging.getLogger(name).setLevel(max(level, logging.INFO))
    # httpx logs every request URL at INFO: at DEBUG they help, and the formatter redacts
    # the token in them; otherwise they are noise.
    for name in _URL_LOGGERS:
        quiet = logging.INFO if level <= logging.DEBUG else max(level, logging.WARNING)
        logging.getLogger(name).setLevel(quiet)
    logging.getLogger("writein.logging").debug(
        "logging at DEBUG: writein's loggers only; other libraries at INFO or above; "
        "tokens redacted"
    )
    return formatter
