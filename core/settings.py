"""Names of the store's settings rows that the relay, the console and admin commands share.

A setting is plain data in the store, never a right: who may read is decided by signed
certificates (core.trust), and these rows only say what changed and where work stands.
"""

from __future__ import annotations

from typing import Final

#: The last Telegram update the relay has stored (its getUpdates offset).
OFFSET_SETTING: Final = "telegram.offset"
#: The relay key set the running relay has loaded; a rotation waits until it is announced.
KEY_VERSION_SETTING: Final = "relay.key_version"
#: Changes (to a random value) whenever a handler is enrolled, renewed or revoked.
TRUST_CHANGED_SETTING: Final = "trust.changed"
#: A delivered quiet reply's relay wrap, kept until it can no longer be read (ADR 0081),
#: one setting per reply (this prefix ‖ message id in hex), and the index of them all.
QUIET_REPLY_SETTING: Final = "quiet-reply."
QUIET_REPLIES_INDEX: Final = "quiet-replies"
#: Environment variables that carry passphrases for unattended runs.
ENV_RELAY_PASSPHRASE: Final = "WRITEIN_RELAY_PASSPHRASE"  # noqa: S105 (a variable name)
ENV_ADMIN_PASSPHRASE: Final = "WRITEIN_ADMIN_PASSPHRASE"  # noqa: S105 (a variable name)
