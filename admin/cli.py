"""`writein admin …`: the admin's commands — handlers, keys, token, retention, audit, status.

``register(subparsers)`` adds the ``admin`` group to the `writein` command. What a
command refuses is raised; the `writein` command's one border (core.subcommands) prints
it as one line, ``writein: …``, with the shared exit code (ADR 0046). Admin commands
never create or migrate a store (store.open_existing_store): only `writein init` and the
relay do. Passphrases: the admin's (organisation key) from
``--admin-passphrase-file``, ``$WRITEIN_ADMIN_PASSPHRASE`` or a prompt; the relay key
ring's from ``relay.key_passphrase_file``, ``$WRITEIN_RELAY_PASSPHRASE`` or a prompt.
Nothing here prints message content or a Telegram id.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import getpass
import json
import sys
from collections.abc import Callable, Coroutine
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, TextIO

from admin.enrolment import (
    AdminError,
    check_token,
    check_token_format,
    enrol_handler,
    renew_handler,
    revoke_handler,
    write_token,
)
from admin.retention import purge
from admin.roster import roster_init, roster_report
from admin.rotation import RotationReport, rotate_relay_keys, rotation_in_progress
from admin.setup import Layout, check_data_dir, initialise, load_org_key
from core.bundle import bundle_fingerprint, handler_bundle, parse_handler_bundle
from core.config import Config, load_config
from core.passphrase import ADMIN, RELAY, get_passphrase
from core.roster import HeadMemory, Roster, RosterError
from core.rosterlog import read_roster
from core.settings import (
    ENV_ADMIN_PASSPHRASE,
    ENV_RELAY_PASSPHRASE,
    KEY_VERSION_SETTING,
    OFFSET_SETTING,
)
from core.subcommands import run_group
from core.trust import load_org_key as load_store_org_key
from core.untrusted import render_untrusted
from crypto import (
    Certificate,
    CryptoError,
    EncryptionPublicKey,
    SigningKeyPair,
    SigningPublicKey,
)
from store import (
    AuditEntry,
    CaseFlag,
    CaseStatus,
    KeyPurpose,
    Store,
    open_existing_store,
)
from store.keyfiles import read_key_file

__all__ = ["main", "register"]

MAX_BUNDLE_FILE: Final = 64 * 1024

Command = Callable[[argparse.Namespace], Coroutine[Any, Any, int]]


# -- output (errors go up to the border, core.subcommands) ---------------------------------


def _say(text: str = "") -> None:
    print(text)


def _safe(value: object) -> str:
    return render_untrusted(value, single_line=True)


def _command(action: Command) -> Callable[[argparse.Namespace], int]:
    """Run an async command; what it refuses goes up to the border."""

    def run(args: argparse.Namespace) -> int:
        return asyncio.run(action(args))

    return run


def _config(args: argparse.Namespace) -> Config:
    return load_config(args.config)


async def _store(config: Config) -> Store:
    """The existing store; admin commands never create one (`writein init` does)."""
    return await open_existing_store(config.store_url)


def _admin_passphrase(args: argparse.Namespace) -> bytes:
    file = getattr(args, "admin_passphrase_file", None)
    return get_passphrase(
        env=ENV_ADMIN_PASSPHRASE,
        file=Path(file) if file else None,
        prompt="Admin (organisation key) passphrase: ",
        whose=ADMIN,
    )


def _relay_passphrase(config: Config) -> bytes:
    file = config.relay.key_passphrase_file
    return get_passphrase(
        env=ENV_RELAY_PASSPHRASE,
        file=config.resolve(file) if file is not None else None,
        prompt="Relay key passphrase: ",
        whose=RELAY,
    )


def _org(args: argparse.Namespace, config: Config) -> SigningKeyPair:
    if not args.org_key:
        check_data_dir(config.data_dir)
    path = Path(args.org_key) if args.org_key else Layout(config.data_dir).org_key
    return load_org_key(path, _admin_passphrase(args), config.trust.org_fingerprint)


# -- handlers --------------------------------------------------------------------------------


def _read_bundle(path: str) -> bytes:
    """The public bundle `writein handler keygen` printed: base64 text (or the raw bytes)."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_BUNDLE_FILE + 1)
    except OSError as exc:
        raise AdminError(f"cannot read {path}: {exc.strerror}") from None
    if len(raw) > MAX_BUNDLE_FILE:
        raise AdminError(f"{path} is too large to be a handler's public bundle")
    if raw.startswith(b"WRHB"):
        return raw
    try:
        return base64.b64decode(b"".join(raw.split()), validate=True)
    except (binascii.Error, ValueError):
        raise AdminError(f"{path} does not hold a handler's public bundle") from None


