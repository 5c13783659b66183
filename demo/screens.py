"""The console's main screens as SVG pictures, for the documentation: `make screens`.

    .venv/bin/python -m demo.screens [FOLDER]      # FOLDER defaults to docs/screens

Sets up a throw-away relay in a temporary folder (`writein init`, three case officers),
fills it with a small fictional caseload, opens the real console headless (Textual's
``App.run_test``) as the officer alice, and saves what she sees with
``App.export_screenshot()``:

- ``case-list.svg``: her open cases, with the unread and "awaiting reply" marks and the
  line about a closed case that heard from its source;
- ``help.svg``: ``?`` on the case list;
- ``needs-attention.svg``: ``t``, the closed cases that received new messages;
- ``case-view.svg``: a case's intake answers and thread (source, reply, note, a file);
- ``composer.svg``: ``r`` in that case, a reply being written (it is not sent).

Everything shown is made up and harmless, and the same on every run: fixed case IDs,
texts and dates, times in UTC. Keys and signatures are fresh each time but never shown.
Nothing is kept: the folder goes when the pictures are written. The key files use the
tests' fast Argon2 parameters, since nobody will ever unlock them again.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import html
import os
import re
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

from textual.pilot import Pilot
from textual.widgets import Input, TextArea

import store
from admin.enrolment import enrol_handler
from admin.keyring import RelayKeyRing, RelayKeys
from admin.roster import org_roster, sign
from admin.setup import ORG_KEY_KIND, initialise
from core.config import Config, parse_config
from core.payload import AttachmentRef, IntakeAnswer, Note, Reply, SourceMessage, encode_body
from crypto import Argon2Params, Direction, Envelope, SigningKeyPair, seal, seal_chunks
from handlers.identity import HandlerIdentity, write_identity
from handlers.session import open_workspace
from handlers.tui import ConsoleApp
from handlers.tui.caselist import CaseListScreen
from handlers.tui.casescreen import CaseScreen
from handlers.tui.compose import ComposeScreen
from handlers.tui.dialogs import HelpScreen
from store import Store, open_store
from store.keyfiles import read_secret_file

from .site import INTAKE

__all__ = ["SCREENS", "SIZE", "main", "make_screens"]

#: The pictures, by file name (without ``.svg``).
SCREENS: Final = ("case-list", "help", "needs-attention", "case-view", "composer")
#: The terminal the console is drawn in: columns, lines.
SIZE: Final = (110, 32)
OFFICERS: Final = ("alice", "bob", "carol")
VIEWER: Final = "alice"
#: The demo caseload's first moment; every message is some minutes after it.
START: Final = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
DAY: Final = 24 * 60  # minutes
SHOWN_CASE: Final = "7K3M-QX9B-2HD4"
_WEAK: Final = Argon2Params.insecure_for_tests()
_ADMIN: Final = b"screens admin passphrase"
_RELAY: Final = b"screens relay passphrase"
_STORED: Final = {
    Direction.IN: store.Direction.IN,
    Direction.OUT: store.Direction.OUT,
    Direction.NOTE: store.Direction.NOTE,
}
#: How long a screen may take to show what it should (seconds).
_PATIENCE: Final = 30.0


def _passphrase(name: str) -> bytes:
    return f"{name} unlocks the demo console".encode()


# -- the caseload ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Said:
    """One message of a demo case: the source's (``in``), a reply (``out``) or a note."""

    direction: str
    text: str
    minutes: int  # after START
    author: str = ""
    kind: str = "text"
    answers: tuple[IntakeAnswer, ...] = ()
    attachment: tuple[str, str, bytes] | None = None  # name, type, content


@dataclass(frozen=True)
class DemoCase:
    case_id: str
    language: str
    officers: tuple[str, ...]
    thread: tuple[Said, ...]
    #: How many of the thread's messages the viewer has read.
    read: int = 0
    closed: bool = False
    #: The source writes again after the case was closed.
    later: Said | None = None
    flags: tuple[store.CaseFlag, ...] = field(default_factory=tuple)


