"""The source-facing dialogue: one small step function per state, each filling a Turn.

Reads happen here; writes are queued on the Turn so that they commit with the inbox row,
and everything said to Telegram runs after that commit (bot/turn.py).
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import logging
import math
import secrets
import time
import unicodedata
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from datetime import time as dt_time
from typing import Any, TypeVar, cast

from telegram import Bot
from telegram.error import BadRequest, TelegramError

from admin.keyring import RelayKeyRing
from admin.refs import (
    open_chat_ref,
    open_dialogue,
    seal_chat_ref,
    seal_dialogue,
    seal_message_ref,
)
from bot.delivery import (
    READ_PREFIX,
    Clock,
    forget_quiet_replies_of,
    forget_quiet_reply,
    open_reply,
    parse_read_button,
    utc_now,
)
from bot.dialogue import DialogueState, Step, typed_language, typed_yes_no
from bot.documents import Cleaned, clean_isolated
from bot.incoming import ATTACHMENT_KINDS, Incoming, Kind
from bot.media import MediaError, sniff_mime, strip_image_metadata
from bot.offload import argon2_work
from bot.phrase import PhraseError, fingerprint_words, new_phrase, normalise_phrase
from bot.sealing import SealedAttachmentRows, seal_attachment, seal_source_message
from bot.supervise import Backoff
from bot.telegram_io import Buttons, TelegramIO
from bot.turn import Turn
from core.caseid import new_case_id
from core.config import Config, IntakeQuestion
from core.escape import escape_html
from core.i18n import LANGUAGE_NAMES, Translator, catalog
from core.payload import AttachmentRef, IntakeAnswer, SourceMessage
from core.roster import Signer
from core.rosterlog import append_statement, read_roster
from core.trust import Trust
from crypto import DEFAULT_ARGON2, Argon2Params, CryptoError, phrase_hash
from store import Case, CaseFlag, Direction, Store, StoreError, StoreOperations

log = logging.getLogger("writein.relay")

ACK_LIFETIME = timedelta(seconds=30)
# Messages that name the case ID leave the chat after this (docs/decisions/0053).
CASE_ID_LIFETIME = timedelta(minutes=10)
# The notice a recovery leaves in the previous chat: under Telegram's 48 h delete window.
MOVED_NOTICE_LIFETIME = timedelta(hours=47)
# /panic's answer says how to delete the chat: long enough to read, then gone (ADR 0087).
PANIC_NOTE_LIFETIME = timedelta(minutes=2)
# The advice to turn on Telegram's own auto-delete, until Telegram's window closes.
ADVICE_LIFETIME = timedelta(hours=47)
PANIC = "panic"
# The recovery phrase, if "I saved it" is never pressed: inside Telegram's 48 h window.
PHRASE_LIFETIME = timedelta(hours=47)
IMAGE_MIMES = frozenset({"image/jpeg", "image/png", "image/webp"})
FORGET_YES, FORGET_KEEP = "forget:yes", "forget:keep"
# A document that still reveals something waits for the source's choice (doc:<action>:<token>).
DOC_PREFIX = "doc:"
DOC_SEND, DOC_ORIGINAL, DOC_CANCEL = "send", "original", "cancel"
DOCS_PER_SOURCE = 3
DOCS_HELD_BYTES = 200_000_000
MESSAGES_KEPT = 10_000  # sources whose question or phrase message is remembered
V = TypeVar("V")


def _remember(kept: dict[bytes, V], lookup: bytes, value: V) -> None:
    """Keep ``value`` for the source, forgetting the oldest beyond ``MESSAGES_KEPT``."""
    if len(kept) >= MESSAGES_KEPT:
        del kept[next(iter(kept))]
    kept[lookup] = value


class SlidingWindow:
    """At most ``limit`` events per ``window`` seconds per key (memory only: a restart forgives)."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._events: dict[bytes, deque[float]] = {}
        self._told: dict[bytes, float] = {}

    def hit(self, key: bytes, now: float) -> float:
        """Record an event; returns 0 if allowed, else the seconds to wait."""
        events = self._events.setdefault(key, deque())
        while events and events[0] <= now - self.window:
            events.popleft()
        if len(events) >= self.limit:
            return events[0] + self.window - now
        events.append(now)
        return 0.0

    def told(self, key: bytes, now: float) -> bool:
        """Whether a source over the limit was told so already in this window (else mark it)."""
        events = self._events.get(key)
        until = (events[0] + self.window) if events else now
        if self._told.get(key, 0.0) > now:
            return True
        self._told[key] = until
        return False


