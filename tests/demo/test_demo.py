"""`writein demo`: the whole story runs, every step is told, nothing is left running."""

from __future__ import annotations

import base64
import io
import os
import re
from pathlib import Path

import pytest

from demo.cli import main
from demo.photo import make_photo, read_exif
from demo.scan import Needle, ScanReport, base64_forms, integer_needle, scan, self_check
from demo.show import Show
from demo.steps import STEPS, Demo, DemoFailure

TITLES = [
    "Set up a throw-away relay on the embedded defaults",
    "Start the Telegram simulator and the relay",
    "A source onboards, in Russian, and gets a case ID",
    "The source sends a text and a photo with GPS in its EXIF",
    "The case officer's console decrypts them",
    "The case officer replies",
    "The source sees the reply",
    "The source's chat keeps no history",
    "The store holds no plaintext and no identity",
    "An admin rotates the relay's keys, online",
    "A case officer on their own machine, through the gateway",
    "Stop the relay and look again",
]


def _children() -> list[int]:
    """Live processes whose parent is this test process (Linux /proc)."""
    me = os.getpid()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[1]) == me and fields[0] != "Z":
            found.append(int(entry.name))
    return found


def test_the_demo_tells_the_whole_story(tmp_path, capsys):
    before = set(_children())
    root = tmp_path / "demo"
    assert main(["demo", "--data-dir", str(root)]) == 0
    out = capsys.readouterr().out

    for number, title in enumerate(TITLES, start=1):
        assert f"[{number}/{STEPS}] {title}" in out
    # Russian beside English, as the source saw it.
    assert re.search(r"Продолжим\?.*\| Shall we continue\?", out)
    assert re.search(r"Ответ:\s+\| Reply:", out)
    case_id = re.search(r"Номер вашего обращения: (\S{4}-\S{4}-\S{4})\.", out)
    assert case_id is not None
    # The checks the story rests on, each verified on real data (wrapping aside).
    flat = " ".join(out.split())
    assert "✓ the photo alice exports: no EXIF at all, no canary" in flat
    assert "bob (certified, not assigned) opens 0 of" in flat
    assert "one bit flipped, or presented as another case's" in flat
    assert "✓ protect_content: the source cannot forward or save it" in flat
    assert "still in their chat 0" in flat
    # The separated deployment: bob's own machine, through a real gateway process.
    assert "✓ bob's console decrypted" in flat and "through the gateway" in flat
    assert "✓ bob's reply, sealed on his machine, reached the source" in flat
    assert "no store, no relay key" in flat
    assert "✓ an unsigned request is refused (401) and logged, without secrets" in flat
    assert "✓ gateway stopped, exit code 0" in flat
    assert re.search(r"✓ 0 hits in \d+ files", flat)
    assert "✓ nothing alice decrypted names the source" in flat
    assert re.search(r"the relay's own key ring \(every key it holds\) opens 0 of \d+", flat)
    assert "the bot token appears 0 times in the relay log" in flat
    assert "✓ relay (pid" in flat and "stopped, exit code 0" in flat
    assert "✓ final scan: 0 hits" in flat
    assert "key rotation: not available yet" in flat or "alice opens all" in flat
    assert f"writein console --config {root / 'writein.toml'}" in out
    if "alice opens all" in flat:  # admin/rotation.py is there: the rotation really ran
        assert re.search(r"✓ alice opens all \d+ messages: \d+ from before the rotation", flat)
        assert "reaches the source" in flat
    assert "DEMO FAILED" not in out

    # The demo's files are kept for the console; the relay is gone.
    assert (root / "writein.toml").is_file()
    assert (root / "data" / "writein.db").is_file()
    pid = int(re.search(r"relay \(pid (\d+)\) stopped", flat).group(1))
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert set(_children()) - before == set()


def test_the_demo_wants_a_new_folder(tmp_path, capsys):
    (tmp_path / "something").write_text("x")
    assert main(["demo", "--data-dir", str(tmp_path)]) == 2
    assert "not empty" in capsys.readouterr().err


# -- the scan ------------------------------------------------------------------------------


def test_the_scanner_finds_every_planted_form():
    needles = [Needle("text", "Документы в сейфе"), integer_needle("user id", 6123456789)]
    found, missed = self_check(needles)
    assert missed == []
    assert found >= 2 * 4


@pytest.mark.parametrize("pad", [0, 1, 2])
def test_base64_is_found_in_any_alignment(pad):
    raw = "Марина".encode()
    blob = base64.b64encode(b"x" * pad + raw + b"tail")
    assert any(form in blob for form in base64_forms(raw))


def test_scan_counts_hits_per_file_and_encoding(tmp_path):
    (tmp_path / "db").write_bytes(b"\0\0" + "Марина".encode("utf-16-le") + b"\0")
    (tmp_path / "log").write_text("user 6123456789 said hi")
    (tmp_path / "skip").mkdir()
    (tmp_path / "skip" / "export").write_text("Марина")
    report = scan(
        tmp_path,
        [Needle("first name", "Марина"), integer_needle("user id", 6123456789)],
        exclude=[tmp_path / "skip"],
    )
    assert report.counts["first name"]["utf-16-le"] == 1
    assert report.counts["first name"]["utf-8"] == 0  # the excluded export
    assert report.counts["user id"]["utf-8"] == 1
    assert {h.file for h in report.hits} == {"db", "log"}
    assert [name for name, _ in report.files] == ["db", "log"]


def test_a_hit_fails_the_demo_loudly(tmp_path):
    out = io.StringIO()
    demo = Demo(tmp_path, Show(out, width=80))
    report = scan(tmp_path, [])
    demo.report_hits(report)  # nothing found: fine
    (tmp_path / "writein.db").write_bytes(b"...secret text...")
    report = scan(tmp_path, [Needle("message text", "secret text")])
    assert isinstance(report, ScanReport) and report.total == 1
    with pytest.raises(DemoFailure, match="plaintext on disk"):
        demo.report_hits(report)
    assert "FOUND message text as utf-8 in writein.db" in out.getvalue()


def test_the_demo_photo_carries_gps_and_the_canary():
    photo = make_photo("canary-123")
    exif = read_exif(photo)
    assert exif.gps is not None and exif.gps.startswith("55.75")
    assert b"canary-123" in photo
