"""The JSON control API under ``/_sim/``: the Python API for other processes.

Every answer is ``{"ok": true, "result": ...}`` or ``{"ok": false, "error": "..."}``
(400 for a bad request or an action the user can't take, 404 for an unknown user,
message, file or fault, 408 when a wait times out). File contents travel as
base64 in ``data_base64``. See the package README for the routes.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from aiohttp import web

from telesim._errors import UserActionError
from telesim._users import AlbumItem, MediaKind, SimUser

if TYPE_CHECKING:
    from telesim._simulator import TelegramSimulator

T = TypeVar("T")
Body = dict[str, Any]
Action = Callable[["TelegramSimulator", SimUser, Body], Awaitable[Any]]
SIM_KEY: web.AppKey[TelegramSimulator] = web.AppKey("telesim_simulator")


def add_control_routes(app: web.Application, sim: TelegramSimulator) -> None:
    app[SIM_KEY] = sim
    route = app.router.add_route
    route("GET", "/_sim", _info)
    route("GET", "/_sim/users", _list_users)
    route("POST", "/_sim/users", _add_user)
    route("GET", "/_sim/users/{user_id}", _get_user)
    route("GET", "/_sim/users/{user_id}/messages", _messages)
    route("GET", "/_sim/users/{user_id}/messages/wait", _wait_message)
    route("GET", "/_sim/users/{user_id}/callback_answers/{query_id}", _callback_answer)
    route("POST", "/_sim/users/{user_id}/{action}", _user_action)
    route("GET", "/_sim/calls", _calls)
    route("GET", "/_sim/updates", _updates)
    route("GET", "/_sim/problems", _problems)
    route("GET", "/_sim/faults", _list_faults)
    route("POST", "/_sim/faults", _add_fault)
    route("DELETE", "/_sim/faults", _clear_faults)
    route("DELETE", "/_sim/faults/{fault_id}", _remove_fault)
    route("GET", "/_sim/clock", _clock)
    route("POST", "/_sim/clock/advance", _advance_clock)
    route("GET", "/_sim/files/{file_id}", _file)


# -- plumbing -----------------------------------------------------------------------------


def _ok(result: Any) -> web.Response:
    return web.json_response({"ok": True, "result": result}, dumps=_dumps)


def _fail(status: int, error: str) -> web.Response:
    return web.json_response({"ok": False, "error": error}, status=status, dumps=_dumps)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _guarded(
    handler: Callable[[web.Request], Awaitable[web.Response]],
) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def run(request: web.Request) -> web.Response:
        try:
            return await handler(request)
        except TimeoutError as exc:
            return _fail(408, str(exc) or "timed out")
        except LookupError as exc:
            return _fail(404, str(exc.args[0]) if exc.args else "not found")
        except (ValueError, TypeError, UserActionError) as exc:
            return _fail(400, str(exc))

    return run


async def _body(request: web.Request) -> Body:
    if not request.body_exists:
        return {}
    try:
        body = await request.json()
    except ValueError:
        raise ValueError("the body must be a JSON object") from None
    if not isinstance(body, dict):
        raise TypeError("the body must be a JSON object")
    return body


def _get(body: Body, key: str, kind: type[T], default: T | None = None) -> T | None:
    value = body.get(key, default)
    if value is None:
        return None
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ValueError(f"{key!r} must be of type {kind.__name__}")
    return value


def _need(body: Body, key: str, kind: type[T]) -> T:
    value = _get(body, key, kind)
    if value is None:
        raise ValueError(f"{key!r} is required")
    return value


def _data(body: Body, key: str = "data_base64") -> bytes:
    try:
        return base64.b64decode(_need(body, key, str), validate=True)
    except binascii.Error:
        raise ValueError(f"{key!r} is not valid base64") from None


def _sim(request: web.Request) -> TelegramSimulator:
    return request.app[SIM_KEY]


def _user(request: web.Request) -> SimUser:
    try:
        user_id = int(request.match_info["user_id"])
    except ValueError:
        raise LookupError("user ids are integers") from None
    return _sim(request).user(user_id)


def _user_json(user: SimUser) -> dict[str, Any]:
    return {**user.to_json(), "blocked": user.blocked, "chat_action": user.chat_action}


# -- the simulator, users, messages ----------------------------------------------------------


@_guarded
async def _info(request: web.Request) -> web.Response:
    sim = _sim(request)
    return _ok(
        {
            "bot": {"id": sim.bot_id, "username": sim.bot_username, "token": sim.token},
            "base_url": sim.base_url,
            "base_file_url": sim.base_file_url,
            "api_version": sim.world.spec.version,
            "webhook_url": sim.webhook_url,
        }
    )


@_guarded
async def _list_users(request: web.Request) -> web.Response:
    return _ok([_user_json(u) for u in _sim(request).users])


@_guarded
async def _add_user(request: web.Request) -> web.Response:
    body = await _body(request)
    user = _sim(request).add_user(
        first_name=_need(body, "first_name", str),
        id=_get(body, "id", int),
        last_name=_get(body, "last_name", str),
        username=_get(body, "username", str),
        language_code=_get(body, "language_code", str),
        is_premium=bool(_get(body, "is_premium", bool)),
        hide_forwards=bool(_get(body, "hide_forwards", bool)),
    )
    return _ok(_user_json(user))


@_guarded
async def _get_user(request: web.Request) -> web.Response:
    return _ok(_user_json(_user(request)))


@_guarded
async def _messages(request: web.Request) -> web.Response:
    return _ok([m.to_json() for m in _user(request).visible_messages()])


@_guarded
async def _wait_message(request: web.Request) -> web.Response:
    user = _user(request)
    after = request.query.get("after")
    timeout = float(request.query.get("timeout", "5"))
    message = await user.wait_for_bot_message(
        after=int(after) if after is not None else None, timeout=min(timeout, 60.0)
    )
    return _ok(message.to_json())


@_guarded
async def _callback_answer(request: web.Request) -> web.Response:
    answer = _user(request).callback_answer(request.match_info["query_id"])
    return _ok(answer.to_json() if answer else None)


async def _send_text(sim: TelegramSimulator, user: SimUser, body: Body) -> Any:
    entities = _get(body, "entities", list)
    message = await user.send_text(
        _need(body, "text", str), entities=entities, reply_to=_get(body, "reply_to", int)
    )
    return message.to_json()


async def _send_photo(sim: TelegramSimulator, user: SimUser, body: Body) -> Any:
    message = await user.send_photo(
        _data(body), caption=_get(body, "caption", str), reply_to=_get(body, "reply_to", int)
    )
    return message.to_json()


async def _send_document(sim: TelegramSimulator, user: SimUser, body: Body) -> Any:
    message = await user.send_document(
        _data(body),
        file_name=_get(body, "file_name", str) or "document.bin",
        mime_type=_get(body, "mime_type", str),
        caption=_get(body, "caption", str),
        reply_to=_get(body, "reply_to", int),
    )
    return message.to_json()


async def _send_voice(sim: TelegramSimulator, user: SimUser, body: Body) -> Any:
    message = await user.send_voice(
        _data(body),
        duration=_get(body, "duration", int) or 1,
        mime_type=_get(body, "mime_type", str) or "audio/ogg",
        caption=_get(body, "caption", str),
        reply_to=_get(body, "reply_to", int),
    )
    return message.to_json()


async def _send_video(sim: TelegramSimulator, user: SimUser, body: Body) -> Any:
    message = await user.send_video(
        _data(body),
        duration=_get(body, "duration", int) or 1,
        width=_get(body, "width", int) or 640,
        height=_get(body, "height", int) or 360,
        file_name=_get(body, "file_name", str) or "video.mp4",
        mime_type=_get(body, "mime_type", str) or "video/mp4",
        caption=_get(body, "caption", str),
        reply_to=_get(body, "reply_to", int),
    )
    return message.to_json()


_KINDS: dict[str, MediaKind] = {
    "photo": "photo",
    "video": "video",
    "document": "document",
    "audio": "audio",
}


async def _send_album(sim: TelegramSimulator, user: SimUser, body: Body) -> Any:
    items = []
    for raw in _need(body, "items", list):
        if not isinstance(raw, dict):
            raise TypeError("album items are objects")
        kind = _KINDS.get(_need(raw, "kind", str))
        if kind is None:
            raise ValueError("an album item's kind is photo, video, document or audio")
        items.append(
            AlbumItem(
                kind=kind,
                data=_data(raw),
                caption=_get(raw, "caption", str),
                file_name=_get(raw, "file_name", str),
                mime_type=_get(raw, "mime_type", str),
            )
        )
    return [m.to_json() for m in await user.send_album(items)]


async def _send_forwarded(sim: TelegramSimulator, user: SimUser, body: Body) -> Any:
    from_user_id = _get(body, "from_user_id", int)
    from_user = sim.user(from_user_id) if from_user_id is not None else None
    message = await user.send_forwarded(
        _need(body, "text", str),
        from_user=from_user,
        sender_name=_get(body, "sender_name", str),
        channel_title=_get(body, "channel_title", str),
        group_title=_get(body, "group_title", str),
        channel_id=_get(body, "channel_id", int) or -1001234567890,
        channel_message_id=_get(body, "channel_message_id", int) or 1,
        channel_username=_get(body, "channel_username", str),
        group_id=_get(body, "group_id", int) or -1009876543210,
        author_signature=_get(body, "author_signature", str),
        date=_get(body, "date", int),
    )
    return message.to_json()


async def _forward(sim: TelegramSimulator, user: SimUser, body: Body) -> Any:
    return (await user.forward(_need(body, "message_id", int))).to_json()


async def _press_button(sim: TelegramSimulator, user: SimUser, body: Body) -> Any:
    query_id = await user.press_button(
        _need(body, "message_id", int), _get(body, "data", str), text=_get(body, "text", str)
    )
    return {"callback_query_id": query_id}


async def _edit_message(sim: TelegramSimulator, user: SimUser, body: Body) -> Any:
    message = await user.edit_message(_need(body, "message_id", int), _need(body, "text", str))
    return message.to_json()


async def _react(sim: TelegramSimulator, user: SimUser, body: Body) -> Any:
    emoji = _get(body, "emoji", list) or []
    if not all(isinstance(e, str) for e in emoji):
        raise ValueError("'emoji' is a list of strings")
    await user.react(_need(body, "message_id", int), *emoji)
    return True


async def _delete_messages(sim: TelegramSimulator, user: SimUser, body: Body) -> Any:
    ids = _need(body, "message_ids", list)
    if not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
        raise ValueError("'message_ids' is a list of integers")
    await user.delete_messages(*ids)
    return True


async def _block(sim: TelegramSimulator, user: SimUser, body: Body) -> Any:
    await user.block()
    return True


async def _unblock(sim: TelegramSimulator, user: SimUser, body: Body) -> Any:
    await user.unblock()
    return True


ACTIONS: dict[str, Action] = {
    "send_text": _send_text,
    "send_photo": _send_photo,
    "send_document": _send_document,
    "send_voice": _send_voice,
    "send_video": _send_video,
    "send_album": _send_album,
    "send_forwarded": _send_forwarded,
    "forward": _forward,
    "press_button": _press_button,
    "edit_message": _edit_message,
    "react": _react,
    "delete_messages": _delete_messages,
    "block": _block,
    "unblock": _unblock,
}


@_guarded
async def _user_action(request: web.Request) -> web.Response:
    action = ACTIONS.get(request.match_info["action"])
    if action is None:
        raise LookupError(f"no user action {request.match_info['action']!r}")
    user = _user(request)
    body = await _body(request)
    return _ok(await action(_sim(request), user, body))


# -- observing, faults, clock, files ----------------------------------------------------------


@_guarded
async def _calls(request: web.Request) -> web.Response:
    sim = _sim(request)
    method = request.query.get("method")
    since = int(request.query.get("since", "0"))
    calls = sim.calls_to(method) if method else sim.calls
    return _ok([c.to_json() for c in calls if c.seq > since])


@_guarded
async def _updates(request: web.Request) -> web.Response:
    return _ok(_sim(request).pending_updates)


@_guarded
async def _problems(request: web.Request) -> web.Response:
    return _ok(_sim(request).problems)


@_guarded
async def _list_faults(request: web.Request) -> web.Response:
    return _ok([f.to_json() for f in _sim(request).faults])


@_guarded
async def _add_fault(request: web.Request) -> web.Response:
    body = await _body(request)
    method = body.get("method")
    if method is not None and not isinstance(method, str | list):
        raise ValueError("'method' is a method name or a list of them")
    chat_id = body.get("chat_id")
    if chat_id is not None and not isinstance(chat_id, int | str):
        raise ValueError("'chat_id' is an integer or a string")
    fault = _sim(request).faults.add(
        method=method,
        chat_id=chat_id,
        error=_get(body, "error", int),
        description=_get(body, "description", str),
        retry_after=_get(body, "retry_after", int),
        delay=_get(body, "delay", float) or 0.0,
        drop=bool(_get(body, "drop", bool)),
        probability=_get(body, "probability", float, 1.0) or 0.0,
        times=_get(body, "times", int),
        after_effect=bool(_get(body, "after_effect", bool)),
    )
    return _ok(fault.to_json())


@_guarded
async def _clear_faults(request: web.Request) -> web.Response:
    _sim(request).faults.clear()
    return _ok(True)


@_guarded
async def _remove_fault(request: web.Request) -> web.Response:
    faults = _sim(request).faults
    fault_id = int(request.match_info["fault_id"])
    if not any(f.id == fault_id for f in faults):
        raise LookupError(f"no fault {fault_id}")
    faults.remove(fault_id)
    return _ok(True)


@_guarded
async def _clock(request: web.Request) -> web.Response:
    return _ok({"now": _sim(request).clock.now()})


@_guarded
async def _advance_clock(request: web.Request) -> web.Response:
    body = await _body(request)
    now = _sim(request).clock.advance(
        seconds=_get(body, "seconds", float) or 0.0,
        minutes=_get(body, "minutes", float) or 0.0,
        hours=_get(body, "hours", float) or 0.0,
        days=_get(body, "days", float) or 0.0,
    )
    _sim(request).world.touch()
    return _ok({"now": now})


@_guarded
async def _file(request: web.Request) -> web.Response:
    data = _sim(request).file_bytes(request.match_info["file_id"])
    return web.Response(body=data, content_type="application/octet-stream")
