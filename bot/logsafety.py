"""Logging that cannot leak: the bot token and Telegram identities stay out of every log line.

httpx logs request URLs (which contain the bot token) at INFO, python-telegram-bot logs
request bodies at DEBUG, and NetworkError messages can quote the URL. Rather than trust
every call site, one formatter redacts the final text of each record, tracebacks included.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

# A Telegram bot token: the bot's numeric id, a colon, and a 35-character secret.
_TOKEN = re.compile(r"\b\d{5,}:[A-Za-z0-9_-]{30,}\b")
_QUIET = ("httpx", "httpcore", "hpack", "aiohttp.access")
# python-telegram-bot logs whole request and response bodies at DEBUG: user ids, names and
# message text. Those loggers never go below INFO, whatever level the relay runs at.
# aiosqlite logs every statement with its parameters (sealed blobs, lookup hashes) at DEBUG.
_NEVER_DEBUG = ("telegram", "aiosqlite")
REDACTED = "[redacted]"


class RedactingFormatter(logging.Formatter):
    """Formats as usual, then removes anything that looks like a token, and given secrets."""

    def __init__(self, fmt: str | None = None, secrets: Iterable[str] = ()) -> None:
        super().__init__(fmt)
        self._secrets = [s for s in secrets if s]

    def add_secret(self, secret: str) -> None:
        if secret and secret not in self._secrets:
            self._secrets.append(secret)

    def format(self, record: logging.LogRecord) -> str:
        return self.redact(super().format(record))

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return _TOKEN.sub(REDACTED, text)


def setup_logging(level: int = logging.INFO, secrets: Iterable[str] = ()) -> RedactingFormatter:
    """Install the redacting formatter on every root handler (adding one on stderr if none)."""
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.StreamHandler())
    formatter = RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", secrets)
    for handler in root.handlers:
        handler.setFormatter(formatter)
    root.setLevel(level)
    # httpx logs every request URL (with the token) at INFO: quiet unless debugging, and
    # even then the formatter redacts it.
    for name in _QUIET:
        logging.getLogger(name).setLevel(level if level <= logging.DEBUG else logging.WARNING)
    for name in _NEVER_DEBUG:
        logging.getLogger(name).setLevel(max(level, logging.INFO))
    return formatter
