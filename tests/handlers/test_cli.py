"""`writein console …`: JSON for scripts, one clear line and an exit code for every refusal."""

from __future__ import annotations

import asyncio
import io
import json
import os
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from handlers.cli import main
from handlers.identity import HandlerIdentity, write_identity
from tests.handlers.conftest import CASE_A, CASE_B, CASE_C, INSECURE, World, passphrase_of

#: Every test here runs on the store file and through the gateway (conftest.py).
BOTH_PATHS = True

HOSTILE = "[@click=app.quit]\x1b[2J\x1b]0;pwned\x07 \u202eexe.pdf"


class Run:
    def __init__(self, world: World, capsys: pytest.CaptureFixture[str], mp: pytest.MonkeyPatch):
        self.world = world
        self.capsys = capsys
        self.mp = mp

    async def __call__(
        self, *argv: str, who: str = "alice", stdin: str | None = None
    ) -> tuple[int, str, str]:
        self.mp.setenv("WRITEIN_PASSPHRASE", passphrase_of(who).decode())
        if stdin is not None:
            self.mp.setattr(sys, "stdin", io.StringIO(stdin))
        common = ["--config", str(self.world.config_path), "--key", str(self.world.key_files[who])]
        code = await asyncio.to_thread(main, ["console", *common, *argv])
        captured = self.capsys.readouterr()
        return code, captured.out, captured.err