def _intake(topic: str, minutes: int) -> Said:
    answers = (
        IntakeAnswer(question="relation", answer="I work there", choice="employee"),
        IntakeAnswer(question="topic", answer=topic),
    )
    return Said("in", "", minutes, kind="intake", answers=answers)


# Each message moves its case to the top of the list; minutes after START (08:00 UTC).
CASELOAD: Final[tuple[DemoCase, ...]] = (
    DemoCase(
        "6HJK-MNPQ-RSTV",
        "en",
        ("alice",),
        (
            _intake("Water tests at the lake beach", 70),
            Said("in", "The lifeguards were told not to post the weekly water tests.", 72),
            Said("out", "Thank you. Do you know who told them?", 125, author="alice"),
            Said("in", "Only that it came from the parks office. That is all I know.", 220),
        ),
        read=4,
        closed=True,
        later=Said(
            "in", "One more thing: the October tests were never posted at all.", 2 * DAY + 45
        ),
    ),
    DemoCase(
        "E2F3-G4H5-J6K7",
        "ru",
        ("alice", "bob"),
        (Said("in", "Спасибо, больше писать не буду.", 90),),
        read=1,
        closed=True,
        later=Said("in", "Простите, ещё одно: отчёт за октябрь так и не вышел.", 2 * DAY + 30),
    ),
    DemoCase(
        "3XYZ-0123-4567",
        "en",
        ("bob",),
        (Said("in", "The museum shop sells copies as originals.", 100),),
    ),
    DemoCase(
        "5RST-VWXY-Z012",
        "en",
        ("alice", "carol"),
        (
            _intake("Ticket resale at a football club", 150),
            Said("in", "Season tickets go to resellers before the public sale opens.", 151),
            Said("out", "Thanks. Could you note the dates when this happened?", 360, "alice"),
        ),
        read=3,
    ),
    DemoCase(
        "W6X7-Y8Z9-0A1B",
        "en",
        ("alice",),
        (
            Said("in", "The hospital canteen reuses its frying oil for weeks.", 200),
            Said("out", "Thank you. Which hospital, and since when?", 380, "alice"),
        ),
        read=2,
    ),
    DemoCase(
        "4ABC-2DEF-9GHJ",
        "ru",
        ("alice", "bob"),
        (Said("in", "Здравствуйте. В школьной столовой меню не совпадает с накладными.", 400),),
        read=1,
        flags=(store.CaseFlag.UNREACHABLE,),
    ),
    DemoCase(
        "HJ2K-3MN4-PQ5R",
        "ru",
        ("alice", "carol"),
        (
            Said("in", "Добрый день. Автобусы возят детей без техосмотра.", 430),
            Said("out", "Спасибо. Какой это перевозчик?", 470, "carol"),
        ),
        read=1,
    ),
    DemoCase(
        "2DEF-GHJK-MNPQ",
        "en",
        ("alice",),
        (Said("in", "Our overtime hours are written down by hand, then changed.", 480),),
        read=1,
    ),
    DemoCase(
        "C4D5-E6F7-G8H9",
        "en",
        ("alice", "bob"),
        (Said("in", "The recycling bins are emptied into the same truck as the rest.", 500),),
    ),
    DemoCase(
        "9ABC-DEFG-HJKM",
        "uk",
        ("alice", "carol"),
        (
            Said("in", "Добрий день. Ремонт парку оплатили, але робіт не було.", 540),
            Said("out", "Дякуємо. Чи є у вас фото парку до і після?", 600, "carol"),
            Said("in", "Так, надішлю завтра.", DAY + 60),
        ),
        read=2,
    ),
    DemoCase(
        "8PQR-4T5V-6WXY",
        "ru",
        ("alice",),
        (Said("in", "Добрый вечер. У нас на складе путают сроки годности.", DAY + 90),),
    ),
    DemoCase(
        "1QRS-TV2W-XYZ3",
        "uk",
        ("alice", "bob"),
        (Said("in", "Вітаю. Маю таблицю змін, де години переписані.", DAY + 100),),
    ),
    DemoCase(
        SHOWN_CASE,
        "en",
        ("alice", "bob"),
        (
            _intake("Flour sold as organic at a bakery chain", DAY + 120),
            Said(
                "in",
                "Hello. I work in the warehouse of a bakery chain. The flour sold as organic"
                " comes from the same silo as all the rest.",
                DAY + 121,
            ),
            Said(
                "out",
                "Thank you for writing to us. Please do not use a work phone or the work"
                " Wi-Fi for this. Since when has it been like this?",
                DAY + 180,
                author="alice",
            ),
            Said(
                "note",
                "The delivery notes would show the silo numbers. Ask for one, names covered.",
                DAY + 210,
                author="bob",
            ),
            Said("in", "Since the spring, I think. I kept a delivery note.", DAY + 360),
            Said(
                "in",
                "",
                DAY + 362,
                kind="document",
                attachment=("delivery-note.pdf", "application/pdf", b"%PDF-1.4 demo\n"),
            ),
        ),
        read=3,
    ),
)


