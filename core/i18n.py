"""What the bot says, in English, Russian and Ukrainian.

Texts live in gettext catalogues, ``core/locales/<lang>/LC_MESSAGES/writein.po``,
read at run time with Babel (no compiled ``.mo``, no build step). Message ids
are stable dotted keys (``"briefing.body"``), not English sentences, so an
English edit never orphans a translation; English is a catalogue like the
others (docs/decisions/0030).

    t = catalog("ru")                              # unknown language -> English
    t.gettext("case.created", case_id="7K3M-QX9B-2HD4")
    t.ngettext("status.body", unread, case_id=..., unread=unread, delivery=...)
    t.plain("consent.button.continue")             # button labels, toasts

Messages are **Telegram HTML** (send with ``parse_mode="HTML"``): they may use
``<b> <i> <u> <s> <code> <pre> <blockquote> <tg-spoiler>``, and `gettext` /
`ngettext` escape every value they fill in with `core.escape.escape_html`.
`plain` returns the same message as plain text (tags dropped, entities
decoded, values unescaped) for places without a parse mode: inline button
labels, callback answers, bot command descriptions. Keys containing
``.button.`` or starting with ``command.`` must not contain markup at all.

Placeholders are ``{name}`` only: no format specs, no attribute access, no
literal braces. A translation that is missing, empty, marked fuzzy, or fails
to render falls back to English.

``python -m core.i18n check`` reports every problem in the catalogues (missing
or extra keys, untranslated or fuzzy entries, translations made from an older
English text, placeholder or markup differences, bad plural forms) and exits
non-zero; the test suite runs it. ``python -m core.i18n update`` regenerates
``writein.pot`` from ``en.po`` and merges it into the other catalogues: new
keys arrive empty, entries whose English changed are marked fuzzy. See
``core/locales/README.md``.
"""

from __future__ import annotations

import argparse
import collections
import functools
import gettext as _gettext
import html
import io
import re
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Final

from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po, write_po

from core.escape import escape_html

__all__ = [
    "DEFAULT_LANGUAGE",
    "LANGUAGE_NAMES",
    "LOCALES_DIR",
    "SUPPORTED_LANGUAGES",
    "Translator",
    "catalog",
    "check_catalogues",
    "normalise_language",
    "update_catalogues",
]

SUPPORTED_LANGUAGES: Final = ("en", "ru", "uk")
DEFAULT_LANGUAGE: Final = "en"
LANGUAGE_NAMES: Final[Mapping[str, str]] = MappingProxyType(
    {"en": "English", "ru": "Русский", "uk": "Українська"}
)
"""Native names, for the language buttons (not translated)."""

DOMAIN: Final = "writein"
LOCALES_DIR: Final = Path(__file__).resolve().parent / "locales"

_PLACEHOLDER: Final = re.compile(r"\{([a-z_][a-z0-9_]*)\}")
_ALLOWED_TAGS: Final = frozenset({"b", "i", "u", "s", "code", "pre", "blockquote", "tg-spoiler"})
_MARKUP: Final = re.compile(r"<(/?)([a-z][a-z-]*)>|&(?:lt|gt|amp|quot);|[<>&]")
_TAG: Final = re.compile(r"</?[a-z][a-z-]*>")
_EN_NOTE: Final = "en:"
_MAX_MESSAGE_CHARS: Final = 3500  # Telegram's limit is 4096 after entities are parsed
_MAX_COMMAND_CHARS: Final = 256  # BotCommand.description


def normalise_language(code: str | None) -> str:
    """Map a language code (``"ru"``, ``"uk-UA"``, ``"RU_ru"``, None) to a supported one."""
    if not code:
        return DEFAULT_LANGUAGE
    base = re.split(r"[-_]", code.strip().lower(), maxsplit=1)[0]
    return base if base in SUPPORTED_LANGUAGES else DEFAULT_LANGUAGE


def _is_plain_key(key: str) -> bool:
    return ".button." in key or key.startswith("command.")


# --- run time ---------------------------------------------------------------


