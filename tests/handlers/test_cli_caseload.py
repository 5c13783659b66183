"""`writein console label|search|templates`, `cases --filter` and `reply --template`, on the
store file and through the gateway."""

from __future__ import annotations

import json

import pytest

from tests.handlers.conftest import CASE_A, CASE_B, CASE_C, World
from tests.handlers.test_cli import HOSTILE, Run

BOTH_PATHS = True


@pytest.fixture
def run(cases: World, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Run:
    return Run(cases, capsys, monkeypatch)


async def test_label_set_show_keep_and_clear(run: Run) -> None:
    code, out, err = await run("label", CASE_B, "--label", "Ministry tender", "--tags", "urgent")
    assert (code, err) == (0, "")
    assert out == f"label of case {CASE_B} set to Ministry tender · #urgent\n"
    code, out, _ = await run("label", CASE_B, who="bob")
    assert out == "Ministry tender · #urgent\n"
    # Only what is given changes.
    await run("label", CASE_B, "--tags", "urgent procurement", who="bob")
    code, out, _ = await run("label", CASE_B, "--json")
    assert json.loads(out) == {
        "case_id": CASE_B,
        "label": "Ministry tender",
        "tags": ["urgent", "procurement"],
    }
    code, out, _ = await run("cases")
    row = next(line for line in out.splitlines() if line.startswith(CASE_B))
    assert row.endswith("[Ministry tender · #urgent #procurement]")
    code, out, _ = await run("cases", "--json")
    listed = {c["case_id"]: c for c in json.loads(out)}
    assert listed[CASE_B]["label"] == "Ministry tender" and listed[CASE_A]["label"] == ""
    code, out, _ = await run("show", CASE_B)
    assert "Label: Ministry tender · #urgent #procurement" in out
    code, out, _ = await run("label", CASE_B, "--clear")
    assert out == f"label of case {CASE_B} cleared\n"
    code, out, _ = await run("label", CASE_B)
    assert out == f"case {CASE_B} has no label\n"


async def test_label_refusals(run: Run) -> None:
    code, _, err = await run("label", CASE_C, "--label", "not mine")
    assert code != 0 and "not assigned to you" in err
    code, _, err = await run("label", CASE_A, "--label", "x" * 61)
    assert code == 2 and "at most 60 characters" in err
    code, _, err = await run("label", CASE_A, "--clear", "--label", "x")
    assert code == 2 and "--clear" in err


async def test_a_hostile_label_stays_text(run: Run) -> None:
    code, _, err = await run("label", CASE_A, "--label", HOSTILE)
    assert code == 2 and "printable" in err  # control characters are no label
    code, _, err = await run("label", CASE_A, "--label", "\u202eexe.pdf")
    assert code == 2 and "printable" in err  # nor are bidi overrides
    code, out, _ = await run("label", CASE_A, "--label", "[@click=app.quit] [b]x")
    assert code == 0 and out.endswith("set to [@click=app.quit] [b]x\n")


async def test_search_json_and_text(run: Run) -> None:
    await run.world.incoming(CASE_A, "The minister's driver keeps the ledger.")
    code, out, err = await run("search", "LEDGER", "--json")
    assert (code, err) == (0, "")
    found = json.loads(out)
    assert found["cases"] == 2 and not found["truncated"]
    [hit] = found["hits"]
    assert (hit["case_id"], hit["direction"]) == (CASE_A, "in")
    assert "ledger" in hit["snippet"]
    code, out, _ = await run("search", "ledger")
    assert out.startswith(f"{CASE_A} #") and "source" in out
    assert "1 message(s) in 2 case(s) searched" in out
    code, out, _ = await run("search", "ledger", who="bob")
    assert "0 message(s)" in out  # CASE_A is alice's


async def test_cases_filter(run: Run) -> None:
    await run("reply", CASE_B, "--text", "We read you.")
    code, out, _ = await run("cases", "--json", "--filter", "awaiting")
    assert [c["case_id"] for c in json.loads(out)] == [CASE_A]
    code, out, _ = await run("cases", "--json", "--filter", "team")
    assert [c["case_id"] for c in json.loads(out)] == [CASE_B]
    code, out, _ = await run("cases", "--json", "--filter", "mine")
    assert [c["case_id"] for c in json.loads(out)] == [CASE_A]
    code, out, _ = await run("cases", "--filter", "unread", "--limit", "1")
    assert code == 0 and "filter unread" in out and out.count("-") >= 2


async def test_templates_and_reply_from_a_template(run: Run) -> None:
    code, out, _ = await run("templates")
    assert code == 0 and out.startswith("no templates (write them in ")
    (run.world.config.data_dir / "templates.toml").write_text(
        '[en]\nthanks = "Thank you, we read it."\n[ru]\nthanks = "Спасибо, прочитали."\n',
        encoding="utf-8",
    )
    code, out, _ = await run("templates", "--json", "--language", "ru")
    assert json.loads(out) == [{"language": "ru", "name": "thanks", "text": "Спасибо, прочитали."}]
    code, out, err = await run("reply", CASE_B, "--template", "thanks")  # CASE_B is in ru
    assert (code, err) == (0, "") and out.startswith("reply ")
    code, out, _ = await run("show", CASE_B, "--json")
    assert json.loads(out)["messages"][-1]["text"] == "Спасибо, прочитали."
    code, _, err = await run("reply", CASE_A, "--template", "nope")
    assert code == 2 and "templates in en: thanks" in err
    code, _, err = await run("reply", CASE_A, "--template", "thanks", "--text", "x")
    assert code == 2 and "do not go together" in err


async def test_labels_are_left_out_of_a_list_longer_than_the_bound(
    run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    await run("label", CASE_A, "--label", "Ministry tender")
    monkeypatch.setattr("handlers.cli.LABELS_AT_MOST", 1)
    code, out, err = await run("cases", "--json")
    assert code == 0 and "labels are shown for at most 1 cases" in err
    assert all("label" not in c for c in json.loads(out))
    code, out, err = await run("cases", "--json", "--limit", "1")
    assert err == "" and [c["label"] for c in json.loads(out)] == ["Ministry tender"]
