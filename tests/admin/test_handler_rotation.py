"""`writein handler rotate` with the admin's renew-handler in between: every wrap moves, no body."""

from __future__ import annotations

import asyncio

import pytest

from admin import cli as admin_cli
from admin.enrolment import AdminError, renew_handler
from admin.setup import Layout, load_org_key
from core.payload import decode_body
from crypto import (
    Argon2Params,
    Envelope,
    Role,
    SigningKeyPair,
    open_envelope,
    seal,
    unverified_header,
    verify_certificate,
)
from crypto import Direction as CryptoDirection
from handlers import cli as console_cli
from handlers._errors import ConsoleError, NotCertifiedError
from handlers.compose import send_note, send_reply
from handlers.identity import HandlerIdentity, read_identity, write_identity
from handlers.rotate import RotationStage, next_key_path, rotate_handler_key
from handlers.session import open_workspace, start_session
from handlers.thread import load_thread

from .support import ADMIN_PASS, onboard, write_config

# Rotation is checked on loud replies, whose text the source sees at once; a quiet reply
# across a rotation: test_rotation.py::test_a_quiet_reply_stays_readable_across_a_rotation.
pytestmark = pytest.mark.relay_config(quiet_replies=False)

WEAK = Argon2Params.insecure_for_tests()
PASS = b"purple tractor whispers 1984"


@pytest.fixture
async def officer(env, tmp_path, monkeypatch):
    """alice's console: her key in a key file, a workspace on the relay's store."""
    monkeypatch.setattr("bot.relay.TRUST_TTL", 0.0)
    keys = env.handlers[0]
    identity = HandlerIdentity("alice", keys.enc, keys.sign)
    key_file = tmp_path / "alice.key"
    write_identity(key_file, identity, PASS, argon2=WEAK)
    workspace = await open_workspace(env.config)
    yield identity, key_file, workspace
    await workspace.close()


def org_of(env):
    layout = Layout(env.config.data_dir)
    return load_org_key(layout.org_key, ADMIN_PASS, env.config.trust.org_fingerprint)


async def read_all(env, case_id: str, me: HandlerIdentity) -> list[str]:
    """Every message of the case opened with ``me``'s key; handler signatures checked
    against every certificate a handler ever had (current and past)."""
    trust = await env.relay.trust()
    org = trust.org
    handler_keys = list(trust.handler_signers())
    for past in await env.store.list_past_certificates():
        cert = verify_certificate(past.certificate, org)
        assert cert.role is Role.HANDLER
        handler_keys.append(cert.signing_key)
    texts = []
    for env_row in await env.store.list_envelopes(case_id, limit=1000):
        direction = CryptoDirection[env_row.direction.name]
        opened = open_envelope(
            Envelope(env_row.core, env_row.wraps),
            recipient=me.encryption,
            trusted_signers=trust.relay_signers()
            if direction is CryptoDirection.IN
            else handler_keys,
            expect_case_id=case_id,
            expect_direction=direction,
        )
        body = decode_body(opened.plaintext)
        texts.append(getattr(body, "text", None) or "")
    return texts


async def test_rotation_moves_every_wrap_and_no_body(env, sim, officer):
    old, key_file, workspace = officer
    user, case = await onboard(env, sim)
    await user.send_text("before")
    await env.pump()
    session = start_session(workspace, old)
    await send_note(session, case.case_id, "a note by the old key")
    await send_reply(session, case.case_id, "a reply by the old key")
    before = {e.message_id: e.core for e in await env.store.list_envelopes(case.case_id)}

    first = await rotate_handler_key(workspace, key_file, PASS)
    assert first.stage is RotationStage.AWAITING_CERTIFICATE
    assert first.rewrapped == len(before) and first.unreadable == 0
    new = read_identity(next_key_path(key_file), PASS)
    assert new.name == "alice" and new.key_id != old.key_id
    # Running step 1 again resumes with the same new keys.
    again = await rotate_handler_key(workspace, key_file, PASS)
    assert again.bundle == first.bundle and again.rewrapped == 0

    org = org_of(env)
    with pytest.raises(AdminError, match="wait for delivery"):
        await renew_handler(env.store, org, "alice", new.encryption.public, new.signing.public)
    await env.pump()  # the reply goes out under the old key's signature
    assert any("a reply by the old key" in (m.text or "") for m in user.bot_messages())
    await renew_handler(env.store, org, "alice", new.encryption.public, new.signing.public)
    await user.send_text("after the admin certified")
    await env.pump()
    await workspace.reload()
    with pytest.raises(NotCertifiedError):
        start_session(workspace, old)  # the old key is no longer the certified one

    done = await rotate_handler_key(workspace, key_file, PASS, settle_seconds=0)
    assert done.stage is RotationStage.FINISHED and done.key_version == 2
    assert not next_key_path(key_file).exists()
    assert read_identity(key_file, PASS).encryption.public == new.encryption.public
    envelopes = await env.store.list_envelopes(case.case_id)
    for envelope in envelopes:
        assert old.key_id not in envelope.wraps
        assert new.key_id in envelope.wraps
        if envelope.message_id in before:
            assert envelope.core == before[envelope.message_id]  # untouched
    texts = await read_all(env, case.case_id, new)
    assert texts[-4:] == [
        "before",
        "a note by the old key",
        "a reply by the old key",
        "after the admin certified",
    ]
    with pytest.raises(Exception, match="invalid envelope"):
        await read_all(env, case.case_id, old)
    session = start_session(workspace, read_identity(key_file, PASS))
    await send_reply(session, case.case_id, "from the new key")
    await env.pump()
    assert any("from the new key" in (m.text or "") for m in user.bot_messages())
    # The console itself still verifies what the old key signed, and names its author.
    thread = await load_thread(session, case.case_id)
    assert all(item.readable for item in thread)
    old_reply = next(i for i in thread if i.text == "a reply by the old key")
    assert session.workspace.signers.author(old.signing.public.key_id) == "alice"
    assert old_reply.readable
    actions = [(e.actor, e.action) for e in await env.store.list_audit(limit=1000)]
    assert ("admin", "renew-handler") in actions
    assert ("handler alice", "rotate-key") in actions