def _normal_fingerprint(text: str) -> str:
    return "".join(text.split()).upper()


def _confirm_fingerprint(args: argparse.Namespace, name: str, fingerprint: str) -> None:
    _say(f"Fingerprint of {_safe(name)}'s public bundle: {fingerprint}")
    if args.fingerprint:
        if _normal_fingerprint(args.fingerprint) != _normal_fingerprint(fingerprint):
            raise AdminError(
                "the fingerprint does not match the one given: do not certify this bundle"
            )
        return
    if args.yes:
        return
    if not sys.stdin.isatty():
        raise AdminError(
            "compare the fingerprint with the one the handler reads to you, then pass "
            "--fingerprint '…' (or --yes)"
        )
    answer = input(f"Is it the one {_safe(name)} read to you (phone, in person)? [y/N] ")
    if answer.strip().lower() not in ("y", "yes"):
        raise AdminError("not certified: the fingerprints were not confirmed")


def _bundle_for(
    args: argparse.Namespace,
) -> tuple[str, EncryptionPublicKey, SigningPublicKey, str]:
    raw = _read_bundle(args.public_key)
    try:
        name, encryption, signing = parse_handler_bundle(raw)
    except (ValueError, CryptoError):
        raise AdminError(f"{args.public_key} does not hold a handler's public bundle") from None
    if name != args.name:
        raise AdminError(
            f"the bundle is for {_safe(name)!r}, not {_safe(args.name)!r}: ask the handler "
            "to run keygen with the name you enrol"
        )
    return name, encryption, signing, bundle_fingerprint(raw)


async def _add_handler(args: argparse.Namespace) -> int:
    config = _config(args)
    name, encryption, signing, fingerprint = _bundle_for(args)
    _confirm_fingerprint(args, name, fingerprint)
    org = _org(args, config)
    async with await _store(config) as store:
        if await store.get_handler(name) is not None:
            raise AdminError(f"a handler named {_safe(name)!r} exists (names are never reused)")
        await enrol_handler(store, org, name, encryption, signing, default_intake=args.default)
    intake = " and receives new cases" if args.default else ""
    _say(f"handler {_safe(name)} is certified{intake}")
    return 0


async def _renew_handler(args: argparse.Namespace) -> int:
    config = _config(args)
    name, encryption, signing, fingerprint = _bundle_for(args)
    _confirm_fingerprint(args, name, fingerprint)
    org = _org(args, config)
    async with await _store(config) as store:
        await renew_handler(store, org, name, encryption, signing)
    _say(
        f"the new keys of {_safe(name)} are certified; they finish with "
        "`writein handler rotate` on their machine"
    )
    return 0


async def _remove_handler(args: argparse.Namespace) -> int:
    config = _config(args)
    org = _org(args, config)  # a revocation is a roster statement the organisation signs
    async with await _store(config) as store:
        done = await revoke_handler(store, org, args.name, force=args.force)
    _say(f"handler {_safe(done.name)} is revoked: nothing new is sealed for them")
    if done.cases:
        _say(f"{done.cases} case(s) flagged for reassignment (console: --flag needs_reassignment)")
    if done.orphaned:
        _say(
            f"{done.orphaned} case(s) only they could read: new messages now go to "
            f"{', '.join(_safe(n) for n in done.intake) or 'nobody (enrol a handler)'}; "
            "their earlier messages stay unreadable"
        )
    return 0


