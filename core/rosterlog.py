"""The signed roster in the store: read it verified, append to it in a transaction.

The store keeps the entries; it decides nothing (ADR 0076). Every reader verifies what it
reads against the organisation key, catches up from the head it verified last, and keeps
that head in a file of its own (``HeadMemory``), so a roster that a writer to the store
truncated, rolled back or rewrote is an alarm and never a smaller set of rights.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from core.roster import HeadMemory, Roster, RosterError, Signer
from core.settings import TRUST_CHANGED_SETTING
from crypto import SigningKeyPair, SigningPublicKey
from store import StoreOperations

__all__ = [
    "append_entry",
    "append_statement",
    "mark_trust_changed",
    "read_roster",
]

_PAGE = 1000


async def mark_trust_changed(ops: StoreOperations) -> None:
    """Tell running relays, gateways and consoles to read the roster again."""
    await ops.set_setting(TRUST_CHANGED_SETTING, secrets.token_hex(8))


async def _catch_up(ops: StoreOperations, roster: Roster) -> bool:
    """Extend ``roster`` with what the store holds after its head.

    False if the store no longer holds the head as this roster has it (truncated, rewritten,
    or an append of ours whose transaction was rolled back): the caller verifies afresh.
    """
    head = roster.head
    if head.seq:
        tail = await ops.list_roster(after=head.seq - 1, limit=1)
        if not tail or hashlib.sha256(tail[0]).digest() != head.digest:
            return False
    while True:
        after = roster.head.seq
        page = await ops.list_roster(after=after, limit=_PAGE)
        if roster.head.seq != after:
            # Another reader of this same copy (the relay's intake and delivery loops share
            # one) applied entries while this page was read: read on from the new head.
            continue
        if not page:
            return True
        roster.extend(page)


async def read_roster(
    ops: StoreOperations,
    org: SigningPublicKey,
    *,
    previous: Roster | None = None,
    memory: HeadMemory | None = None,
    empty_ok: bool = False,
) -> Roster:
    """The verified roster: ``previous`` brought up to date, or the whole log verified.

    RosterError (an alarm) if an entry does not verify, if there is no roster (unless
    ``empty_ok``: `writein init` writes the first entry), or if the log no longer holds
    the head ``memory`` remembers.
    """
    roster = previous if previous is not None and previous.org == org else None
    if roster is None or not await _catch_up(ops, roster):
        roster = Roster(org)
        await _catch_up(ops, roster)
    if not roster.head.seq and not empty_ok:
        raise RosterError("the store holds no roster: run `writein admin roster-init`")
    if memory is not None:
        memory.check(roster)
        memory.remember(roster)
    return roster


async def append_statement(
    tx: StoreOperations,
    roster: Roster,
    signer: Signer,
    key: SigningKeyPair,
    kind: str,
    **fields: Any,
) -> bytes:
    """Sign the next statement, check it against the rules and append it, inside ``tx``.

    ``roster`` is brought up to date first and then holds the new entry. If ``tx`` is rolled
    back afterwards, ``roster`` is ahead of the store; its next read notices and verifies
    the log afresh. RosterError if the rules refuse the statement (nothing is written).
    """
    if not await _catch_up(tx, roster):
        raise RosterError("the roster in memory is not the store's: read it again")
    entry = roster.next_entry(signer, key, kind, **fields)
    await tx.append_roster(roster.head.seq, entry)
    await mark_trust_changed(tx)
    return entry


async def append_entry(tx: StoreOperations, roster: Roster, entry: bytes) -> None:
    """Append an entry someone else signed (an officer's, through the gateway), inside
    ``tx``, once it verifies against the rules. RosterError if it does not."""
    if not await _catch_up(tx, roster):
        raise RosterError("the roster in memory is not the store's: read it again")
    roster.extend([entry])
    await tx.append_roster(roster.head.seq, entry)
    await mark_trust_changed(tx)
