"""Rich ``Text`` for the console's screens. Every value from a source or the store goes
through core.untrusted (``as_text``/``render_untrusted``); labels are our own words.

Nothing here returns a ``str`` for Textual to render: a ``str`` would be parsed as
markup, a ``Text`` never is.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Protocol

from rich.text import Text
from textual.notifications import SeverityLevel

from core.payload import AttachmentRef, IntakeAnswer
from core.untrusted import as_text, render_untrusted
from store import Case

from ..cases import CaseSummary
from ..compose import format_duration
from ..labels import CaseLabel
from ..port import CaseEvent
from ..thread import ThreadItem

__all__ = [
    "attachment_label",
    "case_cells",
    "case_header",
    "event_text",
    "human_size",
    "intake_text",
    "item_text",
    "label_cell",
    "local_time",
    "origin_text",
]


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{size} B"  # pragma: no cover


def local_time(moment: datetime | None) -> str:
    """A moment in the officer's local time zone, with the zone named."""
    if moment is None:
        return "time unknown"
    local = moment.astimezone()
    return local.strftime("%Y-%m-%d %H:%M ") + (local.tzname() or local.strftime("%z"))


def _when(moment: datetime | None) -> str:
    return local_time(moment)


# What a forward keeps of its origin (core.payload.FORWARD_KINDS, ADR 0077), for a reader.
_ORIGIN_KINDS = {
    "user": "a Telegram account (writein keeps no name)",
    "hidden_user": "a hidden account (its owner hides it from forwards)",
    "chat": "a group (writein keeps no name)",
    "channel": "a private channel (writein keeps no name)",
    "other": "an origin Telegram does not name",
}
#: Names that bodies sealed before ADR 0077 may still hold, and what they name.
_OLD_NAMES = ("sender_name", "sender_user_name", "chat_title", "author_signature")
_OLD_KINDS = {
    "user": "a Telegram account",
    "hidden_user": "a hidden account",
    "chat": "a group",
    "channel": "a channel",
}


def origin_text(origin: Mapping[str, object]) -> str:
    """Where a forwarded message says it came from, as words for a reader (still
    untrusted): "a hidden account", or a public channel's title, address and post time.

    Since ADR 0077 a forward keeps only the kind of its origin (a public channel: its
    title, username, post and date); bodies sealed before may still hold names, shown
    in quotes. Other fields of an old body are left out.
    """
    kind = str(origin.get("type") or "other")
    username, post = origin.get("chat_username"), origin.get("message_id")
    names = [str(origin[k]) for k in _OLD_NAMES if origin.get(k)]
    if username:
        title = f"“{origin['chat_title']}” " if origin.get("chat_title") else ""
        where = f"t.me/{username}/{post}" if isinstance(post, int) else f"t.me/{username}"
        text = f"the public channel {title}({where})"
        names = [n for n in names if n != origin.get("chat_title")]
        if names:
            text += ", signed “" + "”, “".join(names) + "”"
    elif names:  # a body sealed before ADR 0077
        what = _OLD_KINDS.get(kind, "an origin Telegram does not name")
        text = "“" + "”, “".join(names) + f"” ({what})"
    else:
        text = _ORIGIN_KINDS.get(kind, _ORIGIN_KINDS["other"])
    date = origin.get("date")
    if isinstance(date, int) and not isinstance(date, bool):
        with contextlib.suppress(OverflowError, OSError, ValueError):
            text += f", first posted {local_time(datetime.fromtimestamp(date, UTC))}"
    return text


_EVENTS = {
    "source-forgot": "The source used /forget: writein no longer knows their chat, and "
    "replies cannot reach them until they come back with /recover.",
    "source-recovered": "The source came back with /recover and their recovery phrase "
    "(perhaps from another Telegram account): replies go to that chat now.",
    "source-recover-refused": "Someone used this case's recovery phrase once more the same "
    "day, past the daily limit: the case stayed with its chat. If the source did not do "
    "this, someone else knows their phrase.",
    "source-language": "The source changed their language.",
}


def event_text(event: CaseEvent) -> Text:
    """Something the source did, as a line of the thread (the audit log keeps the day)."""
    out = Text("◆ ", style="bold magenta", end="")
    out.append(_EVENTS.get(event.action, event.action), style="magenta")
    out.append(f"  {event.on.isoformat()} (UTC day)", style="dim")
    return out


def attachment_label(ref: AttachmentRef) -> Text:
    label = Text(end="")
    label.append_text(as_text(ref.name or "(no name)", single_line=True, style="bold"))
    label.append(" · ")
    label.append_text(as_text(ref.mime, single_line=True))
    label.append(f" · {human_size(ref.size)} · id {ref.id}", style="dim")
    return label


