"""The simulator's method table: which Bot API methods it serves and how."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from telesim._params import Params
from telesim._state import World

Handler = Callable[[World, Params], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class MethodDef:
    """One served method.

    ``returns`` is what the simulator promises to answer (checked against api.json's
    ``returns`` by the tests); ``honours`` the parameters it acts on -- the others are
    validated against api.json and then ignored.
    """

    name: str
    returns: tuple[str, ...]
    honours: frozenset[str]
    handler: Handler


class MethodGroup:
    """Methods of one module, declared with the ``@group.method(...)`` decorator."""

    def __init__(self) -> None:
        self.defs: list[MethodDef] = []

    def method(
        self, name: str, *, returns: str | tuple[str, ...], honours: Iterable[str] = ()
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            kinds = (returns,) if isinstance(returns, str) else returns
            self.defs.append(MethodDef(name, kinds, frozenset(honours), handler))
            return handler

        return register


class MethodTable:
    """All served methods, looked up case-insensitively like Telegram does."""

    def __init__(self, groups: Iterable[MethodGroup]) -> None:
        self._by_lower: dict[str, MethodDef] = {}
        for group in groups:
            for definition in group.defs:
                key = definition.name.lower()
                if key in self._by_lower:
                    raise ValueError(f"method {definition.name} declared twice")
                self._by_lower[key] = definition

    def get(self, name: str) -> MethodDef | None:
        return self._by_lower.get(name.lower())

    def __iter__(self) -> Iterator[MethodDef]:
        return iter(sorted(self._by_lower.values(), key=lambda d: d.name))

    def __len__(self) -> int:
        return len(self._by_lower)
