"""A real python-telegram-bot ``Application`` against the simulator, over loopback."""

from __future__ import annotations

import asyncio
import datetime as dtm
import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import pytest
from aiohttp import web
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, RetryAfter
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from telesim import TelegramSimulator, UserActionError
from tests.telesim.conftest import jpeg

Handler = Callable[[Update, ContextTypes.DEFAULT_TYPE], Awaitable[None]]


def builder(sim: TelegramSimulator) -> ApplicationBuilder:  # type: ignore[type-arg]
    return (
        ApplicationBuilder()
        .token(sim.token)
        .base_url(sim.base_url)
        .base_file_url(sim.base_file_url)
    )


@asynccontextmanager
async def polling(app: Application) -> AsyncIterator[Application]:  # type: ignore[type-arg]
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=1)
        try:
            yield app
        finally:
            await app.updater.stop()
            await app.stop()


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None and update.effective_message.text
    await update.effective_message.reply_text(update.effective_message.text)


async def test_polling_echo_bot(sim: TelegramSimulator) -> None:
    app = builder(sim).build()
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    user = sim.add_user(first_name="Olena", username="olena", language_code="uk")
    async with polling(app):
        for text in ("one", "two", "three"):
            await user.send_text(text)
        await sim.wait_for(lambda: len(user.bot_messages()) == 3)
    assert [m.text for m in user.bot_messages()] == ["one", "two", "three"]
    assert sim.pending_updates == []  # PTB confirmed every update
    assert {c.method for c in sim.calls} >= {"getMe", "deleteWebhook", "getUpdates", "sendMessage"}


async def test_commands_buttons_and_callback_answers(sim: TelegramSimulator) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        keyboard = InlineKeyboardMarkup(
            [
                [InlineKeyboardButton("Yes", callback_data="yes")],
                [InlineKeyboardButton("No", callback_data="no")],
            ]
        )
        await update.effective_message.reply_text(
            "<b>Ready?</b>", parse_mode=ParseMode.HTML, reply_markup=keyboard
        )

    async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer(f"You said {query.data}")
        await query.edit_message_text(f"Chosen: {query.data}")

    app = builder(sim).build()
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CallbackQueryHandler(pressed))
    user = sim.add_user(first_name="Olena")
    async with polling(app):
        await user.send_text("/start")
        question = await user.wait_for_bot_message()
        assert question.text == "Ready?"
        assert question.entities[0]["type"] == "bold"
        assert [[b.text for b in row] for row in question.buttons] == [["Yes"], ["No"]]
        query_id = await user.press_button(question.message_id, "no")
        await sim.wait_for(lambda: user.message(question.message_id).edited)
        answer = await sim.wait_for(lambda: user.callback_answer(query_id))
    assert answer.text == "You said no"
    edited = user.message(question.message_id)
    assert edited.text == "Chosen: no"
    assert edited.buttons == ()  # editing without reply_markup drops the keyboard
    with pytest.raises(UserActionError):
        await user.press_button(question.message_id, "yes")


async def test_files_both_ways(sim: TelegramSimulator) -> None:
    async def on_document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        assert message is not None and message.document is not None
        file = await message.document.get_file()
        data = await file.download_as_bytearray()
        digest = hashlib.sha256(data).hexdigest()
        await message.reply_document(bytes(data[::-1]), filename="reversed.bin", caption=digest)
        await message.reply_photo(jpeg(1200, 800), caption="a photo", protect_content=True)

    app = builder(sim).build()
    app.add_handler(MessageHandler(filters.Document.ALL, on_document))
    user = sim.add_user(first_name="Olena")
    payload = b"secret report \x00\x01\x02" * 100
    async with polling(app):
        await user.send_document(payload, file_name="report.bin")
        await sim.wait_for(lambda: len(user.bot_messages()) == 2)
    document, photo = user.bot_messages()
    assert document.caption == hashlib.sha256(payload).hexdigest()
    assert document.file_name == "reversed.bin"
    assert document.file_id is not None
    assert sim.file_bytes(document.file_id) == payload[::-1]
    assert photo.kind == "photo" and photo.protect_content
    sizes = photo.raw["photo"]
    assert [(s["width"], s["height"]) for s in sizes] == [
        (90, 60),
        (320, 213),
        (800, 533),
        (1200, 800),
    ]
    with pytest.raises(UserActionError):
        await user.forward(photo.message_id)


