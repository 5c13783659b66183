"""Admin operations on the relay's trust: enrolling, renewing and revoking handlers; the token.

The organisation key certifies each handler's public keys; the certificate is what the
store keeps, and what the relay and every console check before trusting a key. Every
change here is signed into the roster with the organisation key (ADR 0076), written to
the audit log (actor ``admin``) and marks the trust as changed (setting ``trust.changed``),
so a running relay can re-read it at once.
"""

from __future__ import annotations

import contextlib
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from admin.roster import org_roster, sign
from core.config import Config
from core.errors import WriteinError
from crypto import (
    CryptoError,
    EncryptionPublicKey,
    Envelope,
    Role,
    SigningKeyPair,
    SigningPublicKey,
    certify,
    unverified_header,
)
from store import CaseFlag, NotFoundError, Store, StoreOperations
from store.keyfiles import write_key_file

__all__ = [
    "AdminError",
    "Revocation",
    "check_token",
    "enrol_handler",
    "renew_handler",
    "revoke_handler",
    "write_token",
]

_TOKEN: Final = re.compile(r"[0-9]{1,20}:[A-Za-z0-9_-]{1,128}")
_BACKLOG_PAGE: Final = 500


class AdminError(WriteinError):
    """An admin operation refused; the message says why and what to do instead."""


def _certify(
    org: SigningKeyPair,
    name: str,
    encryption: EncryptionPublicKey,
    signing: SigningPublicKey,
    *,
    key_version: int,
    now: int | None,
) -> bytes:
    return certify(
        org,
        role=Role.HANDLER,
        name=name,
        encryption_key=encryption,
        signing_key=signing,
        issued=int(time.time()) if now is None else now,
        key_version=key_version,
    )


async def enrol_handler(
    store: Store,
    org: SigningKeyPair,
    name: str,
    encryption: EncryptionPublicKey,
    signing: SigningPublicKey,
    *,
    default_intake: bool = False,
    key_version: int = 1,
    now: int | None = None,
) -> bytes:
    """Certify a handler's keys, sign them into the roster and record them; returns the
    certificate."""
    cert = _certify(org, name, encryption, signing, key_version=key_version, now=now)
    async with store.transaction() as tx:
        roster = await org_roster(tx, org.public)
        await tx.add_handler(name, cert, default_intake=default_intake)
        await sign(tx, roster, org, "enrol", certificate=cert.hex())
        if default_intake:
            await sign(tx, roster, org, "intake", names=sorted({*roster.intake_list(), name}))
        await tx.append_audit("admin", "add-handler", detail=name)
    return cert


async def renew_handler(
    store: Store,
    org: SigningKeyPair,
    name: str,
    encryption: EncryptionPublicKey,
    signing: SigningPublicKey,
    *,
    now: int | None = None,
) -> bytes:
    """Certify a handler's new keys (`writein handler rotate`) in place of their current ones.

    Refused while a reply the handler signed with the current key waits for delivery:
    from this moment the relay trusts only the new key's signatures.
    """
    async with store.transaction() as tx:
        roster = await org_roster(tx, org.public)
        current = roster.officers().get(name)
        if current is None:
            raise AdminError(f"no active handler named {name!r}")
        if current.encryption_key.raw == encryption.raw or current.signing_key.raw == signing.raw:
            raise AdminError(f"these are the keys {name!r} already has: nothing to renew")
        waiting = await _replies_signed_by(tx, current.signing_key)
        if waiting:
            raise AdminError(
                f"{waiting} repl{'y' if waiting == 1 else 'ies'} by {name!r} still wait for "
                "delivery under the current key; try again once they are sent"
            )
        cert = _certify(
            org, name, encryption, signing, key_version=current.key_version + 1, now=now
        )
        await sign(tx, roster, org, "renew", certificate=cert.hex())
        await tx.set_handler_certificate(name, cert)
        await tx.append_audit("admin", "renew-handler", detail=name)
    return cert