@pytest.fixture
def run(cases: World, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Run:
    return Run(cases, capsys, monkeypatch)


async def test_cases_json(run: Run) -> None:
    code, out, err = await run("cases", "--json")
    assert (code, err) == (0, "")
    listed = json.loads(out)
    assert [c["case_id"] for c in listed] == [CASE_B, CASE_A]
    assert listed[0] == {
        "case_id": CASE_B,
        "status": "open",
        "unread": 1,
        "last_activity": "2026-03-01",
        "assigned": ["alice", "bob"],
        "flags": ["new"],
        "language": "ru",
        "label": "",
        "tags": [],
    }
    code, out, _ = await run("cases", "--json", "--search", "qx9b")
    assert [c["case_id"] for c in json.loads(out)] == [CASE_A]
    code, out, _ = await run("cases", "--json", "--limit", "1")
    assert len(json.loads(out)) == 1
    code, out, _ = await run("cases", "--status", "closed")
    assert code == 0 and "(0 of 0 cases)" in out


async def test_show_json(run: Run) -> None:
    await run.world.incoming(
        CASE_A,
        "see attached",
        kind="photo",
        attachments=[("leak.jpg", "image/jpeg", b"\xff\xd8 not really a jpeg")],
    )
    await run("reply", CASE_A, "--text", "Received, thank you.")
    await run("note", CASE_A, "--text", "Check the photo's origin.")
    code, out, err = await run("show", "7k3m qx9b 2hd4", "--json")
    assert (code, err) == (0, "")
    shown = json.loads(out)
    assert shown["case_id"] == CASE_A
    assert shown["assigned"] == ["alice"]
    assert shown["intake"][1] == {
        "question": "topic",
        "answer": "Procurement fraud at the ministry",
        "choice": None,
        "skipped": False,
    }
    messages = shown["messages"]
    assert [(m["direction"], m["kind"]) for m in messages] == [
        ("in", "intake"),
        ("in", "text"),
        ("in", "photo"),
        ("out", "text"),
    ]
    photo = messages[2]
    assert photo["text"] == "see attached"
    assert photo["created"] == "2026-03-01T12:00:00+00:00"
    assert len(photo["id"]) == 32
    [attachment] = photo["attachments"]
    assert set(attachment) == {"id", "name", "size", "mime"}
    assert (attachment["name"], attachment["mime"]) == ("leak.jpg", "image/jpeg")
    assert messages[3]["text"] == "Received, thank you."
    assert messages[3]["author"] == "alice" and messages[3]["delivery"] == "pending"
    assert [n["text"] for n in shown["notes"]] == ["Check the photo's origin."]
    code, out, _ = await run("show", CASE_A, "--json", "--last", "2")
    last = json.loads(out)
    assert [m["direction"] for m in last["messages"]] == ["out"] and len(last["notes"]) == 1
    code, out, _ = await run("cases", "--json")
    assert next(c for c in json.loads(out) if c["case_id"] == CASE_A)["unread"] == 0


async def test_hostile_text_reaches_neither_terminal_nor_json_raw(run: Run) -> None:
    await run.world.incoming(CASE_A, HOSTILE, attachments=[(HOSTILE, HOSTILE, b"x")])
    code, out, _ = await run("show", CASE_A)
    assert code == 0
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out
    assert "[@click=app.quit]⟨U+001B⟩[2J⟨U+001B⟩]0;pwned⟨U+0007⟩ ⟨U+202E⟩exe.pdf" in out
    code, out, _ = await run("show", CASE_A, "--json")
    assert out.isascii()
    assert json.loads(out)["messages"][-1]["text"] == HOSTILE  # exact, for scripts


async def test_reply_from_stdin_with_self_destruct(run: Run) -> None:
    code, out, err = await run(
        "reply", CASE_B, "--self-destruct", "1h", stdin="Line one\nLine two\n"
    )
    assert code == 0 and out.startswith("reply ") and err == ""
    [queued] = await run.world.store.list_outbox(CASE_B)
    assert queued.status.value == "pending"
    code, out, _ = await run("show", CASE_B, "--json")
    reply = json.loads(out)["messages"][-1]
    assert (reply["text"], reply["self_destruct_seconds"]) == ("Line one\nLine two", 3600)


async def test_cancel_a_queued_reply(run: Run) -> None:
    code, out, _ = await run("reply", CASE_B, "--text", "Meant for another source.")
    assert code == 0
    reply_id = out.split()[1]
    code, out, _ = await run("show", CASE_B)
    assert "reply by alice · " in out and f"· pending · id {reply_id} ---" in out
    # Only its author may cancel it: one line, exit 1, and the reply stays queued.
    err = await _one_line(run, 1, "cancel", CASE_B, reply_id, who="bob")
    assert "only its author, alice, can cancel it" in err
    assert "bad id" not in await _one_line(run, 2, "cancel", CASE_B, "bad id")
    code, out, err = await run("cancel", CASE_B.lower(), reply_id[:8])
    assert (code, err) == (0, "")
    assert out == f"reply {reply_id} cancelled: the relay will not send it\n"
    assert await run.world.store.list_outbox(CASE_B) == []
    code, out, _ = await run("show", CASE_B, "--json")
    assert [m["direction"] for m in json.loads(out)["messages"]] == ["in"]
    assert "no reply" in await _one_line(run, 6, "cancel", CASE_B, reply_id)
    # Once the relay has claimed a reply, it is too late.
    code, out, _ = await run("reply", CASE_B, "--text", "On its way.")
    claimed = await run.world.store.claim_outbox(lease=timedelta(seconds=60))
    assert claimed is not None and claimed.message_id == bytes.fromhex(out.split()[1])
    err = await _one_line(run, 1, "cancel", CASE_B, out.split()[1])
    assert "cannot be cancelled: the relay is sending it now" in err


async def test_export_assign_close(run: Run, tmp_path: Path) -> None:
    await run.world.incoming(
        CASE_A, "", kind="document", attachments=[("a.txt", "text/plain", b"hi")]
    )
    code, out, _ = await run("show", CASE_A, "--json")
    attachment = json.loads(out)["messages"][-1]["attachments"][0]["id"]
    out_dir = tmp_path / "exports"
    out_dir.mkdir()
    code, out, err = await run("export", CASE_A, attachment, "--out", str(out_dir))
    assert (code, err) == (0, "") and (out_dir / "a.txt").read_bytes() == b"hi"

    code, out, _ = await run("show", CASE_A, "--json", who="bob")
    assert code == 7
    code, out, err = await run("assign", CASE_A, "bob")
    assert code == 0 and "assigned to bob (3 message(s) re-wrapped)" in out
    code, out, _ = await run("show", CASE_A, "--json", who="bob")
    assert code == 0 and json.loads(out)["messages"][-1]["attachments"][0]["id"] == attachment

    code, out, _ = await run("close", CASE_A)
    assert code == 0 and "is now closed" in out
    code, _, err = await run("reply", CASE_A, "--text", "hello?")
    assert code == 1 and "closed" in err
    code, out, _ = await run("reopen", CASE_A)
    assert code == 0 and "is now open" in out
    code, out, _ = await run("assign", CASE_A, "carol", "--hand-over")
    assert code == 0 and "handed over to carol" in out
    code, _, err = await run("show", CASE_A)
    assert code == 7 and "not assigned to you" in err


async def _one_line(run: Run, expected_code: int, *argv: str, who: str = "alice") -> str:
    code, out, err = await run(*argv, who=who)
    assert code == expected_code, err
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("writein: ")
    return err


async def test_errors_are_one_line_with_an_exit_code(run: Run, tmp_path: Path) -> None:
    assert "no case ZZZZ-ZZZZ-ZZZZ" in await _one_line(run, 6, "show", "zzzz-zzzz-zzzz")
    assert "not assigned to you" in await _one_line(run, 7, "show", CASE_C)
    assert "no active, certified case officer" in await _one_line(
        run, 6, "assign", CASE_A, "nobody"
    )
    assert "self-destruct" in await _one_line(
        run, 2, "reply", CASE_A, "--text", "x", "--self-destruct", "3d"
    )
    err = await _one_line(run, 6, "show", "\x1b[31mred")
    assert "\x1b" not in err


async def test_wrong_passphrase(run: Run) -> None:
    run.mp.setenv("WRITEIN_PASSPHRASE", "not the passphrase at all")
    argv = ["console", "cases", "--config", str(run.world.config_path)]
    assert await asyncio.to_thread(main, argv) == 3
    assert "wrong passphrase" in run.capsys.readouterr().err


async def test_key_not_certified(run: Run, tmp_path: Path) -> None:
    stranger = tmp_path / "stranger.key"
    write_identity(
        stranger, HandlerIdentity.generate("mallory"), b"mallory's passphrase", argon2=INSECURE
    )
    run.mp.setenv("WRITEIN_PASSPHRASE", "mallory's passphrase")
    argv = ["console", "--config", str(run.world.config_path), "--key", str(stranger), "cases"]
    assert await asyncio.to_thread(main, argv) == 4
    assert "not certified" in run.capsys.readouterr().err


async def test_store_unreachable(run: Run, tmp_path: Path) -> None:
    config = tmp_path / "elsewhere.toml"
    config.write_text('[paths]\ndata_dir = "nowhere"\n[trust]\norg_fingerprint = "00"\n')
    argv = ["console", "--config", str(config), "--key", str(run.world.key_files["alice"]), "cases"]
    assert await asyncio.to_thread(main, argv) == 5
    assert "no store at" in run.capsys.readouterr().err
    assert not (tmp_path / "nowhere").exists()


async def test_no_config_and_no_passphrase(run: Run, tmp_path: Path) -> None:
    argv = ["console", "--config", str(tmp_path / "missing.toml"), "cases"]
    assert await asyncio.to_thread(main, argv) == 2
    assert "no configuration file" in run.capsys.readouterr().err
    run.mp.delenv("WRITEIN_PASSPHRASE", raising=False)
    run.mp.setattr(sys, "stdin", io.StringIO(""))
    argv = ["console", "--config", str(run.world.config_path), "cases"]
    assert await asyncio.to_thread(main, argv) == 3
    assert "no passphrase" in run.capsys.readouterr().err


async def test_passphrase_file(run: Run, tmp_path: Path) -> None:
    secret = tmp_path / "alice.pass"
    secret.write_text(passphrase_of("alice").decode() + "\n")
    os.chmod(secret, 0o600)
    run.mp.delenv("WRITEIN_PASSPHRASE", raising=False)
    argv = ["console", "cases", "--json", "--passphrase-file", str(secret)]
    argv += ["--config", str(run.world.config_path)]
    assert await asyncio.to_thread(main, argv) == 0
    assert len(json.loads(run.capsys.readouterr().out)) == 2


def test_register_wires_into_a_parent_parser() -> None:
    import argparse

    from handlers.cli import register

    parser = argparse.ArgumentParser(prog="writein")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["console", "--config", "c.toml", "show", "X", "--json"])
    assert (args.config, args.case_id, args.json, callable(args.func)) == (
        "c.toml",
        "X",
        True,
        True,
    )
    args = parser.parse_args(["console", "show", "X", "--config", "d.toml"])
    assert args.config == "d.toml"
    args = parser.parse_args(["handler", "keygen", "--name", "n", "--out", "f"])
    assert callable(args.func)


def test_console_without_a_subcommand_starts_the_tui(
    cases: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from handlers.tui import ConsoleApp

    started: list[ConsoleApp] = []
    monkeypatch.setattr(ConsoleApp, "run", lambda self: started.append(self))
    assert main(["console", "--config", str(cases.config_path)]) == 0
    [app] = started
    assert app.key_file == cases.key_files["alice"]
    assert app.lock_after_seconds == 600.0
    assert main(["console", "--config", str(cases.root / "missing.toml")]) == 2