class Translator:
    """The messages of one language, with English behind it as fallback."""

    def __init__(
        self,
        language: str,
        messages: Mapping[str, tuple[str, ...]],
        plural: Callable[[int], int],
        *,
        plural_keys: frozenset[str] = frozenset(),
        fallback: Translator | None = None,
    ) -> None:
        self.language = language
        self._messages = dict(messages)
        self._plural = plural
        self._plural_keys = plural_keys
        self._fallback = fallback

    def __repr__(self) -> str:
        return f"<Translator {self.language} ({len(self._messages)} messages)>"

    def __contains__(self, key: object) -> bool:
        return key in self._messages or (self._fallback is not None and key in self._fallback)

    def keys(self) -> frozenset[str]:
        """Every key this translator can render (its own and its fallback's)."""
        own = frozenset(self._messages)
        return own | self._fallback.keys() if self._fallback is not None else own

    def gettext(self, key: str, /, **fmt: object) -> str:
        """The message *key* as Telegram HTML, with *fmt* values escaped and filled in."""
        return self._render(key, None, fmt, as_html=True)

    def ngettext(self, key: str, n: int, /, **fmt: object) -> str:
        """The plural message *key* in the form for *n*, as Telegram HTML.

        *n* only chooses the form; pass the number again by its placeholder
        name (e.g. ``unread=n``) to show it.
        """
        return self._render(key, n, fmt, as_html=True)

    def plain(self, key: str, n: int | None = None, /, **fmt: object) -> str:
        """The message *key* as plain text (no parse mode): tags dropped, nothing escaped.

        For a plural message pass *n* as for `ngettext`.
        """
        return self._render(key, n, fmt, as_html=False)

    def _template(self, key: str, n: int | None) -> str | None:
        forms = self._messages.get(key)
        if forms is None:
            return None
        if (n is None) == (key in self._plural_keys):
            wanted = "ngettext (or plain with n)" if n is None else "gettext"
            raise ValueError(f"message {key!r} must be rendered with {wanted}")
        if n is None:
            return forms[0]
        index = self._plural(n)
        return forms[index] if 0 <= index < len(forms) else None

    def _render(self, key: str, n: int | None, fmt: Mapping[str, object], *, as_html: bool) -> str:
        template = self._template(key, n)
        if template is not None:
            try:
                return _fill(template, fmt, as_html=as_html)
            except KeyError:
                if self._fallback is None:
                    raise
        if self._fallback is None:
            raise KeyError(f"no message {key!r} in the {self.language} catalogue")
        return self._fallback._render(key, n, fmt, as_html=as_html)


def _fill(template: str, fmt: Mapping[str, object], *, as_html: bool) -> str:
    if as_html:
        values = {k: escape_html(str(v)) for k, v in fmt.items()}
    else:
        template = html.unescape(_TAG.sub("", template))
        values = {k: str(v) for k, v in fmt.items()}

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        try:
            return values[name]
        except KeyError:
            raise KeyError(f"missing value for placeholder {{{name}}}") from None

    return _PLACEHOLDER.sub(replace, template)


@dataclass(frozen=True, slots=True)
class _Loaded:
    catalog: Catalog
    messages: dict[str, tuple[str, ...]]
    plural_keys: frozenset[str]


def _po_path(language: str, locales_dir: Path = LOCALES_DIR) -> Path:
    return locales_dir / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def _read(path: Path, language: str | None = None) -> Catalog:
    with path.open("rb") as fh:
        return read_po(fh, locale=language, domain=DOMAIN)


def _key(message: Message) -> str:
    return str(message.id[0] if isinstance(message.id, tuple | list) else message.id)


def _forms(message: Message) -> tuple[str, ...]:
    string = message.string
    if isinstance(string, tuple | list):
        return tuple(str(s) for s in string)
    return (str(string or ""),)


def _entries(cat: Catalog) -> Iterator[Message]:
    return (m for m in cat if m.id)