async def _replies_signed_by(store: StoreOperations, key: SigningPublicKey) -> int:
    found = 0
    after: int | None = None
    while page := await store.list_outbox_backlog(after_id=after, limit=_BACKLOG_PAGE):
        for item in page:
            try:
                envelope = Envelope.from_bytes(item.envelope or b"")
                signer = unverified_header(envelope.core).signer_key_id
            except (CryptoError, ValueError):
                continue
            if signer == key.key_id:
                found += 1
        after = page[-1].outbox_id
    return found


@dataclass(frozen=True)
class Revocation:
    name: str
    #: The handler's cases, all now flagged for reassignment.
    cases: int
    #: Cases no other active handler could read; the intake handlers now get new messages.
    orphaned: int
    intake: tuple[str, ...]


async def revoke_handler(
    store: Store, org: SigningKeyPair, name: str, *, force: bool = False
) -> Revocation:
    """Revoke a handler: no new wraps for them from now on; their cases need reassignment.

    Cases only they could read would get no new messages either, so those are assigned
    to the intake handlers too (for what arrives from now on); unless ``force``, such
    cases refuse the revocation, because nobody could pass their history on afterwards.
    The revocation is signed into the roster, so no write to the store can undo it.
    """
    async with store.transaction() as tx:
        roster = await org_roster(tx, org.public)
        if name in roster.revoked():
            raise AdminError(f"{name!r} is already revoked")
        if name not in roster.officers():
            raise AdminError(f"no handler named {name!r}")
        cases = roster.cases_of(name)
        orphans = [c for c in cases if roster.assigned(c) == {name}]
        if orphans and not force:
            raise AdminError(
                f"{name!r} is the only handler who can read {len(orphans)} case(s); have them "
                "hand the cases over first (writein console assign CASE OTHER --hand-over), "
                "or pass --force"
            )
        await sign(tx, roster, org, "revoke", name=name)
        intake = tuple(roster.intake_handlers())
        if orphans and not intake:
            raise AdminError(f"{name!r} is the last active handler: enrol another one first")
        with contextlib.suppress(NotFoundError):
            await tx.revoke_handler(name)
        for case_id in cases:
            await tx.set_case_flag(case_id, CaseFlag.NEEDS_REASSIGNMENT, True)
        for case_id in orphans:
            for other in intake:
                await sign(tx, roster, org, "assign", case_id=case_id, name=other)
                await tx.assign_handler(case_id, other)
        await tx.append_audit(
            "admin", "remove-handler", detail=f"{name}; {len(cases)} case(s) to reassign"
        )
    return Revocation(name, len(cases), len(orphans), intake if orphans else ())


# -- the bot token -----------------------------------------------------------------------


def check_token_format(token: str) -> str:
    token = token.strip()
    if not _TOKEN.fullmatch(token):
        raise AdminError("that is not a bot token (BotFather gives one like 123456:ABC-def…)")
    return token


async def check_token(config: Config, token: str) -> int:
    """Ask the configured Bot API who this token belongs to (getMe); returns the bot id."""
    # python-telegram-bot loads here, not with every `writein` command (writein/main.py).
    from telegram import Bot
    from telegram.error import InvalidToken, TelegramError

    token = check_token_format(token)
    bot = Bot(token, base_url=config.telegram.base_url, base_file_url=config.telegram.base_file_url)
    try:
        async with bot:
            return bot.bot.id
    except InvalidToken:
        raise AdminError("Telegram refused the token (getMe: unauthorised)") from None
    except TelegramError as exc:
        # The message of a network error can quote the URL, and so the token: only the type.
        raise AdminError(f"getMe failed: {type(exc).__name__}; the token was not changed") from None


def write_token(path: Path, token: str) -> None:
    """Replace the token file atomically (mode 0600); a relay watching it swaps tokens."""
    write_key_file(path, check_token_format(token).encode("ascii") + b"\n", overwrite=True)
