"""The exceptions raised by writein's crypto.

Every failure to parse, verify or decrypt something that came from outside
(an envelope, a wrap, a certificate) is the same opaque :class:`InvalidEnvelope`
with the same message, so nothing downstream can turn the reason into an
oracle. Mistakes by the calling code (wrong types, a case id that is not
ASCII, weak Argon2 parameters) are ordinary ``TypeError``/``ValueError``.

::

    CryptoError                  root of everything crypto/ raises on purpose
     ├── InvalidEnvelope         envelope, wrap, signature or certificate rejected
     │                           (one message, no reason, no chained cause)
     ├── InvalidKeyFile          key-file blob malformed, unsupported version or
     │                           parameters, or holding another kind of key
     └── WrongPassphrase         the passphrase does not open the key file
                                 (or the file was altered)
"""

from __future__ import annotations

__all__ = ["CryptoError", "InvalidEnvelope", "InvalidKeyFile", "WrongPassphrase"]


class CryptoError(Exception):
    """Root of the exceptions that writein's crypto raises on purpose."""


class InvalidEnvelope(CryptoError):
    """An envelope, wrap, signature or certificate was rejected.

    The message never says why: truncation, a flipped bit, the wrong
    recipient, an untrusted signer and a moved envelope all look the same.
    """

    def __init__(self) -> None:
        super().__init__("invalid envelope")


class InvalidKeyFile(CryptoError):
    """A key-file blob is malformed, of an unsupported format, or of another kind."""


class WrongPassphrase(CryptoError):
    """The passphrase does not open the key file (or the file was altered)."""

    def __init__(self) -> None:
        super().__init__("wrong passphrase, or the key file was altered")
