"""A message text as Telegram stores it: markup parsed, trimmed, entities detected."""

from __future__ import annotations

from collections.abc import Sequence

from telesim._entities import Entity, EntityParseError, detect_entities, sort_entities, trim
from telesim._html import parse_html
from telesim._markdown import parse_markdown, parse_markdown_v2


def format_text(
    text: str,
    *,
    parse_mode: str | None,
    entities: Sequence[Entity] | None,
    entity_types: frozenset[str],
    detect: bool = True,
) -> tuple[str, list[Entity]]:
    """``text`` as Telegram stores it, with its entities.

    Explicit ``entities`` win over ``parse_mode`` (as in Telegram). Raises
    ``EntityParseError`` for bad markup and ``ValueError`` for an unknown parse mode.
    """
    found: list[Entity]
    if entities is not None:
        found = [checked_entity(e, entity_types) for e in entities]
    elif parse_mode:
        mode = parse_mode.lower()
        if mode == "html":
            text, found = parse_html(text)
        elif mode == "markdownv2":
            text, found = parse_markdown_v2(text)
        elif mode == "markdown":
            text, found = parse_markdown(text)
        else:
            raise ValueError("unsupported parse_mode")
    else:
        found = []
    text, found = trim(text, found)
    if detect:
        found = found + detect_entities(text, found)
    return text, sort_entities(found)


def checked_entity(entity: Entity, entity_types: frozenset[str]) -> Entity:
    kind = entity.get("type")
    if kind not in entity_types:
        raise EntityParseError(f"Unsupported entity type {kind!r}")
    if kind == "text_link" and not entity.get("url"):
        raise EntityParseError('Field "url" must be specified for a text_link entity')
    if kind == "text_mention" and not entity.get("user"):
        raise EntityParseError('Field "user" must be specified for a text_mention entity')
    if kind == "custom_emoji" and not entity.get("custom_emoji_id"):
        raise EntityParseError(
            'Field "custom_emoji_id" must be specified for a custom_emoji entity'
        )
    if entity["offset"] < 0 or entity["length"] < 0:
        raise EntityParseError("Entity offset and length must be non-negative")
    return dict(entity)
