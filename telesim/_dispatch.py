"""One Bot API call from raw parameters to answer: faults, checks, handler, log.

This is the single border where ``ApiError`` becomes Telegram's error answer.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from typing import Any

from telesim._errors import NOT_FOUND, ApiError
from telesim._faults import FaultRule, Faults
from telesim._methods import METHODS, MethodTable
from telesim._params import RawParams, Upload, parse_params
from telesim._spec import MethodSpec
from telesim._state import World
from telesim._views import ApiCall

log = logging.getLogger("telesim")


@dataclass(frozen=True, slots=True)
class Answer:
    """What to send back: a JSON body and HTTP status, or nothing (dropped connection)."""

    status: int
    body: dict[str, Any] | None

    @classmethod
    def ok(cls, result: Any) -> Answer:
        return cls(200, {"ok": True, "result": result})

    @classmethod
    def error(cls, error: ApiError) -> Answer:
        return cls(error.error_code, error.to_json())

    @property
    def dropped(self) -> bool:
        return self.body is None


DROPPED = Answer(0, None)


class Dispatcher:
    """Answers Bot API calls against one ``World``."""

    def __init__(
        self, world: World, faults: Faults, *, strict: bool, methods: MethodTable = METHODS
    ) -> None:
        self.world = world
        self.faults = faults
        self.strict = strict
        self.methods = methods

    async def call(self, method: str, raw: RawParams) -> Answer:
        definition = self.methods.get(method)
        if definition is None:
            self._log(method, raw, Answer.error(NOT_FOUND), fault=False)
            return Answer.error(NOT_FOUND)
        chat = raw.get("chat_id")
        fault = self.faults.match(definition.name, chat if isinstance(chat, str) else None)
        rule = fault.rule if fault is not None else None
        if rule is not None and rule.delay:
            await asyncio.sleep(rule.delay)
        if rule is not None and not rule.after_effect:
            answer = _faulty(rule)
            if answer is not None:
                self._log(definition.name, raw, answer, fault=True)
                return answer
        answer = await self._run(definition.name, raw)
        if rule is not None and rule.after_effect:
            answer = _faulty(rule) or answer
        self._log(definition.name, raw, answer, fault=rule is not None)
        return answer

    async def _run(self, name: str, raw: RawParams) -> Answer:
        definition = self.methods.get(name)
        spec_method = self.world.spec.method(name)
        assert definition is not None
        assert spec_method is not None
        try:
            params = parse_params(self.world.spec, spec_method, raw)
            result = await definition.handler(self.world, params)
        except ApiError as exc:
            return Answer.error(exc)
        except Exception as exc:  # a bug in the simulator, not the bot's fault
            log.exception("telesim: %s crashed", name)
            self.world.record_problem(f"{name} crashed: {exc!r}")
            return Answer.error(ApiError(500, f"Internal Server Error: telesim crashed: {exc!r}"))
        if self.strict:
            problems = self.world.spec.check(result, definition.returns)
            if problems:
                self.world.record_problem(f"{name} answered off-spec: {'; '.join(problems)}")
                return Answer.error(
                    ApiError(500, "Internal Server Error: telesim answered off-spec")
                )
        return Answer.ok(result)

    def _log(self, method: str, raw: RawParams, answer: Answer, *, fault: bool) -> None:
        body = answer.body or {}
        self.world.calls.append(
            ApiCall(
                seq=self.world.next_call_seq(),
                method=method,
                params=_loggable(raw, self.world.spec.method(method)),
                ok=bool(body.get("ok")),
                error_code=body.get("error_code"),
                description=body.get("description"),
                at=self.world.clock.now(),
                fault=fault,
            )
        )
        self.world.touch()


def _faulty(rule: FaultRule) -> Answer | None:
    if rule.drop:
        return DROPPED
    error = rule.api_error()
    return Answer.error(error) if error is not None else None


def _loggable(raw: RawParams, method: MethodSpec | None) -> dict[str, Any]:
    """The raw parameters, JSON decoded where the spec expects more than a string."""
    params: dict[str, Any] = {}
    for key, value in raw.items():
        if isinstance(value, Upload):
            params[key] = f"<file {value.filename or value.name}, {len(value.data)} bytes>"
            continue
        field = method.fields.get(key) if method is not None else None
        if field is None or all(t.name == "String" and not t.depth for t in field.types):
            params[key] = value
            continue
        try:
            decoded = json.loads(value)
        except ValueError:
            decoded = value
        params[key] = decoded
    return params
