"""Retention: what is older than the organisation keeps is deleted from the store.

`writein admin purge --older-than DAYS [--dry-run]` runs it once; with ``retention.days``
set in the config, the relay runs it by itself every few hours (:func:`retention_step`, supervised).

What goes: every envelope stored before the cut-off day, with its wraps and
attachments; and every *closed* case whose last activity was before it, with all that
belongs to it. Open cases stay (their newer messages too). Each deleted case and each
run is recorded in the audit log — case ids and counts only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Final

from core.config import Config
from store import CaseStatus, Store

__all__ = ["PurgeReport", "purge", "retention_step", "run_retention"]

log = logging.getLogger("writein.retention")

RETENTION_INTERVAL: Final = timedelta(hours=6)
_PAGE: Final = 200


@dataclass(frozen=True)
class PurgeReport:
    cutoff: date
    envelopes: int
    attachments: int
    cases: int
    dry_run: bool


def cutoff_day(older_than_days: int, now: datetime | None = None) -> date:
    if isinstance(older_than_days, bool) or not isinstance(older_than_days, int):
        raise TypeError("older_than_days must be an int")
    if older_than_days < 1:
        raise ValueError("retention keeps at least one day")
    moment = datetime.now(UTC) if now is None else now
    return moment.astimezone(UTC).date() - timedelta(days=older_than_days)


async def purge(
    store: Store,
    *,
    older_than_days: int,
    dry_run: bool = False,
    actor: str = "admin",
    now: datetime | None = None,
) -> PurgeReport:
    """Delete (or, ``dry_run``, count) what is older than ``older_than_days`` days."""
    cutoff = cutoff_day(older_than_days, now)
    attachments = await store.count_attachments_before(cutoff)
    if dry_run:
        return PurgeReport(
            cutoff,
            await store.count_envelopes_before(cutoff),
            attachments,
            await store.count_inactive_cases(before=cutoff, status=CaseStatus.CLOSED),
            dry_run=True,
        )
    envelopes = await store.delete_envelopes_before(cutoff)
    cases = 0
    while True:
        async with store.transaction() as tx:
            page = await tx.list_inactive_cases(
                before=cutoff, status=CaseStatus.CLOSED, limit=_PAGE
            )
            for case in page:
                await tx.delete_case(case.case_id)
                await tx.append_audit(actor, "purge-case", case_id=case.case_id)
        cases += len(page)
        if len(page) < _PAGE:
            break
    await store.append_audit(
        actor,
        "purge",
        detail=f"older than {older_than_days} days: {envelopes} message(s), {cases} closed case(s)",
    )
    # Deleted rows must not linger in the write-ahead log.
    await store.checkpoint()
    return PurgeReport(cutoff, envelopes, attachments, cases, dry_run=False)


async def run_retention(
    store: Store, config: Config, *, now: datetime | None = None
) -> PurgeReport | None:
    """The configured retention (``retention.days``; 0 keeps everything), run as the relay."""
    days = config.retention.days
    if days <= 0:
        return None
    return await purge(store, older_than_days=days, actor="relay", now=now)


async def retention_step(store: Store, config: Config) -> float:
    """One configured retention run; returns the seconds until the next (a relay task).

    A failure propagates: the relay's supervisor logs it and tries again with backoff.
    """
    report = await run_retention(store, config)
    if report is not None and (report.envelopes or report.cases):
        log.info(
            "retention: %d message(s) and %d closed case(s) deleted",
            report.envelopes,
            report.cases,
        )
    return RETENTION_INTERVAL.total_seconds()
