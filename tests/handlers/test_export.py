"""Attachment export: checked, private, under a harmless name, never over another file."""

from __future__ import annotations

import sqlite3
import stat
from pathlib import Path

import pytest

from handlers._errors import ConsoleError, UnknownCaseError, UsageError
from handlers.export import export_attachment, find_attachment, safe_filename
from handlers.thread import load_thread
from tests.handlers.conftest import CASE_A, CASE_C, World

BIG = bytes(range(256)) * 2500  # 640,000 bytes: three chunks


@pytest.fixture
async def files(cases: World) -> World:
    await cases.incoming(
        CASE_A,
        "two files",
        kind="document",
        attachments=[
            ("report.pdf", "application/pdf", BIG),
            ("../../.bashrc\u202efdp.exe", "application/x-msdownload", b"MZ evil"),
        ],
    )
    await cases.incoming(CASE_C, "bob's file", attachments=[("bob.txt", "text/plain", b"bob")])
    return cases


async def _refs(world: World, name: str, case_id: str) -> list[str]:
    session = await world.session(name)
    return [r.id for i in await load_thread(session, case_id) for r in i.attachments]


async def test_export_writes_a_private_copy(files: World, tmp_path: Path) -> None:
    alice = await files.session("alice")
    report, evil = await _refs(files, "alice", CASE_A)
    out = tmp_path / "out"
    out.mkdir()
    exported = await export_attachment(alice, CASE_A, report, out)
    assert exported.path == out / "report.pdf" and exported.size == len(BIG)
    assert exported.path.read_bytes() == BIG
    assert stat.S_IMODE(exported.path.stat().st_mode) == 0o600
    again = await export_attachment(alice, CASE_A, report.upper(), out)
    assert again.path == out / "report (2).pdf"

    hostile = await export_attachment(alice, CASE_A, evil, out)
    assert hostile.path.parent == out
    assert hostile.path.name == "bashrcfdp.exe"
    assert sorted(p.name for p in out.iterdir()) == [
        "bashrcfdp.exe",
        "report (2).pdf",
        "report.pdf",
    ]
    actions = [(e.action, e.detail) for e in await files.store.list_audit(case_id=CASE_A)]
    assert ("export", f"attachment {report}") in actions


async def test_export_never_follows_a_planted_symlink(files: World, tmp_path: Path) -> None:
    alice = await files.session("alice")
    report, _ = await _refs(files, "alice", CASE_A)
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    out = tmp_path / "out"
    out.mkdir()
    (out / "report.pdf").symlink_to(victim)
    exported = await export_attachment(alice, CASE_A, report, out)
    assert exported.path.name == "report (2).pdf"
    assert victim.read_bytes() == b"precious"


async def test_a_damaged_attachment_writes_nothing(files: World, tmp_path: Path) -> None:
    alice = await files.session("alice")
    report, _ = await _refs(files, "alice", CASE_A)
    db = sqlite3.connect(files.config.store_url)
    db.execute(
        "UPDATE attachment_chunks SET chunk = zeroblob(length(chunk))"
        " WHERE attachment_id = ? AND chunk_index = 1",
        (bytes.fromhex(report),),
    )
    db.commit()
    db.close()
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(ConsoleError, match="damaged"):
        await export_attachment(alice, CASE_A, report, out)
    assert list(out.iterdir()) == []


async def test_export_refusals(files: World, tmp_path: Path) -> None:
    alice = await files.session("alice")
    report, _ = await _refs(files, "alice", CASE_A)
    [bobs] = await _refs(files, "bob", CASE_C)
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(UsageError, match="32 hexadecimal"):
        await export_attachment(alice, CASE_A, "../../etc", out)
    with pytest.raises(UnknownCaseError):
        await export_attachment(alice, CASE_A, "0" * 32, out)
    with pytest.raises(UnknownCaseError, match="no attachment"):
        await find_attachment(alice, CASE_A, bobs)  # another case's file
    with pytest.raises(UsageError, match="not a folder"):
        await export_attachment(alice, CASE_A, report, out / "missing")
    assert list(out.iterdir()) == []


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("report.pdf", "report.pdf"),
        ("../../etc/passwd", "passwd"),
        ("..\\..\\windows\\system32\\evil.dll", "evil.dll"),
        ("photo\u202egnp.exe", "photognp.exe"),
        ("zero\u200bwidth.txt", "zerowidth.txt"),
        ("bell\x07.txt", "bell.txt"),
        ("a<b>c:d|e?f*.txt", "a_b_c_d_e_f_.txt"),
        (".hidden", "hidden"),
        ("...", "fallback.bin"),
        ("", "fallback.bin"),
        ("CON.txt", "fallback.bin"),
        ("nul", "fallback.bin"),
        ("trailing. ", "trailing"),
        ("Отчёт о закупках.docx", "Отчёт о закупках.docx"),
    ],
)
def test_safe_filename(name: str, expected: str) -> None:
    assert safe_filename(name, fallback="fallback.bin") == expected


def test_safe_filename_shortens_but_keeps_the_extension() -> None:
    name = safe_filename("я" * 300 + ".pdf", fallback="x")
    assert name.endswith(".pdf") and len(name.encode()) <= 150