async def _roster_init(args: argparse.Namespace) -> int:
    config = _config(args)
    org = _org(args, config)
    async with await _store(config) as store:
        if await store.roster_length():
            raise AdminError("this store already has a roster: roster-init changes nothing")
        written = await roster_init(store, org)
    _say(f"the roster holds {written} signed entries; the relay and consoles now read it")
    return 0


async def _handlers(args: argparse.Namespace) -> int:
    config = _config(args)
    async with await _store(config) as store:
        org = await load_store_org_key(store, config.trust.org_fingerprint)
        roster = await read_roster(store, org)
        on_intake = set(roster.intake_list())
        certs = {**roster.revoked(), **roster.officers()}
        added = {h.name: h.added_on.isoformat() for h in await store.list_handlers()}
        rows = [
            {
                "name": name,
                "status": "active" if name in roster.officers() else "revoked",
                "default_intake": name in on_intake,
                "key_version": cert.key_version,
                "fingerprint": bundle_fingerprint(_bundle_of(cert)),
                "added_on": added.get(name),
                "cases": len(roster.cases_of(name)),
            }
            for name, cert in sorted(certs.items())
        ]
    if args.json:
        print(json.dumps(rows, ensure_ascii=True, indent=2))
        return 0
    _say(f"{'NAME':<20} {'STATUS':<8} {'INTAKE':<6} {'KEY':<4} {'CASES':>6}  FINGERPRINT")
    for row in rows:
        intake = "yes" if row["default_intake"] else ""
        key = f"v{row['key_version']}" if row["key_version"] else "-"
        _say(
            f"{_safe(row['name']):<20} {row['status']:<8} {intake:<6} {key:<4}"
            f" {row['cases']:>6}  {row['fingerprint']}"
        )
    return 0


def _bundle_of(cert: Certificate) -> bytes:
    return handler_bundle(cert.name, cert.encryption_key, cert.signing_key)


# -- relay keys and token -------------------------------------------------------------------


