"""The organisation's side of the signed roster (ADR 0076): every change of who may read
is a statement the organisation key signs, appended in the transaction that updates the
store's cache of it.

Also: the one-time ``writein admin roster-init`` for stores made before the roster, and
the comparison of the store's cache rows with the verified roster that ``admin status``
shows (a row that disagrees was written without the organisation key: an alarm).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.roster import HeadMemory, Roster, RosterError, Signer
from core.rosterlog import append_statement, read_roster
from core.trust import certified
from crypto import Role, SigningKeyPair, SigningPublicKey
from store import AuditEntry, HandlerStatus, KeyPurpose, KeyStatus, Store, StoreOperations

__all__ = [
    "ALARM_ACTION",
    "ORG",
    "RULES",
    "Discrepancy",
    "discrepancies",
    "org_roster",
    "roster_init",
    "roster_report",
    "sign",
    "start_roster",
]

ORG = Signer("org")
RULES: dict[str, bool] = {"officer_may_assign": True, "officer_may_leave": True}
_ALARMS_SHOWN = 10


async def org_roster(ops: StoreOperations, org: SigningPublicKey) -> Roster:
    """The verified roster, read in ``ops`` (empty for a store `writein init` is making)."""
    return await read_roster(ops, org, empty_ok=True)


async def sign(
    tx: StoreOperations, roster: Roster, key: SigningKeyPair, kind: str, **fields: Any
) -> bytes:
    """Append a statement the organisation key ``key`` signs."""
    return await append_statement(tx, roster, ORG, key, kind, **fields)


async def start_roster(tx: StoreOperations, org: SigningKeyPair) -> Roster:
    """The genesis: binds the log to the organisation key, with the default rules."""
    roster = await org_roster(tx, org.public)
    if roster.head.seq:
        raise RosterError("this store already has a roster")
    await sign(tx, roster, org, "genesis", org=org.public.raw.hex(), rules=RULES)
    return roster


async def roster_init(store: Store, org: SigningKeyPair) -> int:
    """Sign what a store made before the roster holds, once; returns the entries written.

    Only rows whose certificates the organisation key signed count, as they always did:
    relay keys by version (retired ones retired), officers with their past certificates,
    revocations, the intake list and each case's assignments.
    """
    async with store.transaction() as tx:
        roster = await start_roster(tx, org)
        rows = {r.version: r for r in await tx.list_relay_keys(purpose=KeyPurpose.SIGNING)}
        for version in sorted(rows):
            cert = certified(rows[version].public, org.public, role=Role.BOT, key_version=version)
            if cert is not None:
                await sign(tx, roster, org, "relay_key", certificate=rows[version].public.hex())
        for version in sorted(rows):
            row = rows[version]
            if row.status is KeyStatus.RETIRED and version in roster.relay_certificates():
                await sign(
                    tx, roster, org, "retire_relay_key", version=version, last_seq=row.last_seq or 0
                )
        past: dict[str, list[bytes]] = {}
        for old in await tx.list_past_certificates():
            past.setdefault(old.name, []).append(old.certificate)
        revoked: list[str] = []
        for handler in await tx.list_handlers():
            chain = [*past.get(handler.name, []), handler.certificate]
            if not all(
                certified(c, org.public, role=Role.HANDLER, name=handler.name) for c in chain
            ):
                continue
            await sign(tx, roster, org, "enrol", certificate=chain[0].hex())
            for later in chain[1:]:
                await sign(tx, roster, org, "renew", certificate=later.hex())
            if handler.status is HandlerStatus.REVOKED:
                revoked.append(handler.name)
        intake = sorted(
            h.name
            for h in await tx.list_handlers(status=HandlerStatus.ACTIVE)
            if h.default_intake and h.name in roster.officers()
        )
        if intake:
            await sign(tx, roster, org, "intake", names=intake)
        active = roster.officers()
        for name in sorted(active):
            for case_id in await tx.list_handler_cases(name):
                names = roster.assigned(case_id)
                if not names and case_id not in set(roster.case_ids()):
                    await sign(tx, roster, org, "open_case", case_id=case_id, handlers=[name])
                elif name not in names:
                    await sign(tx, roster, org, "assign", case_id=case_id, name=name)
        for name in revoked:
            await sign(tx, roster, org, "revoke", name=name)
        await tx.append_audit("admin", "roster-init", detail=f"{roster.head.seq} entries")
        return roster.head.seq


@dataclass(frozen=True)
class Discrepancy:
    """A cache row that says something the verified roster does not."""

    what: str

    def __str__(self) -> str:
        return self.what


async def discrepancies(ops: StoreOperations, roster: Roster) -> list[Discrepancy]:
    """Rows written without the organisation key: assignments, intake flags, revocations
    undone and relay-key states that the signed roster does not hold."""
    found: list[Discrepancy] = []
    officers, revoked = roster.officers(), roster.revoked()
    rows = await ops.list_handlers()
    for row in rows:
        if row.status is HandlerStatus.ACTIVE and row.name not in officers:
            state = "revoked" if row.name in revoked else "not enrolled"
            found.append(
                Discrepancy(f"officer {row.name} is active in the store, {state} in the roster")
            )
    intake = set(roster.intake_list())
    for row in rows:
        if row.default_intake and row.name not in intake:
            found.append(Discrepancy(f"officer {row.name} is on intake in the store only"))
    for row in rows:
        if row.name in revoked:
            continue  # a revocation ends every assignment; the rows stay as history
        for case_id in await ops.list_handler_cases(row.name):
            if row.name not in roster.assigned(case_id):
                found.append(
                    Discrepancy(f"officer {row.name} is assigned to {case_id} in the store only")
                )
    retired = roster.relay_last_seq()
    keys = await ops.list_relay_keys(purpose=KeyPurpose.SIGNING)
    for key in keys:
        if key.version in retired and key.status is not KeyStatus.RETIRED:
            found.append(Discrepancy(f"relay key v{key.version} is retired in the roster only"))
    known = set(roster.relay_certificates()) - {key.version for key in keys}
    for version in sorted(known):
        found.append(Discrepancy(f"the store lost the row of relay key v{version}"))
    return found


#: The audit action of every roster alarm the relay, a gateway or a console raised.
ALARM_ACTION = "alarm"


async def roster_report(
    store: StoreOperations, org: SigningPublicKey, head: HeadMemory | None
) -> dict[str, Any]:
    """What `writein admin status` says about the roster: does it verify, does the log
    still hold the head the relay last verified, which cache rows disagree with it, and
    the latest alarms the relay and consoles recorded."""
    report: dict[str, Any] = {"entries": 0, "error": None, "discrepancies": [], "alarms": []}
    try:
        roster = await read_roster(store, org)
        if head is not None:
            head.check(roster)
    except RosterError as exc:
        report["error"] = str(exc)
    else:
        report["entries"] = roster.head.seq
        report["discrepancies"] = [str(d) for d in await discrepancies(store, roster)]
    alarms: list[AuditEntry] = []
    after = 0
    while page := await store.list_audit(action=ALARM_ACTION, after_seq=after, limit=1000):
        alarms = [*alarms, *page][-_ALARMS_SHOWN:]
        after = page[-1].seq
    report["alarms"] = [
        {"on": a.at.isoformat(), "actor": a.actor, "case_id": a.case_id, "detail": a.detail}
        for a in alarms
    ]
    return report
