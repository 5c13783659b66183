"""`writein handler rotate`: a case officer's new keys, the admin's certificate, every wrap moved.

Run twice on the officer's machine, with the admin's step in between::

    writein handler rotate             # 1. new keys in KEY.next; wraps copied to them;
                                       #    prints the public bundle for the admin
    writein admin renew-handler NAME --public-key FILE      # 2. the admin certifies it
    writein handler rotate             # 3. what arrived meanwhile is copied too; the old
                                       #    wraps are deleted and KEY.next replaces KEY

Only wraps change: each envelope's data key is re-wrapped from the old encryption key to
the new one (crypto.rewrap, after checking the sender's signature); the signed core —
header, body, signature — is not touched. The new key file is sealed under the same
passphrase and Argon2id cost as the old one. A crash anywhere is finished by running
the command again: step 1 resumes with the existing KEY.next, and step 3 deletes the old
wraps before the old key file is replaced.

The relay re-reads certificates every few seconds, so step 3 waits until the admin's
certificate is :data:`SETTLE_SECONDS` old: a message sealed to the old key in that
window is still copied before the old key goes.
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Final

from core.bundle import bundle_fingerprint
from crypto import (
    Certificate,
    CryptoError,
    Envelope,
    SigningPublicKey,
    rewrap,
)
from store import Direction as StoreDirection
from store.keyfiles import key_file_params

from ._errors import ConsoleError, KeyProblem, NotCertifiedError, translating
from .identity import HandlerIdentity, write_identity
from .session import Workspace, unlock_key

__all__ = [
    "SETTLE_SECONDS",
    "HandlerRotation",
    "RotationStage",
    "next_key_path",
    "rotate_handler_key",
]

SETTLE_SECONDS: Final = 30.0
_BATCH: Final = 200


class RotationStage(StrEnum):
    AWAITING_CERTIFICATE = "awaiting-certificate"
    FINISHED = "finished"


@dataclass(frozen=True)
class HandlerRotation:
    stage: RotationStage
    name: str
    #: The new public bundle and its fingerprint, for the admin (stage 1).
    bundle: bytes
    fingerprint: str
    #: Envelopes given a wrap for the new key in this run.
    rewrapped: int
    #: Envelopes with an old wrap that did not verify, so could not be moved.
    unreadable: int
    key_version: int | None = None


def next_key_path(key_file: Path) -> Path:
    return key_file.with_name(key_file.name + ".next")


def _same(cert: Certificate, identity: HandlerIdentity) -> bool:
    return (
        cert.encryption_key.raw == identity.encryption.public.raw
        and cert.signing_key.raw == identity.signing.public.raw
    )


async def _signers(workspace: Workspace) -> dict[StoreDirection, list[SigningPublicKey]]:
    """Who may have signed each direction: the relay (every version) for intake; every
    handler, active or revoked, with every key they ever had, for replies and notes."""
    handlers = list(workspace.signers.handlers)  # past and revoked certificates included
    return {
        StoreDirection.IN: list(workspace.signers.relay),
        StoreDirection.OUT: handlers,
        StoreDirection.NOTE: handlers,
    }


async def _copy_wraps(
    workspace: Workspace, old: HandlerIdentity, new: HandlerIdentity
) -> tuple[int, int]:
    """Give every envelope the old key opens in the officer's cases a wrap for the new key.

    Returns (re-wrapped, unreadable).
    """
    store = workspace.local_store("writein handler rotate")
    signers = await _signers(workspace)
    done = failed = 0
    roster = workspace.trust.roster
    mine = (
        [] if roster is None else [c for c in roster.case_ids() if old.name in roster.assigned(c)]
    )
    for case_id in mine:
        cursor: int | None = None
        while envelopes := await store.list_envelopes_lacking_wrap(
            new.key_id, case_id=case_id, after_seq=cursor, limit=_BATCH, wraps=old.key_id
        ):
            cursor = envelopes[-1].seq
            fresh: dict[bytes, bytes] = {}
            for envelope in envelopes:
                if old.key_id not in envelope.wraps:
                    continue  # from before this officer was assigned: never theirs
                try:
                    moved = rewrap(
                        Envelope(envelope.core, envelope.wraps),
                        recipient=old.encryption,
                        new_recipients=[new.encryption.public],
                        trusted_signers=signers[envelope.direction],
                    )
                except CryptoError:
                    failed += 1
                    continue
                fresh[envelope.message_id] = moved.wraps[new.key_id]
            if fresh:
                async with store.transaction() as tx:
                    for message_id, wrap in fresh.items():
                        await tx.add_wraps(message_id, {new.key_id: wrap})
            done += len(fresh)
    return done, failed


def _replace_key_file(next_path: Path, key_file: Path) -> None:
    os.replace(next_path, key_file)  # the old key is gone with its directory entry
    fd = os.open(key_file.parent, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


async def rotate_handler_key(
    workspace: Workspace,
    key_file: Path,
    passphrase: bytes,
    *,
    force: bool = False,
    settle_seconds: float | None = None,
) -> HandlerRotation:
    """One run of `writein handler rotate` (see the module docstring for the steps).

    ``settle_seconds``: how old the admin's certificate must be before the old key goes
    (default :data:`SETTLE_SECONDS`).
    """
    await workspace.reload()
    old = await unlock_key(key_file, passphrase)
    next_path = next_key_path(key_file)
    cert = workspace.trust.handlers.get(old.name)
    if cert is None:
        raise NotCertifiedError(f"{old.name!r} is not an active, certified handler here")
    if await asyncio.to_thread(next_path.exists):
        new = await unlock_key(next_path, passphrase)
        if new.name != old.name:
            raise KeyProblem(f"{next_path} holds the key of another handler")
    elif _same(cert, old):
        new = HandlerIdentity.generate(old.name)
        with translating(key_file=next_path):
            params = key_file_params(key_file)
            await asyncio.to_thread(write_identity, next_path, new, passphrase, argon2=params)
    else:
        raise NotCertifiedError(
            f"{key_file} is not the key certified for {old.name!r}: nothing to rotate"
        )
    bundle = new.bundle()
    if _same(cert, old):
        done, failed = await _copy_wraps(workspace, old, new)
        return HandlerRotation(
            RotationStage.AWAITING_CERTIFICATE,
            old.name,
            bundle,
            bundle_fingerprint(bundle),
            done,
            failed,
        )
    if not _same(cert, new):
        raise NotCertifiedError(
            f"the store certifies neither {key_file} nor {next_path} for {old.name!r}:"
            " ask the admin"
        )
    settle = cert.issued + (SETTLE_SECONDS if settle_seconds is None else settle_seconds)
    settle -= time.time()
    if settle > 0:
        await asyncio.sleep(settle)
    done, failed = await _copy_wraps(workspace, old, new)
    if failed and not force:
        raise ConsoleError(
            f"{failed} message(s) did not verify and could not be moved to the new key; the "
            "old key is kept. Run again with --force to give them up"
        )
    async with workspace.local_store("writein handler rotate").transaction() as tx:
        await tx.delete_wraps(old.key_id)
        await tx.append_audit(
            f"handler {old.name}", "rotate-key", detail=f"handler key v{cert.key_version}"
        )
    await asyncio.to_thread(_replace_key_file, next_path, key_file)
    return HandlerRotation(
        RotationStage.FINISHED,
        old.name,
        bundle,
        bundle_fingerprint(bundle),
        done,
        failed,
        key_version=cert.key_version,
    )
