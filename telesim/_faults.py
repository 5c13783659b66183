"""Faults on demand: errors, slow answers and dropped connections for chosen calls."""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from telesim._errors import ApiError

_DESCRIPTIONS = {
    400: "Bad Request: simulated failure",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


@dataclass(frozen=True, slots=True)
class FaultRule:
    """What goes wrong, and for which calls.

    ``methods`` (None: every method) and ``chat_id`` (None: every chat) pick the
    calls; ``probability`` draws from the simulator's seeded generator; ``times``
    limits how often the rule fires (None: forever). ``error`` answers with that
    HTTP code (429 carries ``retry_after``), ``delay`` answers late, ``drop`` closes
    the connection without an answer. With ``after_effect`` the call takes effect
    first and only its answer is lost or replaced -- the bot cannot tell.
    """

    methods: frozenset[str] | None = None
    chat_id: str | None = None
    error: int | None = None
    description: str | None = None
    retry_after: int | None = None
    delay: float = 0.0
    drop: bool = False
    probability: float = 1.0
    times: int | None = None
    after_effect: bool = False

    def api_error(self) -> ApiError | None:
        if self.error is None:
            return None
        if self.error == 429:
            seconds = self.retry_after if self.retry_after is not None else 1
            description = self.description or f"Too Many Requests: retry after {seconds}"
            return ApiError(429, description, retry_after=seconds)
        return ApiError(self.error, self.description or _DESCRIPTIONS.get(self.error, "Error"))


class Fault:
    """A registered rule and how often it has fired."""

    def __init__(self, fault_id: int, rule: FaultRule) -> None:
        self.id = fault_id
        self.rule = rule
        self.hits = 0

    @property
    def remaining(self) -> int | None:
        return None if self.rule.times is None else max(self.rule.times - self.hits, 0)

    @property
    def active(self) -> bool:
        return self.remaining != 0

    def to_json(self) -> dict[str, object]:
        rule = self.rule
        return {
            "id": self.id,
            "methods": sorted(rule.methods) if rule.methods is not None else None,
            "chat_id": rule.chat_id,
            "error": rule.error,
            "description": rule.description,
            "retry_after": rule.retry_after,
            "delay": rule.delay,
            "drop": rule.drop,
            "probability": rule.probability,
            "times": rule.times,
            "after_effect": rule.after_effect,
            "hits": self.hits,
            "remaining": self.remaining,
        }


class Faults:
    """The simulator's fault rules, tried in the order they were added."""

    def __init__(self, seed: int, known_methods: Iterable[str] = ()) -> None:
        self._rng = random.Random(seed)  # noqa: S311 - seeded simulation, not crypto
        self._known = frozenset(m.lower() for m in known_methods)
        self._faults: list[Fault] = []
        self._next_id = 1

    def add(
        self,
        *,
        method: str | Sequence[str] | None = None,
        chat_id: int | str | None = None,
        error: int | None = None,
        description: str | None = None,
        retry_after: int | None = None,
        delay: float = 0.0,
        drop: bool = False,
        probability: float = 1.0,
        times: int | None = None,
        after_effect: bool = False,
    ) -> Fault:
        """Add a rule; see ``FaultRule`` for the meaning of each argument."""
        if error is None and not drop and delay <= 0:
            raise ValueError("a fault needs an error, a delay or drop=True")
        if error is not None and not 400 <= error <= 599:
            raise ValueError("error must be an HTTP error code (400-599)")
        if not 0.0 <= probability <= 1.0:
            raise ValueError("probability must be between 0 and 1")
        if times is not None and times < 1:
            raise ValueError("times must be positive")
        if delay < 0:
            raise ValueError("delay must not be negative")
        methods: frozenset[str] | None
        if method is None:
            methods = None
        elif isinstance(method, str):
            methods = frozenset({method.lower()})
        else:
            methods = frozenset(m.lower() for m in method)
        unknown = sorted(methods - self._known) if methods and self._known else []
        if unknown:
            raise ValueError(f"not Bot API methods: {', '.join(unknown)}")
        rule = FaultRule(
            methods=methods,
            chat_id=None if chat_id is None else str(chat_id),
            error=error,
            description=description,
            retry_after=retry_after,
            delay=delay,
            drop=drop,
            probability=probability,
            times=times,
            after_effect=after_effect,
        )
        fault = Fault(self._next_id, rule)
        self._next_id += 1
        self._faults.append(fault)
        return fault

    def remove(self, fault: Fault | int) -> None:
        fault_id = fault.id if isinstance(fault, Fault) else fault
        self._faults = [f for f in self._faults if f.id != fault_id]

    def clear(self) -> None:
        self._faults.clear()

    def __iter__(self) -> Iterator[Fault]:
        return iter(list(self._faults))

    def __len__(self) -> int:
        return len(self._faults)

    def match(self, method: str, chat_id: str | None) -> Fault | None:
        """The first active rule for this call that fires (counting the hit)."""
        name = method.lower()
        for fault in self._faults:
            rule = fault.rule
            if not fault.active:
                continue
            if rule.methods is not None and name not in rule.methods:
                continue
            if rule.chat_id is not None and rule.chat_id != chat_id:
                continue
            if rule.probability < 1.0 and self._rng.random() >= rule.probability:
                continue
            fault.hits += 1
            return fault
        return None
