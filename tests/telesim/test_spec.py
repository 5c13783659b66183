"""The api.json model itself: the checker the conformance tests rely on."""

from __future__ import annotations

from typing import Any

import pytest

from telesim import load_spec
from telesim._spec import SpecInputError, TypeRef

SPEC = load_spec()
MESSAGE: dict[str, Any] = {
    "message_id": 1,
    "date": 1_750_000_000,
    "chat": {"id": 7, "type": "private", "first_name": "Olena"},
    "from": {"id": 7, "is_bot": False, "first_name": "Olena"},
    "text": "hi",
    "entities": [{"type": "bold", "offset": 0, "length": 2}],
}


def test_the_bundled_spec() -> None:
    assert SPEC.version == "Bot API 10.1"
    assert len(SPEC.methods) == 180 and len(SPEC.types) == 359
    assert SPEC.method("SENDMESSAGE") is SPEC.methods["sendMessage"]
    assert SPEC.methods["sendMessage"].required == ("chat_id", "text")
    assert "👍" in SPEC.reaction_emojis and "bot_command" in SPEC.entity_types
    assert "typing" in SPEC.chat_actions and "upload_document" in SPEC.chat_actions


def test_type_refs() -> None:
    ref = TypeRef.parse("Array of Array of InlineKeyboardButton")
    assert (ref.name, ref.depth, str(ref)) == (
        "InlineKeyboardButton",
        2,
        "Array of Array of InlineKeyboardButton",
    )


def test_a_valid_message() -> None:
    assert SPEC.check(MESSAGE, ["Message"]) == []
    assert SPEC.check([MESSAGE], ["Array of Message"]) == []
    assert SPEC.check(True, ["Message", "Boolean"]) == []


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"colour": "red"}, "result.colour: Message has no such field"),
        ({"message_id": "1"}, "result.message_id: expected Integer, got String"),
        ({"date": True}, "result.date: expected Integer, got Boolean"),
        ({"chat": {"id": 7}}, "result.chat: required field Chat.type is missing"),
        ({"entities": {"type": "bold"}}, "result.entities: expected Array of MessageEntity"),
        (
            {"forward_origin": {"type": "user", "date": 1}},
            "result.forward_origin: required field MessageOriginUser.sender_user is missing",
        ),
        (
            {"forward_origin": {"type": "pigeon", "date": 1}},
            "result.forward_origin: matches none of MessageOrigin's members",
        ),
    ],
)
def test_what_the_checker_catches(change: dict[str, Any], problem: str) -> None:
    problems = SPEC.check({**MESSAGE, **change}, ["Message"])
    assert any(p.startswith(problem) for p in problems), problems


def test_missing_required_field_is_reported() -> None:
    broken = {k: v for k, v in MESSAGE.items() if k != "chat"}
    assert SPEC.check(broken, ["Message"]) == ["result: required field Message.chat is missing"]


def test_coercion_is_lenient_like_telegram() -> None:
    types = SPEC.methods["sendMessage"].fields["reply_markup"].types
    value = {"inline_keyboard": [[{"text": "a", "callback_data": "x", "unknown": 1}]]}
    assert SPEC.coerce(value, types, "reply_markup") == {
        "inline_keyboard": [[{"text": "a", "callback_data": "x"}]]
    }
    params = SPEC.methods["sendMessage"].fields
    assert SPEC.coerce("42", params["chat_id"].types, "chat_id") == 42
    assert SPEC.coerce("@channel", params["chat_id"].types, "chat_id") == "@channel"
    assert SPEC.coerce("true", params["protect_content"].types, "protect_content") is True
    reaction = SPEC.methods["setMessageReaction"].fields["reaction"].types
    assert SPEC.coerce([{"type": "emoji", "emoji": "👍"}], reaction, "reaction") == [
        {"type": "emoji", "emoji": "👍"}
    ]


@pytest.mark.parametrize(
    ("value", "detail"),
    [
        ({"inline_keyboard": [[{"txt": "a"}]]}, 'Can\'t find field "text"'),
        ({"inline_keyboard": "rows"}, 'Field "inline_keyboard" must be of type Array'),
    ],
)
def test_coercion_errors(value: Any, detail: str) -> None:
    types = [TypeRef("InlineKeyboardMarkup")]
    with pytest.raises(SpecInputError) as caught:
        SPEC.coerce(value, types, "reply_markup")
    assert caught.value.detail.startswith(detail)