@dataclass(frozen=True)
class _Relay:
    config: Config
    org: SigningKeyPair
    relay: RelayKeys
    officers: dict[str, HandlerIdentity]
    key_files: dict[str, Path]


async def _found(root: Path) -> _Relay:
    """`writein init` and three enrolled officers, as tests/support/world.py does it."""
    paths = {"data_dir": "data"}
    draft = parse_config({"paths": paths}, base_dir=root, source=root / "writein.toml")
    result = await initialise(draft, admin_passphrase=_ADMIN, relay_passphrase=_RELAY, argon2=_WEAK)
    config = parse_config(
        {
            "paths": paths,
            "trust": {"org_fingerprint": result.org_fingerprint},
            "console": {"key_file": f"{VIEWER}.key"},
            "intake": {"questions": INTAKE},
        },
        base_dir=root,
        source=root / "writein.toml",
    )
    org = SigningKeyPair.from_seed(
        read_secret_file(result.layout.org_key, _ADMIN, kind=ORG_KEY_KIND)
    )
    relay = RelayKeyRing.load(result.layout.relay_key, _RELAY).current
    officers: dict[str, HandlerIdentity] = {}
    key_files: dict[str, Path] = {}
    async with await open_store(config.store_url) as db:
        for name in OFFICERS:
            identity = HandlerIdentity.generate(name)
            key_files[name] = root / f"{name}.key"
            write_identity(key_files[name], identity, _passphrase(name), argon2=_WEAK)
            await enrol_handler(
                db,
                org,
                name,
                identity.encryption.public,
                identity.signing.public,
                now=int(START.timestamp()),
            )
            officers[name] = identity
    return _Relay(config, org, relay, officers, key_files)


def _message_id(case_id: str, said: Said) -> bytes:
    """The same ids on every run (an attachment's id is shown in the thread)."""
    return hashlib.sha256(f"{case_id}/{said.minutes}/{said.direction}".encode()).digest()[:16]


