"""The HTTP face of the simulator: ``/bot<token>/<method>`` and ``/file/bot<token>/<path>``.

Requests are flattened the way Telegram's server does it -- query string plus a
form, JSON or multipart body -- into string arguments and file parts, then handed to
the ``Dispatcher``.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import BodyPartReader, web

from telesim._dispatch import Answer, Dispatcher
from telesim._errors import NOT_FOUND, UNAUTHORIZED, ApiError
from telesim._params import Upload, flatten_json

UPLOAD_LIMIT = 50 * 1024 * 1024  # Telegram's limit for files bots upload
_TOO_LARGE = ApiError(413, "Request Entity Too Large")
_BAD_JSON = ApiError(400, "Bad Request: can't parse JSON object")
DISPATCHER_KEY = web.AppKey("telesim_dispatcher", Dispatcher)


def add_bot_api_routes(app: web.Application, dispatcher: Dispatcher) -> None:
    app[DISPATCHER_KEY] = dispatcher
    app.router.add_route("GET", "/bot{token}/{method}", _bot_api)
    app.router.add_route("POST", "/bot{token}/{method}", _bot_api)
    app.router.add_route("GET", "/file/bot{token}/{path:.+}", _file)


def json_answer(status: int, body: dict[str, Any]) -> web.Response:
    return web.Response(
        status=status,
        text=json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        content_type="application/json",
    )


def error_answer(error: ApiError) -> web.Response:
    return json_answer(error.error_code, error.to_json())


async def _bot_api(request: web.Request) -> web.StreamResponse:
    dispatcher = request.app[DISPATCHER_KEY]
    token = request.match_info["token"]
    if ":" not in token:
        return error_answer(NOT_FOUND)
    if token != dispatcher.world.bot.token:
        return error_answer(UNAUTHORIZED)
    try:
        raw = await read_params(request)
    except ApiError as exc:
        return error_answer(exc)
    answer = await dispatcher.call(request.match_info["method"], raw)
    return _respond(request, answer)


def _respond(request: web.Request, answer: Answer) -> web.StreamResponse:
    if answer.body is None:
        if request.transport is not None:
            request.transport.abort()
        return web.Response(status=500)
    return json_answer(answer.status, answer.body)


async def read_params(request: web.Request) -> dict[str, str | Upload]:
    """Query string and body as Telegram's flat string arguments and file parts."""
    raw: dict[str, str | Upload] = dict(request.query)
    if request.method != "POST" or not request.body_exists:
        return raw
    ctype = request.content_type
    if ctype == "multipart/form-data":
        await _read_multipart(request, raw)
    elif ctype == "application/json":
        await _read_json(request, raw)
    else:
        try:
            form = await request.post()
        except web.HTTPRequestEntityTooLarge:
            raise _TOO_LARGE from None
        for key, value in form.items():
            if isinstance(value, str):
                raw[key] = value
    return raw


async def _read_json(request: web.Request, raw: dict[str, str | Upload]) -> None:
    try:
        body = json.loads(await request.read())
    except web.HTTPRequestEntityTooLarge:
        raise _TOO_LARGE from None
    except ValueError:
        raise _BAD_JSON from None
    if not isinstance(body, dict):
        raise _BAD_JSON
    raw.update(flatten_json(body))


async def _read_multipart(request: web.Request, raw: dict[str, str | Upload]) -> None:
    reader = await request.multipart()
    total = 0
    while True:
        part = await reader.next()
        if part is None:
            return
        if not isinstance(part, BodyPartReader) or not part.name:
            continue
        buffer = bytearray()
        while chunk := await part.read_chunk():
            buffer += chunk
            total += len(chunk)
            if total > UPLOAD_LIMIT:
                raise _TOO_LARGE
        data = bytes(buffer)
        if part.filename is not None:
            ctype = part.headers.get("Content-Type")
            raw[part.name] = Upload(part.name, part.filename, ctype, data)
        else:
            raw[part.name] = data.decode(part.get_charset(default="utf-8"), errors="replace")


async def _file(request: web.Request) -> web.StreamResponse:
    dispatcher = request.app[DISPATCHER_KEY]
    world = dispatcher.world
    if request.match_info["token"] != world.bot.token:
        return error_answer(NOT_FOUND)
    stored = world.files.download(request.match_info["path"], world.clock.now())
    if stored is None:
        return error_answer(NOT_FOUND)
    return web.Response(body=stored.data, content_type="application/octet-stream")


async def not_found(request: web.Request) -> web.StreamResponse:
    return error_answer(NOT_FOUND)
