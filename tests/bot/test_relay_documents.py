"""Safe documents, end to end through telesim (issue 14 item 3, docs/decisions/0080).

A document is cleaned before it is sealed. If something could not be removed, the source
is shown what (kinds only, in their language) and chooses: send the cleaned file, send the
original on purpose, or send nothing; nothing is sealed before that choice.
"""

from __future__ import annotations

import io
import zipfile

import pytest

from core.i18n import SUPPORTED_LANGUAGES, catalog
from tests.support.chat import said
from tests.support.relay_env import onboard

from .test_documents import CANARY, CONTENT, Editor, assert_no_canary, canary_docx, rewrite_zip

LANGUAGES = ["ru", "uk"]
# A DOCX with an OLE object the cleaner does not open: cleaned, but "unknown" remains.
OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + CANARY.encode() + b"\x00" * 200


def docx_with_an_ole_object() -> bytes:
    return rewrite_zip(canary_docx(), Editor({"word/embeddings/oleObject1.bin": OLE}, {}))


async def stored(env, source):
    return await env.source_messages(source.case.case_id, env.handlers[0])


def buttons_of(message) -> dict[str, str]:
    """The prompt's buttons by action (send / original / cancel)."""
    return {b.callback_data.split(":")[1]: b.callback_data for row in message.buttons for b in row}


def visible_ids(source) -> set[int]:
    return {m.message_id for m in source.user.visible_messages()}


@pytest.mark.parametrize("language", LANGUAGES)
async def test_a_clean_document_is_sealed_at_once_under_a_neutral_name(env, sim, language):
    source = await onboard(env, sim, language)
    sent = await source.user.send_document(
        canary_docx(), file_name=f"Записка {CANARY}.docx", caption="вот документ"
    )
    await env.pump()
    (message,) = await stored(env, source)
    (ref,) = message.attachments
    assert (message.kind, message.text, ref.name) == ("document", "вот документ", "document-1.docx")
    assert ref.metadata_stripped
    data = await env.read_attachment(ref)
    assert_no_canary(data)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert CONTENT.encode() in zf.read("word/document.xml")
    assert source.user.last_bot_message().text == said(language, "ack.received")
    assert sent.message_id not in visible_ids(source)


@pytest.mark.parametrize("language", LANGUAGES)
async def test_residue_is_shown_and_nothing_is_sealed_before_the_source_chooses(env, sim, language):
    source = await onboard(env, sim, language)
    before = await env.store.count_envelopes(source.case.case_id)
    sent = await source.user.send_document(docx_with_an_ole_object(), file_name="plan.docx")
    await env.pump()
    assert await env.store.count_envelopes(source.case.case_id) == before
    prompt = source.user.last_bot_message()
    t = catalog(language)
    kinds = "• " + t.plain("document.reveals.unknown")
    assert prompt.text == said(language, "document.residue", kinds=kinds)
    assert [b.text for row in prompt.buttons for b in row] == [
        t.plain("document.button.send"),
        t.plain("document.button.original"),
        t.plain("document.button.cancel"),
    ]
    assert sent.message_id not in visible_ids(source)  # the file left the chat already

    await source.user.press_button(prompt.message_id, buttons_of(prompt)["send"])
    await env.pump()
    (message,) = await stored(env, source)
    (ref,) = message.attachments
    assert ref.name == "document-1.docx" and ref.metadata_stripped
    data = await env.read_attachment(ref)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert zf.read("word/embeddings/oleObject1.bin") == OLE  # the part it could not open
        assert CANARY.encode() not in zf.read("docProps/core.xml")
    assert prompt.message_id not in visible_ids(source)
    assert source.user.last_bot_message().text == said(language, "ack.received")


@pytest.mark.parametrize("language", LANGUAGES)
async def test_the_source_may_keep_the_original_on_purpose(env, sim, language):
    source = await onboard(env, sim, language)
    original = docx_with_an_ole_object()
    await source.user.send_document(original, file_name="plan.docx")
    await env.pump()
    prompt = source.user.last_bot_message()
    await source.user.press_button(prompt.message_id, buttons_of(prompt)["original"])
    await env.pump()
    (message,) = await stored(env, source)
    (ref,) = message.attachments
    assert ref.name == "plan.docx" and not ref.metadata_stripped
    assert await env.read_attachment(ref) == original


@pytest.mark.parametrize("language", LANGUAGES)
async def test_cancel_stores_nothing_and_a_stale_button_is_answered(env, sim, language):
    source = await onboard(env, sim, language)
    before = await env.store.count_envelopes(source.case.case_id)
    await source.user.send_document(b"\x00opaque bytes", file_name="scan.xyz")
    await env.pump()
    prompt = source.user.last_bot_message()
    choices = buttons_of(prompt)
    await source.user.press_button(prompt.message_id, choices["cancel"])
    await env.pump()
    assert source.user.last_bot_message().text == said(language, "document.cancelled")
    assert prompt.message_id not in visible_ids(source)
    assert await env.store.count_envelopes(source.case.case_id) == before
    # A second press (another device, an old screen) finds nothing held.
    await source.user.send_document(b"\x00opaque again", file_name="scan.xyz")
    await env.pump()
    second = source.user.last_bot_message()
    env.relay.conversation.held_documents.clear()  # as after a restart
    await source.user.press_button(second.message_id, buttons_of(second)["send"])
    await env.pump()
    assert source.user.last_bot_message().text == said(language, "document.expired")
    assert await env.store.count_envelopes(source.case.case_id) == before


async def test_another_source_cannot_use_my_button(env, sim):
    mine = await onboard(env, sim, "ru", first_name="Mine")
    other = await onboard(env, sim, "uk", first_name="Other")
    await mine.user.send_document(b"\x00opaque", file_name="a.bin")
    await env.pump()
    token = buttons_of(mine.user.last_bot_message())["original"]
    before = await env.store.count_envelopes(other.case.case_id)
    # The other source has a message carrying the same callback data (a forged client).
    markup = {"inline_keyboard": [[{"text": "x", "callback_data": token}]]}
    forged = sim.world.add_message(
        sim.world.chats[other.user.id],
        from_bot=True,
        kind="text",
        content={"text": "x"},
        reply_markup=markup,
    )
    await other.user.press_button(forged.message_id, token)
    await env.pump()
    assert await env.store.count_envelopes(other.case.case_id) == before
    assert other.user.last_bot_message().text == said("uk", "document.expired")
    assert len(env.relay.conversation.held_documents) == 1  # still mine to answer


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_the_prompt_quotes_its_buttons_and_the_briefing_speaks_of_files(language):
    t = catalog(language)
    prompt = t.plain("document.residue", kinds="•")
    assert t.plain("document.button.send") in prompt
    assert t.plain("document.button.original") in prompt
    briefing = t.plain("briefing.body")
    assert briefing.count("•") >= 9
