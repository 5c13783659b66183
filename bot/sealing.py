"""Intake sealing: what a source sends becomes a signed envelope for the case's handlers.

Plaintext lives only in memory here, for as long as it takes to seal it. Attachments are
downloaded, cleaned of metadata (images), sealed in chunks under a fresh key, and that key
travels inside the message's own envelope.
"""

from __future__ import annotations

import base64
import os
import time
from dataclasses import dataclass

from admin.keyring import RelayKeys
from core.payload import AttachmentRef, SourceMessage, encode_body
from core.trust import Trust
from crypto import Direction, seal, seal_chunks
from store import Direction as StoreDirection
from store import StoreOperations


class NoRecipients(Exception):
    """No certified, active handler is assigned to the case: nothing can be sealed for it."""


@dataclass(frozen=True)
class SealedAttachmentRows:
    attachment_id: bytes
    chunks: list[bytes]


@dataclass(frozen=True)
class SealedMessage:
    message_id: bytes
    case_id: str
    core: bytes
    wraps: dict[bytes, bytes]
    attachments: tuple[SealedAttachmentRows, ...] = ()

    async def store(self, tx: StoreOperations) -> None:
        await tx.add_envelope(
            self.message_id, self.case_id, StoreDirection.IN, self.core, self.wraps
        )
        for att in self.attachments:
            for index, chunk in enumerate(att.chunks):
                await tx.add_attachment_chunk(att.attachment_id, self.message_id, index, chunk)


def seal_attachment(
    data: bytes, *, name: str, mime: str, stripped: bool
) -> tuple[AttachmentRef, SealedAttachmentRows]:
    sealed = seal_chunks(data)
    ref = AttachmentRef(
        id=sealed.attachment_id.hex(),
        name=name[:255],
        mime=mime[:127],
        size=sealed.size,
        chunks=len(sealed.chunks),
        key=base64.b64encode(sealed.key).decode("ascii"),
        sha256=sealed.sha256.hex(),
        metadata_stripped=stripped,
    )
    return ref, SealedAttachmentRows(sealed.attachment_id, sealed.chunks)


def seal_source_message(
    body: SourceMessage,
    *,
    case_id: str,
    handlers: list[str],
    trust: Trust,
    keys: RelayKeys,
    attachments: tuple[SealedAttachmentRows, ...] = (),
    now: int | None = None,
) -> SealedMessage:
    recipients = trust.encryption_keys(handlers)
    if not recipients:
        raise NoRecipients(case_id)
    message_id = os.urandom(16)
    envelope = seal(
        encode_body(body),
        case_id=case_id,
        direction=Direction.IN,
        recipients=recipients,
        signer=keys.signing,
        message_id=message_id,
        created=int(time.time()) if now is None else now,
    )
    return SealedMessage(message_id, case_id, envelope.core, dict(envelope.wraps), attachments)
