"""The official Bot API description (``api.json``) as a typed model.

``api.json`` is bundled with the package (see ``API_JSON_LICENSE.txt``). This module
answers two questions with it:

* ``Spec.check(value, types)`` -- does a value the simulator *emits* match the spec
  exactly: only known fields, required fields present, the right JSON types?
* ``Spec.coerce(value, types)`` -- turn a value a bot *sent* into the Python shape
  the spec describes, leniently as Telegram does (numbers in strings are numbers,
  unknown fields are ignored), or raise ``SpecInputError``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

PRIMITIVES = frozenset({"Integer", "Float", "Boolean", "String", "InputFile"})
_ARRAY = "Array of "
_DISCRIMINATOR_FIELDS = ("type", "status", "source")
_DISCRIMINATOR_VALUE = re.compile(r"(?:always|must be)\s+[\"“]?([a-z_]+)[\"”]?")
_INTEGER = re.compile(r"-?\d+")


@dataclass(frozen=True, slots=True)
class TypeRef:
    """One alternative of a field's type: ``name`` nested in ``depth`` arrays."""

    name: str
    depth: int = 0

    @classmethod
    def parse(cls, text: str) -> TypeRef:
        depth = 0
        while text.startswith(_ARRAY):
            text = text[len(_ARRAY) :]
            depth += 1
        return cls(text, depth)

    def __str__(self) -> str:
        return _ARRAY * self.depth + self.name


@dataclass(frozen=True, slots=True)
class FieldSpec:
    name: str
    types: tuple[TypeRef, ...]
    required: bool
    description: str


@dataclass(frozen=True, slots=True)
class TypeSpec:
    name: str
    fields: Mapping[str, FieldSpec]
    subtypes: tuple[str, ...]
    is_object: bool
    # For members of a union: the field that names the member and its value.
    discriminator: tuple[str, str] | None

    @property
    def required(self) -> frozenset[str]:
        return frozenset(f.name for f in self.fields.values() if f.required)


@dataclass(frozen=True, slots=True)
class MethodSpec:
    name: str
    fields: Mapping[str, FieldSpec]
    returns: tuple[TypeRef, ...]

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields.values() if f.required)


