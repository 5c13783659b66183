"""A source's dialogue state: which step they are on, sealed at rest under their lookup hash."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class Step(StrEnum):
    LANGUAGE = "language"
    CONSENT = "consent"
    INTAKE = "intake"
    PHRASE = "phrase"
    FORGET = "forget"
    RECOVER = "recover"


class DialogueState(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    step: Step
    language: str = "en"
    case_id: str | None = None
    question: int = 0

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode("utf-8")

    @classmethod
    def from_bytes(cls, raw: bytes) -> DialogueState:
        return cls.model_validate_json(raw)


# What a source may type instead of pressing a button.
LANGUAGE_WORDS: dict[str, frozenset[str]] = {
    "en": frozenset({"en", "eng", "english", "1", "англ", "английский", "англійська"}),
    "ru": frozenset({"ru", "rus", "russian", "2", "рус", "русский", "російська"}),
    "uk": frozenset({"uk", "ua", "ukr", "ukrainian", "3", "укр", "українська", "украинский"}),
}
YES_WORDS = frozenset({"yes", "y", "continue", "ok", "да", "продолжить", "так", "продовжити"})
NO_WORDS = frozenset({"no", "n", "cancel", "stop", "нет", "отмена", "ні", "скасувати"})


def typed_language(text: str) -> str | None:
    word = text.strip().lower().strip(".!")
    return next((lang for lang, words in LANGUAGE_WORDS.items() if word in words), None)


def typed_yes_no(text: str) -> bool | None:
    word = text.strip().lower().strip(".!")
    if word in YES_WORDS:
        return True
    if word in NO_WORDS:
        return False
    return None