def item_text(item: ThreadItem) -> Text:
    """One message of the thread."""
    if not item.readable:
        return Text(
            f"⚠ Message #{item.seq} ({item.direction.value}) could not be verified or "
            "decrypted: it may have been altered, or it was not sealed for you. Not shown.",
            style="bold red",
        )
    out = Text(overflow="fold", end="")
    if item.kind == "label":
        out.append("🏷 Label ", style="bold yellow")
        out.append("cleared" if not item.text else "set", style="bold yellow")
        out.append(" by ", style="bold yellow")
        out.append_text(as_text(item.author or "an unknown case officer", single_line=True))
        out.append(f"  {_when(item.created)}", style="dim")
        if item.text:
            out.append("\n")
            out.append_text(as_text(item.text, single_line=True, style="italic"))
        return out
    if item.direction.value == "in":
        out.append("▶ Source", style="bold cyan")
    else:
        label = "◀ Reply by " if item.direction.value == "out" else "✎ Note by "
        out.append(label, style="bold green" if item.direction.value == "out" else "bold yellow")
        out.append_text(as_text(item.author or "an unknown case officer", single_line=True))
    out.append(f"  {_when(item.created)}", style="dim")
    details = []
    if item.kind not in ("text", "note"):
        details.append(item.kind)
    if item.edit:
        details.append("edit of an earlier message")
    if item.edited_later:
        details.append("edited later")
    if item.self_destruct_seconds:
        details.append(f"self-destructs after {format_duration(item.self_destruct_seconds)}")
    if item.delivery:
        details.append(item.delivery)
    if details:
        out.append("  [", style="dim")
        out.append_text(as_text(", ".join(details), single_line=True, style="dim"))
        out.append("]", style="dim")
    if item.forward_origin is not None:
        out.append("\n↪ Forwarded from ", style="italic")
        out.append_text(as_text(origin_text(item.forward_origin), single_line=True))
    if item.text:
        out.append("\n")
        out.append_text(as_text(item.text))
    for ref in item.attachments:
        out.append("\n📎 ")
        out.append_text(attachment_label(ref))
    if item.answers:
        out.append(f"\nAnswered {len(item.answers)} intake question(s): see Intake above.")
    return out


def intake_text(answers: Iterable[IntakeAnswer], labels: Mapping[str, str]) -> Text:
    """The intake answers under their questions (``labels``: question id → its prompt)."""
    out = Text("Intake:", style="bold", end="")
    for answer in answers:
        out.append("\n  ")
        label = labels.get(answer.question, answer.question)
        out.append_text(as_text(label, single_line=True, style="bold"))
        out.append(" ")
        if answer.skipped:
            out.append("(skipped)", style="dim")
        else:
            out.append_text(as_text(answer.answer or answer.choice or ""))
    return out


def case_header(
    case: Case, assigned: Iterable[str], *, older: bool, label: CaseLabel | None = None
) -> Text:
    out = Text(end="")
    out.append("Case ", style="bold")
    out.append_text(as_text(case.case_id, single_line=True, style="bold"))
    if label is not None and not label.empty:
        out.append(" · ")
        out.append_text(as_text(label.words(), single_line=True, style="bold italic"))
    out.append(f" · {case.status.value} · language {render_untrusted(case.language)}")
    out.append(" · assigned: ")
    out.append_text(as_text(", ".join(assigned), single_line=True))
    if case.flags:
        out.append(" · ")
        out.append(", ".join(sorted(f.value for f in case.flags)), style="bold red")
    if older:
        out.append("\nOlder messages exist: press o to load them.", style="dim")
    return out


#: How much of a label the case list shows (the case view shows all of it).
LABEL_CELL = 40


def label_cell(label: CaseLabel | None) -> Text:
    """A case's label and tags for the case list (officers' words: still shown as text)."""
    if label is None or label.empty:
        return Text("")
    words = label.words()
    if len(words) > LABEL_CELL:
        words = words[: LABEL_CELL - 1] + "…"
    return as_text(words, single_line=True, style="italic")


def case_cells(
    item: CaseSummary, *, awaiting: bool = False, label: CaseLabel | None = None
) -> tuple[Text, ...]:
    unread = Text(str(item.unread), style="bold" if item.unread else "dim", justify="right")
    flags = ", ".join(item.flag_names())
    marks = Text(end="")
    if item.unread:
        marks.append("● unread ", style="bold cyan")
    if awaiting:
        marks.append("↩ awaiting reply", style="bold yellow")
    return (
        as_text(item.case_id, single_line=True),
        label_cell(label),
        Text(item.status.value),
        unread,
        marks,
        Text(item.last_activity.isoformat()),
        Text(flags, style="bold" if flags else ""),
        as_text(", ".join(item.assigned), single_line=True),
    )


class _Notifying(Protocol):
    def notify(
        self, message: str, *, severity: SeverityLevel = ..., markup: bool = ...
    ) -> None: ...


def tell(screen: _Notifying, message: str, *, error: bool = False) -> None:
    """A toast for the officer; a message may quote source text, so it is shown as text."""
    screen.notify(
        render_untrusted(message, single_line=True),
        severity="error" if error else "information",
        markup=False,
    )