class Conversation:
    def __init__(
        self,
        config: Config,
        store: Store,
        ring: RelayKeyRing,
        trust: Callable[[], Awaitable[Trust]],
        bot: Bot,
        *,
        io: TelegramIO | None = None,
        phrase_params: Argon2Params = DEFAULT_ARGON2,
        clock: object = utc_now,  # a Clock; typed loosely as Relay forwards its options
    ) -> None:
        if not callable(clock):
            raise TypeError("clock must be a callable returning an aware datetime")
        self.config = config
        self.relay = config.relay
        self.store = store
        self.ring = ring
        self.trust = trust
        self.bot = bot
        self.io = io or TelegramIO(bot)
        self.phrase_params = phrase_params
        self.clock = cast(Clock, clock)
        self.flood = SlidingWindow(
            self.relay.rate_limit_messages, self.relay.rate_limit_window_seconds
        )
        self.recover_attempts = SlidingWindow(self.relay.recover_attempts_per_hour, 3600)
        self.recover_attempts_all = SlidingWindow(self.relay.recover_attempts_global_per_hour, 3600)
        # Documents waiting for a choice, in memory only: a restart forgets them (the source
        # is asked to send again), and nothing unsealed ever reaches the disk.
        self.held_documents: dict[str, _HeldDocument] = {}
        # The message of the intake question each source is answering (chat, message id),
        # in memory only: a typed answer takes that message's Skip button away.
        self.question_messages: dict[bytes, tuple[int, int]] = {}
        # The messages showing each source's recovery phrase (chat, ids), in memory only:
        # after a lost answer it was shown twice, and "I saved it" on either takes both.
        self.phrase_messages: dict[bytes, tuple[int, list[int]]] = {}
        # /panic tells the delivery loop (Relay wires it): a reply on its way goes too.
        self.on_chat_cleared: Callable[[str], None] = lambda case_id: None

    @property
    def _max_bytes(self) -> int:
        return self.relay.max_attachment_mb * 1_000_000

    # -- entry ---------------------------------------------------------------------------

    async def handle(self, inc: Incoming) -> Turn:
        if inc.message_id is not None and inc.kind is not Kind.BUTTON:
            # The source's own message (a button's message is the relay's, maybe a copy).
            self.io.ids.saw(inc.chat_id, inc.message_id)
        lookup, state, case = await self._find(inc)
        turn = Turn(inc, lookup)
        if inc.kind is Kind.BUTTON:
            turn.then(lambda: self.io.answer_button(inc.callback_id))
        if case is not None and _is_panic(inc):
            # Whatever was being asked, the chat is cleared first (ADR 0087).
            self._panic(turn, case)
            return turn
        if state is not None:
            await self._step(turn, state, case)
        elif case is not None:
            await self._active(turn, case)
        else:
            await self._stranger(turn)
        return turn

    async def _find(self, inc: Incoming) -> tuple[bytes, DialogueState | None, Case | None]:
        """Look the source up under each lookup hash, newest first: during a key rotation
        some rows still carry the previous version's hash (decision 0061). The dialogue's
        hash, else the case's, is the one this turn keeps using."""
        hashes = self.ring.lookup_hashes(inc.user_id)
        lookup, state, case = hashes[0], None, None
        for candidate in hashes:
            state = await self._dialogue(candidate)
            if state is not None:
                lookup = candidate
                break
        for candidate in hashes:
            case = await self.store.get_case_by_lookup_hash(candidate)
            if case is not None:
                if state is None:
                    lookup = candidate
                break
        return lookup, state, case

    async def _dialogue(self, lookup: bytes) -> DialogueState | None:
        row = await self.store.get_dialogue(lookup, now=self.clock())
        if row is None:
            return None
        try:
            return DialogueState.from_bytes(open_dialogue(self.ring, lookup, row.sealed_state))
        except (CryptoError, ValueError):
            return None

    def _save(self, turn: Turn, state: DialogueState) -> None:
        sealed = seal_dialogue(self.ring, turn.lookup_hash, state.to_bytes())
        expires = self.clock() + timedelta(minutes=self.relay.dialogue_timeout_minutes)
        lookup = turn.lookup_hash
        turn.write(lambda tx: tx.put_dialogue(lookup, sealed, expires_at=expires))

    def _end(self, turn: Turn) -> None:
        lookup = turn.lookup_hash
        turn.write(lambda tx: tx.delete_dialogue(lookup))

    def _say(
        self, turn: Turn, t: Translator, key: str, buttons: Buttons | None = None, **fmt: object
    ) -> None:
        text = t.gettext(key, **fmt)
        chat = turn.incoming.chat_id
        turn.then(lambda: self.io.say(chat, text, buttons))

    def _say_briefly(self, turn: Turn, html: str, *, case_id: str, lifetime: timedelta) -> None:
        """Say something that leaves the chat again after ``lifetime`` (a sealed deletion)."""
        chat = turn.incoming.chat_id
        turn.then(lambda: self._send_briefly(chat, html, case_id, lifetime))

    async def _send_briefly(
        self,
        chat: int,
        text: str,
        case_id: str,
        lifetime: timedelta,
        *,
        quiet: bool = False,
        buttons: Buttons | None = None,
        pinned: bool = False,
    ) -> list[int]:
        """The ids of the message shown (more than one if a lost answer left a copy that
        Telegram would not delete yet: it goes as soon as it can)."""
        mid = await self.io.say(chat, text, buttons, quiet=quiet, copies_later=True)
        if mid is None:
            return []
        ref = seal_message_ref(self.ring, case_id, chat, mid)
        await self._record_deletion(case_id, ref, self.clock() + lifetime, pinned=pinned)
        # Recorded first, so that /panic or a crash during the search cannot miss it. A
        # copy Telegram would not delete yet goes as soon as it can, durably.
        strays = await self.io.delete_copies(chat, mid)
        for stray in strays:
            ref = seal_message_ref(self.ring, case_id, chat, stray)
            await self._record_deletion(case_id, ref, self.clock(), pinned=pinned)
        return [mid, *strays]

    async def _record_deletion(
        self, case_id: str, ref: bytes, due_at: datetime, *, pinned: bool
    ) -> None:
        # The message may name the case ID: its deletion must be recorded, store hiccup or not.
        for attempt in range(1, _NOTE_DELETION.give_up_after + 1):
            try:
                await self.store.add_scheduled_deletion(case_id, ref, due_at=due_at, pinned=pinned)
            except StoreError as exc:
                if attempt == _NOTE_DELETION.give_up_after:
                    raise
                log.warning("deletion not recorded yet: %s", type(exc).__name__)
                await asyncio.sleep(_NOTE_DELETION.delay(attempt))
            else:
                return

    def _delete_incoming(self, turn: Turn) -> None:
        inc = turn.incoming
        if (
            self.relay.delete_ingested
            and inc.message_id is not None
            and inc.kind is not Kind.BUTTON
        ):
            chat, mid = inc.chat_id, inc.message_id
            turn.then(lambda: self.io.delete(chat, mid))

    # -- a first contact -------------------------------------------------------------------

    async def _stranger(self, turn: Turn) -> None:
        inc = turn.incoming
        if inc.kind is Kind.COMMAND and inc.command == "recover":
            await self._start_recover(turn, "en")
            return
        if inc.kind is Kind.COMMAND and inc.command == "verify":
            self._delete_incoming(turn)
            self._verify(turn, catalog("en"))
            self._ask_language(turn)
            return
        if inc.kind is not Kind.BUTTON:
            # Nothing is kept before consent, and the chat keeps nothing either: not even
            # the /start that shows this account talked to the bot.
            self._delete_incoming(turn)
        if inc.kind is not Kind.BUTTON and not (
            inc.kind is Kind.COMMAND and inc.command == "start"
        ):
            # Said, not done silently: the message they wrote is gone and was not kept.
            self._say(turn, catalog("en"), "start.not_kept")
        self._ask_language(turn)

    def _ask_language(self, turn: Turn) -> None:
        t = catalog("en")
        buttons = [[(LANGUAGE_NAMES[lang], f"lang:{lang}") for lang in self.relay.languages]]
        self._say(turn, t, "language.prompt", buttons)
        self._save(turn, DialogueState(step=Step.LANGUAGE))

    # -- dialogue steps --------------------------------------------------------------------

    async def _step(self, turn: Turn, state: DialogueState, case: Case | None) -> None:
        inc = turn.incoming
        if (
            case is not None
            and inc.kind is Kind.BUTTON
            and inc.callback_data.startswith(DOC_PREFIX)
        ):
            await self._on_document_choice(turn, case)
            return
        if (
            case is not None
            and inc.kind is Kind.BUTTON
            and inc.callback_data.startswith(READ_PREFIX)
        ):
            await self._on_read(turn, case)
            return
        if inc.kind is Kind.COMMAND and inc.command == "help" and state.step is not Step.RECOVER:
            # Help, not "choose a button": the question asked stays open.
            self._delete_incoming(turn)
            self._say(turn, catalog(state.language), "help.body")
            return
        if inc.kind is Kind.COMMAND and inc.command == "verify" and state.step is not Step.RECOVER:
            # Checking the bot before saying anything is what the briefing asks for.
            self._delete_incoming(turn)
            self._verify(turn, catalog(state.language))
            return
        onboarding = case is None and state.step in (Step.LANGUAGE, Step.CONSENT)
        if onboarding and inc.kind is Kind.COMMAND and inc.command in ("start", "cancel"):
            self._ask_language(turn)
            return
        if onboarding and inc.kind is Kind.COMMAND and inc.command == "recover":
            await self._start_recover(turn, state.language)
            return
        asked = state.step in (Step.FORGET, Step.LANGUAGE)
        if case is not None and asked and not _answers(state.step, inc):
            # The source wrote instead of answering: the question lapses and the message
            # is handled as any other (sealed, or the command run).
            self._end(turn)
            await self._active(turn, case)
            return
        steps = {
            Step.LANGUAGE: self._on_language,
            Step.CONSENT: self._on_consent,
            Step.INTAKE: self._on_intake,
            Step.PHRASE: self._on_phrase,
            Step.FORGET: self._on_forget,
            Step.RECOVER: self._on_recover,
        }
        await steps[state.step](turn, state, case)

    async def _on_language(self, turn: Turn, state: DialogueState, case: Case | None) -> None:
        inc = turn.incoming
        lang: str | None = None
        if inc.kind is Kind.BUTTON and inc.callback_data.startswith("lang:"):
            lang = inc.callback_data[5:]
        elif inc.kind is Kind.TEXT:
            lang = typed_language(inc.text)
            self._delete_incoming(turn)
        if lang not in self.relay.languages:
            self._ask_language(turn)
            return
        if inc.kind is Kind.BUTTON and inc.message_id is not None:
            chat, mid = inc.chat_id, inc.message_id
            turn.then(lambda: self.io.clear_buttons(chat, mid))
        if case is not None:  # /language from an active source
            case_id = case.case_id

            async def change(tx: StoreOperations) -> None:
                await tx.set_case_language(case_id, lang)
                # Officers see it in the thread (ADR 0084); the language, not who asked.
                await tx.append_audit("relay", "source-language", case_id=case_id, detail=lang)

            turn.write(change)
            self._end(turn)
            self._say(turn, catalog(lang), "language.changed")
            return
        t = catalog(lang)
        chat = turn.incoming.chat_id
        briefing = self._briefing(t)
        turn.then(lambda: self.io.say(chat, briefing))
        buttons = [
            [
                (t.plain("consent.button.continue"), "consent:yes"),
                (t.plain("consent.button.cancel"), "consent:no"),
            ]
        ]
        self._say(turn, t, "consent.question", buttons)
        self._save(turn, DialogueState(step=Step.CONSENT, language=lang))

    def _briefing(self, t: Translator) -> str:
        """The briefing, opened by who runs the bot and where to check it (ADR 0086)."""
        org = self.config.organisation
        body = t.gettext("briefing.body")
        if org.name and org.url:
            return t.gettext("briefing.official", organisation=org.name, url=org.url) + (
                "\n\n" + body
            )
        if org.name:
            return t.gettext("briefing.organisation", organisation=org.name) + "\n\n" + body
        return body

    async def _on_consent(self, turn: Turn, state: DialogueState, case: Case | None) -> None:
        inc = turn.incoming
        t = catalog(state.language)
        answer: bool | None = None
        if inc.kind is Kind.BUTTON and inc.callback_data in ("consent:yes", "consent:no"):
            answer = inc.callback_data == "consent:yes"
        elif inc.kind is Kind.TEXT:
            answer = typed_yes_no(inc.text)
            self._delete_incoming(turn)
        if answer is None:
            self._say(turn, t, "intake.invalid_choice")
            return
        if inc.kind is Kind.BUTTON and inc.message_id is not None:
            chat, mid = inc.chat_id, inc.message_id
            turn.then(lambda: self.io.clear_buttons(chat, mid))
        if not answer:
            self._end(turn)
            self._say(turn, t, "consent.cancelled")
            return
        await self._create_case(turn, state.language)

    async def _create_case(self, turn: Turn, language: str) -> None:
        trust = await self.trust()
        roster = trust.roster
        assert roster is not None  # load_trust always verifies one
        case_id = new_case_id()
        while await self.store.get_case(case_id) is not None:
            case_id = new_case_id()
        chat_ref = seal_chat_ref(self.ring, case_id, turn.incoming.chat_id)
        lookup = turn.lookup_hash
        keys = self.ring.current

        async def create(tx: StoreOperations) -> None:
            # The relay chooses no reader: it signs the case open for exactly the officers
            # the roster has on intake at this point of the log (ADR 0076).
            current = await read_roster(tx, roster.org, previous=roster)
            handlers = sorted(current.intake_handlers())
            await tx.create_case(
                case_id, language=language, lookup_hash=lookup, sealed_chat_ref=chat_ref
            )
            await append_statement(
                tx,
                current,
                Signer("relay", version=keys.version),
                keys.signing,
                "open_case",
                case_id=case_id,
                handlers=handlers,
            )
            for name in handlers:
                await tx.assign_handler(case_id, name)
            await tx.append_audit("relay", "case-created", case_id=case_id)

        turn.write(create)
        state = DialogueState(step=Step.INTAKE, language=language, case_id=case_id, question=0)
        await self._ask_question_or_finish(turn, state)

    async def _ask_question_or_finish(self, turn: Turn, state: DialogueState) -> None:
        questions = self.config.intake.questions
        if state.question >= len(questions):
            await self._finish_onboarding(turn, state)
            return
        q = questions[state.question]
        t = catalog(state.language)
        html = escape_html(_localised(q.prompt, state.language))
        if q.optional:
            html += "\n\n" + t.gettext("intake.optional")
        rows: Buttons = [
            [(_localised(c.label, state.language), f"q:{q.id}:{c.id}")] for c in q.choices
        ]
        if q.optional:
            rows.append([(t.plain("intake.button.skip"), f"skip:{q.id}")])
        chat = turn.incoming.chat_id
        lookup = turn.lookup_hash

        async def ask() -> None:
            mid = await self.io.say(chat, html, rows or None)
            if mid is not None and rows:
                _remember(self.question_messages, lookup, (chat, mid))

        turn.then(ask)
        self._save(turn, state)

    async def _on_intake(self, turn: Turn, state: DialogueState, case: Case | None) -> None:
        inc = turn.incoming
        questions = self.config.intake.questions
        if case is None or state.case_id != case.case_id or state.question >= len(questions):
            self._end(turn)
            return
        q = questions[state.question]
        t = catalog(state.language)
        if inc.kind is Kind.TEXT and q.kind == "text" and len(inc.text.strip()) > q.max_chars:
            # Refused with its limit, never cut: the source decides what to leave out.
            self._delete_incoming(turn)
            self._say(turn, t, "intake.too_long", limit=q.max_chars)
            return
        answer = self._answer(q, inc)
        if answer is None:
            if inc.kind is not Kind.BUTTON:
                self._delete_incoming(turn)
            self._say(turn, t, "intake.invalid_choice")
            return
        asked = self.question_messages.pop(turn.lookup_hash, None)
        if inc.kind is Kind.BUTTON and inc.message_id is not None:
            chat, mid = inc.chat_id, inc.message_id
            turn.then(lambda: self.io.clear_buttons(chat, mid))
        elif asked is not None:  # a typed answer: the question's Skip button goes too
            turn.then(lambda: self.io.clear_buttons(*asked))
        body = SourceMessage(kind="intake", answers=(answer,), language=state.language)
        await self._seal_and_store(turn, case, body)  # also schedules the message's deletion
        await self._ask_question_or_finish(
            turn, state.model_copy(update={"question": state.question + 1})
        )

    def _answer(self, q: IntakeQuestion, inc: Incoming) -> IntakeAnswer | None:
        if inc.kind is Kind.BUTTON:
            data = inc.callback_data
            if q.optional and data == f"skip:{q.id}":
                return IntakeAnswer(question=q.id, skipped=True)
            prefix = f"q:{q.id}:"
            choice = next((c for c in q.choices if data == prefix + c.id), None)
            if choice is None:
                return None
            label = _localised(choice.label, "en")
            return IntakeAnswer(question=q.id, choice=choice.id, answer=label)
        if inc.kind is Kind.TEXT and q.kind == "text" and inc.text.strip():
            return IntakeAnswer(question=q.id, answer=inc.text.strip())
        return None

    async def _finish_onboarding(self, turn: Turn, state: DialogueState) -> None:
        assert state.case_id is not None
        t = catalog(state.language)
        html = t.gettext("case.created", case_id=state.case_id)
        self._say_briefly(turn, html, case_id=state.case_id, lifetime=CASE_ID_LIFETIME)
        await self._issue_phrase(turn, state)

    async def _issue_phrase(self, turn: Turn, state: DialogueState) -> None:
        case_id = state.case_id
        assert case_id is not None
        t = catalog(state.language)
        phrase = new_phrase()
        stored = await self._recovery_hash_off_loop(phrase)
        turn.write(lambda tx: tx.set_case_recovery_hash(case_id, stored))
        self._show_phrase(turn, t, phrase, case_id)
        self._save(turn, DialogueState(step=Step.PHRASE, language=state.language, case_id=case_id))

    def _show_phrase(self, turn: Turn, t: Translator, phrase: str, case_id: str) -> None:
        # It passes through Telegram on its way (docs/threat-model.md, "Honest limits").
        # "I saved it" deletes it; its deletion is also recorded, so that /panic takes it
        # and it leaves before Telegram's 48 h window closes if the button is never pressed.
        html = t.gettext("case.phrase", phrase=phrase)
        buttons: Buttons = [[(t.plain("case.button.saved"), "saved")]]
        chat, lookup = turn.incoming.chat_id, turn.lookup_hash

        async def show() -> None:
            shown = await self._send_briefly(chat, html, case_id, PHRASE_LIFETIME, buttons=buttons)
            _remember(self.phrase_messages, lookup, (chat, shown))

        turn.then(show)

    async def _recovery_hash_off_loop(self, phrase: str) -> bytes:
        return await argon2_work(self._recovery_hash, phrase)

    def _recovery_hash(self, phrase: str) -> bytes:
        # Deterministic (salt fixed per deployment) so /recover can look a case up by it; the
        # phrase carries ~90 bits, which no table over a per-deployment salt can cover.
        salt = hashlib.sha256(
            b"writein recovery v1" + self.config.trust.org_fingerprint.encode()
        ).digest()[:16]
        return phrase_hash(normalise_phrase(phrase), salt=salt, params=self.phrase_params)

    async def _on_phrase(self, turn: Turn, state: DialogueState, case: Case | None) -> None:
        inc = turn.incoming
        t = catalog(state.language)
        if inc.kind is Kind.BUTTON and inc.callback_data == "saved" and inc.message_id is not None:
            chat, mid, lookup = inc.chat_id, inc.message_id, turn.lookup_hash

            async def delete_phrase() -> None:
                # Runs after the phrase's own send (one queue per chat), so its ids are known.
                shown = self.phrase_messages.pop(lookup, (chat, []))
                await self.io.delete_many(chat, [mid, *(m for m in shown[1] if shown[0] == chat)])

            turn.then(delete_phrase)
            self._end(turn)
            if case is not None:
                # Before "you can write now", so that the last word is the invitation.
                case_id = case.case_id
                turn.then(lambda: self._advise_auto_delete(chat, case_id, t))
            self._say(turn, t, "case.ready")
            return
        if case is not None and inc.kind not in (Kind.BUTTON, Kind.COMMAND):
            # They wrote instead of confirming: take the message, keep asking.
            await self._intake_content(turn, case, t)
            return
        self._say(turn, t, "intake.invalid_choice")

    # -- an active source -------------------------------------------------------------------

    async def _active(self, turn: Turn, case: Case) -> None:
        inc = turn.incoming
        t = catalog(case.language)
        if inc.kind is Kind.COMMAND:
            await self._command(turn, case, t)
            return
        if inc.kind is Kind.BUTTON:
            # A button of an earlier question still does what it says; anything else
            # (stale or foreign data) is answered and otherwise ignored.
            data = inc.callback_data
            if data.startswith("lang:"):
                state = DialogueState(
                    step=Step.LANGUAGE, language=case.language, case_id=case.case_id
                )
                await self._on_language(turn, state, case)
            elif data in (FORGET_YES, FORGET_KEEP):
                state = DialogueState(
                    step=Step.FORGET, language=case.language, case_id=case.case_id
                )
                await self._on_forget(turn, state, case)
            elif data.startswith(DOC_PREFIX):
                await self._on_document_choice(turn, case)
            elif data.startswith(READ_PREFIX):
                await self._on_read(turn, case)
            return
        await self._intake_content(turn, case, t)

    async def _command(self, turn: Turn, case: Case, t: Translator) -> None:
        inc = turn.incoming
        command = inc.command
        self._delete_incoming(turn)
        if command == "start":
            html = t.gettext("start.returning", case_id=case.case_id)
            self._say_briefly(turn, html, case_id=case.case_id, lifetime=CASE_ID_LIFETIME)
        elif command == "help":
            self._say(turn, t, "help.body", [[(t.plain("help.button.panic"), PANIC)]])
        elif command == "status":
            await self._status(turn, case, t)
        elif command == "language":
            buttons = [[(LANGUAGE_NAMES[lang], f"lang:{lang}") for lang in self.relay.languages]]
            self._say(turn, catalog("en"), "language.prompt", buttons)
            self._save(
                turn,
                DialogueState(step=Step.LANGUAGE, language=case.language, case_id=case.case_id),
            )
        elif command == "forget":
            buttons = [
                [
                    (t.plain("forget.button.yes"), FORGET_YES),
                    (t.plain("forget.button.keep"), FORGET_KEEP),
                ]
            ]
            self._say(turn, t, "forget.confirm", buttons)
            self._save(
                turn, DialogueState(step=Step.FORGET, language=case.language, case_id=case.case_id)
            )
        elif command == "recover":
            self._say(turn, t, "recover.already_linked")
        elif command == "verify":
            self._verify(turn, t)
        else:
            self._say(turn, t, "command.unknown")

    def _panic(self, turn: Turn, case: Case) -> None:
        """/panic, or its button under /help: every bot message the relay knows it left in
        the chat is deleted now (durably: they are the relay's scheduled deletions), and
        the source is told how to delete the chat itself. The case stays linked."""
        inc = turn.incoming
        t = catalog(case.language)
        case_id = case.case_id
        now = self.clock()

        async def clear(tx: StoreOperations) -> None:
            await tx.clear_chat(case_id, now=now)
            # The notices are going: nothing is left to tap, so their wraps go too.
            await forget_quiet_replies_of(tx, case_id)
            self.on_chat_cleared(case_id)  # a reply being sent right now goes too

        turn.write(clear)
        if inc.message_id is not None:
            # The /panic command, or the /help message whose button was pressed.
            chat, mid = inc.chat_id, inc.message_id
            turn.then(lambda: self.io.delete(chat, mid))
        held = [k for k, v in self.held_documents.items() if v.lookup == turn.lookup_hash]
        for token in held:
            del self.held_documents[token]
        html = t.gettext("panic.done")
        chat = inc.chat_id
        turn.then(lambda: self._send_briefly(chat, html, case_id, PANIC_NOTE_LIFETIME, quiet=True))

    async def _advise_auto_delete(self, chat: int, case_id: str, t: Translator) -> None:
        """Telegram's own auto-delete is a second layer that works while the relay is down:
        if it is off for this chat, say how to turn it on (ADR 0087)."""
        try:
            info = await self.io.call("getChat", lambda: self.bot.get_chat(chat))
        except TelegramError as exc:
            log.info("chat settings not read: %s", type(exc).__name__)
            return
        if info.message_auto_delete_time:
            return
        html = t.gettext("autodelete.off")
        await self._send_briefly(chat, html, case_id, ADVICE_LIFETIME, quiet=True)

    def _verify(self, turn: Turn, t: Translator) -> None:
        """The organisation key's fingerprint as words, and where to compare them (0086)."""
        words = " ".join(fingerprint_words(self.config.trust.org_fingerprint))
        try:
            username = self.bot.username
        except RuntimeError:  # PTB before initialize(): the relay always initialises first
            username = ""
        url = self.config.organisation.url
        if url:
            self._say(turn, t, "verify.body", words=words, url=url, username=username)
        else:
            self._say(turn, t, "verify.no_page", words=words, username=username)

    async def _status(self, turn: Turn, case: Case, t: Translator) -> None:
        recent = await self.store.list_envelopes(
            case.case_id, newest_first=True, limit=100, wraps="none"
        )
        replies = 0
        for env in recent:
            if env.direction is Direction.IN:
                break
            if env.direction is Direction.OUT:
                replies += 1
        working = CaseFlag.UNREACHABLE not in case.flags
        delivery = t.plain("status.delivery.working" if working else "status.delivery.not_working")
        html = t.gettext("status.body", case_id=case.case_id, unread=replies, delivery=delivery)
        self._say_briefly(turn, html, case_id=case.case_id, lifetime=CASE_ID_LIFETIME)

    async def _intake_content(self, turn: Turn, case: Case, t: Translator) -> None:
        inc = turn.incoming
        now = time.monotonic()
        wait = self.flood.hit(turn.lookup_hash, now)
        if wait:
            # Past the hard cap the message is neither stored nor deleted: it stays in the
            # source's chat to be sent again later. The source is told once per window.
            if not self.flood.told(turn.lookup_hash, now):
                self._say(turn, t, "refuse.rate_limited", minutes=max(1, math.ceil(wait / 60)))
            return
        refusal = self._refusal(inc)
        if refusal is not None:
            self._delete_incoming(turn)
            if refusal == "refuse.file_too_large":
                self._say(turn, t, refusal, limit_mb=self.relay.max_attachment_mb)
            else:
                self._say(turn, t, refusal)
            return
        if inc.kind is Kind.DOCUMENT and inc.file is not None:
            await self._document(turn, case, t)
            return
        attachments: tuple[AttachmentRef, ...] = ()
        rows: tuple[SealedAttachmentRows, ...] = ()
        if inc.file is not None:
            try:
                ref, row = await self._fetch_attachment(inc)
            except (MediaError, _TooLarge, BadRequest) as exc:
                self._refuse_file(turn, t, exc)
                return
            attachments, rows = (ref,), (row,)
        body = SourceMessage(
            kind=inc.kind.value,
            text=inc.text,
            ref=inc.message_id,
            edit=inc.edited,
            forward_origin=inc.forward_origin,
            media_group=inc.media_group_id,
            attachments=attachments,
        )
        first = await self._first_message(case)
        await self._seal_and_store(turn, case, body, rows)
        self._acknowledge(turn, case, t)
        if first:
            self._tell_response_time(turn, case, t)

    async def _first_message(self, case: Case) -> bool:
        """Whether this is the source's first message after onboarding: the case holds
        just the intake's answers (one envelope per question, answered or skipped)."""
        if not self.config.organisation.response_time:
            return False
        count = await self.store.count_envelopes(case.case_id, direction=Direction.IN)
        return count == len(self.config.intake.questions)

    def _tell_response_time(self, turn: Turn, case: Case, t: Translator) -> None:
        when = _localised(self.config.organisation.response_time, case.language)
        html = t.gettext("first.response_time", when=when)
        # Said once, and gone again with the messages naming the case (ADR 0053).
        self._say_briefly(turn, html, case_id=case.case_id, lifetime=CASE_ID_LIFETIME)

    def _refusal(self, inc: Incoming) -> str | None:
        kind = inc.kind
        if kind in (Kind.STICKER, Kind.DICE):
            return "refuse.sticker"
        if kind is Kind.LOCATION:
            return "refuse.location"
        if kind is Kind.CONTACT:
            return "refuse.contact"
        if kind is Kind.VOICE and not self.relay.allow_voice:
            return "refuse.voice"
        if kind is Kind.VIDEO_NOTE and not self.relay.allow_voice:
            return "refuse.video_note"
        if kind is Kind.OTHER:
            return "refuse.unsupported"
        if kind is Kind.TEXT:
            if _blank(inc.text):
                return "refuse.empty"
            if len(inc.text) > self.relay.max_text_chars:
                return "refuse.too_long"
        size = inc.file.size if inc.file is not None else None
        if kind in ATTACHMENT_KINDS and size is not None and size > self._max_bytes:
            return "refuse.file_too_large"
        return None

    async def _fetch_attachment(self, inc: Incoming) -> tuple[AttachmentRef, SealedAttachmentRows]:
        assert inc.file is not None
        data = await self._download(inc)
        mime = inc.file.mime or sniff_mime(data)
        stripped = False
        if self.relay.strip_image_metadata and (
            inc.kind is Kind.PHOTO or sniff_mime(data) in IMAGE_MIMES
        ):
            data = await asyncio.to_thread(strip_image_metadata, data)
            stripped = True
            mime = sniff_mime(data)
        name = inc.file.name or ("photo.jpg" if inc.kind is Kind.PHOTO else inc.kind.value)
        # Sealing up to 20 MB in chunks is CPU work: off the event loop.
        return await asyncio.to_thread(
            seal_attachment, data, name=name, mime=mime, stripped=stripped
        )

    async def _download(self, inc: Incoming) -> bytes:
        assert inc.file is not None
        limit = self._max_bytes
        try:
            tg_file = await self.bot.get_file(inc.file.file_id)
            if tg_file.file_size is not None and tg_file.file_size > limit:
                raise _TooLarge
            data = bytes(await tg_file.download_as_bytearray())
        except TelegramError as exc:
            if "too big" in str(exc).lower():
                raise _TooLarge from None
            raise
        if len(data) > limit:
            raise _TooLarge
        return data

    async def _seal_and_store(
        self,
        turn: Turn,
        case: Case,
        body: SourceMessage,
        rows: tuple[SealedAttachmentRows, ...] = (),
    ) -> None:
        trust = await self.trust()
        handlers = sorted(trust.assigned(case.case_id))  # the signed roster, never a row
        sealed = seal_source_message(
            body,
            case_id=case.case_id,
            handlers=handlers,
            trust=trust,
            keys=self.ring.current,
            attachments=rows,
        )
        turn.write(sealed.store)
        inc = turn.incoming
        if self.relay.delete_ingested and inc.message_id is not None:
            # Deletion is recorded with the envelope, so a crash cannot leave it undone.
            ref = seal_message_ref(self.ring, case.case_id, inc.chat_id, inc.message_id)
            due = self.clock()
            turn.write(lambda tx: tx.add_scheduled_deletion(case.case_id, ref, due_at=due))

    def _acknowledge(self, turn: Turn, case: Case, t: Translator) -> None:
        inc = turn.incoming
        chat = inc.chat_id
        if (
            not self.relay.delete_ingested
            and self.relay.ack == "reaction"
            and inc.message_id is not None
        ):
            mid = inc.message_id
            turn.then(lambda: self.io.react(chat, mid))
            return
        # One acknowledgement per burst (an album, a pasted text): bot/outgoing.py holds it
        # until the chat has been quiet a moment, and merges the burst's others into it.
        key = "ack.edited" if inc.edited else "ack.received"
        html = t.gettext(key)
        case_id = case.case_id
        turn.then(lambda: self._send_briefly(chat, html, case_id, ACK_LIFETIME), coalesce=key)

    def _refuse_file(self, turn: Turn, t: Translator, exc: Exception) -> None:
        """A file the relay will not take: the source's copy goes, and one line says why."""
        self._delete_incoming(turn)
        if isinstance(exc, MediaError):
            self._say(turn, t, "refuse.bad_image")
        elif isinstance(exc, _TooLarge):
            self._say(turn, t, "refuse.file_too_large", limit_mb=self.relay.max_attachment_mb)
        else:
            # Telegram will not hand the file out (BadRequest: expired, unknown): retrying
            # cannot help, and an update retried forever would hold up every later one.
            # Network errors still propagate, so the update is kept and tried again.
            log.warning("attachment not downloadable: %s", type(exc).__name__)
            self._say(turn, t, "refuse.unsupported")

    # -- documents (docs/decisions/0080) ----------------------------------------------------

    async def _document(self, turn: Turn, case: Case, t: Translator) -> None:
        """Clean a document; seal it at once if nothing is left, else ask the source first."""
        inc = turn.incoming
        assert inc.file is not None
        try:
            data = await self._download(inc)
        except (_TooLarge, BadRequest) as exc:
            self._refuse_file(turn, t, exc)
            return
        # Parsers of hostile files run in a child process bounded in memory and time.
        cleaned = await clean_isolated(data, name=inc.file.name or "", mime=inc.file.mime or "")
        held = _HeldDocument(
            lookup=turn.lookup_hash,
            case_id=case.case_id,
            cleaned=cleaned,
            original=data,
            original_name=inc.file.name or "document",
            original_mime=inc.file.mime or sniff_mime(data),
            body=SourceMessage(
                kind=inc.kind.value,
                text=inc.text,
                ref=inc.message_id,
                edit=inc.edited,
                forward_origin=inc.forward_origin,
                media_group=inc.media_group_id,
            ),
            expires=time.monotonic() + 60 * self.relay.dialogue_timeout_minutes,
        )
        if not cleaned.residue:
            await self._seal_document(turn, case, t, held, original=False)
            return
        self._delete_incoming(turn)
        token = self._hold(held)
        kinds = "\n".join(
            "• " + t.plain(f"document.reveals.{kind.value}") for kind in cleaned.residue
        )
        buttons: Buttons = [
            [(t.plain("document.button.send"), f"{DOC_PREFIX}{DOC_SEND}:{token}")],
            [(t.plain("document.button.original"), f"{DOC_PREFIX}{DOC_ORIGINAL}:{token}")],
            [(t.plain("document.button.cancel"), f"{DOC_PREFIX}{DOC_CANCEL}:{token}")],
        ]
        self._say(turn, t, "document.residue", buttons, kinds=kinds)

    def _hold(self, held: _HeldDocument) -> str:
        """Keep ``held`` for the source's answer, within a per-source and a total budget."""
        now = time.monotonic()
        for token, other in list(self.held_documents.items()):
            if other.expires <= now:
                del self.held_documents[token]
        mine = [k for k, v in self.held_documents.items() if v.lookup == held.lookup]
        for token in mine[: max(0, len(mine) - DOCS_PER_SOURCE + 1)]:
            del self.held_documents[token]  # oldest first: dicts keep insertion order
        while self.held_documents and (
            sum(v.size for v in self.held_documents.values()) + held.size > DOCS_HELD_BYTES
        ):
            del self.held_documents[next(iter(self.held_documents))]
        token = secrets.token_urlsafe(12)
        self.held_documents[token] = held
        return token

    async def _on_document_choice(self, turn: Turn, case: Case) -> None:
        inc = turn.incoming
        t = catalog(case.language)
        action, _, token = inc.callback_data.removeprefix(DOC_PREFIX).partition(":")
        held = self.held_documents.get(token)
        if held is not None and (held.lookup != turn.lookup_hash or held.case_id != case.case_id):
            held = None  # another source's button: as if it did not exist
        elif held is not None and held.expires <= time.monotonic():
            del self.held_documents[token]
            held = None
        if held is None:
            if inc.message_id is not None:
                chat, mid = inc.chat_id, inc.message_id
                turn.then(lambda: self.io.delete(chat, mid))
            self._say(turn, t, "document.expired")
            return
        del self.held_documents[token]
        if action in (DOC_SEND, DOC_ORIGINAL):
            # The prompt's own deletion is scheduled with the envelope (_seal_and_store).
            await self._seal_document(turn, case, t, held, original=action == DOC_ORIGINAL)
            return
        if inc.message_id is not None:
            chat, mid = inc.chat_id, inc.message_id
            turn.then(lambda: self.io.delete(chat, mid))
        self._say(turn, t, "document.cancelled")

    async def _seal_document(
        self, turn: Turn, case: Case, t: Translator, held: _HeldDocument, *, original: bool
    ) -> None:
        if original:
            data, name, mime = held.original, held.original_name, held.original_mime
        else:
            data, name, mime = held.cleaned.data, held.cleaned.name, held.cleaned.mime
        stripped = not original and held.cleaned.cleaned
        ref, row = await asyncio.to_thread(
            seal_attachment, data, name=name, mime=mime, stripped=stripped
        )
        body = held.body.model_copy(update={"attachments": (ref,)})
        await self._seal_and_store(turn, case, body, (row,))
        self._acknowledge(turn, case, t)

    # -- quiet replies (docs/decisions/0081) ------------------------------------------------

    async def _on_read(self, turn: Turn, case: Case) -> None:
        """A tap on a quiet reply's notice: open the sealed reply again and show it, silent
        and protected, for ``reply_read_seconds``; past its time, a short neutral answer."""
        inc = turn.incoming
        t = catalog(case.language)
        parsed = parse_read_button(inc.callback_data)
        now = self.clock()
        reply = None
        if parsed is not None and now < parsed[1]:
            reply = await open_reply(
                self.store, self.ring, await self.trust(), case.case_id, parsed[0]
            )
        chat, case_id = inc.chat_id, case.case_id
        if reply is None:
            if parsed is not None:
                message_id = parsed[0]
                turn.then(lambda: forget_quiet_reply(self.store, message_id))
            if inc.message_id is not None:
                mid = inc.message_id
                turn.then(lambda: self.io.delete(chat, mid))
            html = t.gettext("reply.gone")
            turn.then(lambda: self._send_briefly(chat, html, case_id, ACK_LIFETIME, quiet=True))
            return
        assert parsed is not None
        shown_for = timedelta(seconds=self.relay.reply_read_seconds)
        lifetime = min(shown_for, parsed[1] - now)
        html = t.gettext("reply.body", text=reply.text)
        del reply  # the words live on only in this message's closure until it is sent
        turn.then(lambda: self._send_briefly(chat, html, case_id, lifetime, quiet=True))

    # -- /forget and /recover ----------------------------------------------------------------

    async def _on_forget(self, turn: Turn, state: DialogueState, case: Case | None) -> None:
        inc = turn.incoming
        t = catalog(state.language)
        if inc.kind is Kind.BUTTON and inc.message_id is not None:
            chat, mid = inc.chat_id, inc.message_id
            turn.then(lambda: self.io.delete(chat, mid))
        self._end(turn)
        if case is None or inc.kind is not Kind.BUTTON or inc.callback_data != FORGET_YES:
            self._say(turn, t, "forget.kept")
            return
        case_id = case.case_id
        now = self.clock()

        async def forget(tx: StoreOperations) -> None:
            # Every link to the chat goes (ADR 0082): the lookup hash and the chat
            # reference now; delivered replies' references become deletions due now, so
            # the bot's messages leave the chat (durably, a crash in between included)
            # and their rows leave the store as each is carried out.
            await tx.set_case_lookup_hash(case_id, None)
            await tx.set_case_chat_ref(case_id, None)
            await tx.forget_chat_links(case_id, now=now)
            await forget_quiet_replies_of(tx, case_id)
            await tx.set_case_flag(case_id, CaseFlag.FORGOTTEN, True)
            await tx.append_audit("relay", "source-forgot", case_id=case_id)

        turn.write(forget)
        chat = inc.chat_id

        async def last_note() -> None:
            # Itself removed shortly after, and its reference with it.
            await self._send_briefly(chat, t.gettext("forget.done"), case_id, ACK_LIFETIME)

        turn.then(last_note)

    async def _start_recover(self, turn: Turn, language: str) -> None:
        self._say(turn, catalog(language), "recover.prompt")
        self._save(turn, DialogueState(step=Step.RECOVER, language=language))

    async def _on_recover(self, turn: Turn, state: DialogueState, case: Case | None) -> None:
        inc = turn.incoming
        t = catalog(state.language)
        if inc.kind is Kind.COMMAND and inc.command == "recover":
            self._delete_incoming(turn)
            await self._start_recover(turn, state.language)
            return
        if inc.kind is not Kind.TEXT:
            self._end(turn)
            if case is None:
                self._ask_language(turn)
            return
        self._delete_incoming(turn)
        now = time.monotonic()
        wait = self.recover_attempts.hit(turn.lookup_hash, now) or self.recover_attempts_all.hit(
            b"", now
        )
        if wait:
            self._end(turn)
            self._say(turn, t, "recover.too_many", minutes=max(1, round(wait / 60)))
            return
        try:
            phrase = normalise_phrase(inc.text)
        except PhraseError as exc:
            if exc.position is None:
                self._say(turn, t, "recover.word_count")
            else:
                self._say(turn, t, "recover.bad_word", position=exc.position)
            return
        stored = await self._recovery_hash_off_loop(phrase)
        target = await self.store.get_case_by_recovery_hash(stored)
        if target is None:
            self._say(turn, t, "recover.wrong")
            return
        await self._relink(turn, target)

    async def _relink(self, turn: Turn, target: Case) -> None:
        """The phrase was right: move the case to this account, loudly (ADR 0085).

        In one transaction: this account's lookup hash and chat, a NEW recovery hash (the
        words just used match nothing any more) and an event officers see in the thread.
        Then the previous chat, if the relay can still reach it, gets a neutral notice;
        this chat gets the case ID and its new words.
        """
        inc = turn.incoming
        case_id = target.case_id
        t = catalog(target.language)
        today = self.clock().date()
        if await _recoveries_on(self.store, case_id, today) >= self.relay.recover_per_case_per_day:
            # Someone holds the current words, but the case moved too often today: refused,
            # and officers see that it was tried.
            self._end(turn)
            refused_at = self.clock()
            turn.write(
                lambda tx: tx.append_audit(
                    "relay", "source-recover-refused", case_id=case_id, now=refused_at
                )
            )
            tomorrow = datetime.combine(today + timedelta(days=1), dt_time(), tzinfo=UTC)
            minutes = max(1, math.ceil((tomorrow - self.clock()).total_seconds() / 60))
            self._say(turn, t, "recover.too_many", minutes=minutes)
            return
        previous = self._previous_chat(target, inc.chat_id)
        lookup = turn.lookup_hash
        chat_ref = seal_chat_ref(self.ring, case_id, inc.chat_id)
        phrase = new_phrase()
        renewed = await self._recovery_hash_off_loop(phrase)
        detail = "from another account" if previous is not None else "after /forget"
        now = self.clock()

        async def relink(tx: StoreOperations) -> None:
            if previous is not None:
                # What the bot left in the previous chat (reply notices, the case ID) goes
                # from a phone that may be lost or seized; the notice below is sent after.
                await tx.clear_chat(case_id, now=now)
                await forget_quiet_replies_of(tx, case_id)
            await tx.set_case_lookup_hash(case_id, lookup)
            await tx.set_case_chat_ref(case_id, chat_ref)
            await tx.set_case_recovery_hash(case_id, renewed)
            await tx.set_case_flag(case_id, CaseFlag.FORGOTTEN, False)
            await tx.set_case_flag(case_id, CaseFlag.UNREACHABLE, False)
            await tx.append_audit(
                "relay", "source-recovered", case_id=case_id, detail=detail, now=now
            )

        turn.write(relink)
        if previous is not None:
            notice = t.gettext("recover.moved")
            old_chat = previous
            # Silent, naming nothing, and gone again before Telegram's 48 h delete window
            # closes: whoever holds the old phone learns only that the chat was moved.
            # Pinned: whoever holds the case now cannot erase it early with /panic.
            turn.then(
                lambda: self._send_briefly(
                    old_chat, notice, case_id, MOVED_NOTICE_LIFETIME, quiet=True, pinned=True
                )
            )
        html = t.gettext("recover.success", case_id=case_id)
        self._say_briefly(turn, html, case_id=case_id, lifetime=CASE_ID_LIFETIME)
        self._show_phrase(turn, t, phrase, case_id)
        self._save(turn, DialogueState(step=Step.PHRASE, language=target.language, case_id=case_id))

    def _previous_chat(self, case: Case, chat_id: int) -> int | None:
        """The chat the case was linked to, if the relay still knows it (not after /forget)."""
        if case.sealed_chat_ref is None or CaseFlag.FORGOTTEN in case.flags:
            return None
        try:
            previous = open_chat_ref(self.ring, case.case_id, case.sealed_chat_ref)
        except CryptoError:
            return None
        return previous if previous != chat_id else None


