"""`writein admin readers CASE` (issue 15 item 4): who opened a case in a console, by UTC
day, from the audit entries consoles write when a case is opened (ADR 0084)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from admin import cli as admin_cli
from handlers.cases import record_reading
from tests.handlers.conftest import CASE_A, CASE_B, make_world

pytestmark = pytest.mark.asyncio


async def test_readers_lists_who_opened_a_case_and_when(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    world = await make_world(tmp_path)
    try:
        await world.case(CASE_A, ["alice", "bob"])
        await world.case(CASE_B, ["alice"])
        for name in ("alice", "bob", "alice"):
            await record_reading(await world.session(name), CASE_A)
        await record_reading(await world.session("alice"), CASE_B)

        def run(*argv: str) -> int:
            return admin_cli.main(["admin", *argv, "--config", str(world.config_path)])

        assert await asyncio.to_thread(run, "readers", CASE_A, "--json") == 0
        shown = json.loads(capsys.readouterr().out)
        assert shown["case_id"] == CASE_A
        assert [r["officer"] for r in shown["reads"]] == ["alice", "bob"]  # one line a day
        assert len({r["day"] for r in shown["reads"]}) == 1
        assert await asyncio.to_thread(run, "readers", CASE_A) == 0
        out = capsys.readouterr().out
        assert f"Case {CASE_A} was opened by" in out and "bob" in out
        assert await asyncio.to_thread(run, "readers", "ZZZZ-ZZZZ-ZZZZ") != 0
        assert "no case ZZZZ-ZZZZ-ZZZZ" in capsys.readouterr().err
    finally:
        await world.close()
