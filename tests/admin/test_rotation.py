"""`rotate_relay_keys`: every relay key replaced, nothing lost, old keys useless afterwards."""

from __future__ import annotations

import shutil

import pytest

from admin.keyring import RelayKeyRing
from admin.refs import open_chat_ref
from admin.rotation import ROTATION_SETTING, RotationError, rotate_relay_keys
from admin.setup import Layout
from crypto import InvalidEnvelope, unverified_header
from store import KeyPurpose, KeyStatus, SealedKind

from .support import ADMIN_PASS, RELAY_PASS, onboard, texts_of

# Rotation is checked on loud replies, whose text the source sees at once; a quiet reply
# across a rotation: test_rotation.py::test_a_quiet_reply_stays_readable_across_a_rotation.
pytestmark = pytest.mark.relay_config(quiet_replies=False)


async def rotate(env, **options):
    options.setdefault("wait_for_relay", 0)
    return await rotate_relay_keys(
        env.config, admin_passphrase=ADMIN_PASS, relay_passphrase=RELAY_PASS, **options
    )


def reload_relay(env) -> RelayKeyRing:
    """What the relay's key watcher does when the ring file changes."""
    ring = RelayKeyRing.load(Layout(env.config.data_dir).relay_key, RELAY_PASS)
    env.relay.use_keys(ring)
    env.ring = ring
    return ring


async def test_rotation_moves_everything_and_loses_nothing(env, sim, tmp_path):
    layout = Layout(env.config.data_dir)
    (ann, ann_case), (ben, ben_case) = [await onboard(env, sim, n) for n in ("Ann", "Ben")]
    await ann.send_text("before the rotation")
    await env.pump()
    alice = env.handlers[0]
    await env.reply(ann_case.case_id, alice, "a reply sealed to the old delivery key")
    await ben.send_text("waiting in the inbox")
    await env.relay.fetch(0)  # sealed into the inbox, not processed yet
    assert await env.store.count_inbox() == 1
    stolen = tmp_path / "stolen-relay.key"
    shutil.copy2(layout.relay_key, stolen)
    old = RelayKeyRing.load(stolen, RELAY_PASS)

    report = await rotate(env)

    assert (report.from_version, report.to_version, report.resumed) == (1, 2, False)
    assert report.moved["chat references"] == 2
    assert report.moved["lookup hashes"] == 2
    assert "inbox" not in report.moved  # under the relay's epoch keys (ADR 0083)
    assert report.moved["replies"] == 1
    assert not report.unreadable
    assert await env.store.get_setting(ROTATION_SETTING) is None
    ring = RelayKeyRing.load(layout.relay_key, RELAY_PASS)
    assert ring.versions == (2,)
    for kind in set(SealedKind) - {SealedKind.INBOX}:
        assert await env.store.count_sealed(kind, except_version=2) == 0, kind
    for purpose in KeyPurpose:
        assert (await env.store.get_relay_key(purpose, 1)).status is KeyStatus.RETIRED
        assert (await env.store.get_relay_key(purpose, 2)).status is KeyStatus.ACTIVE
    assert (await env.store.get_relay_key(KeyPurpose.SIGNING, 1)).last_seq is not None
    actions = [e.action for e in await env.store.list_audit(limit=1000)]
    assert "rotate-keys" in actions and actions[-1] == "rotate-keys-done"

    reload_relay(env)
    await env.pump()
    await ann.send_text("after the rotation")
    await ben.send_text("ben after the rotation")
    await env.pump()
    assert any(
        "a reply sealed to the old delivery key" in (m.text or "") for m in ann.bot_messages()
    )
    assert await texts_of(env, ann_case.case_id) == ["before the rotation", "after the rotation"]
    assert await texts_of(env, ben_case.case_id) == [
        "waiting in the inbox",
        "ben after the rotation",
    ]
    assert await env.store.count_cases() == 2  # nobody became a stranger

    # The key file copied off before the rotation opens nothing sealed after it.
    case = await env.store.get_case(ann_case.case_id)
    with pytest.raises(InvalidEnvelope):
        open_chat_ref(old, case.case_id, case.sealed_chat_ref)
    assert await env.store.get_case_by_lookup_hash(old.current.lookup_hash(ann.id)) is None
    newest = (await env.store.list_envelopes(case.case_id, newest_first=True, limit=1))[0]
    signer = unverified_header(newest.core).signer_key_id
    assert signer == ring.current.signing.public.key_id
    assert signer != old.current.signing.public.key_id


async def test_two_rotations_in_a_row(env, sim):
    user, case = await onboard(env, sim)
    for expected in (2, 3):
        report = await rotate(env)
        assert report.to_version == expected
        reload_relay(env)
    await user.send_text("still here")
    await env.pump()
    assert await texts_of(env, case.case_id) == ["still here"]
    ring = RelayKeyRing.load(Layout(env.config.data_dir).relay_key, RELAY_PASS)
    assert ring.versions == (3,)
    assert (await env.store.get_case(case.case_id)).lookup_hash == ring.current.lookup_hash(user.id)


async def test_a_wrong_admin_passphrase_changes_nothing(env, sim):
    await onboard(env, sim)
    ring_file = Layout(env.config.data_dir).relay_key
    before = ring_file.read_bytes()
    with pytest.raises(Exception, match="passphrase"):
        await rotate_relay_keys(
            env.config, admin_passphrase=b"wrong", relay_passphrase=RELAY_PASS, wait_for_relay=0
        )
    # The organisation key is checked before anything is written: the ring file is as it
    # was, no rotation is recorded, and the right passphrase starts a fresh rotation.
    assert ring_file.read_bytes() == before
    assert await env.store.get_setting(ROTATION_SETTING) is None
    report = await rotate(env)
    assert not report.resumed and report.to_version == 2


async def test_a_ring_file_of_another_version_stops_the_rotation(env):
    await env.store.set_setting(ROTATION_SETTING, '{"from":5,"to":6,"step":"stage"}')
    with pytest.raises(RotationError, match="expected v5"):
        await rotate(env)


@pytest.mark.relay_config(quiet_replies=True)
async def test_a_quiet_reply_stays_readable_across_a_rotation(env, sim):
    """A reply delivered quietly before a rotation keeps a relay wrap for a tap (ADR 0081):
    the rotation re-wraps it for the new delivery key before the old one is destroyed."""
    from tests.support.chat import read_latest_reply

    user, case = await onboard(env, sim)
    await env.reply(case.case_id, env.handlers[0], "read me after the rotation")
    await env.pump()
    report = await rotate(env)
    assert report.moved["quiet replies"] == 1
    assert RelayKeyRing.load(Layout(env.config.data_dir).relay_key, RELAY_PASS).versions == (2,)
    reload_relay(env)
    shown = await read_latest_reply(user, env.pump)
    assert "read me after the rotation" in (shown.text or "")
