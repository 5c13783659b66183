"""`writein admin …` end to end: exit codes, one-line refusals, and what lands in the store."""

from __future__ import annotations

import asyncio
import io
import json
import os
import sqlite3
import stat
from datetime import UTC, datetime, timedelta

import pytest

from admin import cli as admin_cli
from admin.keyring import RelayKeyRing
from admin.setup import Layout
from core.payload import decode_body
from crypto import Argon2Params, Envelope, open_envelope
from crypto import Direction as CryptoDirection
from handlers.keygen import keygen
from store import CaseFlag, CaseStatus, Direction, HandlerStatus

from .support import ADMIN_PASS, RELAY_PASS, onboard, write_config

WEAK = Argon2Params.insecure_for_tests()


@pytest.fixture
def cli(env, sim, monkeypatch):
    monkeypatch.setenv("WRITEIN_ADMIN_PASSPHRASE", ADMIN_PASS.decode())
    monkeypatch.setenv("WRITEIN_RELAY_PASSPHRASE", RELAY_PASS.decode())
    config = write_config(env, sim)

    async def run(*argv: str, config_file: str = config) -> int:
        # The command runs its own event loop, as from a shell; the simulator serves on ours.
        return await asyncio.to_thread(admin_cli.main, ["admin", *argv, "--config", config_file])

    return run


def new_bundle(tmp_path, name: str):
    result = keygen(name, tmp_path / f"{name}.key", b"purple tractor whispers 1984", argon2=WEAK)
    path = tmp_path / f"{name}.pub"
    path.write_text(result.bundle_b64 + "\n")
    return path, result


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("writein: "), err
    return lines[0]


