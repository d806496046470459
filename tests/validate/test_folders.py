"""Issue 15 clause 6: `cob validate DIR` names every file it skipped, in text and JSON, counts it, and
exits 1 when a skipped file looks like X12 content (an ST..SE fragment without ISA, UTF-16 text); an
empty folder says so. Files written here by hand."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from cob.cli import main
from cob.edi.inputs import Skipped, expand_paths, why_not_x12

DATA = Path(__file__).parent.parent / "data"
FRAGMENT = "ST*835*0001~BPR*I*116*C*CHK************20260301~SE*3*0001~"


def _run(*args: str):
    return CliRunner().invoke(main, ["validate", *args])


def _folder(tmp_path: Path, **files: str | bytes) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    for name, content in files.items():
        path = folder / name.replace("_", ".")
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    return folder


def test_why_a_file_is_skipped(tmp_path):
    cases = {
        "frag": (FRAGMENT, True, "a transaction set (ST..SE) without an ISA interchange header"),
        "group": ("GS*HP*A*B*20260301*1200*1*X*005010X221A1~" + FRAGMENT, True, "a functional group (GS..GE)"),
        "u16": ((DATA / "primary-remit.835").read_text().encode("utf-16"), True, "X12 content in UTF-16"),
        "u16text": ("hello, world".encode("utf-16"), False, "UTF-16 text, not an X12 file"),
        "notes": ("meeting notes: STATUS ok", False, "not an X12 file"),
        "empty": ("", False, "empty file"),
    }
    for name, (content, x12, reason) in cases.items():
        path = tmp_path / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        got_reason, got_x12 = why_not_x12(path)
        assert (got_x12, got_reason.startswith(reason)) == (x12, True), (name, got_reason)


def test_text_report_names_counts_and_fails_on_x12_like_skips(tmp_path):
    folder = _folder(tmp_path, a_835=(DATA / "primary-remit.835").read_text(), frag_835=FRAGMENT,
                     notes_txt="not x12", u16_835=(DATA / "primary-remit.835").read_text().encode("utf-16"))
    result = _run(str(folder))
    assert result.exit_code == 1  # a.835 is valid, but two X12 files were not read
    out = result.stdout
    assert f"{folder / 'a.835'}: valid" in out
    assert (f"{folder / 'frag.835'}: SKIPPED (looks like X12: fix it) -- a transaction set (ST..SE) without an "
            "ISA interchange header") in out
    assert f"{folder / 'u16.835'}: SKIPPED (looks like X12: fix it) -- X12 content in UTF-16" in out
    assert f"{folder / 'notes.txt'}: SKIPPED -- not an X12 file" in out
    assert out.rstrip().endswith("1 files: 1 valid, 0 invalid, 3 skipped")


def test_json_report_lists_and_counts_skips(tmp_path):
    folder = _folder(tmp_path, a_835=(DATA / "primary-remit.835").read_text(), frag_835=FRAGMENT,
                     notes_txt="not x12")
    result = _run("--format", "json", str(folder))
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert doc["skipped"] == [
        {"file": str(folder / "frag.835"), "x12": True,
         "reason": "a transaction set (ST..SE) without an ISA interchange header: X12 content that cannot be "
                   "read as it is"},
        {"file": str(folder / "notes.txt"), "reason": "not an X12 file", "x12": False}]
    assert doc["summary"]["skipped"] == 2 and doc["summary"]["files"] == 1 and doc["summary"]["valid"] == 1


def test_only_non_x12_skips_do_not_fail(tmp_path):
    folder = _folder(tmp_path, a_835=(DATA / "primary-remit.835").read_text(), notes_txt="not x12")
    result = _run(str(folder))
    assert result.exit_code == 0
    assert f"{folder / 'notes.txt'}: SKIPPED -- not an X12 file" in result.stdout
    assert "1 files: 1 valid, 0 invalid, 1 skipped" in result.stdout
    doc = json.loads(_run("--format", "json", str(folder)).stdout)
    assert [s["file"] for s in doc["skipped"]] == [str(folder / "notes.txt")]


def test_empty_folder_says_so(tmp_path):
    folder = _folder(tmp_path)
    (folder / ".hidden").write_text("ignored")
    result = _run(str(folder))
    assert result.exit_code == 0
    assert result.stdout.strip() == f"{folder}: the folder is empty, nothing to read"
    doc = json.loads(_run("--format", "json", str(folder)).stdout)
    assert doc["notes"] == [f"{folder}: the folder is empty, nothing to read"]
    assert doc["files"] == [] and doc["skipped"] == [] and doc["summary"]["files"] == 0


def test_expand_paths_reports_skips_to_every_caller(tmp_path):
    folder = _folder(tmp_path, frag_835=FRAGMENT)
    notes: list[str] = []
    skipped: list[Skipped] = []
    assert expand_paths([folder], notes, skipped=skipped) == []
    assert [s.path.name for s in skipped] == ["frag.835"] and skipped[0].x12
    assert notes == [skipped[0].note()]