def _load(language: str, locales_dir: Path) -> _Loaded:
    cat = _read(_po_path(language, locales_dir), language)
    messages: dict[str, tuple[str, ...]] = {}
    plural_keys: set[str] = set()
    for message in _entries(cat):
        forms = _forms(message)
        if message.pluralizable:
            plural_keys.add(_key(message))
        if message.fuzzy or not all(forms):
            continue  # untranslated: English answers instead
        messages[_key(message)] = forms
    return _Loaded(cat, messages, frozenset(plural_keys))


@functools.cache
def _translator(language: str, locales_dir: Path) -> Translator:
    loaded = _load(language, locales_dir)
    fallback = None if language == DEFAULT_LANGUAGE else _translator(DEFAULT_LANGUAGE, locales_dir)
    plural_keys = loaded.plural_keys | (fallback._plural_keys if fallback else frozenset())
    return Translator(
        language,
        loaded.messages,
        _gettext.c2py(loaded.catalog.plural_expr),
        plural_keys=plural_keys,
        fallback=fallback,
    )


def catalog(language: str | None = None, *, locales_dir: Path = LOCALES_DIR) -> Translator:
    """The `Translator` for *language* (normalised; unsupported means English). Cached."""
    return _translator(normalise_language(language), locales_dir)


# --- checking -----------------------------------------------------------------


def _placeholders(text: str) -> tuple[set[str], list[str]]:
    """Placeholder names in *text*, and problems with braces."""
    names = set(_PLACEHOLDER.findall(text))
    rest = _PLACEHOLDER.sub("", text)
    problems = []
    if "{" in rest or "}" in rest:
        problems.append("stray '{' or '}' (placeholders are {name}, lower case, nothing else)")
    return names, problems


def _markup(text: str) -> tuple[collections.Counter[str], list[str]]:
    """Tags used in *text*, and problems with its Telegram HTML."""
    tags: collections.Counter[str] = collections.Counter()
    problems: list[str] = []
    stack: list[str] = []
    for match in _MARKUP.finditer(text):
        seen = match.group(0)
        if seen in ("<", ">", "&"):
            problems.append(f"bare {seen!r}: write &lt; &gt; &amp;")
            continue
        name = match.group(2)
        if name is None:
            continue  # an entity
        if name not in _ALLOWED_TAGS:
            problems.append(f"tag <{name}> is not allowed")
            continue
        if match.group(1):
            if not stack or stack.pop() != name:
                problems.append(f"</{name}> does not close the open tag")
        else:
            stack.append(name)
            tags[name] += 1
    problems.extend(f"<{name}> is never closed" for name in stack)
    return tags, problems


def _english_note(forms: Sequence[str]) -> list[str]:
    """The ``en:`` comment lines that tell translators (and `check`) the English source."""
    if len(forms) == 1:
        return [f"{_EN_NOTE} {' '.join(forms[0].split())}"]
    return [f"{_EN_NOTE}[{i}] {' '.join(form.split())}" for i, form in enumerate(forms)]


def _squash(lines: Sequence[str]) -> str:
    """Comments as written, whatever the line wrapping (Babel wraps at 76 columns)."""
    return "".join("".join(lines).split())


def _notes(message: Message) -> list[str]:
    return [c for c in message.auto_comments if not c.startswith(_EN_NOTE)]


def _expected_comments(english: Message) -> list[str]:
    return _notes(english) + _english_note(_forms(english))


def _check_text(
    where: str, key: str, text: str
) -> tuple[set[str], collections.Counter[str], list[str]]:
    names, problems = _placeholders(text)
    tags, markup_problems = _markup(text)
    problems += markup_problems
    if _is_plain_key(key) and (tags or any(c in text for c in "<>&")):
        problems.append("buttons and command descriptions must be plain text (no < > &)")
    limit = _MAX_COMMAND_CHARS if key.startswith("command.") else _MAX_MESSAGE_CHARS
    if len(text) > limit:
        problems.append(f"longer than {limit} characters")
    return names, tags, [f"{where}: {key}: {p}" for p in problems]