class _ProgressPrinter:
    """One line per phase; on a terminal it is redrawn in place as the phase advances."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.tty = out.isatty()
        self.phase = ""
        self.shown = -1

    def __call__(self, phase: str, done: int, total: int) -> None:
        percent = 100 if total <= 0 else min(100, done * 100 // total)
        if phase != self.phase:
            if self.phase and self.tty:
                self.out.write("\n")
            self.phase, self.shown = phase, -1
        if self.tty:
            self.out.write(f"\r  {phase}: {done}/{total} ({percent}%)")
        elif percent >= self.shown + 25 or percent == 100:
            self.out.write(f"  {phase}: {done}/{total} ({percent}%)\n")
        self.shown = percent
        self.out.flush()

    def close(self) -> None:
        if self.tty and self.phase:
            self.out.write("\n")


def _report(report: RotationReport) -> None:
    verb = "finished the rotation" if report.resumed else "rotated"
    _say(
        f"{verb}: relay keys v{report.from_version} → v{report.to_version}"
        f" in {report.seconds:.1f} s; v{report.from_version}'s private keys are destroyed"
    )
    moved = ", ".join(f"{n} {label}" for label, n in report.moved.items() if n)
    _say(f"moved to v{report.to_version}: {moved or 'nothing was stored under the old keys'}")
    if report.unreadable:
        left = ", ".join(f"{n} {label}" for label, n in report.unreadable.items())
        _say(f"could not be opened, left as they were: {left}")
    if not report.relay_switched:
        _say(
            "no running relay announced the new keys: a relay started now loads them; "
            "if one is running, check its log"
        )


async def _rotate_keys(args: argparse.Namespace) -> int:
    config = _config(args)
    admin = _admin_passphrase(args)
    relay = _relay_passphrase(config)
    printer = _ProgressPrinter(sys.stderr)
    try:
        report = await rotate_relay_keys(
            config,
            admin_passphrase=admin,
            relay_passphrase=relay,
            progress=printer,
            wait_for_relay=args.wait_for_relay,
            org_key=Path(args.org_key) if args.org_key else None,
        )
    finally:
        printer.close()
    _report(report)
    return 0


def _read_new_token() -> str:
    if sys.stdin.isatty():
        return getpass.getpass("New bot token (from BotFather, after /revoke): ")
    return sys.stdin.readline()


async def _set_token(args: argparse.Namespace) -> int:
    config = _config(args)
    if config.telegram.token_file is None:
        raise AdminError(
            "set-token writes telegram.token_file: set it in the configuration "
            "(the relay reads its token from there)"
        )
    path = config.resolve(config.telegram.token_file)
    token = check_token_format(_read_new_token())
    bot_id = await check_token(config, token)
    if path.exists() and not args.new_bot:
        old = read_key_file(path).decode("ascii", errors="replace").strip()
        if old.partition(":")[0] != str(bot_id):
            raise AdminError(
                "this token belongs to another bot: sources could no longer reach you. "
                "Pass --new-bot if that is really meant"
            )
    async with await _store(config) as store:
        write_token(path, token)
        await store.append_audit("admin", "set-token", detail="bot token replaced")
    _say(f"token checked with getMe and written to {path}; the running relay switches to it")
    return 0


# -- retention, audit, status ----------------------------------------------------------------


async def _purge(args: argparse.Namespace) -> int:
    config = _config(args)
    async with await _store(config) as store:
        report = await purge(store, older_than_days=args.older_than, dry_run=args.dry_run)
    verb = "would delete" if report.dry_run else "deleted"
    _say(
        f"{verb} everything stored before {report.cutoff.isoformat()}: {report.envelopes}"
        f" message(s), {report.attachments} attachment(s), {report.cases} closed case(s)"
    )
    return 0


def _parse_head(text: str) -> tuple[int, bytes]:
    seq, _, digest = text.partition(":")
    try:
        return int(seq), bytes.fromhex(digest)
    except ValueError:
        raise AdminError(
            "--head takes SEQ:HASH as `writein admin audit --verify` printed it"
        ) from None


async def _audit(args: argparse.Namespace) -> int:
    config = _config(args)
    async with await _store(config) as store:
        if args.verify:
            return await _verify_audit(store, args)
        entries: list[AuditEntry] = []
        after: int | None = None
        while len(entries) < args.limit:
            page = await store.list_audit(case_id=args.case, after_seq=after, limit=1000)
            if not page:
                break
            entries.extend(page)
            after = page[-1].seq
        entries = entries[-args.limit :] if args.tail else entries[: args.limit]
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "seq": e.seq,
                        "at": e.at.isoformat(),
                        "actor": e.actor,
                        "action": e.action,
                        "case_id": e.case_id,
                        "detail": e.detail,
                    }
                    for e in entries
                ],
                ensure_ascii=True,
                indent=2,
            )
        )
        return 0
    for e in entries:
        _say(
            f"{e.seq:>6}  {e.at.isoformat()}  {_safe(e.actor):<20} {_safe(e.action):<22}"
            f" {_safe(e.case_id or '-'):<16} {_safe(e.detail)}"
        )
    return 0


async def _readers(args: argparse.Namespace) -> int:
    """Who read a case, and on which UTC days (the audit log keeps the day only)."""
    config = _config(args)
    async with await _store(config) as store:
        if await store.get_case(args.case_id) is None and not await store.list_audit(
            case_id=args.case_id, limit=1
        ):
            raise AdminError(f"no case {_safe(args.case_id)} in this store or its audit log")
        reads: list[AuditEntry] = []
        after: int | None = None
        while True:
            page = await store.list_audit(
                case_id=args.case_id, action="read", after_seq=after, limit=1000
            )
            reads += page
            if len(page) < 1000:
                break
            after = page[-1].seq
    seen: dict[tuple[str, str], None] = {}
    for e in reads:
        who = e.actor.removeprefix("handler ")
        seen.setdefault((e.at.isoformat(), who), None)
    rows = [{"day": day, "officer": who} for day, who in seen]
    if args.json:
        print(json.dumps({"case_id": args.case_id, "reads": rows}, ensure_ascii=True, indent=2))
        return 0
    if not rows:
        _say(f"Nobody has opened case {_safe(args.case_id)} in a console (since reads are kept).")
        return 0
    _say(f"Case {_safe(args.case_id)} was opened by (UTC day, case officer):")
    for row in rows:
        _say(f"  {row['day']}  {_safe(row['officer'])}")
    return 0


async def _verify_audit(store: Store, args: argparse.Namespace) -> int:
    result = await store.verify_audit_chain()
    if not result.ok:
        print(
            f"writein: the audit log was altered: entry {result.first_broken_seq}"
            f" ({result.problem}); {result.checked} entries before it check out",
            file=sys.stderr,
        )
        return 1
    if args.head:
        seq, digest = _parse_head(args.head)
        found = await store.list_audit(after_seq=seq - 1, limit=1) if seq >= 1 else []
        if not found or found[0].seq != seq or found[0].hash != digest:
            print(
                f"writein: the audit log was rewritten: entry {seq} is not the one noted",
                file=sys.stderr,
            )
            return 1
    last = await store.list_audit(after_seq=max(result.checked - 1, 0), limit=1)
    head = f"{last[0].seq}:{last[0].hash.hex()}" if last else "0:"
    _say(f"audit log intact: {result.checked} entries")
    _say(f"head {head}  (note it elsewhere; later: writein admin audit --verify --head {head})")
    return 0


async def _status(args: argparse.Namespace) -> int:
    config = _config(args)
    today = datetime.now(UTC).date()
    async with await _store(config) as store:
        keys = await store.list_relay_keys(purpose=KeyPurpose.SIGNING)
        announced = await store.get_setting(KEY_VERSION_SETTING)
        rotation = await rotation_in_progress(store)
        cases = {
            "open": await store.count_cases(status=CaseStatus.OPEN),
            "closed": await store.count_cases(status=CaseStatus.CLOSED),
            **{f.value: await store.count_cases(flag=f) for f in CaseFlag},
        }
        queues = {
            "outbox_backlog": await store.count_outbox_backlog(),
            "inbox_backlog": await store.count_inbox(),
            "scheduled_deletions": await store.count_scheduled_deletions(),
        }
        last_update = await store.last_processed_update_on()
        offset = await store.get_setting(OFFSET_SETTING)
        audit = await store.verify_audit_chain()
        org = await load_store_org_key(store, config.trust.org_fingerprint)
        roster = await roster_report(store, org, HeadMemory(Layout(config.data_dir).roster_head))
        try:  # who is trusted is what the signed roster says, never the rows
            signed: Roster | None = await read_roster(store, org)
        except RosterError:
            signed = None  # roster["error"] says why
    status: dict[str, Any] = {
        "relay_keys": [
            {
                "version": k.version,
                "status": k.status.value,
                "created_on": k.created_on.isoformat(),
                "age_days": (today - k.created_on).days,
            }
            for k in sorted(keys, key=lambda k: -k.version)
        ],
        "relay_announced_version": int(announced) if announced and announced.isdigit() else None,
        "rotation_in_progress": (
            None
            if rotation is None
            else {"from": rotation[0], "to": rotation[1], "step": rotation[2]}
        ),
        "handlers": {
            "active": len(signed.officers()) if signed else None,
            "revoked": len(signed.revoked()) if signed else None,
            "default_intake": list(signed.intake_list()) if signed else None,
        },
        "cases": cases,
        **queues,
        "last_update_processed_on": None if last_update is None else last_update.isoformat(),
        "telegram_offset": int(offset) if offset and offset.isdigit() else None,
        "audit_entries": audit.checked,
        "audit_intact": audit.ok,
        "retention_days": config.retention.days,
        "roster": roster,
    }
    if args.json:
        print(json.dumps(status, ensure_ascii=True, indent=2))
        return 0
    _print_status(status)
    return 0


def _print_status(s: dict[str, Any]) -> None:
    _say("relay keys:")
    for k in s["relay_keys"]:
        _say(
            f"  v{k['version']:<4} {k['status']:<9} since {k['created_on']} ({k['age_days']} days)"
        )
    announced = s["relay_announced_version"]
    _say(f"  the relay last announced: {'v' + str(announced) if announced else 'nothing yet'}")
    rotation = s["rotation_in_progress"]
    if rotation:
        _say(
            f"  rotation v{rotation['from']} → v{rotation['to']} unfinished at step"
            f" {rotation['step']}: run `writein admin rotate-keys` to finish it"
        )
    h = s["handlers"]
    if h["active"] is None:
        _say("handlers: unknown until the roster verifies (see the ALARM below)")
    else:
        intake = ", ".join(_safe(n) for n in h["default_intake"]) or "every active handler"
        _say(f"handlers: {h['active']} active, {h['revoked']} revoked; new cases go to {intake}")
    c = s["cases"]
    _say(
        f"cases: {c['open']} open, {c['closed']} closed; {c['needs_reassignment']} need"
        f" reassignment, {c['unreachable']} unreachable, {c['forgotten']} forgotten"
    )
    _say(
        f"queues: {s['outbox_backlog']} replies to deliver, {s['inbox_backlog']} updates to"
        f" process, {s['scheduled_deletions']} deletions scheduled"
    )
    _say(f"last update processed on: {s['last_update_processed_on'] or 'never'}")
    audit = "intact" if s["audit_intact"] else "ALTERED (writein admin audit --verify)"
    _say(f"audit log: {s['audit_entries']} entries, {audit}")
    days = s["retention_days"]
    _say(f"retention: {'keeps everything' if not days else f'{days} days'}")
    r = s["roster"]
    if r["error"]:
        _say(f"ALARM roster: {_safe(r['error'])}")
    else:
        _say(f"roster: {r['entries']} signed entries, verified")
    for what in r["discrepancies"]:
        _say(f"ALARM store row not in the signed roster: {_safe(what)}")
    for alarm in r["alarms"]:
        _say(f"ALARM {alarm['on']} {_safe(alarm['actor'])}: {_safe(alarm['detail'])}")


# -- argparse -----------------------------------------------------------------------------------


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("a whole number is needed") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("a number of seconds is needed") from None
    if not 0 <= value <= 3600:
        raise argparse.ArgumentTypeError("between 0 and 3600 seconds")
    return value


def _cmd_init(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    admin = get_passphrase(
        env=ENV_ADMIN_PASSPHRASE,
        prompt="New admin (organisation key) passphrase: ",
        confirm=True,
        whose=replace(ADMIN, given_by=f"${ENV_ADMIN_PASSPHRASE} or a prompt"),
    )
    relay_file = config.relay.key_passphrase_file
    relay = get_passphrase(
        env=ENV_RELAY_PASSPHRASE,
        file=config.resolve(relay_file) if relay_file is not None else None,
        prompt="New relay key passphrase: ",
        confirm=True,
        whose=RELAY,
    )
    result = asyncio.run(initialise(config, admin_passphrase=admin, relay_passphrase=relay))
    print(f"writein is set up in {result.layout.data_dir}")
    print(f"organisation key: {result.layout.org_key} (move it offline after enrolling handlers)")
    print("put this fingerprint in every relay's and console's config, [trust] org_fingerprint:")
    print(f"  {result.org_fingerprint}")
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``init`` and ``admin`` with its commands to the `writein` command's subcommands."""
    p = subparsers.add_parser("init", help="set up a relay: store, organisation key, relay keys")
    p.add_argument(
        "--config", help="the configuration file (default: $WRITEIN_CONFIG, ./writein.toml)"
    )
    p.set_defaults(func=_cmd_init)
    admin = subparsers.add_parser(
        "admin",
        help="run the relay: handlers, key rotation, token, retention, audit, status",
        description="Admin commands. They act on the relay's keys and store, on its machine.",
    )
    admin.set_defaults(func=lambda _args: _usage(admin))
    sub = admin.add_subparsers(dest="admin_command", metavar="COMMAND")

    def command(name: str, help_text: str, action: Command) -> argparse.ArgumentParser:
        parser = sub.add_parser(name, help=help_text, description=help_text)
        parser.add_argument("--config", metavar="FILE", help="the configuration file")
        parser.set_defaults(func=_command(action))
        return parser

    def certifying(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("name", metavar="NAME", help="the handler's name")
        parser.add_argument(
            "--public-key", required=True, metavar="FILE", help="the bundle keygen printed"
        )
        parser.add_argument(
            "--fingerprint", metavar="FP", help="the fingerprint the handler read to you"
        )
        parser.add_argument("--yes", action="store_true", help="the fingerprint was compared")
        _org_options(parser)

    p = command("add-handler", "certify a new handler's public keys", _add_handler)
    certifying(p)
    p.add_argument("--default", action="store_true", help="new cases are assigned to them")

    p = command(
        "renew-handler", "certify a handler's new keys (after `handler rotate`)", _renew_handler
    )
    certifying(p)

    p = command(
        "remove-handler", "revoke a handler; flag their cases for reassignment", _remove_handler
    )
    p.add_argument("name", metavar="NAME")
    p.add_argument("--force", action="store_true", help="even if they alone can read some cases")
    _org_options(p)

    p = command(
        "roster-init",
        "sign the officers, assignments and relay keys of a store made before the roster",
        _roster_init,
    )
    _org_options(p)

    p = command("handlers", "list handlers, their key versions and fingerprints", _handlers)
    p.add_argument("--json", action="store_true", help="JSON output")

    p = command("rotate-keys", "rotate the relay's keys while it runs", _rotate_keys)
    _org_options(p)
    p.add_argument(
        "--wait-for-relay",
        type=_seconds,
        default=30.0,
        metavar="SECONDS",
        help="how long to wait for a running relay to switch (default 30)",
    )

    p = command(
        "set-token", "replace the bot token (read from stdin), checked with getMe", _set_token
    )
    p.add_argument("--new-bot", action="store_true", help="the token may belong to a different bot")

    p = command("purge", "delete what is older than DAYS days (retention)", _purge)
    p.add_argument("--older-than", type=_positive, required=True, metavar="DAYS")
    p.add_argument("--dry-run", action="store_true", help="only count what would go")

    p = command("audit", "show the audit log; --verify checks its hash chain", _audit)
    p.add_argument("--verify", action="store_true", help="check that no entry was altered")
    p.add_argument("--head", metavar="SEQ:HASH", help="with --verify: a head noted earlier")
    p.add_argument("--case", metavar="CASE_ID", help="only entries about this case")
    p.add_argument("--limit", type=_positive, default=1000, metavar="N")
    p.add_argument("--tail", action="store_true", help="the last N entries, not the first")
    p.add_argument("--json", action="store_true", help="JSON output")

    p = command("readers", "who opened a case in a console, and on which days", _readers)
    p.add_argument("case_id", metavar="CASE")
    p.add_argument("--json", action="store_true", help="JSON output")

    p = command("status", "key versions and ages, handlers, cases, queues", _status)
    p.add_argument("--json", action="store_true", help="JSON output")


def _org_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--org-key", metavar="FILE", help="the organisation key file (default: in the data dir)"
    )
    parser.add_argument(
        "--admin-passphrase-file",
        metavar="FILE",
        help=f"file (mode 0600) with the admin passphrase (else ${ENV_ADMIN_PASSPHRASE})",
    )


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    """Run ``admin`` commands on their own (as `writein admin …` would)."""
    return run_group(register, argv)


if __name__ == "__main__":
    sys.exit(main())
