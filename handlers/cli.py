"""`writein console …` and `writein handler keygen`: the officer's commands.

``register(subparsers)`` adds them to the `writein` command; :func:`main` runs them
alone (tests, or ``python -m handlers.cli``). What the console refuses is a
:class:`~handlers.ConsoleError`; the `writein` command's one border (core.subcommands)
prints it as one line, ``writein: …``, and exits with its code (ADR 0046). The commands
and the TUI share the same case functions (handlers.cases, .thread, .compose, .manage,
.export).

Passphrases come from ``--passphrase-file`` (mode 0600), ``$WRITEIN_PASSPHRASE`` or a
prompt. Output meant for people goes through core.untrusted; ``--json`` output is
ASCII-only JSON (every other character escaped), safe on a terminal.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import sys
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any, Final

from core.config import Config, load_config
from core.passphrase import OFFICER, get_passphrase
from core.subcommands import run_group, warn
from core.untrusted import render_untrusted
from store import CaseFlag, CaseStatus, StoreError

from ._errors import ConsoleError, UsageError, translating
from .cases import (
    CaseSummary,
    View,
    canonical_case_id,
    count_cases,
    iter_cases,
    list_cases,
    list_view,
    record_reading,
    require_assigned,
    search_cases,
)
from .compose import (
    cancel_reply,
    find_reply,
    format_duration,
    parse_duration,
    send_note,
    send_reply,
)
from .export import export_attachment
from .keygen import keygen
from .labels import CaseLabel, current_labels, label_of, set_label
from .manage import assign, set_status
from .rotate import RotationStage, next_key_path, rotate_handler_key
from .search import RECENT_CASES, search_content
from .session import Session, key_path, needs_key, open_workspace, start_session, unlock_key
from .templates import load_templates, pick_template, templates_path
from .thread import ThreadItem, load_intake, load_page, load_thread

__all__ = ["PASSPHRASE_ENV", "main", "register"]

PASSPHRASE_ENV: Final = "WRITEIN_PASSPHRASE"  # noqa: S105 (a variable name, not a secret)
#: `console cases` reads the labels of at most this many cases (one read of notes each).
LABELS_AT_MOST: Final = 1000

Action = Callable[[Session, argparse.Namespace], Awaitable[int]]


# -- output (errors go up to the border, core.subcommands) ---------------------------------


def _say(text: str) -> None:
    print(text)


def _warn(message: str) -> None:
    warn(message)


def _run(main: Callable[[], Coroutine[Any, Any, int]]) -> int:
    return asyncio.run(main())


def _config(args: argparse.Namespace) -> Config:
    with translating():
        return load_config(getattr(args, "config", None))


def _passphrase(args: argparse.Namespace, prompt: str, *, confirm: bool = False) -> bytes:
    file = getattr(args, "passphrase_file", None)
    with translating():
        return get_passphrase(
            env=PASSPHRASE_ENV,
            file=Path(file) if file else None,
            prompt=prompt,
            confirm=confirm,
            whose=OFFICER,
        )


def _with_session(
    action: Action, *, reads_text: bool = False, unless: str | None = None
) -> Callable[[argparse.Namespace], int]:
    """A command that needs the unlocked officer: config → store → key → session.

    ``reads_text``: read ``--text`` or stdin into ``args.body`` first, before any prompt
    (not when the option ``unless`` names is given).
    """

    def command(args: argparse.Namespace) -> int:
        async def main() -> int:
            config = _config(args)
            path = key_path(config, getattr(args, "key", None)) if needs_key(config) else None
            if path is not None:
                # A gateway: every request is signed, so the key is unlocked first.
                me = await unlock_key(path, _passphrase(args, f"Passphrase for {path}: "))
                workspace = await open_workspace(config, me)
            else:
                workspace = await open_workspace(config)
            try:
                if path is None:
                    path = key_path(config, getattr(args, "key", None))
                    me = await unlock_key(path, _passphrase(args, f"Passphrase for {path}: "))
                session = start_session(workspace, me)
                try:
                    with translating():  # takes StoreUnavailableError and friends first
                        return await action(session, args)
                except StoreError as exc:
                    raise ConsoleError(f"the store refused: {exc}") from None
            finally:
                await workspace.close()

        if reads_text and (unless is None or getattr(args, unless, None) is None):
            args.body = _read_text(args)
        elif reads_text and args.text is not None:
            raise UsageError(f"--text and --{unless} do not go together")
        return _run(main)

    return command


def _json(value: object) -> None:
    print(json.dumps(value, ensure_ascii=True, indent=2))


def _read_text(args: argparse.Namespace) -> str:
    if args.text is not None:
        return str(args.text)
    if sys.stdin.isatty():
        print("Type the text; end with Ctrl-D on a line of its own.", file=sys.stderr)
    return sys.stdin.read().rstrip("\n")


# -- console commands ----------------------------------------------------------------------


def _status(value: str) -> CaseStatus | None:
    return None if value == "all" else CaseStatus(value)


def _case_row(item: CaseSummary, label: CaseLabel | None = None) -> str:
    flags = ",".join(item.flag_names()) or "-"
    assigned = render_untrusted(",".join(item.assigned), single_line=True)
    row = (
        f"{render_untrusted(item.case_id, single_line=True):<16} {item.status.value:<7}"
        f" {item.unread:>6}  {item.last_activity.isoformat()}  {assigned:<20} {flags}"
    )
    if label is not None:
        row += f"  [{render_untrusted(label.words(), single_line=True)}]"
    return row


def _label_json(label: CaseLabel | None) -> dict[str, object]:
    return {"label": label.label if label else "", "tags": list(label.tags) if label else []}


async def _cases(session: Session, args: argparse.Namespace) -> int:
    status = _status(args.status)
    flag = CaseFlag(args.flag) if args.flag else None
    view = View(args.filter)
    items: list[CaseSummary] = []
    if view is not View.ALL:
        cursor: int | None = None
        while args.limit is None or len(items) < args.limit:
            page = await list_view(session, view, status=status, flag=flag, before=cursor)
            items += page.items
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        items = items[: args.limit]
    elif args.search:
        items = list(await search_cases(session, args.search, status=status, flag=flag))
    elif args.limit is not None and args.limit <= 1000:
        items = list((await list_cases(session, status=status, flag=flag, limit=args.limit)).items)
    else:
        async for item in iter_cases(session, status=status, flag=flag):
            items.append(item)
            if args.limit is not None and len(items) >= args.limit:
                break
    labels: dict[str, CaseLabel] | None = None
    if len(items) <= LABELS_AT_MOST:
        labels = await current_labels(session, [(i.case_id, i.activity_seq) for i in items])
    else:  # each case's notes are one more read: not for every case of a big caseload
        _warn(f"labels are shown for at most {LABELS_AT_MOST:,} cases: use --limit")
    if args.json:
        _json(
            [
                item.to_json() | ({} if labels is None else _label_json(labels.get(item.case_id)))
                for item in items
            ]
        )
        return 0
    total = await count_cases(session, status=status, flag=flag)
    _say(
        f"{'CASE':<16} {'STATUS':<7} {'UNREAD':>6}  {'ACTIVE':<10}  {'ASSIGNED':<20} FLAGS  [LABEL]"
    )
    for item in items:
        _say(_case_row(item, None if labels is None else labels.get(item.case_id)))
    shown = "" if view is View.ALL else f", filter {view.value}"
    _say(f"({len(items)} of {total} cases{shown})")
    return 0


def _item_lines(item: ThreadItem) -> list[str]:
    when = item.created.strftime("%Y-%m-%d %H:%M UTC") if item.created else "?"
    if not item.readable:
        return [f"--- {item.direction.value} #{item.seq}: cannot be verified or decrypted ---"]
    who = {"in": "source", "out": f"reply by {item.author}", "note": f"note by {item.author}"}
    head = f"--- {who[item.direction.value]} · {when} · {item.kind}"
    head += " · edit" if item.edit else ""
    head += " · edited later" if item.edited_later else ""
    if item.self_destruct_seconds:
        head += f" · self-destructs after {format_duration(item.self_destruct_seconds)}"
    head += f" · {item.delivery}" if item.delivery else ""
    head += f" · id {item.message_id.hex()}" if item.direction.value == "out" else ""
    lines = [render_untrusted(head + " ---", single_line=True)]
    if item.forward_origin:
        origin = ", ".join(f"{k}: {v}" for k, v in item.forward_origin.items())
        lines.append("forwarded from " + render_untrusted(origin, single_line=True))
    if item.text:
        lines.append(render_untrusted(item.text))
    for ref in item.attachments:
        lines.append(
            f"[attachment {ref.id}] {render_untrusted(ref.name or '(no name)', single_line=True)}"
            f" · {render_untrusted(ref.mime, single_line=True)} · {ref.size} bytes"
        )
    return lines


async def _show(session: Session, args: argparse.Namespace) -> int:
    case = await require_assigned(session, args.case_id)
    await record_reading(session, case.case_id)
    if args.last is not None:
        items = list((await load_page(session, case.case_id, limit=args.last)).items)
    else:
        items = await load_thread(session, case.case_id)
    intake = await load_intake(session, case.case_id)
    assigned = sorted(session.workspace.trust.assigned(case.case_id))
    case_label = (await label_of(session, case.case_id, case.activity_seq)).label
    if items:
        await session.workspace.port.mark_read(session, case.case_id, max(i.seq for i in items))
    visible = [i for i in items if i.direction.value != "note"]
    notes = [i for i in items if i.direction.value == "note"]
    if args.json:
        _json(
            {
                "case_id": case.case_id,
                "status": case.status.value,
                "language": case.language,
                "flags": sorted(f.value for f in case.flags),
                "assigned": assigned,
                **_label_json(case_label),
                "intake": [a.model_dump(mode="json") for a in intake],
                "messages": [i.to_json() for i in visible],
                "notes": [i.to_json() for i in notes],
            }
        )
        return 0
    _say(f"Case {case.case_id} · {case.status.value} · assigned: {', '.join(assigned)}")
    if case_label is not None and not case_label.empty:
        _say(f"Label: {render_untrusted(case_label.words(), single_line=True)}")
    labels = session.workspace.question_labels()
    for answer in intake:
        label = labels.get(answer.question, answer.question)
        value = "(skipped)" if answer.skipped else (answer.answer or answer.choice or "")
        _say(
            f"  {render_untrusted(label, single_line=True)} "
            f"{render_untrusted(value, single_line=True)}"
        )
    for item in items:
        for line in _item_lines(item):
            _say(line)
    return 0


async def _reply(session: Session, args: argparse.Namespace) -> int:
    seconds = parse_duration(args.self_destruct) if args.self_destruct else None
    body = getattr(args, "body", "")
    if args.template is not None:
        case = await require_assigned(session, args.case_id)
        body = pick_template(session.workspace.config.data_dir, args.template, case.language).text
    sent = await send_reply(session, args.case_id, body, self_destruct_seconds=seconds)
    if sent.warning:
        _warn(sent.warning)
    _say(f"reply {sent.message_id.hex()} queued for delivery")
    return 0


async def _cancel(session: Session, args: argparse.Namespace) -> int:
    case_id, message_id = await find_reply(session, args.case_id, args.reply_id)
    cancelled = await cancel_reply(session, case_id, message_id)
    if cancelled.warning:
        _warn(cancelled.warning)
    _say(f"reply {message_id.hex()} cancelled: the relay will not send it")
    return 0


async def _note(session: Session, args: argparse.Namespace) -> int:
    sent = await send_note(session, args.case_id, args.body)
    _say(f"note {sent.message_id.hex()} added")
    return 0


async def _label(session: Session, args: argparse.Namespace) -> int:
    case = await require_assigned(session, args.case_id)
    if args.clear or args.label is not None or args.tags is not None:
        if args.clear and (args.label is not None or args.tags is not None):
            raise UsageError("--clear takes no --label or --tags")
        known = (await label_of(session, case.case_id, case.activity_seq)).label
        text = "" if args.clear else args.label if args.label is not None else ""
        tags = "" if args.clear else args.tags if args.tags is not None else ""
        if not args.clear and known is not None:  # what is not given stays as it was
            text = known.label if args.label is None else text
            tags = " ".join(known.tags) if args.tags is None else tags
        label = await set_label(session, case.case_id, text, tags)
        done = "cleared" if label.empty else "set to " + label.words()
        _say(f"label of case {case.case_id} {render_untrusted(done, single_line=True)}")
        return 0
    current = (await label_of(session, case.case_id, case.activity_seq)).label
    if args.json:
        _json({"case_id": case.case_id, **_label_json(current)})
    elif current is None or current.empty:
        _say(f"case {case.case_id} has no label")
    else:
        _say(render_untrusted(current.words(), single_line=True))
    return 0


async def _search(session: Session, args: argparse.Namespace) -> int:
    result = await search_content(session, args.text, recent=args.cases)
    if args.json:
        _json(
            {
                "query": result.query,
                "cases": result.cases,
                "messages": result.messages,
                "truncated": result.truncated,
                "hits": [hit.to_json() for hit in result.hits],
            }
        )
        return 0
    for hit in result.hits:
        when = hit.created.strftime("%Y-%m-%d %H:%M UTC") if hit.created else "?"
        who = {"in": "source", "out": f"reply by {hit.author}", "note": f"note by {hit.author}"}
        head = f"{hit.case_id} #{hit.seq} · {who[hit.direction.value]} · {when}: "
        _say(render_untrusted(head + hit.snippet, single_line=True))
    more = " (only the newest shown)" if result.truncated else ""
    _say(
        f"({len(result.hits)} message(s){more} in {result.cases} case(s) searched, "
        f"{result.messages} message(s) read, in memory only)"
    )
    return 0


async def _templates(session: Session, args: argparse.Namespace) -> int:
    data_dir = session.workspace.config.data_dir
    templates = load_templates(data_dir)
    if args.language:
        templates = [t for t in templates if t.language == args.language]
    if args.json:
        _json([{"language": t.language, "name": t.name, "text": t.text} for t in templates])
        return 0
    if not templates:
        _say(f"no templates (write them in {templates_path(data_dir)})")
    for t in templates:
        first = t.text.splitlines()[0] if t.text else ""
        _say(render_untrusted(f"{t.language:<4} {t.name:<16} {first}", single_line=True))
    return 0


async def _export(session: Session, args: argparse.Namespace) -> int:
    exported = await export_attachment(session, args.case_id, args.attachment_id, args.out)
    _say(f"saved {exported.size} bytes to {render_untrusted(exported.path, single_line=True)}")
    return 0


async def _assign(session: Session, args: argparse.Namespace) -> int:
    done = await assign(session, args.case_id, args.handler, hand_over=args.hand_over)
    if done.unreadable:
        _warn(f"{done.unreadable} message(s) could not be opened and were not passed on")
    what = "handed over to" if done.handed_over else "assigned to"
    _say(f"case {done.case_id} {what} {done.handler} ({done.rewrapped} message(s) re-wrapped)")
    return 0


def _set_status(status: CaseStatus) -> Action:
    async def action(session: Session, args: argparse.Namespace) -> int:
        changed = await set_status(session, args.case_id, status)
        case_id = render_untrusted(canonical_case_id(args.case_id), single_line=True)
        _say(f"case {case_id} {'is now' if changed else 'was already'} {status.value}")
        return 0

    return action


# -- handler keygen and the TUI --------------------------------------------------------------


def _keygen(args: argparse.Namespace) -> int:
    out = Path(args.out)
    if out.exists():
        raise UsageError(f"{out} exists; keygen never overwrites a key file")
    passphrase = _passphrase(args, f"New passphrase for {out}: ", confirm=True)
    result = keygen(args.name, out, passphrase)
    _say(
        f"Case officer key for {result.name} written to {out}. Keep it and its passphrase private."
    )
    _say("Public bundle (give it to your admin to certify):")
    _say(result.bundle_b64)
    _say(f"Fingerprint (read it to the admin by phone or in person): {result.fingerprint}")
    return 0


def _rotate(args: argparse.Namespace) -> int:
    async def main() -> int:
        config = _config(args)
        if needs_key(config):
            raise UsageError(
                "writein handler rotate works on the relay host's store only, "
                "not through a console gateway ([console] url)"
            )
        workspace = await open_workspace(config)
        try:
            path = key_path(config, args.key)
            passphrase = _passphrase(args, f"Passphrase for {path}: ")
            with translating(key_file=path):
                done = await rotate_handler_key(workspace, path, passphrase, force=args.force)
        finally:
            await workspace.close()
        if done.stage is RotationStage.FINISHED:
            _say(
                f"Rotated: {path} now holds key v{done.key_version} of {done.name};"
                f" {done.rewrapped} more message(s) moved, the old key is destroyed."
            )
            return 0
        if args.bundle_out:
            text = base64.b64encode(done.bundle).decode("ascii") + "\n"
            await asyncio.to_thread(Path(args.bundle_out).write_text, text)
        _say(f"New keys for {done.name} are in {next_key_path(path)} (same passphrase).")
        _say(f"{done.rewrapped} message(s) re-wrapped for them so far.")
        if done.unreadable:
            _warn(f"{done.unreadable} message(s) did not verify and cannot be moved")
        _say("Public bundle (the admin certifies it: writein admin renew-handler):")
        _say(base64.b64encode(done.bundle).decode("ascii"))
        _say(f"Fingerprint (read it to the admin by phone or in person): {done.fingerprint}")
        _say("Once the admin has certified it, run `writein handler rotate` again.")
        return 0

    return _run(main)


def _tui(args: argparse.Namespace) -> int:
    from .tui import ConsoleApp  # Textual loads only for the interactive console

    config = _config(args)
    path = key_path(config, getattr(args, "key", None))

    async def check() -> None:
        # What would stop the TUI at once (no store, keys not the pinned organisation's)
        # is one line here, before the screen is taken over. (A gateway is asked only once
        # the key is unlocked: the unlock screen shows what it refuses.)
        await (await open_workspace(config)).close()

    remote = needs_key(config)
    if not remote:
        asyncio.run(check())
    app = ConsoleApp(
        open_workspace=lambda me: open_workspace(config, me),
        key_file=path,
        lock_after_seconds=60.0 * config.console.lock_after_minutes,
        remote=remote,
    )
    app.run()
    return app.return_code or 0


# -- argparse ---------------------------------------------------------------------------------


def _common(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    default: Any = argparse.SUPPRESS if suppress else None
    parser.add_argument("--config", metavar="FILE", default=default, help="configuration file")
    parser.add_argument(
        "--key", metavar="FILE", default=default, help="your key file (else console.key_file)"
    )
    parser.add_argument(
        "--passphrase-file",
        metavar="FILE",
        default=default,
        help=f"file (mode 0600) holding the key's passphrase (else ${PASSPHRASE_ENV} or a prompt)",
    )


def _text_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--text", help="the text (else read from stdin)")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``console`` and ``handler`` to the `writein` command's subcommands."""
    console = subparsers.add_parser(
        "console",
        help="the case officer's console: read cases, reply, assign (TUI without a subcommand)",
        description="The case officer's console. Without a subcommand: the interactive TUI.",
    )
    _common(console, suppress=False)
    console.set_defaults(func=_tui)
    sub = console.add_subparsers(dest="console_command", metavar="COMMAND")

    def command(
        name: str, help_text: str, action: Action, *, reads_text: bool = False
    ) -> argparse.ArgumentParser:
        parser = sub.add_parser(name, help=help_text, description=help_text)
        _common(parser, suppress=True)
        parser.set_defaults(func=_with_session(action, reads_text=reads_text))
        return parser

    p = command("cases", "list your cases, most recently active first", _cases)
    p.add_argument("--json", action="store_true", help="JSON output")
    p.add_argument("--status", choices=["open", "closed", "all"], default="all")
    p.add_argument("--flag", choices=[f.value for f in CaseFlag])
    p.add_argument("--search", metavar="TEXT", help="case ids containing TEXT")
    p.add_argument("--limit", type=_positive, metavar="N", help="at most N cases")
    p.add_argument(
        "--filter",
        choices=[v.value for v in View],
        default=View.ALL.value,
        help="unread; awaiting (a reply); mine (you alone); team (shared with colleagues)",
    )

    p = command("show", "show a case's decrypted thread (marks it read)", _show)
    p.add_argument("case_id", metavar="CASE_ID")
    p.add_argument("--json", action="store_true", help="JSON output")
    p.add_argument("--last", type=_positive, metavar="N", help="only the last N messages")

    p = command("reply", "reply to the source of a case", _reply)
    p.add_argument("case_id", metavar="CASE_ID")
    _text_options(p)
    p.add_argument(
        "--template", metavar="NAME", help="send your template NAME in the case's language"
    )
    p.set_defaults(func=_with_session(_reply, reads_text=True, unless="template"))
    p.add_argument(
        "--self-destruct", metavar="TIME", help="delete from the source's chat after 90s/30m/1h"
    )

    p = command(
        "cancel",
        "cancel your queued reply before the relay sends it (it leaves the thread)",
        _cancel,
    )
    p.add_argument("case_id", metavar="CASE_ID")
    p.add_argument(
        "reply_id", metavar="REPLY_ID", help="as `reply` printed it (or its first 8 digits)"
    )

    p = command("note", "add an internal note (never sent to the source)", _note, reads_text=True)
    p.add_argument("case_id", metavar="CASE_ID")
    _text_options(p)

    p = command("label", "show or set a case's label and tags (sealed to its officers)", _label)
    p.add_argument("case_id", metavar="CASE_ID")
    p.add_argument("--label", metavar="TEXT", help="the label (one line)")
    p.add_argument("--tags", metavar="TAGS", help='tags, e.g. "urgent, procurement" ("" clears)')
    p.add_argument("--clear", action="store_true", help="remove the label and tags")
    p.add_argument("--json", action="store_true", help="JSON output")

    p = command(
        "search",
        f"search the decrypted messages of your most recent cases (in memory, {RECENT_CASES})",
        _search,
    )
    p.add_argument("text", metavar="TEXT")
    p.add_argument("--json", action="store_true", help="JSON output")
    p.add_argument(
        "--cases", type=_positive, default=RECENT_CASES, metavar="N", help="the N most recent"
    )

    p = command(
        "templates", "list your reply templates (templates.toml in the data dir)", _templates
    )
    p.add_argument("--language", metavar="LANG", help="only this language")
    p.add_argument("--json", action="store_true", help="JSON output")

    p = command("export", "decrypt an attachment into a folder (never opens it)", _export)
    p.add_argument("case_id", metavar="CASE_ID")
    p.add_argument("attachment_id", metavar="ATTACHMENT_ID")
    p.add_argument("--out", metavar="DIR", required=True, help="folder to write into")

    p = command("assign", "give another case officer access to a case", _assign)
    p.add_argument("case_id", metavar="CASE_ID")
    p.add_argument("handler", metavar="OFFICER")
    p.add_argument(
        "--hand-over", action="store_true", help="and leave the case (your access is removed)"
    )

    p = command("close", "close a case", _set_status(CaseStatus.CLOSED))
    p.add_argument("case_id", metavar="CASE_ID")
    p = command("reopen", "reopen a closed case", _set_status(CaseStatus.OPEN))
    p.add_argument("case_id", metavar="CASE_ID")

    handler = subparsers.add_parser("handler", help="a case officer's own key")
    handler_sub = handler.add_subparsers(dest="handler_command", metavar="COMMAND")
    handler.set_defaults(func=lambda _args: _usage(handler))
    p = handler_sub.add_parser(
        "keygen",
        help="create your key file and print the public bundle to certify",
        description="Create your key file and print the public bundle for the admin.",
    )
    p.add_argument("--name", required=True, help="your case officer name, as the admin enrols it")
    p.add_argument("--out", required=True, metavar="FILE", help="the new key file")
    p.add_argument("--passphrase-file", metavar="FILE", default=None)
    p.set_defaults(func=_keygen)
    p = handler_sub.add_parser(
        "rotate",
        help="new keys for you, certified by the admin; your messages move to them",
        description=(
            "Rotate your key: the first run makes new keys and prints the bundle for the "
            "admin (writein admin renew-handler); run it again once they certified it."
        ),
    )
    _common(p, suppress=False)
    p.add_argument("--force", action="store_true", help="give up messages that no longer verify")
    p.add_argument("--bundle-out", metavar="FILE", help="also write the public bundle there")
    p.set_defaults(func=_rotate)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``console``/``handler`` commands on their own (as `writein` would)."""
    return run_group(register, argv)


if __name__ == "__main__":
    sys.exit(main())
