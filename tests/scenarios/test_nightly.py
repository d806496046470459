"""Issue 14 clauses 4 and 8: `cob secondary` run every night into one folder, and output locations checked
before any work. Hand-written inputs (`x12_text.py`); expected values written out by hand."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from cob.cli import main
from x12_text import Payment, Visit, claim_file, remit_file, write


def _cli(*args: str):
    return CliRunner().invoke(main, ["secondary", *args])


def _isa13(path: Path) -> str:
    return path.read_text()[90:99]


def _night(tmp_path: Path, name: str, claim_id: str, icn: str) -> tuple[Path, Path]:
    claims = write(tmp_path / f"{name}/claims.837", claim_file([Visit(claim_id, "20260302", "120")]))
    era = write(tmp_path / f"{name}/era.835", remit_file([Payment(claim_id, icn, "20260302", "120", "80", "20", "20")]))
    return claims, era


def test_two_runs_into_one_folder_continue_the_control_numbers_and_overwrite_nothing(tmp_path: Path):
    out = tmp_path / "out"
    c1, r1 = _night(tmp_path, "night1", "N1", "ICN1")
    assert _cli("--claims", str(c1), "--remit", str(r1), "--out", str(out)).exit_code == 0
    first = (out / "22222-000000001.837").read_bytes()
    c2, r2 = _night(tmp_path, "night2", "N2", "ICN2")
    assert _cli("--claims", str(c2), "--remit", str(r2), "--out", str(out)).exit_code == 0
    assert sorted(p.name for p in out.iterdir()) == [".cob-control.json", "22222-000000001.837",
                                                     "22222-000000002.837"]
    assert (out / "22222-000000001.837").read_bytes() == first
    assert _isa13(out / "22222-000000001.837") == "000000001"
    assert _isa13(out / "22222-000000002.837") == "000000002"
    assert json.loads((out / ".cob-control.json").read_text()) == {"senders": {"ZZ:SUBMIT01": 2}}


def test_a_lost_counter_file_still_overwrites_nothing(tmp_path: Path):
    out = tmp_path / "out"
    c1, r1 = _night(tmp_path, "night1", "N1", "ICN1")
    assert _cli("--claims", str(c1), "--remit", str(r1), "--out", str(out)).exit_code == 0
    first = (out / "22222-000000001.837").read_bytes()
    (out / ".cob-control.json").unlink()
    c2, r2 = _night(tmp_path, "night2", "N2", "ICN2")
    assert _cli("--claims", str(c2), "--remit", str(r2), "--out", str(out)).exit_code == 0
    assert (out / "22222-000000001.837").read_bytes() == first  # number 1's name was taken: 2 was used
    assert _isa13(out / "22222-000000002.837") == "000000002"


def test_control_file_option_keeps_the_counter_elsewhere(tmp_path: Path):
    counter = tmp_path / "state/control.json"
    c1, r1 = _night(tmp_path, "night1", "N1", "ICN1")
    args = ["--claims", str(c1), "--remit", str(r1), "--control-file", str(counter), "--control-start", "500"]
    assert _cli(*args, "--out", str(tmp_path / "a")).exit_code == 0
    assert _cli(*args, "--out", str(tmp_path / "b")).exit_code == 0
    assert [p.name for p in (tmp_path / "a").iterdir()] == ["22222-000000500.837"]
    assert [p.name for p in (tmp_path / "b").iterdir()] == ["22222-000000501.837"]
    assert json.loads(counter.read_text()) == {"senders": {"ZZ:SUBMIT01": 501}}


def test_out_may_not_be_an_input_folder(tmp_path: Path):
    c1, r1 = _night(tmp_path, "in", "N1", "ICN1")
    result = _cli("--claims", str(tmp_path / "in"), "--remit", str(tmp_path / "in"), "--out", str(tmp_path / "in"))
    assert result.exit_code == 2
    assert f"cob secondary: --out {tmp_path / 'in'} is also an input folder: the next run would read its own " \
           "output; choose another folder" in result.output
    assert sorted(p.name for p in (tmp_path / "in").iterdir()) == ["claims.837", "era.835"]


def test_an_unwritable_out_is_reported_before_any_work(tmp_path: Path):
    c1, r1 = _night(tmp_path, "in", "N1", "ICN1")
    blocker = write(tmp_path / "blocker", "not a folder")
    result = _cli("--claims", str(c1), "--remit", str(r1), "--out", str(blocker / "out"))
    assert result.exit_code == 2
    assert result.output.strip() == f"cob secondary: cannot write to {blocker / 'out'}: Not a directory"


def test_an_unwritable_report_is_reported_before_any_work(tmp_path: Path):
    c1, r1 = _night(tmp_path, "in", "N1", "ICN1")
    blocker = write(tmp_path / "blocker", "not a folder")
    result = _cli("--claims", str(c1), "--remit", str(r1), "--out", str(tmp_path / "out"),
                  "--report", str(blocker / "report.json"))
    assert result.exit_code == 2
    assert result.output.strip() == f"cob secondary: cannot write to {blocker}: Not a directory"
    assert not list((tmp_path / "out").glob("*.837"))


def test_the_same_835_or_claim_file_given_twice_is_found_by_content(tmp_path: Path):
    c1, r1 = _night(tmp_path, "in", "N1", "ICN1")
    c_copy = write(tmp_path / "again/claims-copy.837", c1.read_text())
    r_copy = write(tmp_path / "again/era-copy.835", r1.read_text())
    report = tmp_path / "report.json"
    result = _cli("--claims", str(c1), "--claims", str(c_copy), "--remit", str(r1), "--remit", str(r_copy),
                  "--out", str(tmp_path / "out"), "--report", str(report))
    assert result.exit_code == 0, result.output
    doc = json.loads(report.read_text())
    assert [(i["file"], i["status"], i["duplicate_of"]) for i in doc["inputs"]] == [
        (str(r1), "ok", None), (str(c1), "ok", None),
        (str(c_copy), "duplicate", str(c1)), (str(r_copy), "duplicate", str(r1))]
    assert [(c["claim_id"], c["status"]) for c in doc["claims"]] == [("N1", "billed")]


def test_paper_claims_run_twice_into_one_folder_overwrite_nothing(tmp_path: Path):
    """Payer 22222 takes paper: each night's PDF gets its own ISA13 name, also when the counter file is lost."""
    out = tmp_path / "out"
    c1, r1 = _night(tmp_path, "night1", "N1", "ICN1")
    assert _cli("--claims", str(c1), "--remit", str(r1), "--out", str(out), "--paper", "22222").exit_code == 0
    first = (out / "paper/22222-000000001.pdf").read_bytes()
    (out / ".cob-control.json").unlink()
    c2, r2 = _night(tmp_path, "night2", "N2", "ICN2")
    assert _cli("--claims", str(c2), "--remit", str(r2), "--out", str(out), "--paper", "22222").exit_code == 0
    assert sorted(p.name for p in (out / "paper").iterdir()) == ["22222-000000001.pdf", "22222-000000002.pdf"]
    assert (out / "paper/22222-000000001.pdf").read_bytes() == first


def test_an_output_that_cannot_be_written_is_blamed_on_our_folder(tmp_path: Path, monkeypatch):
    """The final link of the output fails (as on a folder that lost its write permission mid-run): the claim
    is rejected write_failed naming our output file and why; no input is blamed and nothing is left behind."""
    import cob.billing.output as output

    def refuse(tmp: Path, final: Path) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(output, "publish_new", refuse)
    c1, r1 = _night(tmp_path, "in", "N1", "ICN1")
    report = tmp_path / "report.json"
    result = _cli("--claims", str(c1), "--remit", str(r1), "--out", str(tmp_path / "out"), "--report", str(report))
    doc = json.loads(report.read_text())
    assert [(c["claim_id"], c["status"], c["reason"], c["detail"]) for c in doc["claims"]] == [
        ("N1", "rejected", "write_failed",
         f"our output file {tmp_path / 'out' / '22222-000000001.837'} could not be written: Permission denied")]
    assert [(i["file"], i["status"]) for i in doc["inputs"]] == [(str(r1), "ok"), (str(c1), "ok")]
    assert "internal error" not in result.output
    assert [p.name for p in (tmp_path / "out").iterdir()] == [".cob-control.json"]