async def _add(db: Store, site: _Relay, case: DemoCase, said: Said) -> int:
    """Seal one message as the relay (``in``) or the console (``out``, ``note``) does;
    a reply is queued and sent. Returns its sequence number."""
    moment = START + timedelta(minutes=said.minutes)
    readers = [site.officers[name].encryption.public for name in case.officers]
    message_id = _message_id(case.case_id, said)
    chunks: list[tuple[bytes, bytes]] = []  # (attachment id, chunk)
    if said.direction == "in":
        refs: tuple[AttachmentRef, ...] = ()
        if said.attachment is not None:
            name, mime, data = said.attachment
            attachment_id = hashlib.sha256(name.encode() + data).digest()[:16]
            sealed = seal_chunks(data, attachment_id=attachment_id)
            chunks = [(sealed.attachment_id, chunk) for chunk in sealed.chunks]
            refs = (
                AttachmentRef(
                    id=sealed.attachment_id.hex(),
                    name=name,
                    mime=mime,
                    size=sealed.size,
                    chunks=len(sealed.chunks),
                    key=base64.b64encode(sealed.key).decode(),
                    sha256=sealed.sha256.hex(),
                ),
            )
        body = encode_body(
            SourceMessage(kind=said.kind, text=said.text, answers=said.answers, attachments=refs)
        )
        signer, direction = site.relay.signing, Direction.IN
    elif said.direction == "out":
        body = encode_body(Reply(text=said.text))
        readers.append(site.relay.delivery.public)
        signer, direction = site.officers[said.author].signing, Direction.OUT
    else:
        body = encode_body(Note(text=said.text))
        signer, direction = site.officers[said.author].signing, Direction.NOTE
    envelope = seal(
        body,
        case_id=case.case_id,
        direction=direction,
        recipients=readers,
        signer=signer,
        created=int(moment.timestamp()),
        message_id=message_id,
    )
    relay_id = site.relay.delivery.public.key_id
    wraps = {key: wrap for key, wrap in envelope.wraps.items() if key != relay_id}
    stored = await db.add_envelope(
        message_id, case.case_id, _STORED[direction], envelope.core, wraps, now=moment
    )
    for index, (attachment_id, chunk) in enumerate(chunks):
        await db.add_attachment_chunk(attachment_id, message_id, index, chunk)
    if direction is Direction.OUT:
        for_relay = Envelope(envelope.core, {relay_id: envelope.wraps[relay_id]})
        await db.enqueue_outbox(
            case.case_id,
            for_relay.to_bytes(),
            message_id=message_id,
            author=said.author,
            now=moment,
        )
        claimed = await db.claim_outbox(lease=timedelta(minutes=1), now=moment)
        if claimed is not None and claimed.claim_token is not None:
            await db.mark_outbox_sent(claimed.outbox_id, claimed.claim_token, sent_ref=b"demo")
    return stored.seq


async def _fill(site: _Relay) -> None:
    async with await open_store(site.config.store_url) as db:
        for case in CASELOAD:
            await db.create_case(case.case_id, language=case.language, now=START)
            async with db.transaction() as tx:
                roster = await org_roster(tx, site.org.public)
                names = sorted(case.officers)
                await sign(tx, roster, site.org, "open_case", case_id=case.case_id, handlers=names)
                for name in names:
                    await tx.assign_handler(case.case_id, name)
        # Messages in the order they were written, across cases: the list's order follows.
        said = sorted(
            ((s.minutes, case, s) for case in CASELOAD for s in case.thread),
            key=lambda entry: entry[0],
        )
        seqs: dict[str, list[int]] = {case.case_id: [] for case in CASELOAD}
        for _, case, message in said:
            seqs[case.case_id].append(await _add(db, site, case, message))
        for case in CASELOAD:
            if case.read and VIEWER in case.officers:
                await db.mark_read(case.case_id, VIEWER, seqs[case.case_id][case.read - 1])
            for flag in case.flags:
                await db.set_case_flag(case.case_id, flag)
            if case.closed:
                await db.set_case_status(case.case_id, store.CaseStatus.CLOSED)
        for case in CASELOAD:
            if case.later is not None:
                await _add(db, site, case, case.later)


# -- the console, headless ----------------------------------------------------------------


def svg_text(svg: str) -> str:
    """The words of a screenshot, one ``<text>`` element after the other (for checks)."""
    runs = re.findall(r"<text [^>]*>(.*?)</text>", svg)
    return html.unescape(" ".join(runs).replace("&#160;", " "))


async def _settle(pilot: Pilot[None]) -> None:
    """Until no worker has run for three frames in a row (a load can start another)."""
    quiet = 0
    deadline = time.monotonic() + _PATIENCE
    while quiet < 3:
        if time.monotonic() > deadline:
            raise TimeoutError("the console never settled")
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
        quiet = quiet + 1 if not list(pilot.app.workers) else 0


async def _until(pilot: Pilot[None], condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + _PATIENCE
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"the console never showed {what}")
        await pilot.pause(0.02)
    await _settle(pilot)


def offline(svg: str) -> str:
    """The picture without its web fonts: Rich names Fira Code on a CDN, which a browser
    opening the file would fetch. The font is used if installed, else any monospace."""
    return _REMOTE_FONT.sub("", svg)


_REMOTE_FONT: Final = re.compile(r',\s*url\("https?://[^"]*"\)\s*format\("[^"]*"\)')


