"""Reply templates per language: the officer's own file, read, never written (ADR 0092).

``<data_dir>/templates.toml`` on the officer's machine holds the wording an officer
reuses, one table per language (the case's language decides which table a reply takes)::

    [en]
    thanks = "Thank you. We have read your message and will answer within a day."
    safety = "Please do not write to us from a work phone or a work network."

    [ru]
    thanks = "Спасибо. Мы прочитали ваше сообщение и ответим в течение дня."

The console only reads it: ``console templates`` lists it, ``console reply --template
NAME`` sends one (in the case's language), and ctrl+t in the TUI's composer puts one into
the text, to be edited before sending. It is the officer's wording, not a source's: no
case, no message and nothing decrypted ever goes into it. A template is a reply, so it
is checked as every reply is (length as Telegram counts it) when it is sent.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from ._errors import UsageError

__all__ = ["TEMPLATES_FILE", "Template", "load_templates", "pick_template", "templates_path"]

TEMPLATES_FILE: Final = "templates.toml"
_MAX_TEXT: Final = 4000  # a Reply body's limit (core.payload.Reply)


@dataclass(frozen=True)
class Template:
    language: str
    name: str
    text: str


def templates_path(data_dir: Path) -> Path:
    return data_dir / TEMPLATES_FILE


def load_templates(data_dir: Path) -> list[Template]:
    """Every template of the officer's file, by language then name; none if there is no
    file. A file that is not what the docstring shows is one UsageError naming the line."""
    path = templates_path(data_dir)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path} cannot be read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path} is not valid TOML: {exc}") from None
    found: list[Template] = []
    for language, table in sorted(raw.items()):
        if not isinstance(table, dict):
            raise UsageError(f'{path}: [{language}] must be a table of name = "text"')
        for name, text in sorted(table.items()):
            if not isinstance(text, str) or not text.strip():
                raise UsageError(f"{path}: {language}.{name} must be a non-empty string")
            if len(text) > _MAX_TEXT:
                raise UsageError(f"{path}: {language}.{name} is longer than {_MAX_TEXT} characters")
            found.append(Template(language, name, text.strip("\n")))
    return found


def pick_template(data_dir: Path, name: str, language: str) -> Template:
    """The template ``name`` in ``language`` (the case's); UsageError lists what exists."""
    templates = load_templates(data_dir)
    for template in templates:
        if template.name == name and template.language == language:
            return template
    same = sorted(t.name for t in templates if t.language == language)
    there = ", ".join(same) if same else "none"
    raise UsageError(
        f"no template {name!r} in language {language!r} in {templates_path(data_dir)} "
        f"(templates in {language}: {there})"
    )