def check_catalogues(locales_dir: Path = LOCALES_DIR) -> list[str]:
    """Every problem in the catalogues under *locales_dir*; empty when all is well."""
    problems: list[str] = []
    pot_path = locales_dir / f"{DOMAIN}.pot"
    languages = sorted(
        p.name for p in locales_dir.iterdir() if _po_path(p.name, locales_dir).is_file()
    )
    for language in SUPPORTED_LANGUAGES:
        if language not in languages:
            problems.append(f"{language}: missing {_po_path(language, locales_dir)}")
    if DEFAULT_LANGUAGE not in languages:
        return problems

    english = _read(_po_path(DEFAULT_LANGUAGE, locales_dir), DEFAULT_LANGUAGE)
    source: dict[str, Message] = {_key(m): m for m in _entries(english)}
    shapes: dict[str, tuple[set[str], collections.Counter[str]]] = {}
    for key, message in source.items():
        forms = _forms(message)
        if message.fuzzy or not all(forms):
            problems.append(f"en: {key}: empty or fuzzy")
        if len(forms) not in (1, english.num_plurals):
            problems.append(f"en: {key}: {len(forms)} plural forms, expected {english.num_plurals}")
        seen = [_check_text("en", key, form) for form in forms]
        for names, tags, found in seen:
            problems += found
            if (names, tags) != (seen[0][0], seen[0][1]):
                problems.append(f"en: {key}: plural forms differ in placeholders or markup")
        shapes[key] = (seen[0][0], seen[0][1])

    if not pot_path.is_file():
        problems.append(f"missing {pot_path}: run python -m core.i18n update")
    else:
        template = _read(pot_path)
        pot = {_key(m): m for m in _entries(template)}
        if list(pot) != list(source):
            problems.append(
                "writein.pot does not list en.po's keys: run python -m core.i18n update"
            )
        for key, message in pot.items():
            if key in source and _squash(message.auto_comments) != _squash(
                _expected_comments(source[key])
            ):
                problems.append(f"pot: {key}: stale English: run python -m core.i18n update")

    for language in languages:
        if language == DEFAULT_LANGUAGE:
            continue
        problems += _check_translation(language, locales_dir, source, shapes)
    return problems


def _check_translation(
    language: str,
    locales_dir: Path,
    source: Mapping[str, Message],
    shapes: Mapping[str, tuple[set[str], collections.Counter[str]]],
) -> list[str]:
    problems: list[str] = []
    cat = _read(_po_path(language, locales_dir), language)
    expected_plural = Catalog(locale=language).plural_forms
    if cat.plural_forms != expected_plural:
        problems.append(f"{language}: Plural-Forms header is {cat.plural_forms!r}")
    if str(cat.locale) != language:
        problems.append(f"{language}: Language header is {cat.locale}")
    entries = {_key(m): m for m in _entries(cat)}
    problems += [f"{language}: {key}: missing" for key in source if key not in entries]
    problems += [f"{language}: {key}: not in en.po" for key in entries if key not in source]
    for key, message in entries.items():
        english = source.get(key)
        if english is None:
            continue
        forms = _forms(message)
        if message.pluralizable != english.pluralizable:
            problems.append(f"{language}: {key}: plural in one language, not in the other")
        elif message.pluralizable and len(forms) != cat.num_plurals:
            problems.append(f"{language}: {key}: {len(forms)} forms, expected {cat.num_plurals}")
        if not all(forms):
            problems.append(f"{language}: {key}: not translated")
            continue
        if message.fuzzy:
            problems.append(f"{language}: {key}: fuzzy (check it, then remove the flag)")
        if _squash(message.auto_comments) != _squash(_expected_comments(english)):
            problems.append(
                f"{language}: {key}: translated from an older English text: "
                "update the translation and its '#. en:' comment (python -m core.i18n update)"
            )
        names_en, tags_en = shapes[key]
        for form in forms:
            names, tags, found = _check_text(language, key, form)
            problems += found
            if names != names_en:
                problems.append(
                    f"{language}: {key}: placeholders {sorted(names)} but English has "
                    f"{sorted(names_en)}"
                )
            if tags != tags_en:
                problems.append(f"{language}: {key}: markup differs from English")
    return problems


# --- updating -------------------------------------------------------------------

