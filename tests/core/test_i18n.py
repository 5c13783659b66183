"""core.i18n: complete, consistent catalogues and a translator that fails safe."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from core import i18n
from core.i18n import (
    DEFAULT_LANGUAGE,
    LANGUAGE_NAMES,
    LOCALES_DIR,
    SUPPORTED_LANGUAGES,
    catalog,
    check_catalogues,
    main,
    normalise_language,
    update_catalogues,
)

PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")


def _po(language: str, root: Path = LOCALES_DIR) -> Path:
    return root / language / "LC_MESSAGES" / "writein.po"


def _messages(language: str, root: Path = LOCALES_DIR) -> dict[str, tuple[str, ...]]:
    with _po(language, root).open("rb") as fh:
        cat = read_po(fh, locale=language)
    out = {}
    for m in cat:
        if m.id:
            key = m.id[0] if isinstance(m.id, tuple) else m.id
            out[key] = tuple(m.string) if isinstance(m.string, tuple) else (m.string,)
    return out


@pytest.fixture
def locales(tmp_path: Path) -> Path:
    """A private copy of the real catalogues, for tests that break them."""
    root = tmp_path / "locales"
    shutil.copytree(LOCALES_DIR, root)
    return root


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


# --- the real catalogues ---------------------------------------------------------


def test_catalogues_are_complete():
    assert check_catalogues() == []


def test_every_key_in_every_language_with_the_same_placeholders():
    english = _messages("en")
    assert len(english) > 40
    for language in SUPPORTED_LANGUAGES:
        messages = _messages(language)
        assert set(messages) == set(english), language
        for key, forms in messages.items():
            assert all(forms), (language, key)
            want = set(PLACEHOLDER.findall(english[key][0]))
            for form in forms:
                assert set(PLACEHOLDER.findall(form)) == want, (language, key)


def test_template_lists_the_same_keys():
    with (LOCALES_DIR / "writein.pot").open("rb") as fh:
        pot = read_po(fh)
    assert [m.id for m in pot if m.id] == list(_messages("en"))


def test_catalogues_are_up_to_date(locales):
    assert update_catalogues(locales) == []


def test_cli_check(capsys):
    assert main(["check"]) == 0
    assert "catalogues complete" in capsys.readouterr().out


def test_supported_languages_and_native_names():
    assert SUPPORTED_LANGUAGES == ("en", "ru", "uk")
    assert DEFAULT_LANGUAGE == "en"
    assert dict(LANGUAGE_NAMES) == {"en": "English", "ru": "Русский", "uk": "Українська"}


@pytest.mark.parametrize(
    ("code", "language"),
    [
        ("ru", "ru"),
        ("uk", "uk"),
        ("en", "en"),
        ("ru-RU", "ru"),
        ("uk_UA", "uk"),
        ("RU", "ru"),
        ("de", "en"),
        ("be", "en"),
        ("", "en"),
        (None, "en"),
        ("xx-ru", "en"),
    ],
)
def test_language_normalisation_and_fallback(code, language):
    assert normalise_language(code) == language
    assert catalog(code).language == language


def test_language_prompt_is_trilingual_everywhere():
    for language in SUPPORTED_LANGUAGES:
        prompt = catalog(language).plain("language.prompt")
        for native in ("Choose your language", "Выберите язык", "Оберіть мову"):
            assert native in prompt


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_messages_quote_their_button_labels_exactly(language):
    t = catalog(language)
    assert t.plain("consent.button.continue") in t.plain("consent.question")
    assert t.plain("intake.button.skip") in t.plain("intake.optional")
    assert t.plain("case.button.saved") in t.plain("case.phrase", phrase="x")


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_briefing_says_what_it_must(language):
    briefing = catalog(language).plain("briefing.body")
    assert "/forget" in briefing
    assert briefing.count("Telegram") >= 2  # handlers never see it; Telegram sees everything
    assert "→" in briefing  # the path to the phone-number setting
    help_text = catalog(language).plain("help.body")
    for command in ("/status", "/forget", "/recover", "/language", "/help"):
        assert command in help_text


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_command_descriptions_fit_telegram(language):
    t = catalog(language)
    for command in ("start", "status", "recover", "language", "forget", "verify", "panic", "help"):
        text = t.plain(f"command.{command}")
        assert 1 <= len(text) <= 256 and "<" not in text


# --- rendering ------------------------------------------------------------------


def test_values_are_escaped_for_telegram_html():
    hostile = "</b><a href='x'>click</a> & <tg-spoiler>"
    out = catalog("en").gettext("reply.body", text=hostile)
    assert (
        out == "<b>Reply:</b>\n&lt;/b&gt;&lt;a href='x'&gt;click&lt;/a&gt; &amp; &lt;tg-spoiler&gt;"
    )


def test_plain_drops_markup_and_does_not_escape():
    t = catalog("ru")
    assert t.plain("case.created", case_id="7K3M-QX9B-2HD4 & <x>").startswith(
        "Номер вашего обращения: 7K3M-QX9B-2HD4 & <x>."
    )
    assert t.gettext("case.created", case_id="7K3M-QX9B-2HD4").startswith(
        "Номер вашего обращения: <code>7K3M-QX9B-2HD4</code>."
    )


def test_values_are_not_scanned_for_placeholders():
    out = catalog("en").gettext("reply.body", text="{text} {case_id} {{x}}")
    assert out.endswith("\n{text} {case_id} {{x}}")


def test_values_of_any_type_are_rendered():
    assert "25" in catalog("uk").gettext("refuse.file_too_large", limit_mb=25)


def test_missing_value_is_a_key_error():
    with pytest.raises(KeyError, match="case_id"):
        catalog("ru").gettext("case.created")


def test_unknown_key_is_a_key_error():
    with pytest.raises(KeyError, match=r"no\.such\.key"):
        catalog("uk").gettext("no.such.key")
    assert "no.such.key" not in catalog("uk")
    assert "briefing.body" in catalog("uk")
    assert catalog("uk").keys() == catalog("en").keys()


def test_attribute_access_in_a_translation_is_not_evaluated(locales):
    _edit(_po("ru", locales), 'msgstr "Получено ✓"', 'msgstr "{x.__class__} ✓"')
    t = catalog("ru", locales_dir=locales)
    assert t.gettext("ack.received", x=object()) == "{x.__class__} ✓"
    assert any("ack.received" in p for p in check_catalogues(locales))


def test_untranslated_and_fuzzy_entries_fall_back_to_english(locales):
    _edit(_po("ru", locales), 'msgstr "Получено ✓"', 'msgstr ""')
    _edit(
        _po("uk", locales),
        '#. en: Received ✓\nmsgid "ack.received"',
        '#. en: Received ✓\n#, fuzzy\nmsgid "ack.received"',
    )
    assert catalog("ru", locales_dir=locales).gettext("ack.received") == "Received ✓"
    assert catalog("uk", locales_dir=locales).gettext("ack.received") == "Received ✓"
    assert catalog("uk", locales_dir=locales).gettext("ack.edited") == "Виправлення отримано ✓"


def test_translation_with_a_wrong_placeholder_falls_back_to_english(locales):
    _edit(
        _po("ru", locales),
        "Попробуйте ещё раз через {minutes} мин.",
        "Попробуйте ещё раз через {minuty} мин.",
    )
    out = catalog("ru", locales_dir=locales).gettext("recover.too_many", minutes=5)
    assert out == "Too many attempts. Please try again in 5 min."


def test_plural_forms(locales):
    en, ru = _po("en", locales), _po("ru", locales)
    with en.open("a", encoding="utf-8") as fh:
        fh.write(
            '\nmsgid "test.replies"\nmsgid_plural "test.replies"\n'
            'msgstr[0] "{n} new reply"\nmsgstr[1] "{n} new replies"\n'
        )
    assert update_catalogues(locales)
    _edit(
        ru,
        'msgid "test.replies"\nmsgid_plural "test.replies"\n'
        'msgstr[0] ""\nmsgstr[1] ""\nmsgstr[2] ""',
        'msgid "test.replies"\nmsgid_plural "test.replies"\n'
        'msgstr[0] "{n} новый ответ"\nmsgstr[1] "{n} новых ответа"\nmsgstr[2] "{n} новых ответов"',
    )
    problems = check_catalogues(locales)
    assert problems == ["uk: test.replies: not translated"]
    t = catalog("ru", locales_dir=locales)
    words = {
        n: t.ngettext("test.replies", n, n=n).split(" ", 1)[1]
        for n in (0, 1, 2, 4, 5, 11, 12, 14, 21, 22, 25, 101, 111)
    }
    assert words == {
        0: "новых ответов",
        1: "новый ответ",
        2: "новых ответа",
        4: "новых ответа",
        5: "новых ответов",
        11: "новых ответов",
        12: "новых ответов",
        14: "новых ответов",
        21: "новый ответ",
        22: "новых ответа",
        25: "новых ответов",
        101: "новый ответ",
        111: "новых ответов",
    }
    assert t.plain("test.replies", 3, n=3) == "3 новых ответа"
    # Ukrainian is untranslated: English forms answer
    assert catalog("uk", locales_dir=locales).ngettext("test.replies", 1, n=1) == "1 new reply"
    with pytest.raises(ValueError, match="ngettext"):
        t.gettext("test.replies", n=1)
    with pytest.raises(ValueError, match="gettext"):
        t.ngettext("ack.received", 2)


# --- the checker finds each defect --------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "old", "new", "expected"),
    [
        (
            "ru",
            "Попробуйте ещё раз через {minutes} мин.",
            "Попробуйте ещё раз.",
            "recover.too_many: placeholders [] but English has ['minutes']",
        ),
        (
            "uk",
            "(обмеження — {limit_mb} МБ)",
            "(обмеження — {limit_mb} МБ, {extra})",
            "refuse.file_too_large: placeholders",
        ),
        ("ru", 'msgstr "Получено ✓"', 'msgstr "Получено {"', "ack.received: stray '{'"),
        ("ru", 'msgstr "Получено ✓"', 'msgstr "Получено < ✓"', "ack.received: bare '<'"),
        ("ru", 'msgstr "Получено ✓"', 'msgstr "Получено & ✓"', "ack.received: bare '&'"),
        (
            "ru",
            'msgstr "Получено ✓"',
            'msgstr "<b>Получено ✓"',
            "ack.received: <b> is never closed",
        ),
        (
            "ru",
            'msgstr "Получено ✓"',
            'msgstr "<a>Получено</a>"',
            "ack.received: tag <a> is not allowed",
        ),
        (
            "ru",
            'msgstr "Получено ✓"',
            'msgstr "<b>Получено</b>"',
            "ack.received: markup differs from English",
        ),
        ("ru", '"<b>Ответ:</b>\\n"', '"<b>Ответ:</i>\\n"', "reply.body: </i> does not close"),
        (
            "uk",
            'msgstr "Пропустити"',
            'msgstr "<b>Пропустити</b>"',
            "intake.button.skip: buttons and command descriptions must be plain text",
        ),
        (
            "uk",
            'msgstr "Пропустити"',
            'msgstr "Так &amp; ні"',
            "intake.button.skip: buttons and command descriptions must be plain text",
        ),
        ("ru", 'msgstr "Получено ✓"', 'msgstr ""', "ru: ack.received: not translated"),
        (
            "ru",
            "#. en: Received ✓\nmsgid",
            "#. en: Received ✓\n#, fuzzy\nmsgid",
            "ru: ack.received: fuzzy",
        ),
        (
            "ru",
            "#. en: Received ✓",
            "#. en: Got it ✓",
            "ru: ack.received: translated from an older English text",
        ),
        ("ru", 'msgid "ack.received"\nmsgstr "Получено ✓"\n', "", "ru: ack.received: missing"),
        ("uk", 'msgid "ack.received"', 'msgid "ack.recieved"', "uk: ack.recieved: not in en.po"),
        ("uk", "Language: uk", "Language: ru", "uk: Language header is ru"),
        (
            "en",
            'msgstr "Received ✓"',
            'msgstr "Got it ✓"',
            "ru: ack.received: translated from an older English text",
        ),
        ("en", 'msgstr "Received ✓"', 'msgstr "Got it ✓"', "pot: ack.received: stale English"),
        ("en", 'msgid "ack.received"', 'msgid "ack.got"', "writein.pot does not list en.po's keys"),
        (
            "en",
            'msgstr "Start"',
            'msgstr "' + "x" * 257 + '"',
            "en: command.start: longer than 256 characters",
        ),
    ],
)
def test_check_reports_each_defect(locales, language, old, new, expected):
    _edit(_po(language, locales), old, new)
    problems = check_catalogues(locales)
    assert any(expected in p for p in problems), problems


def test_check_reports_a_missing_catalogue(locales):
    shutil.rmtree(locales / "uk")
    assert any(p.startswith("uk: missing") for p in check_catalogues(locales))
    assert main(["check", "--locales", str(locales)]) == 1


# --- the update workflow ----------------------------------------------------------


def test_update_marks_translations_of_changed_english_fuzzy(locales):
    _edit(_po("en", locales), 'msgstr "Received ✓"', 'msgstr "Got it ✓"')
    written = update_catalogues(locales)
    assert {p.name for p in written} == {"writein.pot", "writein.po"}
    text = _po("ru", locales).read_text(encoding="utf-8")
    assert '#. en: Got it ✓\n#, fuzzy\nmsgid "ack.received"\nmsgstr "Получено ✓"' in text
    assert check_catalogues(locales) == [
        "ru: ack.received: fuzzy (check it, then remove the flag)",
        "uk: ack.received: fuzzy (check it, then remove the flag)",
    ]
    # until a translator looks at it, Russian speakers get the new English
    assert catalog("ru", locales_dir=locales).gettext("ack.received") == "Got it ✓"
    for language in ("ru", "uk"):
        _edit(_po(language, locales), '#, fuzzy\nmsgid "ack.received"', 'msgid "ack.received"')
    assert check_catalogues(locales) == []


def test_update_adds_new_keys_untranslated_and_drops_removed_ones(locales):
    with _po("en", locales).open("a", encoding="utf-8") as fh:
        fh.write('\n#. A new message.\nmsgid "test.new"\nmsgstr "Brand new {thing}"\n')
    _edit(
        _po("en", locales),
        "#. Short acknowledgement of a stored edit.\n"
        'msgid "ack.edited"\nmsgstr "Edit received ✓"\n',
        "",
    )
    update_catalogues(locales)
    assert _messages("ru", locales)["test.new"] == ("",)
    assert "ack.edited" not in _messages("uk", locales)
    assert sorted(check_catalogues(locales)) == [
        "ru: test.new: not translated",
        "uk: test.new: not translated",
    ]
    assert catalog("ru", locales_dir=locales).gettext("test.new", thing="x") == "Brand new x"


def test_module_is_runnable():
    assert i18n.__name__ == "core.i18n" and callable(i18n.main)