async def test_a_crash_before_the_key_file_is_replaced(env, sim, officer, monkeypatch):
    _old, key_file, workspace = officer
    _, case = await onboard(env, sim)
    await rotate_handler_key(workspace, key_file, PASS)
    new = read_identity(next_key_path(key_file), PASS)
    await renew_handler(env.store, org_of(env), "alice", new.encryption.public, new.signing.public)

    def crash(*_args):
        raise OSError("power cut")

    monkeypatch.setattr("handlers.rotate._replace_key_file", crash)
    with pytest.raises(OSError):
        await rotate_handler_key(workspace, key_file, PASS, settle_seconds=0)
    monkeypatch.undo()
    done = await rotate_handler_key(workspace, key_file, PASS, settle_seconds=0)
    assert done.stage is RotationStage.FINISHED
    assert len(await read_all(env, case.case_id, read_identity(key_file, PASS))) > 0


async def test_a_message_that_does_not_verify_keeps_the_old_key(env, sim, officer):
    old, key_file, workspace = officer
    _, case = await onboard(env, sim)
    await rotate_handler_key(workspace, key_file, PASS)
    new = read_identity(next_key_path(key_file), PASS)
    await renew_handler(env.store, org_of(env), "alice", new.encryption.public, new.signing.public)
    # A forged message slipped into the store, wrapped for alice's old key.
    forged = (await env.store.list_envelopes(case.case_id))[0]
    bogus = seal(
        b"forged",
        case_id=case.case_id,
        direction=CryptoDirection.IN,
        recipients=[old.encryption.public],
        signer=SigningKeyPair.generate(),
    )
    await env.store.add_envelope(
        unverified_header(bogus.core).message_id,
        case.case_id,
        forged.direction,
        bogus.core,
        dict(bogus.wraps),
    )
    with pytest.raises(ConsoleError, match="did not verify"):
        await rotate_handler_key(workspace, key_file, PASS, settle_seconds=0)
    assert next_key_path(key_file).exists()
    done = await rotate_handler_key(workspace, key_file, PASS, settle_seconds=0, force=True)
    assert done.stage is RotationStage.FINISHED and done.unreadable == 1


async def test_renewing_needs_new_keys_and_an_active_handler(env, officer):
    old, _, _ = officer
    org = org_of(env)
    with pytest.raises(AdminError, match="already has"):
        await renew_handler(env.store, org, "alice", old.encryption.public, old.signing.public)
    fresh = HandlerIdentity.generate("carol")
    with pytest.raises(AdminError, match="no active handler"):
        await renew_handler(env.store, org, "carol", fresh.encryption.public, fresh.signing.public)


async def test_the_two_commands(env, sim, officer, tmp_path, monkeypatch, capsys):
    """`writein handler rotate`, `writein admin renew-handler`, `writein handler rotate`."""
    _, key_file, _ = officer
    await onboard(env, sim)
    monkeypatch.setattr("handlers.rotate.SETTLE_SECONDS", 0.0)
    monkeypatch.setenv("WRITEIN_PASSPHRASE", PASS.decode())
    monkeypatch.setenv("WRITEIN_ADMIN_PASSPHRASE", ADMIN_PASS.decode())
    config = write_config(env, sim)
    bundle = tmp_path / "alice-new.pub"
    console = ["handler", "rotate", "--config", config, "--key", str(key_file)]

    assert await asyncio.to_thread(console_cli.main, [*console, "--bundle-out", str(bundle)]) == 0
    out = capsys.readouterr().out
    fingerprint = out.split("in person): ")[1].split("\n")[0]
    assert "run `writein handler rotate` again" in out and bundle.exists()
    renew = ["admin", "renew-handler", "alice", "--public-key", str(bundle), "--config", config]
    assert await asyncio.to_thread(admin_cli.main, [*renew, "--fingerprint", fingerprint]) == 0
    capsys.readouterr()
    assert await asyncio.to_thread(console_cli.main, console) == 0
    assert "old key is destroyed" in capsys.readouterr().out
    assert not next_key_path(key_file).exists()