async def test_deletions_and_the_48_hour_limit(sim: TelegramSimulator) -> None:
    app = builder(sim).build()
    user = sim.add_user(first_name="Olena")
    incoming = await user.send_text("delete me")
    old = await user.send_text("keep me")
    async with app:
        bot = app.bot
        sent = await bot.send_message(user.id, "mine")
        assert await bot.delete_message(user.id, incoming.message_id)
        assert await bot.delete_message(user.id, sent.message_id)
        with pytest.raises(BadRequest, match="Message to delete not found"):
            await bot.delete_message(user.id, sent.message_id)
        sim.clock.advance(hours=49)
        with pytest.raises(BadRequest, match="Message can't be deleted"):
            await bot.delete_message(user.id, old.message_id)
        fresh = await bot.send_message(user.id, "fresh")
        assert await bot.delete_messages(user.id, [fresh.message_id, 999])
    assert [m.text for m in user.visible_messages()] == ["keep me"]


async def test_rate_limiter_retries_after_429(sim: TelegramSimulator) -> None:
    app = builder(sim).rate_limiter(AIORateLimiter(max_retries=2)).build()
    app.add_handler(MessageHandler(filters.TEXT, echo))
    user = sim.add_user(first_name="Olena")
    fault = sim.faults.add(method="sendMessage", error=429, retry_after=1, times=1)
    async with polling(app):
        await user.send_text("hello")
        await user.wait_for_bot_message(timeout=10)
    sends = sim.calls_to("sendMessage")
    assert [(c.ok, c.error_code) for c in sends] == [(False, 429), (True, None)]
    assert sends[1].at - sends[0].at >= 1.0
    assert fault.hits == 1 and fault.remaining == 0


async def test_retry_after_reaches_the_bot(sim: TelegramSimulator) -> None:
    user = sim.add_user(first_name="Olena")
    await user.send_text("/start")
    sim.faults.add(method="sendMessage", chat_id=user.id, error=429, retry_after=7)
    async with builder(sim).build() as app:
        with pytest.raises(RetryAfter) as caught:
            await app.bot.send_message(user.id, "hi")
    assert caught.value.retry_after == dtm.timedelta(seconds=7)


async def test_blocked_user_is_forbidden(sim: TelegramSimulator) -> None:
    user = sim.add_user(first_name="Olena")
    stranger = sim.add_user(first_name="Stranger")
    await user.send_text("/start")
    await user.block()
    async with builder(sim).build() as app:
        with pytest.raises(Forbidden, match="bot was blocked by the user"):
            await app.bot.send_message(user.id, "hi")
        with pytest.raises(Forbidden, match="can't initiate conversation"):
            await app.bot.send_message(stranger.id, "hi")
        with pytest.raises(BadRequest, match="Chat not found"):
            await app.bot.send_message(424242, "hi")
    kicked = sim.pending_updates[-1]["my_chat_member"]
    assert kicked["new_chat_member"]["status"] == "kicked"


@asynccontextmanager
async def receiver(
    app: Application,  # type: ignore[type-arg]
    secret: str,
    fail_first: int = 0,
) -> AsyncIterator[str]:
    """A small aiohttp webhook receiver on 127.0.0.1 feeding the PTB application."""
    failures = {"left": fail_first}

    async def hook(request: web.Request) -> web.Response:
        if request.headers.get("X-Telegram-Bot-Api-Secret-Token") != secret:
            return web.Response(status=403)
        if failures["left"]:
            failures["left"] -= 1
            return web.Response(status=500)
        update = Update.de_json(await request.json(), app.bot)
        await app.update_queue.put(update)
        return web.Response()

    web_app = web.Application()
    web_app.router.add_post("/telegram", hook)
    runner = web.AppRunner(web_app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}/telegram"
    finally:
        await runner.cleanup()


async def test_webhook_delivery_to_a_local_receiver(sim: TelegramSimulator) -> None:
    app = builder(sim).updater(None).build()
    app.add_handler(MessageHandler(filters.TEXT, echo))
    user = sim.add_user(first_name="Olena")
    async with app, receiver(app, "s3cret", fail_first=1) as url:
        await app.start()
        assert await app.bot.set_webhook(url, secret_token="s3cret")
        await user.send_text("via webhook")
        reply = await user.wait_for_bot_message(timeout=30)
        info = await app.bot.get_webhook_info()
        assert info.url == url
        assert info.pending_update_count == 0
        assert (
            info.last_error_message == "Wrong response from the webhook: 500 Internal Server Error"
        )
        with pytest.raises(Exception, match="webhook is active"):
            await app.bot.get_updates()
        assert await app.bot.delete_webhook()
        await app.stop()
    assert reply.text == "via webhook"


async def test_concurrent_updates_and_many_users(sim: TelegramSimulator) -> None:
    app = builder(sim).concurrent_updates(True).build()
    app.add_handler(MessageHandler(filters.TEXT, echo))
    users = [sim.add_user(first_name=f"User {i}") for i in range(5)]
    async with polling(app):
        await asyncio.gather(*(u.send_text(f"hi from {u.id}") for u in users))
        for u in users:
            reply = await u.wait_for_bot_message()
            assert reply.text == f"hi from {u.id}"
            assert reply.chat_id == u.id
