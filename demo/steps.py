"""`writein demo`: the whole story on one machine, checked as it is told.

No Telegram account, no token, no network: the demo starts the Telegram simulator
(telesim) in its own process, sets up a throw-away relay on the embedded defaults (SQLite,
generated keys, two case officers), runs the relay as a real ``writein bot`` child
process, and plays a source through the simulator while the case officer works through
the console's own functions (handlers/). Each step prints one line on why it matters and
then what actually happened; every claim is verified on the demo's own data (the
plaintext scan reads the files, the decryptions are real), and a failed check ends the
demo with exit code 1.

The demo folder is kept and printed, so the console can be opened on it afterwards. The
relay is stopped with SIGTERM at the end, in a ``finally`` too: nothing keeps running.

``register(subparsers)`` adds ``demo`` to the `writein` command; :func:`main` runs it on
its own (``python -m demo.steps``).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import re
import secrets
import shlex
import shutil
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from admin.keyring import RelayKeyRing
from core.caseid import CASE_ID_PATTERN
from core.errors import EXIT_USAGE
from core.i18n import catalog
from core.settings import KEY_VERSION_SETTING
from core.subcommands import fail
from crypto import Envelope, InvalidEnvelope, open_envelope
from demo.gateway_process import GatewayProcess, OfficerMachine, machine_config
from demo.photo import make_photo, read_exif
from demo.relay_process import RelayProcess
from demo.scan import Needle, ScanReport, count_in, integer_needle, scan, self_check
from demo.show import Show
from demo.site import INTAKE, Officer, Site, bot_token, build_site
from handlers import (
    Session,
    Workspace,
    export_ref,
    list_cases,
    load_intake,
    load_thread,
    open_workspace,
    send_reply,
    start_session,
    unlock_key,
)
from handlers.manage import assign
from handlers.thread import DIRECTIONS, open_item, open_items
from telesim import ChatMessage, SimUser, TelegramSimulator

__all__ = ["DemoFailure", "demo_command", "run_demo"]

WAIT = 20.0  # seconds the relay may take to answer one step
STEPS = 12
RU, EN = catalog("ru"), catalog("en")
HEADERS = ("What the source sees (Russian)", "English (same message)")

# What the scripted source writes, with the English shown beside it.
TOPIC = ("Фиктивные акты в отделе закупок", "Fake sign-off certificates in procurement")
MESSAGE = (
    "Начальник отдела закупок подписал акты на работы, которых не было: 14 млн рублей. "
    "Фото одного акта отправляю следом.",
    "The head of procurement signed off on work that was never done: 14 million roubles. "
    "A photo of one certificate follows.",
)
REPLY = (
    "Спасибо, мы получили текст и фото. Ничего не присылайте с рабочего телефона.",
    "Thank you, we have the text and the photo. Don't send anything from your work phone.",
)
LATER = (
    "Есть ещё два таких акта, пришлю завтра.",
    "There are two more such certificates; I'll send them tomorrow.",
)
BOB_REPLY = (
    "Это Борис, я тоже веду ваше дело. Акты можно не фотографировать: достаточно номеров.",
    "This is Boris, I work on your case too. No need to photograph the certificates: the "
    "numbers are enough.",
)
PHOTO_NAME = "IMG_2041.jpg"


class DemoFailure(Exception):
    """A claim the demo makes turned out false, or a step did not happen in time."""


def check(condition: object, claim: str) -> None:
    if not condition:
        raise DemoFailure(claim)


def _has_button(data: str) -> Callable[[ChatMessage], bool]:
    return lambda m: any(b.callback_data == data for row in m.buttons for b in row)


def _text_is(text: str) -> Callable[[ChatMessage], bool]:
    return lambda m: m.text == text


def _has_read_button(message: ChatMessage) -> bool:
    return any((b.callback_data or "").startswith("read:") for row in message.buttons for b in row)


def _buttons(message: ChatMessage) -> str:
    return "  ".join(f"[{b.text}]" for row in message.buttons for b in row)


class Demo:
    """The story, one method per step. State moves forward through the attributes."""

    def __init__(self, root: Path, show: Show) -> None:
        self.root = root
        self.show = show
        self.token = bot_token()
        self.sim: TelegramSimulator | None = None
        self.site: Site | None = None
        self.relay: RelayProcess | None = None
        self.gateway: GatewayProcess | None = None
        self.user: SimUser | None = None
        self.workspace: Workspace | None = None
        self.session: Session | None = None
        self.case_id = ""
        self.phrase = ""
        self.canary = f"writein-demo-canary-{secrets.token_hex(6)}"
        self.seen = 0  # the newest chat message the demo has looked at
        self.sent_by_source: list[int] = []
        self.rotated = False

    # -- helpers -------------------------------------------------------------------------

    def _ready(self) -> tuple[TelegramSimulator, Site, SimUser]:
        assert self.sim is not None and self.site is not None and self.user is not None
        return self.sim, self.site, self.user

    async def _bot_says(self, what: str, where: Callable[[ChatMessage], bool]) -> ChatMessage:
        """The next bot message (after the last one seen) that matches ``where``."""
        _, _, user = self._ready()
        try:
            message = await user.wait_for_bot_message(after=self.seen, where=where, timeout=WAIT)
        except TimeoutError:
            self._relay_alive()
            raise DemoFailure(f"the relay did not answer within {WAIT:.0f} s: {what}") from None
        self.seen = max(self.seen, message.message_id)
        return message

    async def _read_reply(self, what: str, text: str) -> ChatMessage:
        """A quiet reply (ADR 0081): its silent notice, a tap on Read, then the words."""
        _, _, user = self._ready()
        notice = await self._bot_says(f"{what} (its notice)", _has_read_button)
        check(notice.silent, "a reply's notice should arrive without a notification")
        data = next(b.callback_data for row in notice.buttons for b in row if b.callback_data)
        await user.press_button(notice.message_id, data)
        return await self._bot_says(what, _text_is(text))

    def _between(self, low: int, high: int) -> list[ChatMessage]:
        _, _, user = self._ready()
        return [m for m in user.visible_messages() if m.from_bot and low < m.message_id < high]

    def _relay_alive(self) -> None:
        if self.relay is not None and not self.relay.running():
            tail = "\n".join(self.relay.log_tail())
            raise DemoFailure(f"the relay stopped unexpectedly; the end of its log:\n{tail}")

    def _said(self, message: ChatMessage, key: str, **fmt: object) -> None:
        """Check the source saw the Russian text of ``key``; print it beside the English."""
        expected = RU.plain(key, **fmt)
        check(message.text == expected, f"the source should have seen {key} in Russian")
        self.show.columns(message.text or "", EN.plain(key, **fmt))

    async def _source_sends_text(self, text: str) -> ChatMessage:
        _, _, user = self._ready()
        sent = await user.send_text(text)
        self.sent_by_source.append(sent.message_id)
        return sent

    async def _open_session(self, officer: Officer) -> Session:
        site = self.site
        assert site is not None
        if self.workspace is None:
            self.workspace = await open_workspace(site.config)
        identity = await unlock_key(officer.key_file, officer.passphrase.encode())
        return start_session(self.workspace, identity)

    # -- 1. set-up -------------------------------------------------------------------------

    async def set_up(self, sim: TelegramSimulator) -> None:
        self.sim = sim
        self.show.step(
            "Set up a throw-away relay on the embedded defaults",
            "`writein init` makes the SQLite store, the organisation key and the relay's key "
            "ring; two case officers make their own keys and the admin certifies them. Key "
            "files are sealed under Argon2id with the real parameters (64 MiB, 3 passes).",
        )
        started = time.monotonic()
        site = await build_site(
            self.root, base_url=sim.base_url, base_file_url=sim.base_file_url, token=self.token
        )
        self.site = site
        show = self.show
        show.kv("demo folder", site.root)
        show.kv("configuration", site.config_file)
        show.kv("store", site.config.store_url)
        show.kv("organisation fingerprint", site.org_fingerprint)
        show.kv("admin passphrase", f"{site.admin_passphrase}  (a demo prints its secrets)")
        show.kv("relay passphrase", f"{site.relay_passphrase}  (in secrets/relay-passphrase)")
        for officer in site.officers.values():
            role = "gets new cases" if officer.intake else "not on new cases"
            show.kv(f"officer {officer.name}", f"{officer.key_file.name}, {role}")
            show.kv("  passphrase", officer.passphrase)
            show.kv("  fingerprint", officer.fingerprint)
        show.check(f"set up in {time.monotonic() - started:.1f} s")

    # -- 2. simulator and relay ----------------------------------------------------------------

    async def start_relay(self) -> None:
        sim, site = self.sim, self.site
        assert sim is not None and site is not None
        self.show.step(
            "Start the Telegram simulator and the relay",
            "telesim is a local Bot API server checked against Telegram's published API; the "
            "relay is the real `writein bot` process, talking to it over HTTP as it would to "
            "api.telegram.org. Nothing leaves this machine.",
        )
        self.show.kv("simulator", f"{sim.url} (bot @{sim.bot_username})")
        self.relay = RelayProcess(site.config_file, site.relay_log)
        self.relay.start()
        self.show.kv("relay", f"writein bot --config {site.config_file}  (pid {self.relay.pid})")
        deadline = time.monotonic() + 30
        while not sim.calls_to("getUpdates"):
            self._relay_alive()
            check(time.monotonic() < deadline, "the relay should start polling within 30 s")
            await asyncio.sleep(0.1)
        self.show.check("the relay is polling the simulator for updates")

    # -- 3. onboarding -----------------------------------------------------------------------

    async def onboard(self) -> None:
        sim = self.sim
        assert sim is not None
        self.show.step(
            "A source onboards, in Russian, and gets a case ID",
            "Language, a safety briefing, consent, two intake questions, a case ID and a "
            "recovery phrase. Nothing is stored before consent; answers are sealed at once.",
        )
        user_id = secrets.randbelow(2 * 10**9) + 5 * 10**9
        self.user = user = sim.add_user(
            id=user_id,
            first_name="Марина",
            last_name="Соколова",
            username=f"m_sokolova_{secrets.randbelow(90) + 10}",
            language_code="ru",
        )
        self.show.kv(
            "the source (Telegram)",
            f"id {user.id}, @{user.username}, {user.first_name} {user.last_name}",
        )
        self.show.line("(only Telegram and this script know who that is; the relay must not)")
        self.show.line()
        self.show.columns("/start", "/start", headers=HEADERS)
        start = await user.send_text("/start")  # what Telegram's Start button sends
        self.seen = start.message_id
        prompt = await self._bot_says("the language prompt", _has_button("lang:ru"))
        self.show.rule()
        self._said(prompt, "language.prompt")
        self.show.line(_buttons(prompt))

        await user.press_button(prompt.message_id, "lang:ru")
        self.show.rule()
        self.show.columns("→ presses «Русский»", "→ presses “Russian”")
        consent = await self._bot_says("the consent question", _has_button("consent:yes"))
        briefings = [
            m
            for m in self._between(prompt.message_id, consent.message_id)
            if m.text == RU.plain("briefing.body")
        ]
        check(briefings, "the source should have seen the safety briefing in Russian")
        self.show.rule()
        self.show.columns(briefings[0].text or "", EN.plain("briefing.body"), max_lines=14)
        self.show.rule()
        self._said(consent, "consent.question")
        self.show.line(_buttons(consent))

        await user.press_button(consent.message_id, "consent:yes")
        self.show.rule()
        self.show.columns(
            f"→ presses «{RU.plain('consent.button.continue')}»",
            f"→ presses “{EN.plain('consent.button.continue')}”",
        )
        relation, topic = INTAKE
        question = await self._bot_says(
            "the first intake question", _has_button("q:relation:employee")
        )
        prompts = relation["prompt"]
        check(question.text == prompts["ru"], "the intake question should be asked in Russian")
        self.show.rule()
        self.show.columns(question.text or "", prompts["en"])
        self.show.line(_buttons(question))

        await user.press_button(question.message_id, "q:relation:employee")
        self.show.rule()
        self.show.columns("→ presses «Я там работаю»", "→ presses “I work there”")
        optional = RU.plain("intake.optional")
        second = await self._bot_says(
            "the second intake question", lambda m: optional in (m.text or "")
        )
        prompts = topic["prompt"]
        self.show.rule()
        self.show.columns(second.text or "", prompts["en"] + "\n\n" + EN.plain("intake.optional"))
        await self._source_sends_text(TOPIC[0])
        self.show.rule()
        self.show.columns(f"→ types «{TOPIC[0]}»", f"→ types “{TOPIC[1]}”")

        phrase_message = await self._bot_says("the recovery phrase", _has_button("saved"))
        created = [
            m
            for m in self._between(second.message_id, phrase_message.message_id)
            if CASE_ID_PATTERN.search(m.text or "")
        ]
        check(created, "the source should have been given a case ID")
        found = CASE_ID_PATTERN.search(created[0].text or "")
        assert found is not None
        self.case_id = found.group(0)
        self.show.rule()
        self._said(created[0], "case.created", case_id=self.case_id)
        self.phrase = _phrase_in(phrase_message.text or "")
        check(self.phrase, "the recovery phrase message should hold seven words")
        self.show.rule()
        self._said(phrase_message, "case.phrase", phrase=self.phrase)
        self.show.line(_buttons(phrase_message))

        await user.press_button(phrase_message.message_id, "saved")
        self.show.rule()
        self.show.columns(
            f"→ presses «{RU.plain('case.button.saved')}»",
            f"→ presses “{EN.plain('case.button.saved')}”",
        )
        ready = await self._bot_says("the case-ready message", _text_is(RU.plain("case.ready")))
        self.show.rule()
        self._said(ready, "case.ready")
        self.show.line()
        visible = {m.message_id for m in user.visible_messages()}
        check(phrase_message.message_id not in visible, "the phrase message should be deleted")
        self.show.check(f"case ID {self.case_id}: 60 random bits, derived from nothing")
        self.show.check("the recovery phrase was deleted from the chat once saved")
        unprotected = [m for m in user.bot_messages() if not m.protect_content]
        check(not unprotected, "every bot message should be sent with protect_content")
        self.show.check("every bot message is protect_content (no forwarding, no saving)")

    # -- 4. a text and a photo ----------------------------------------------------------------

    async def send(self) -> None:
        sim, _, user = self._ready()
        self.show.step(
            "The source sends a text and a photo with GPS in its EXIF",
            "Each is sealed to the assigned case officer's key the moment it arrives, then "
            "deleted from the chat. The photo goes as a file (Telegram keeps the original "
            "bytes then, EXIF and all); the relay re-encodes the pixels and keeps nothing else.",
        )
        received = RU.plain("ack.received")
        self.show.columns(f"→ «{MESSAGE[0]}»", f"→ “{MESSAGE[1]}”", headers=HEADERS)
        await self._source_sends_text(MESSAGE[0])
        ack = await self._bot_says("the acknowledgement of the text", _text_is(received))
        self.show.rule()
        self._said(ack, "ack.received")

        photo = make_photo(self.canary)
        sent = await user.send_document(photo, file_name=PHOTO_NAME, mime_type="image/jpeg")
        self.sent_by_source.append(sent.message_id)
        self.show.rule()
        self.show.columns(f"→ file {PHOTO_NAME}", f"→ file {PHOTO_NAME}")
        ack = await self._bot_says("the acknowledgement of the photo", _text_is(received))
        self.show.rule()
        self._said(ack, "ack.received")
        self.show.line()
        assert sent.file_id is not None
        original = read_exif(sim.file_bytes(sent.file_id))
        check(original.gps, "the photo Telegram holds should carry GPS EXIF")
        check(
            self.canary.encode() in sim.file_bytes(sent.file_id),
            "the photo Telegram holds should carry the canary",
        )
        self.show.kv("the file Telegram holds", original.describe())
        self.show.kv("EXIF description (canary)", self.canary)

    # -- 5. the console decrypts ---------------------------------------------------------------

    async def read(self) -> None:
        site = self.site
        assert site is not None
        self.show.step(
            "The case officer's console decrypts them",
            "alice unlocks her key file; the console verifies every envelope's signature "
            "(the relay's certified key) before it decrypts. Only the console ever sees "
            "plaintext at rest: here, and in the file alice chooses to export.",
        )
        alice = site.officers["alice"]
        self.session = session = await self._open_session(alice)
        page = await list_cases(session)
        check(
            [c.case_id for c in page.items] == [self.case_id],
            "alice's case list should hold the one new case",
        )
        self.show.kv("alice's cases", f"{self.case_id} (new, assigned: alice)")
        self.show.line()
        intake = await load_intake(session, self.case_id)
        check(
            [(a.question, a.answer) for a in intake]
            == [("relation", "I work there"), ("topic", TOPIC[0])],
            "alice should read the two intake answers",
        )
        items = await load_thread(session, self.case_id)
        check(all(i.readable for i in items), "alice should open every message of the case")
        texts = [i for i in items if i.kind == "text"]
        check(
            [i.text for i in texts] == [MESSAGE[0]],
            "alice should read exactly the source's text",
        )
        refs = [ref for i in items for ref in i.attachments]
        check(len(refs) == 1, "the case should hold the one photo")
        ref = refs[0]
        decrypted = json.dumps(
            [i.to_json() for i in items] + [a.model_dump(mode="json") for a in intake],
            ensure_ascii=False,
        ).encode("utf-8")
        named = {n.label: sum(count_in(decrypted, n).values()) for n in self.identity_needles()}
        check(not any(named.values()), f"what alice decrypts should not name the source: {named}")
        console = ("What alice's console shows", "English")
        self.show.columns("intake: I work there", "intake: I work there", headers=console)
        self.show.columns(f"intake: {intake[1].answer}", f"intake: {TOPIC[1]}")
        self.show.rule()
        self.show.columns(f"source: {texts[0].text}", f"source: {MESSAGE[1]}")
        self.show.rule()
        attachment = f"source: [file] {ref.name} · {ref.mime} · {ref.size} bytes"
        self.show.columns(attachment, attachment)
        self.show.line()
        exported = await export_ref(session, self.case_id, ref, site.exported)
        data = exported.path.read_bytes()
        stripped = read_exif(data)
        check(not stripped.tags, "the exported photo should carry no EXIF")
        check(self.canary.encode() not in data, "the exported photo should not hold the canary")
        self.show.kv("exported to", exported.path)
        self.show.check(f"the photo alice exports: {stripped.describe()}, no canary")
        self.show.check(
            "nothing alice decrypted names the source: 0 hits for their id, username, names"
        )

        await self._tampering_shows(session)

        bob = site.officers["bob"]
        bob_session = await self._open_session(bob)
        assert self.workspace is not None
        envelopes = await self.workspace.store.list_envelopes(self.case_id, limit=1000)
        opened = await open_items(bob_session, envelopes, {})
        readable = sum(i.readable for i in opened)
        check(readable == 0, "bob, not assigned, should open none of the case's messages")
        self.show.check(
            f"bob (certified, not assigned) opens {readable} of {len(envelopes)} envelopes: "
            "none is wrapped for his key"
        )

    async def _tampering_shows(self, session: Session) -> None:
        """P5 on the case's real text envelope: altered or moved, it no longer opens."""
        store = session.store
        envelopes = await store.list_envelopes(self.case_id, limit=1000, wraps=session.me.key_id)
        text = [e for e in envelopes if open_item(session, e).text == MESSAGE[0]]
        check(len(text) == 1, "the source's text should be one envelope")
        original = text[0]
        flipped = bytearray(original.core)
        flipped[len(flipped) // 2] ^= 0x01
        other_case = "0000-0000-0000" if self.case_id != "0000-0000-0000" else "1111-1111-1111"
        forged = [
            original.model_copy(update={"core": bytes(flipped)}),
            original.model_copy(update={"case_id": other_case}),
        ]
        opened = [open_item(session, e) for e in forged]
        check(
            not any(i.readable for i in opened),
            "an altered or moved envelope should not open",
        )
        self.show.check(
            "the same envelope with one bit flipped, or presented as another case's, "
            "shows as 'cannot be verified or decrypted'"
        )

    # -- 6. and 7. a reply ----------------------------------------------------------------------

    async def reply(self) -> None:
        assert self.session is not None
        self.show.step(
            "The case officer replies",
            "The reply is sealed once, signed by alice, for the relay's delivery key (to send "
            "it) and for the case's officers (to keep it in the thread).",
        )
        sent = await send_reply(self.session, self.case_id, REPLY[0])
        self.show.columns(
            f"alice → {REPLY[0]}", f"alice → {REPLY[1]}", headers=("alice types", "English")
        )
        self.show.line()
        self.show.check(f"reply {sent.message_id.hex()[:12]}… queued in the outbox")

    async def see_reply(self) -> None:
        self.show.step(
            "The source sees the reply",
            "The relay opens the outbox envelope and sends a silent, neutral notice; on a tap "
            "it opens the sealed reply again and shows it with protect_content for a few "
            "minutes. It keeps no text. No name reaches the source.",
        )
        text = RU.plain("reply.body", text=REPLY[0])
        message = await self._read_reply("the reply", text)
        self.show.columns(
            message.text or "", EN.plain("reply.body", text=REPLY[1]), headers=HEADERS
        )
        self.show.line()
        check(message.protect_content, "the reply should be protect_content")
        check("alice" not in (message.text or "").lower(), "no officer's name reaches the source")
        self.show.check("protect_content: the source cannot forward or save it")
        self.show.check("no officer's name, account or id in what the source sees")

    # -- 8. the chat keeps no history ---------------------------------------------------------

    async def history(self) -> None:
        sim, _, user = self._ready()
        self.show.step(
            "The source's chat keeps no history",
            "Whoever takes the source's phone finds none of what they sent: each message was "
            "deleted once sealed. The bot's own messages are protected; its acknowledgements "
            "delete themselves after 30\u00a0s.",
        )
        sent = set(self.sent_by_source)

        def cleared() -> bool:
            return not sent & {m.message_id for m in user.visible_messages()}

        try:
            await sim.wait_for(cleared, timeout=WAIT)
        except TimeoutError:
            self._relay_alive()
        visible = user.visible_messages()
        mine = [m for m in visible if m.message_id in sent]
        check(not mine, "every message the source wrote should be gone from the chat")
        self.show.kv("the source wrote", f"{len(sent)} messages (intake answer, text, photo)")
        self.show.kv("still in their chat", len(mine))
        for m in visible:
            if not m.from_bot and m.message_id not in sent:
                note = "  (the Start button's command; not stored)" if m.text == "/start" else ""
                self.show.untrusted("also still shown           ", f"{m.text or m.kind}{note}")
        bot = [m for m in visible if m.from_bot]
        check(all(m.protect_content for m in bot), "every bot message should be protected")
        self.show.kv("the bot's messages", f"{len(bot)}, all protect_content:")
        for m in bot:
            self.show.untrusted("  ", _first_line(m))
        self.show.line()
        self.show.check("nothing the source wrote is left in their chat")

    # -- 9. the plaintext scan ------------------------------------------------------------------

    def needles(self) -> list[Needle]:
        return [
            Needle("message text", MESSAGE[0]),
            Needle("intake answer", TOPIC[0]),
            Needle("reply text", REPLY[0]),
            Needle("photo EXIF canary", self.canary),
            Needle("recovery phrase", self.phrase),
            *self.identity_needles(),
            *([Needle("message after rotation", LATER[0])] if self.rotated else []),
        ]

    def identity_needles(self) -> list[Needle]:
        _, _, user = self._ready()
        return [
            integer_needle("Telegram user id", user.id),
            Needle("username", user.username or ""),
            Needle("first name", user.first_name),
            Needle("last name", user.last_name or ""),
        ]

    def scan_files(self) -> ScanReport:
        site = self.site
        assert site is not None
        return scan(site.root, self.needles(), exclude=[site.exported])

    def report_hits(self, report: ScanReport) -> None:
        if report.hits:
            for hit in report.hits:
                self.show.line(f"FOUND {hit.needle} as {hit.encoding} in {hit.file} ×{hit.count}")
            raise DemoFailure(f"plaintext on disk: {report.total} hit(s), listed above")

    async def scan_store(self) -> None:
        site = self.site
        assert site is not None
        self.show.step(
            "The store holds no plaintext and no identity",
            "The demo reads every file it wrote (database, -wal, -shm, key files, config, "
            "relay log; not exported/, alice's own export) and searches for what the source "
            "typed and who they are, in five encodings. One hit fails the demo.",
        )
        needles = self.needles()
        found, missed = self_check(needles)
        check(not missed, f"the scanner should find planted needles: missed {missed}")
        self.show.check(f"scanner self-check: finds all {found} planted forms of the needles")
        report = await asyncio.to_thread(self.scan_files)
        for name, size in report.files:
            self.show.line(f"  {size:>9,} B  {name}")
        self.show.line()
        columns = ("utf-8", "utf-16-le", "hex", "base64", "binary")
        self.show.table(
            ("needle", *columns),
            [
                (label, *(counts[c] if c != "binary" or n.binary else "-" for c in columns))
                for n, (label, counts) in zip(needles, report.counts.items(), strict=True)
            ],
        )
        self.show.line()
        self.report_hits(report)
        await self.relay_reads_nothing()
        log = site.relay_log.read_bytes()
        token_hits = log.count(site.token.encode())
        check(token_hits == 0, "the bot token must not appear in the relay's log")
        self.show.check(
            f"0 hits in {len(report.files)} files ({report.bytes_scanned:,} bytes); "
            "the bot token appears 0 times in the relay log"
        )

    async def relay_reads_nothing(self) -> None:
        """P2: everything the relay holds opens nothing the store keeps."""
        site, workspace = self.site, self.workspace
        assert site is not None and workspace is not None
        ring = await asyncio.to_thread(
            RelayKeyRing.load, site.layout.relay_key, site.relay_passphrase.encode()
        )
        store = workspace.store
        envelopes = await store.list_envelopes(self.case_id, limit=1000)
        signers = [*workspace.signers.relay, *workspace.signers.handlers]
        opened = 0
        for envelope in envelopes:
            direction = DIRECTIONS[envelope.direction]
            for keys in ring.keys:
                try:
                    open_envelope(
                        Envelope(envelope.core, envelope.wraps),
                        recipient=keys.delivery,
                        trusted_signers=signers,
                        expect_case_id=envelope.case_id,
                        expect_direction=direction,
                    )
                except InvalidEnvelope:
                    continue
                opened += 1
        check(opened == 0, "the relay's own keys should open none of the stored envelopes")
        waiting = [i for i in await store.list_outbox(self.case_id) if i.envelope is not None]
        check(not waiting, "a delivered reply's outbox copy should be wiped")
        inbox = await store.count_inbox()
        check(inbox == 0, "the inbox should be empty once every update is processed")
        self.show.check(
            f"the relay's own key ring (every key it holds) opens 0 of {len(envelopes)} stored "
            "envelopes; delivered replies' outbox copies: wiped; sealed inbox: 0 rows"
        )

    # -- 10. key rotation -----------------------------------------------------------------------

    async def rotate(self) -> None:
        site = self.site
        assert site is not None and self.session is not None and self.workspace is not None
        self.show.step(
            "An admin rotates the relay's keys, online",
            "New signing, delivery, lookup and at-rest keys, certified by the organisation "
            "key; the running relay switches without a restart, and nothing already stored "
            "becomes unreadable.",
        )
        rotate = _rotation()
        if rotate is None:
            self.show.line("key rotation: not available yet (admin/rotation.py has not landed).")
            self.show.line("Skipped; the rest of the story does not depend on it.")
            return
        before = len(await load_thread(self.session, self.case_id))
        finished: list[str] = []

        def progress(phase: str, done: int, total: int) -> None:
            if done >= total and phase not in finished:
                finished.append(phase)
                self.show.line(f"  {phase}: {done}/{total}")

        started = time.monotonic()
        report = await rotate(
            site.config,
            admin_passphrase=site.admin_passphrase.encode(),
            relay_passphrase=site.relay_passphrase.encode(),
            progress=progress,
            wait_for_relay=30.0,
        )
        self.rotated = True
        seconds = time.monotonic() - started
        new = int(report.to_version)
        moved = ", ".join(f"{k} {v}" for k, v in report.moved.items() if v) or "nothing"
        self.show.kv("key set", f"v{report.from_version} → v{new} in {seconds:.1f} s")
        self.show.kv("moved to the new keys", moved)
        check(not report.unreadable, f"every sealed value should move: {report.unreadable}")
        check(report.relay_switched, "the running relay should announce the new keys")
        version = await self.workspace.store.get_setting(KEY_VERSION_SETTING)
        check(version == str(new), "the running relay should use the new key set")
        ring = await asyncio.to_thread(
            RelayKeyRing.load, site.layout.relay_key, site.relay_passphrase.encode()
        )
        check(
            [k.version for k in ring.keys] == [new],
            "the old key set's private keys should be gone from the ring file",
        )
        self.show.check(
            f"the running relay (pid {self.relay.pid if self.relay else '?'}) switched to "
            f"v{new} without a restart; the key ring file holds v{new} only"
        )
        self.show.line()

        await self._source_sends_text(LATER[0])
        self.show.columns(f"→ «{LATER[0]}»", f"→ “{LATER[1]}”", headers=HEADERS)
        await self._bot_says(
            "the acknowledgement after rotation", _text_is(RU.plain("ack.received"))
        )
        await self.workspace.reload()
        items = await load_thread(self.session, self.case_id)
        unreadable = [i for i in items if not i.readable]
        check(not unreadable, "alice should still open every message after the rotation")
        check(len(items) == before + 1, "the message sent after the rotation should be there")
        check(items[-1].text == LATER[0], "alice should read the message sent after rotation")
        self.show.check(
            f"alice opens all {len(items)} messages: {before} from before the rotation, "
            "1 sealed under the new keys"
        )
        sent = await send_reply(self.session, self.case_id, "👍")
        message = await self._read_reply(
            "the reply after rotation", RU.plain("reply.body", text="👍")
        )
        check(message.protect_content, "replies after rotation are protected too")
        self.show.check(
            "a reply sealed to the new delivery key reaches the source "
            f"(reply {sent.message_id.hex()[:12]}…)"
        )

    # -- 11. an officer's own machine ------------------------------------------------------------

    async def officer_machine(self) -> None:
        site = self.site
        assert site is not None and self.session is not None
        self.show.step(
            "A case officer on their own machine, through the gateway",
            "bob works from his own computer: a folder with his key file and a configuration "
            "that names only the gateway's URL and the organisation's fingerprint. `writein "
            "gateway` serves the store to requests signed with a certified key; it holds no "
            "key itself. alice adds bob to the case (a roster statement she signs); bob's "
            "console, a process of its own, verifies the roster, decrypts on his machine and "
            "replies.",
        )
        bob = site.officers["bob"]
        machine = OfficerMachine(site.root / "bob-machine", "bob")
        await asyncio.to_thread(_make_machine, machine, bob)
        self.gateway = GatewayProcess(site.config_file, site.root / "gateway.log")
        try:
            url = await self.gateway.start()
        except (RuntimeError, TimeoutError) as exc:
            raise DemoFailure(f"the gateway did not start: {exc}") from None
        text = machine_config(url=url, fingerprint=site.org_fingerprint, name="bob")
        await asyncio.to_thread(_write_private, machine.config_file, text)
        self.show.kv("gateway", f"{url} (pid {self.gateway.pid})")
        self.show.kv("bob's machine", f"{machine.root}: {', '.join(machine.files())}")

        done = await assign(self.session, self.case_id, "bob")
        self.show.check(
            f"alice adds bob: a roster entry she signs; {done.rewrapped} messages re-wrapped "
            "for bob's key"
        )
        shown = await machine.console("show", self.case_id, "--json")
        check(shown.returncode == 0, f"bob's console should open the case: {shown.stderr}")
        data = json.loads(shown.stdout)
        texts = [m.get("text") for m in data["messages"]]
        check(MESSAGE[0] in texts, "bob's console should decrypt the source's message")
        check("bob" in data["assigned"], "the roster bob's console verified assigns him")
        self.show.columns(
            f"{MESSAGE[0][:60]}…", f"{MESSAGE[1][:60]}…", headers=("bob's console shows", "English")
        )
        self.show.check(
            f"bob's console decrypted {len(texts)} messages on his machine, through the gateway"
        )
        sent = await machine.console("reply", self.case_id, "--text", BOB_REPLY[0])
        check(sent.returncode == 0, f"bob's reply should be queued: {sent.stderr}")
        message = await self._read_reply("bob's reply", RU.plain("reply.body", text=BOB_REPLY[0]))
        check("bob" not in (message.text or "").lower(), "no officer's name reaches the source")
        self.show.columns(
            message.text or "", EN.plain("reply.body", text=BOB_REPLY[1]), headers=HEADERS
        )
        self.show.line()
        self.show.check("bob's reply, sealed on his machine, reached the source")

        relay_secrets = {"writein.db", "relay.key", "org.key", "bot-token", "relay-passphrase"}
        found = [f for f in machine.files() if Path(f).name in relay_secrets]
        check(not found, f"bob's machine should hold no relay secret and no store: {found}")
        self.show.check(f"bob's machine holds {', '.join(machine.files())}: no store, no relay key")
        refused = await asyncio.to_thread(_unsigned_request, url + "/v1/cases")
        check(refused == 401, f"an unsigned request should be refused (got {refused})")
        lines = [line for line in self.gateway.log_lines() if "refused 401" in line]
        check(bool(lines), "the gateway should log the refusal")
        self.show.untrusted("  gateway log: ", lines[-1].split(" ", 2)[-1])
        self.show.check("an unsigned request is refused (401) and logged, without secrets")

    # -- 12. shut down --------------------------------------------------------------------------

    async def stop(self) -> None:
        site, relay = self.site, self.relay
        assert site is not None and relay is not None
        self.show.step(
            "Stop the relay and look again",
            "SIGTERM, as systemd sends it: the relay finishes its turn and exits 0. With "
            "nothing running, the files are scanned once more.",
        )
        await self.close_console()
        if self.gateway is not None:
            gateway_code = await self.gateway.stop()
            check(gateway_code == 0, f"the gateway should exit 0 on SIGTERM ({gateway_code})")
            self.show.check("gateway stopped, exit code 0")
        code = await relay.stop()
        check(code == 0, f"the relay should exit 0 on SIGTERM (it exited {code})")
        check(not relay.running(), "the relay process should be gone")
        self.show.check(f"relay (pid {relay.pid}) stopped, exit code 0")
        log = [line.split(" ", 2)[-1] for line in relay.log_tail(8)]
        for line in log:
            self.show.untrusted("  relay log: ", line)
        report = await asyncio.to_thread(self.scan_files)
        self.report_hits(report)
        self.show.check(f"final scan: 0 hits in {len(report.files)} files")

    async def close_console(self) -> None:
        if self.workspace is not None:
            await self.workspace.close()
            self.workspace = None
            self.session = None

    async def teardown(self) -> None:
        await self.close_console()
        if self.gateway is not None and self.gateway.running():
            await self.gateway.stop()
        if self.relay is not None and self.relay.running():
            await self.relay.stop()

    def explore(self) -> None:
        site = self.site
        assert site is not None
        alice = site.officers["alice"]
        config = site.config_file
        writein, venv_bin = writein_command()
        print()
        print("Explore further")
        print("---------------")
        lines = [
            "The case officer's console (TUI) on the demo's data, as alice:",
            f"  {writein} console --config {config}",
            f"  passphrase: {alice.passphrase}",
            "The same, scriptable:",
            f"  {writein} console show {self.case_id} --config {config} "
            f"--passphrase-file {alice.passphrase_file}",
            "The simulator again, and this relay against it (two terminals); a simulated user "
            "is driven over HTTP (telesim/README.md, control API):",
            f"  {writein} sim --port {_port(site)} --token {site.token} --user 42:Olena::uk",
            f"  {writein} bot --config {config}",
            "  curl -s -XPOST -H 'content-type: application/json' -d '{\"text\": \"/start\"}' \\",
            f"    http://127.0.0.1:{_port(site)}/_sim/users/42/send_text",
            "A bot of your own on real Telegram: put its BotFather token in "
            f"{site.root / 'secrets' / 'bot-token'} and set",
            '  [telegram] base_url = "https://api.telegram.org/bot" and '
            'base_file_url = "https://api.telegram.org/file/bot"',
            "  in the configuration (docs/operations.md covers a real deployment).",
        ]
        if venv_bin is not None:
            activate = shlex.quote(str(venv_bin / "activate"))
            lines.append(f"(or put `writein` on PATH for this shell first: . {activate})")
        for line in lines:
            print(line)


def writein_command() -> tuple[str, Path | None]:
    """How to run `writein` as printed, whatever the shell's PATH, and the venv's bin/.

    The `writein` script beside this Python (the venv's), by absolute path; else this
    Python running the package (``python -m writein``).
    """
    bin_dir = Path(sys.executable).parent
    script = bin_dir / "writein"
    if script.is_file():
        has_activate = (bin_dir / "activate").is_file()
        return shlex.quote(str(script)), bin_dir if has_activate else None
    return f"{shlex.quote(sys.executable)} -m writein", None


def _port(site: Site) -> int:
    match = re.search(r":(\d+)/", site.config.telegram.base_url)
    return int(match.group(1)) if match else 8081


def _phrase_in(text: str) -> str:
    for line in text.splitlines():
        words = line.split()
        if len(words) == 7 and all(
            w.replace("-", "").isalpha() and w.isascii() and w.islower() for w in words
        ):
            return line.strip()
    return ""


def _first_line(message: ChatMessage) -> str:
    text = (message.text or message.kind).split("\n")[0]
    return text if len(text) <= 60 else text[:59] + "…"


def _make_machine(machine: OfficerMachine, officer: Officer) -> None:
    """bob's computer: his key file moves there (it never was the relay's), with a
    passphrase file for the scripted console and a data folder for its roster head."""
    machine.root.mkdir(mode=0o700)
    (machine.root / "data").mkdir(mode=0o700)
    shutil.move(officer.key_file, machine.key_file)
    _write_private(machine.passphrase_file, officer.passphrase)


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def _unsigned_request(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=30):  # noqa: S310 (the demo's own loopback URL)
            return 200
    except urllib.error.HTTPError as exc:
        return exc.code


def _rotation() -> Callable[..., Any] | None:
    """admin.rotation.rotate_relay_keys, once it exists (it is being written alongside)."""
    try:
        module = importlib.import_module("admin.rotation")
    except ModuleNotFoundError:
        return None
    found = getattr(module, "rotate_relay_keys", None)
    return found if callable(found) else None


async def run_demo(root: Path, show: Show | None = None) -> int:
    """Tell the whole story under ``root``; 0 when every claim held, 1 otherwise."""
    show = show or Show()
    show.total = STEPS
    started = time.monotonic()
    show.title("writein demo: a source, a relay and a case officer, on a simulated Telegram")
    demo = Demo(root, show)
    try:
        async with TelegramSimulator(
            demo.token, bot_username="writein_demo_bot", bot_first_name="writein demo"
        ) as sim:
            try:
                await demo.set_up(sim)
                await demo.start_relay()
                await demo.onboard()
                await demo.send()
                await demo.read()
                await demo.reply()
                await demo.see_reply()
                await demo.history()
                await demo.scan_store()
                await demo.rotate()
                await demo.officer_machine()
                await demo.stop()
            finally:
                await demo.teardown()
    except DemoFailure as exc:
        print(file=show.out)
        print(f"DEMO FAILED: {exc}", file=show.out, flush=True)
        print(f"(the demo folder is kept for inspection: {root})", file=show.out, flush=True)
        return 1
    finally:
        if demo.relay is not None:
            demo.relay.kill_now()
    show.out.flush()
    demo.explore()
    print()
    print(f"Done in {time.monotonic() - started:.1f} s; nothing is left running.")
    return 0


def demo_command(args: argparse.Namespace) -> int:
    """`writein demo`: a new or empty folder, the walkthrough, a clean stop on Ctrl-C."""
    if args.data_dir:
        root = Path(args.data_dir).absolute()
        if root.exists() and (not root.is_dir() or any(root.iterdir())):
            what = "is not empty" if root.is_dir() else "is not a folder"
            fail(f"{root} {what}; the demo needs a new or empty folder (--data-dir)")
            return EXIT_USAGE
    else:
        root = Path(tempfile.mkdtemp(prefix="writein-demo-"))
    try:
        return asyncio.run(run_demo(root))
    except KeyboardInterrupt:
        # run_demo's finally blocks have stopped the relay by now.
        print(f"\nwritein demo: interrupted; nothing is left running ({root} is kept)")
        return 130