_HEADER: Final = """\
# writein: what the bot says to sources{what}.
# Message ids are stable keys; the English text is in en.po and in the
# '#. en:' comments. Edit with any PO editor; see core/locales/README.md.
# Check with: python -m core.i18n check"""


def _new_catalog(language: str | None, old: Catalog | None) -> Catalog:
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    what = " (template)" if language is None else f" ({language})"
    return Catalog(
        locale=language,
        domain=DOMAIN,
        header_comment=_HEADER.format(what=what),
        project="writein",
        version="1",
        msgid_bugs_address="writein maintainers",
        creation_date=old.creation_date if old is not None else now,
        revision_date=now,
        last_translator="writein translators",
        language_team="writein translators",
        fuzzy=False,
    )


def _shape(cat: Catalog) -> list[tuple[object, ...]]:
    return [
        (m.id, m.string, sorted(m.flags), _squash(m.auto_comments), m.user_comments)
        for m in _entries(cat)
    ]


def _write_if_changed(path: Path, cat: Catalog, old: Catalog | None) -> bool:
    if old is not None and _shape(old) == _shape(cat) and old.plural_forms == cat.plural_forms:
        return False
    buffer = io.BytesIO()
    write_po(buffer, cat, width=0, no_location=True, omit_header=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue())
    return True


def update_catalogues(locales_dir: Path = LOCALES_DIR) -> list[Path]:
    """Regenerate writein.pot from en.po and merge it into every other catalogue.

    New keys are added untranslated; entries whose English changed are marked
    fuzzy with the new English in their comment; keys gone from en.po are
    dropped. Returns the files written.
    """
    english = _read(_po_path(DEFAULT_LANGUAGE, locales_dir), DEFAULT_LANGUAGE)
    written: list[Path] = []

    pot_path = locales_dir / f"{DOMAIN}.pot"
    old_pot = _read(pot_path) if pot_path.is_file() else None
    pot = _new_catalog(None, old_pot)
    for message in _entries(english):
        blank: str | tuple[str, ...] = ("", "") if message.pluralizable else ""
        pot.add(message.id, blank, auto_comments=_expected_comments(message))
    if _write_if_changed(pot_path, pot, old_pot):
        written.append(pot_path)

    languages = {p.name for p in locales_dir.iterdir() if _po_path(p.name, locales_dir).is_file()}
    for language in sorted((languages | set(SUPPORTED_LANGUAGES)) - {DEFAULT_LANGUAGE}):
        path = _po_path(language, locales_dir)
        old = _read(path, language) if path.is_file() else None
        previous = {_key(m): m for m in _entries(old)} if old is not None else {}
        new = _new_catalog(language, old)
        for message in _entries(english):
            comments = _expected_comments(message)
            before = previous.get(_key(message))
            empty = tuple("" for _ in range(new.num_plurals)) if message.pluralizable else ""
            if before is None or before.pluralizable != message.pluralizable:
                new.add(message.id, empty, auto_comments=comments)
                continue
            flags = set(before.flags)
            if _squash(before.auto_comments) != _squash(comments) and all(_forms(before)):
                flags.add("fuzzy")
            new.add(
                message.id,
                before.string,
                auto_comments=comments,
                user_comments=before.user_comments,
                flags=flags,
            )
        if _write_if_changed(path, new, old):
            written.append(path)
    _translator.cache_clear()
    return written


# --- command line ---------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m core.i18n check|update [--locales DIR]``."""
    parser = argparse.ArgumentParser(
        prog="python -m core.i18n", description="Check or update writein's message catalogues."
    )
    parser.add_argument("command", choices=("check", "update"))
    parser.add_argument("--locales", type=Path, default=LOCALES_DIR, help="catalogue folder")
    args = parser.parse_args(argv)
    if args.command == "update":
        for path in update_catalogues(args.locales):
            print(f"wrote {path}")
    problems = check_catalogues(args.locales)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"{len(problems)} problem(s) in the catalogues", file=sys.stderr)
        return 1
    count = len(list(_entries(_read(_po_path(DEFAULT_LANGUAGE, args.locales)))))
    print(f"catalogues complete: {', '.join(SUPPORTED_LANGUAGES)} ({count} messages each)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