class SpecInputError(Exception):
    """A value sent by the bot does not fit the spec; ``detail`` says how."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class Spec:
    """Methods and types of one Bot API version."""

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.version: str = raw["version"]
        self.release_date: str = raw["release_date"]
        self.types: dict[str, TypeSpec] = {}
        for name, t in raw["types"].items():
            fields = {f["name"]: _field(f) for f in t.get("fields", [])}
            self.types[name] = TypeSpec(
                name=name,
                fields=fields,
                subtypes=tuple(t.get("subtypes", ())),
                is_object="subtypes" not in t,
                discriminator=None,
            )
        self._find_discriminators()
        self._required = {name: spec.required for name, spec in self.types.items()}
        self.methods: dict[str, MethodSpec] = {
            name: MethodSpec(
                name=name,
                fields={f["name"]: _field(f) for f in m.get("fields", [])},
                returns=tuple(TypeRef.parse(r) for r in m["returns"]),
            )
            for name, m in raw["methods"].items()
        }
        self._methods_lower = {name.lower(): m for name, m in self.methods.items()}

    # -- loading -------------------------------------------------------------

    @classmethod
    def from_file(cls, path: str) -> Spec:
        with open(path, encoding="utf-8") as fh:
            return cls(json.load(fh))

    def method(self, name: str) -> MethodSpec | None:
        """The method named ``name`` (case-insensitive, as Telegram matches them)."""
        return self._methods_lower.get(name.lower())

    # -- facts the spec states in prose --------------------------------------

    @property
    def reaction_emojis(self) -> frozenset[str]:
        """The emoji a ``ReactionTypeEmoji`` may carry."""
        return frozenset(_quoted(self.types["ReactionTypeEmoji"].fields["emoji"].description))

    @property
    def entity_types(self) -> frozenset[str]:
        """The ``MessageEntity.type`` values."""
        return frozenset(_quoted(self.types["MessageEntity"].fields["type"].description))

    @property
    def chat_actions(self) -> frozenset[str]:
        """The ``sendChatAction`` actions."""
        text = self.methods["sendChatAction"].fields["action"].description
        return frozenset(re.findall(r"\b([a-z]+(?:_[a-z]+)*) (?:for|or) ", text))

    # -- output: exact checking ------------------------------------------------

    def check(self, value: Any, types: Iterable[TypeRef | str], path: str = "result") -> list[str]:
        """Problems that make ``value`` not an instance of any of ``types`` (empty: fine)."""
        refs = [TypeRef.parse(t) if isinstance(t, str) else t for t in types]
        if any(self._valid(value, ref) for ref in refs):
            return []  # the fast path; the slow one below explains what is wrong
        best: list[str] | None = None
        for ref in refs:
            problems: list[str] = []
            self._check(value, ref, path, problems)
            if not problems:
                return []
            if best is None or len(problems) < len(best):
                best = problems
        return best or [f"{path}: no type to check against"]

    def _valid(self, value: Any, ref: TypeRef) -> bool:
        if ref.depth:
            if not isinstance(value, list):
                return False
            inner = TypeRef(ref.name, ref.depth - 1)
            return all(self._valid(item, inner) for item in value)
        name = ref.name
        if name in PRIMITIVES:
            return _is_primitive(value, name)
        spec = self.types.get(name)
        if spec is None:
            return False
        if spec.subtypes:
            member = self._member(value, spec)
            candidates = [member] if member is not None else spec.subtypes
            return any(self._valid(value, TypeRef.parse(c)) for c in candidates)
        if not isinstance(value, dict) or not self._required[name] <= value.keys():
            return False
        fields = spec.fields
        for key, item in value.items():
            field = fields.get(key)
            if field is None:
                return False
            types = field.types
            if len(types) == 1:
                if not self._valid(item, types[0]):
                    return False
            elif not any(self._valid(item, t) for t in types):
                return False
        if spec.discriminator is not None:
            key, expected = spec.discriminator
            return bool(value.get(key) == expected)
        return True

    def _check(self, value: Any, ref: TypeRef, path: str, out: list[str]) -> None:
        if ref.depth:
            if not isinstance(value, list):
                out.append(f"{path}: expected {ref}, got {_kind(value)}")
                return
            inner = TypeRef(ref.name, ref.depth - 1)
            for i, item in enumerate(value):
                self._check(item, inner, f"{path}[{i}]", out)
            return
        name = ref.name
        if name in PRIMITIVES:
            if not _is_primitive(value, name):
                out.append(f"{path}: expected {name}, got {_kind(value)}")
            return
        spec = self.types.get(name)
        if spec is None:
            out.append(f"{path}: unknown type {name}")
            return
        if spec.subtypes:
            self._check_union(value, spec, path, out)
            return
        if not isinstance(value, dict):
            out.append(f"{path}: expected {name} object, got {_kind(value)}")
            return
        for key, item in value.items():
            field = spec.fields.get(key)
            if field is None:
                out.append(f"{path}.{key}: {name} has no such field")
                continue
            sub = self.check(item, field.types, f"{path}.{key}")
            out.extend(sub)
        for field in spec.fields.values():
            if field.required and field.name not in value:
                out.append(f"{path}: required field {name}.{field.name} is missing")
        if spec.discriminator is not None:
            key, expected = spec.discriminator
            if value.get(key) != expected:
                out.append(f"{path}.{key}: {name} must have {key} {expected!r}")

    def _check_union(self, value: Any, spec: TypeSpec, path: str, out: list[str]) -> None:
        member = self._member(value, spec)
        if member is not None:
            out.extend(self.check(value, [member], path))
        elif self.check(value, spec.subtypes, path):
            out.append(
                f"{path}: matches none of {spec.name}'s members ({', '.join(spec.subtypes)})"
            )

    def _member(self, value: Any, spec: TypeSpec) -> str | None:
        if not isinstance(value, dict):
            return None
        for sub in spec.subtypes:
            sub_spec = self.types.get(sub)
            if sub_spec and sub_spec.discriminator:
                key, expected = sub_spec.discriminator
                if value.get(key) == expected:
                    return sub
        return None

    # -- input: lenient coercion ------------------------------------------------

    def coerce(self, value: Any, types: Sequence[TypeRef], path: str) -> Any:
        """``value`` (already JSON-decoded) as the first of ``types`` it fits."""
        error: SpecInputError | None = None
        for ref in _by_preference(types):
            try:
                return self._coerce(value, ref, path)
            except SpecInputError as exc:
                error = error or exc
        if error is None:
            raise SpecInputError(f"{path} has no type")
        if len(types) > 1:
            raise SpecInputError(
                f'Field "{path}" must be of type {" or ".join(str(t) for t in types)}'
            )
        raise error

    def _coerce(self, value: Any, ref: TypeRef, path: str) -> Any:
        if ref.depth:
            if not isinstance(value, list):
                raise SpecInputError(f'Field "{path}" must be of type Array')
            inner = TypeRef(ref.name, ref.depth - 1)
            return [self._coerce(item, inner, f"{path}[{i}]") for i, item in enumerate(value)]
        name = ref.name
        if name in PRIMITIVES:
            return _coerce_primitive(value, name, path)
        spec = self.types[name]
        if spec.subtypes:
            member = self._member(value, spec)
            if member is None:
                if isinstance(value, dict) and any(
                    self.types[s].discriminator for s in spec.subtypes if s in self.types
                ):
                    raise SpecInputError(f'Field "{path}" has an unsupported {spec.name} type')
                return self.coerce(value, [TypeRef.parse(s) for s in spec.subtypes], path)
            return self._coerce(value, TypeRef(member), path)
        if not isinstance(value, dict):
            raise SpecInputError(f'Field "{path}" must be of type Object')
        result: dict[str, Any] = {}
        for field in spec.fields.values():
            if field.name not in value or value[field.name] is None:
                if field.required:
                    raise SpecInputError(f'Can\'t find field "{field.name}" in {path}')
                continue
            result[field.name] = self.coerce(value[field.name], field.types, field.name)
        return result

    def _find_discriminators(self) -> None:
        for union in [t for t in self.types.values() if t.subtypes]:
            for member in union.subtypes:
                spec = self.types.get(member)
                if spec is None or spec.discriminator is not None:
                    continue
                for key in _DISCRIMINATOR_FIELDS:
                    field = spec.fields.get(key)
                    match = field and _DISCRIMINATOR_VALUE.search(field.description)
                    if match:
                        self.types[member] = TypeSpec(
                            name=spec.name,
                            fields=spec.fields,
                            subtypes=spec.subtypes,
                            is_object=spec.is_object,
                            discriminator=(key, match.group(1)),
                        )
                        break


@cache
def load_spec() -> Spec:
    """The bundled api.json (parsed once per process)."""
    text = resources.files("telesim").joinpath("api.json").read_text(encoding="utf-8")
    return Spec(json.loads(text))


def _field(raw: Mapping[str, Any]) -> FieldSpec:
    return FieldSpec(
        name=raw["name"],
        types=tuple(TypeRef.parse(t) for t in raw["types"]),
        required=bool(raw["required"]),
        description=raw.get("description", ""),
    )


def _quoted(text: str) -> list[str]:
    return re.findall(r"\"([^\"]+)\"", text)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "Boolean"
    if isinstance(value, int):
        return "Integer"
    if isinstance(value, float):
        return "Float"
    if isinstance(value, str):
        return "String"
    if isinstance(value, list):
        return "Array"
    if isinstance(value, dict):
        return "Object"
    return type(value).__name__


def _is_primitive(value: Any, name: str) -> bool:
    if name == "Integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if name == "Float":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if name == "Boolean":
        return isinstance(value, bool)
    if name == "String":
        return isinstance(value, str)
    return False  # InputFile never appears in output


_PREFERENCE = {"Integer": 0, "Float": 1, "Boolean": 2, "InputFile": 3, "String": 5}


def _by_preference(types: Sequence[TypeRef]) -> list[TypeRef]:
    return sorted(types, key=lambda t: _PREFERENCE.get(t.name, 4) if not t.depth else 4)


def _coerce_primitive(value: Any, name: str, path: str) -> Any:
    if name == "Integer":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
            return int(value)
        if isinstance(value, float) and value.is_integer():
            return int(value)
    elif name == "Float":
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
    elif name == "Boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "1", "0"):
            return value.lower() in ("true", "1")
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
    elif name == "String":
        if isinstance(value, str):
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
    raise SpecInputError(f'Field "{path}" must be of type {name}')