class _TooLarge(Exception):
    pass


@dataclasses.dataclass(frozen=True, repr=False)  # repr=False: no file bytes in a traceback
class _HeldDocument:
    lookup: bytes
    case_id: str
    cleaned: Cleaned
    original: bytes
    original_name: str
    original_mime: str
    body: SourceMessage
    expires: float

    @property
    def size(self) -> int:
        return len(self.original) + len(self.cleaned.data)


_NOTE_DELETION = Backoff(first=0.5, cap=5.0, give_up_after=6)


# Characters that render as nothing; a message of only these is empty.
_INVISIBLE = frozenset("\u2800\u3164\uffa0\u115f\u1160")


async def _recoveries_on(store: Store, case_id: str, day: date) -> int:
    """How often the case was recovered on ``day`` (UTC), read from the audit log."""
    count, after = 0, None
    while True:
        page = await store.list_audit(
            case_id=case_id, action="source-recovered", after_seq=after, limit=500
        )
        count += sum(1 for entry in page if entry.at == day)
        if len(page) < 500:
            return count
        after = page[-1].seq


def _blank(text: str) -> bool:
    return all(
        c.isspace() or c in _INVISIBLE or unicodedata.category(c) in ("Cf", "Cc") for c in text
    )


def _is_panic(inc: Incoming) -> bool:
    if inc.kind is Kind.COMMAND:
        return inc.command == PANIC
    return inc.kind is Kind.BUTTON and inc.callback_data == PANIC


def _answers(step: Step, inc: Incoming) -> bool:
    """Whether ``inc`` answers the question an active source was asked (/forget, /language)."""
    if step is Step.FORGET:
        return inc.kind is Kind.BUTTON and inc.callback_data in (FORGET_YES, FORGET_KEEP)
    if inc.kind is Kind.BUTTON:
        return inc.callback_data.startswith("lang:")
    return inc.kind is Kind.TEXT and typed_language(inc.text) is not None


def _localised(texts: Mapping[Any, str], language: str) -> str:
    """The text in the source's language, else the English one (always present)."""
    return texts.get(language) or texts["en"]