async def _shoot(pilot: Pilot[None], folder: Path, name: str, shows: Sequence[str]) -> Path:
    """Save the screen once everything in ``shows`` is drawn."""
    app = pilot.app
    await _until(pilot, lambda: all(s in svg_text(app.export_screenshot()) for s in shows), name)
    path = folder / f"{name}.svg"
    svg = offline(app.export_screenshot(title=f"writein console · {name}"))
    await asyncio.to_thread(path.write_text, svg, encoding="utf-8")
    return path


async def _walk(site: _Relay, folder: Path) -> list[Path]:
    """Alice's console, screen by screen; returns the pictures written."""
    app = ConsoleApp(
        open_workspace=lambda me: open_workspace(site.config, me),
        key_file=site.key_files[VIEWER],
        lock_after_seconds=3600,
    )
    shots: list[Path] = []
    async with app.run_test(size=SIZE) as pilot:
        await _until(pilot, lambda: bool(app.screen.query("#passphrase")), "the unlock screen")
        app.screen.query_one("#passphrase", Input).value = _passphrase(VIEWER).decode()
        await pilot.press("enter")
        await _until(pilot, lambda: isinstance(app.screen, CaseListScreen), "the case list")
        cases = app.screen
        assert isinstance(cases, CaseListScreen)
        await _until(pilot, lambda: bool(cases.items) and bool(cases.attention), "the cases")
        shots.append(await _shoot(pilot, folder, "case-list", [SHOWN_CASE, "awaiting reply"]))

        await pilot.press("question_mark")
        await _until(pilot, lambda: isinstance(app.screen, HelpScreen), "the help")
        shots.append(await _shoot(pilot, folder, "help", ["Keys · Case list"]))
        await pilot.press("escape")
        await _until(pilot, lambda: app.screen is cases, "the case list again")

        await pilot.press("t")
        await _until(pilot, lambda: cases.attention_view and len(cases.items) == 2, "attention")
        shots.append(await _shoot(pilot, folder, "needs-attention", ["6HJK-MNPQ-RSTV"]))
        await pilot.press("t")
        await _until(pilot, lambda: not cases.attention_view, "the open cases")
        await _until(pilot, lambda: cases.cursor_case() == SHOWN_CASE, "the newest case")

        await pilot.press("enter")
        await _until(pilot, lambda: isinstance(app.screen, CaseScreen), "the case")
        case = app.screen
        assert isinstance(case, CaseScreen)
        await _until(pilot, lambda: len(case.items) == len(CASELOAD[-1].thread), "the thread")
        shots.append(await _shoot(pilot, folder, "case-view", ["delivery-note.pdf"]))

        await pilot.press("r")
        await _until(pilot, lambda: isinstance(app.screen, ComposeScreen), "the composer")
        body = app.screen.query_one("#body", TextArea)
        body.cursor_blink = False  # the same picture on every run
        body.load_text(
            "Thank you, that helps a lot. Could you send a photo of the silo number on the\n"
            "delivery note, with every name covered?"
        )
        body.move_cursor(body.document.end)
        shots.append(await _shoot(pilot, folder, "composer", ["with every name covered"]))
        await pilot.press("escape")  # discarded: nothing is sent
        await _until(pilot, lambda: app.screen is case, "the case again")
    return shots


async def make_screens(folder: Path) -> list[Path]:
    """Write the SVG pictures of :data:`SCREENS` into ``folder``; returns their paths.

    Times are shown in the process's local time zone: :func:`main` sets UTC first."""
    await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="writein-screens-") as scratch:
        root = Path(scratch)
        site = await _found(root)
        await _fill(site)
        return await _walk(site, folder)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) > 1 or any(a.startswith("-") for a in args):
        print("usage: python -m demo.screens [FOLDER]   (default: docs/screens)", file=sys.stderr)
        return 2
    folder = Path(args[0] if args else "docs/screens")
    os.environ["TZ"] = "UTC"  # the pictures show the same times wherever they are made
    time.tzset()
    for path in asyncio.run(make_screens(folder)):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