async def test_add_handler_shows_and_checks_the_fingerprint(cli, env, tmp_path, capsys):
    path, result = new_bundle(tmp_path, "carol")
    assert (
        await cli("add-handler", "carol", "--public-key", str(path), "--fingerprint", "AAAA") == 1
    )
    assert "does not match" in one_line(capsys.readouterr().err)
    assert await env.store.get_handler("carol") is None
    assert await cli("add-handler", "dave", "--public-key", str(path), "--yes") == 1
    assert "for 'carol', not 'dave'" in one_line(capsys.readouterr().err)
    code = await cli(
        "add-handler", "carol", "--public-key", str(path), "--fingerprint",
        result.fingerprint.lower().replace(" ", ""), "--default",
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0 and result.fingerprint in out
    carol = await env.store.get_handler("carol")
    assert carol.status is HandlerStatus.ACTIVE and carol.default_intake
    assert await cli("add-handler", "carol", "--public-key", str(path), "--yes") == 1
    assert "exists" in one_line(capsys.readouterr().err)
    assert await cli("handlers", "--json") == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["carol"]["fingerprint"] == result.fingerprint
    assert rows["carol"]["key_version"] == 1
    assert set(rows) == {"alice", "bob", "carol"}
    actions = [e.action for e in await env.store.list_audit(limit=1000)]
    assert actions.count("add-handler") == 3  # alice and bob from the set-up


async def test_without_a_tty_the_fingerprint_must_be_confirmed(cli, tmp_path, capsys, monkeypatch):
    path, _ = new_bundle(tmp_path, "carol")
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert await cli("add-handler", "carol", "--public-key", str(path)) == 1
    assert "--fingerprint" in one_line(capsys.readouterr().err)


async def test_a_wrong_admin_passphrase_is_one_line(cli, tmp_path, capsys, monkeypatch):
    path, _ = new_bundle(tmp_path, "carol")
    monkeypatch.setenv("WRITEIN_ADMIN_PASSPHRASE", "not the passphrase")
    assert await cli("add-handler", "carol", "--public-key", str(path), "--yes") == 3
    assert "wrong passphrase" in one_line(capsys.readouterr().err)


async def test_a_revoked_handler_gets_nothing_new(cli, env, sim, capsys, monkeypatch):
    monkeypatch.setattr("bot.relay.TRUST_TTL", 0.0)
    user, case = await onboard(env, sim)
    alice, bob = env.handlers
    assert await env.store.list_case_handlers(case.case_id) == ["alice"]
    # alice alone can read the case: revoking her needs --force.
    assert await cli("remove-handler", "alice") == 1
    assert "only handler" in one_line(capsys.readouterr().err)
    assert await cli("remove-handler", "alice", "--force") == 0
    out = capsys.readouterr().out
    assert "1 case(s) flagged" in out and "bob" in out
    flagged = await env.store.get_case(case.case_id)
    assert CaseFlag.NEEDS_REASSIGNMENT in flagged.flags
    assert await env.store.list_case_handlers(case.case_id) == ["alice", "bob"]
    await user.send_text("after alice left")
    await env.pump()
    newest = (await env.store.list_envelopes(case.case_id, newest_first=True, limit=1))[0]
    assert alice.enc.public.key_id not in newest.wraps
    assert bob.enc.public.key_id in newest.wraps
    trust = await env.relay.trust()
    opened = open_envelope(
        Envelope(newest.core, newest.wraps),
        recipient=bob.enc,
        trusted_signers=trust.relay_signers(),
        expect_case_id=case.case_id,
        expect_direction=CryptoDirection.IN,
    )
    assert decode_body(opened.plaintext).text == "after alice left"
    assert await cli("remove-handler", "alice") == 1
    assert "already revoked" in one_line(capsys.readouterr().err)
    assert await cli("remove-handler", "nobody") == 1
    capsys.readouterr()
    # A new case goes to the remaining handlers only.
    _user2, case2 = await onboard(env, sim, "Second")
    assert await env.store.list_case_handlers(case2.case_id) == ["bob"]


async def test_audit_lists_and_detects_tampering(cli, env, sim, capsys):
    await onboard(env, sim)
    assert await cli("audit") == 0
    listing = capsys.readouterr().out
    assert "add-handler" in listing and "case-created" in listing
    assert str(sim.users[0].id) not in listing
    assert await cli("audit", "--verify") == 0
    out = capsys.readouterr().out
    assert "intact" in out
    head = out.split("head ", 1)[1].split()[0]
    assert await cli("audit", "--verify", "--head", head) == 0
    capsys.readouterr()
    seq, _, digest = head.partition(":")
    wrong = f"{seq}:{'0' * len(digest)}"
    assert await cli("audit", "--verify", "--head", wrong) == 1
    assert "rewritten" in one_line(capsys.readouterr().err)

    db = sqlite3.connect(env.config.data_dir / "writein.db")
    db.execute("DROP TRIGGER audit_no_update")
    db.execute("UPDATE audit SET detail = 'edited' WHERE seq = 2")
    db.commit()
    db.close()
    assert await cli("audit", "--verify") == 1
    assert "entry 2" in one_line(capsys.readouterr().err)


async def test_audit_detects_a_removed_entry(cli, env, capsys):
    db = sqlite3.connect(env.config.data_dir / "writein.db")
    db.execute("DROP TRIGGER audit_no_delete")
    db.execute("DELETE FROM audit WHERE seq = 2")
    db.commit()
    db.close()
    assert await cli("audit", "--verify") == 1
    assert "missing" in one_line(capsys.readouterr().err)


async def test_purge_deletes_old_messages_and_closed_cases(cli, env, sim, capsys):
    (_, kept), (_, closed) = await onboard(env, sim, "Kept"), await onboard(env, sim, "Closed")
    old = datetime.now(UTC) - timedelta(days=40)
    for case in (kept, closed):
        await env.store.add_envelope(os.urandom(16), case.case_id, Direction.IN, b"x", {}, now=old)
    db = sqlite3.connect(env.config.data_dir / "writein.db")
    db.execute(
        "UPDATE cases SET last_activity_on = ? WHERE case_id = ?",
        (old.date().isoformat(), closed.case_id),
    )
    db.commit()
    db.close()
    await env.store.set_case_status(closed.case_id, CaseStatus.CLOSED)
    before = await env.store.count_envelopes(kept.case_id)

    assert await cli("purge", "--older-than", "30", "--dry-run") == 0
    assert "would delete" in capsys.readouterr().out
    assert await env.store.count_envelopes(kept.case_id) == before
    assert await cli("purge", "--older-than", "30") == 0
    out = capsys.readouterr().out
    assert "2 message(s)" in out and "1 closed case(s)" in out
    assert await env.store.get_case(closed.case_id) is None
    assert await env.store.count_envelopes(kept.case_id) == before - 1
    entries = await env.store.list_audit(limit=1000)
    assert any(e.action == "purge-case" and e.case_id == closed.case_id for e in entries)
    assert entries[-1].action == "purge"


async def test_status_shows_keys_and_counts_without_identities(cli, env, sim, capsys):
    user, _ = await onboard(env, sim)
    assert await cli("status", "--json") == 0
    status = json.loads(capsys.readouterr().out)
    assert [k["version"] for k in status["relay_keys"]] == [1]
    assert status["cases"]["open"] == 1
    assert status["handlers"] == {"active": 2, "revoked": 0, "default_intake": ["alice"]}
    assert status["audit_intact"] is True
    assert await cli("status") == 0
    text = capsys.readouterr().out
    assert "v1" in text and "1 open" in text
    for secret in (str(user.id), user.first_name):
        assert secret not in text


async def test_rotate_keys_command(cli, env, sim, capsys):
    await onboard(env, sim)
    assert await cli("rotate-keys", "--wait-for-relay", "0") == 0
    captured = capsys.readouterr()
    assert "v1 → v2" in captured.out and "chat references" in captured.err
    ring = RelayKeyRing.load(Layout(env.config.data_dir).relay_key, RELAY_PASS)
    assert ring.versions == (2,)
    assert await cli("status", "--json") == 0
    status = json.loads(capsys.readouterr().out)
    assert [(k["version"], k["status"]) for k in status["relay_keys"]] == [
        (2, "active"),
        (1, "retired"),
    ]


async def test_set_token(cli, env, sim, capsys, monkeypatch, tmp_path):
    token_file = env.config.base_dir / "token"
    config = write_config(env, sim, token_file=token_file)

    async def set_token(token: str, *extra: str) -> int:
        monkeypatch.setattr("sys.stdin", io.StringIO(token + "\n"))
        return await cli("set-token", *extra, config_file=config)

    assert await set_token("not a token") == 1
    assert "not a bot token" in one_line(capsys.readouterr().err)
    assert await set_token("123456789:WRONG-token") == 1
    assert "refused" in one_line(capsys.readouterr().err)
    assert not token_file.exists()
    assert await set_token(sim.token) == 0
    capsys.readouterr()
    assert token_file.read_text().strip() == sim.token
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    # BotFather's /revoke: the old token stops working, a new one for the same bot starts.
    sim.world.bot.token = "123456789:NEW-token-after-revoke"
    assert await set_token("123456789:NEW-token-after-revoke") == 0
    assert sim.token not in capsys.readouterr().out
    assert token_file.read_text().strip() == "123456789:NEW-token-after-revoke"
    # A token of another bot would strand every source: refused unless meant.
    token_file.write_text("555:old-bot-token\n")
    assert await set_token("123456789:NEW-token-after-revoke") == 1
    assert "another bot" in one_line(capsys.readouterr().err)
    assert await set_token("123456789:NEW-token-after-revoke", "--new-bot") == 0
    actions = [e.action for e in await env.store.list_audit(limit=1000)]
    assert actions.count("set-token") == 3
    for e in await env.store.list_audit(limit=1000):
        assert "NEW-token" not in e.detail


def test_no_store_is_one_line(tmp_path, capsys):
    (tmp_path / "w.toml").write_text('[paths]\ndata_dir = "nothing-here"\n')
    assert admin_cli.main(["admin", "status", "--config", str(tmp_path / "w.toml")]) == 5
    assert "writein init" in one_line(capsys.readouterr().err)


def test_admin_without_a_command_prints_help(capsys):
    assert admin_cli.main(["admin"]) == 2
    assert "rotate-keys" in capsys.readouterr().err


async def test_remove_handler_needs_the_organisation_key(cli, env, sim, capsys, monkeypatch):
    monkeypatch.setenv("WRITEIN_ADMIN_PASSPHRASE", "not the passphrase")
    assert await cli("remove-handler", "bob") == 3
    assert "wrong passphrase" in one_line(capsys.readouterr().err)
    assert "bob" in (await env.relay.trust()).handlers


async def test_roster_init_signs_what_an_older_store_holds(cli, env, sim, capsys):
    """A store from before the roster: the same officers, intake, assignments and relay
    keys once the organisation has signed them, and nothing a row alone claimed."""
    user, case = await onboard(env, sim)
    assert await cli("remove-handler", "bob") == 0  # a revocation to carry over
    before = await env.relay.trust()
    db = sqlite3.connect(env.config.data_dir / "writein.db")
    db.execute("DELETE FROM roster")
    # A row no organisation signature backs: it must not become a right.
    db.execute("INSERT INTO case_handlers VALUES (?, 'bob', 0)", (case.case_id,))
    db.commit()
    db.close()
    (env.config.data_dir / "roster.head").unlink()
    capsys.readouterr()

    assert await cli("status") == 0
    assert "ALARM roster: the store holds no roster" in capsys.readouterr().out
    assert await cli("roster-init") == 0
    assert "signed entries" in capsys.readouterr().out
    env.relay._trust = None
    after = await env.relay.trust()
    assert after.handlers.keys() == before.handlers.keys() == {"alice"}
    assert after.revoked.keys() == {"bob"}
    assert after.intake_handlers() == ["alice"]
    assert after.assigned(case.case_id) == {"alice"}
    assert after.relay.keys() == before.relay.keys()
    await user.send_text("after the roster was signed")
    await env.pump()
    assert await env.store.count_inbox() == 0
    assert await cli("roster-init") == 1
    assert "already has a roster" in one_line(capsys.readouterr().err)


async def test_status_raises_the_alarm_for_rows_the_roster_does_not_back(cli, env, sim, capsys):
    _, case = await onboard(env, sim)
    db = sqlite3.connect(env.config.data_dir / "writein.db")
    db.execute("INSERT INTO case_handlers VALUES (?, 'bob', 0)", (case.case_id,))
    db.execute("UPDATE handlers SET default_intake = 1 WHERE name = 'bob'")
    db.commit()
    db.close()
    assert await cli("status") == 0
    out = capsys.readouterr().out
    assert (
        f"ALARM store row not in the signed roster: officer bob is assigned to {case.case_id}"
        in out
    )
    assert (
        "ALARM store row not in the signed roster: officer bob is on intake in the store only"
        in out
    )
    assert "new cases go to alice" in out  # the roster's intake, not the row's
    assert await cli("status", "--json") == 0
    report = json.loads(capsys.readouterr().out)["roster"]
    assert report["error"] is None and len(report["discrepancies"]) == 2
