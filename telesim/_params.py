"""A method call's parameters, checked against api.json and typed for handlers.

Telegram flattens every request -- query string, form, JSON or multipart body --
into string arguments (a JSON body's non-string values become their JSON text),
then parses each argument by the type the method expects. ``parse_params`` does the
same with the types from api.json and answers mistakes with Telegram's words.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from telesim._errors import bad_request
from telesim._spec import PRIMITIVES, MethodSpec, Spec, SpecInputError, TypeRef


@dataclass(frozen=True, slots=True)
class Upload:
    """A file part of a multipart request."""

    name: str
    filename: str | None
    content_type: str | None
    data: bytes


RawParams = Mapping[str, "str | Upload"]

# Telegram's words for a missing required parameter; others get "<name> is empty".
_MISSING = {
    "text": "message text is empty",
    "message_id": "message identifier is not specified",
    "message_ids": "message identifiers are not specified",
    "action": "wrong parameter action in request",
    "callback_query_id": "query is too old and response timeout expired or query ID is invalid",
    "file_id": "invalid file_id",
    "photo": "there is no photo in the request",
    "document": "there is no document in the request",
    "voice": "there is no voice in the request",
    "video": "there is no video in the request",
    "audio": "there is no audio in the request",
    "media": "media is empty",
}
# How Telegram names a parameter when its JSON can't be parsed.
_NOUN = {
    "reply_markup": "reply keyboard markup",
    "entities": "entities",
    "caption_entities": "entities",
    "reaction": "reaction types",
    "commands": "bot commands",
    "allowed_updates": "allowed updates",
}


def flatten_json(body: Mapping[str, Any]) -> dict[str, str | Upload]:
    """A JSON request body as Telegram's string arguments (non-strings as JSON text)."""
    raw: dict[str, str | Upload] = {}
    for key, value in body.items():
        if value is not None:
            raw[key] = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return raw


def parse_params(spec: Spec, method: MethodSpec, raw: RawParams) -> Params:
    """Check ``raw`` against ``method``'s fields; 400 Bad Request on the first problem."""
    values: dict[str, Any] = {}
    uploads = {k: v for k, v in raw.items() if isinstance(v, Upload)}
    for field in method.fields.values():
        value = raw.get(field.name)
        if value is None or value == "":
            if field.required:
                raise bad_request(_MISSING.get(field.name, f"{field.name} is empty"))
            continue
        values[field.name] = _parse_value(spec, field.name, field.types, value, uploads)
    return Params(method.name, values, uploads)


def _parse_value(
    spec: Spec,
    name: str,
    types: tuple[TypeRef, ...],
    value: str | Upload,
    uploads: dict[str, Upload],
) -> Any:
    accepts_file = any(t.name == "InputFile" and not t.depth for t in types)
    if isinstance(value, Upload):
        if accepts_file:
            return value
        raise bad_request(f'field "{name}" must be of type {_describe(types)}')
    if accepts_file and value.startswith("attach://"):
        attached = uploads.get(value[len("attach://") :])
        if attached is None:
            raise bad_request(f"file {value} not found in the request")
        return attached
    structured = [t for t in types if t.depth or t.name not in PRIMITIVES]
    if structured:
        try:
            decoded = json.loads(value)
        except ValueError:
            decoded = _UNDECODABLE
        for ref in types:
            if ref.depth or ref.name not in PRIMITIVES:
                continue
            try:
                return spec.coerce(value, [ref], name)
            except SpecInputError:
                continue
        noun = _NOUN.get(name, name.replace("_", " "))
        if decoded is _UNDECODABLE:
            raise bad_request(f"can't parse {noun} JSON object")
        try:
            return spec.coerce(decoded, structured, name)
        except SpecInputError as exc:
            raise bad_request(f"can't parse {noun}: {exc.detail}") from None
    try:
        return spec.coerce(value, types, name)
    except SpecInputError:
        raise bad_request(f'field "{name}" must be of type {_describe(types)}') from None


_UNDECODABLE = object()


def _describe(types: tuple[TypeRef, ...]) -> str:
    return " or ".join(str(t) for t in types)


class Params:
    """Parsed parameters of one call, with typed accessors for handlers."""

    def __init__(self, method: str, values: dict[str, Any], uploads: Mapping[str, Upload]) -> None:
        self.method = method
        self.values = values
        self.uploads = uploads

    def has(self, name: str) -> bool:
        return name in self.values

    def req_int(self, name: str) -> int:
        value = self.values[name]
        assert isinstance(value, int)
        return value

    def opt_int(self, name: str) -> int | None:
        value = self.values.get(name)
        assert value is None or isinstance(value, int)
        return value

    def req_str(self, name: str) -> str:
        value = self.values[name]
        assert isinstance(value, str)
        return value

    def opt_str(self, name: str) -> str | None:
        value = self.values.get(name)
        assert value is None or isinstance(value, str)
        return value

    def flag(self, name: str) -> bool:
        return bool(self.values.get(name, False))

    def opt_obj(self, name: str) -> dict[str, Any] | None:
        value = self.values.get(name)
        assert value is None or isinstance(value, dict)
        return value

    def opt_list(self, name: str) -> list[Any] | None:
        value = self.values.get(name)
        assert value is None or isinstance(value, list)
        return value

    def chat_id(self, name: str = "chat_id") -> int | str:
        value = self.values[name]
        assert isinstance(value, int | str)
        return value

    def input_file(self, name: str) -> Upload | str | None:
        value = self.values.get(name)
        assert value is None or isinstance(value, Upload | str)
        return value
