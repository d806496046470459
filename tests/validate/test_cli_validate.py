"""`cob validate`: exit codes, text and JSON reports, acknowledgments, folders, limits, no patient data."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from cob.cli import main

DATA = Path(__file__).parent.parent / "data"


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def _bad_count(tmp_path: Path) -> Path:
    bad = tmp_path / "bad.837"
    bad.write_text((DATA / "cob-claim.837").read_text().replace("SE*45*0001", "SE*9*0001"))
    return bad


def _bad_code(tmp_path: Path) -> Path:
    """CLM06 (provider signature) 'Q' is not a valid code: an element error inside the claim."""
    text = (DATA / "cob-claim.837").read_text()
    clm = next(line for line in text.splitlines() if line.startswith("CLM*"))
    parts = clm.rstrip("~").split("*")
    parts[6] = "Q"
    bad = tmp_path / "bad-code.837"
    bad.write_text(text.replace(clm, "*".join(parts) + "~"))
    return bad


def test_valid_file_exit_0_text():
    result = run("validate", str(DATA / "cob-claim.837"))
    assert result.exit_code == 0
    assert result.output.startswith(f"{DATA / 'cob-claim.837'}: valid (49 segments, 1 claims, 0 errors")


def test_invalid_file_exit_1_text_names_segment_claim_and_masks_values(tmp_path: Path):
    bad = _bad_code(tmp_path)
    result = run("validate", str(bad))
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0] == f"{bad}: INVALID (49 segments, 1 claims, 1 errors, 0 warnings)"
    assert lines[1] == " claim PCN123:"
    assert lines[2] == ("  segment 21 CLM [2300]: error SNIP 2 element_invalid_code: CLM06 (Provider or Supplier "
                        "Signature Indicator): not a valid code")
    assert lines[3] == "      CLM*######*250***11:B:1*Q*A*Y*Y"  # ids masked, codes and amounts shown


def test_json_schema(tmp_path: Path):
    bad = _bad_count(tmp_path)
    result = run("validate", "--format", "json", str(DATA / "cob-claim.837"), str(bad))
    assert result.exit_code == 1
    doc = json.loads(result.output)
    assert doc["summary"] == {"files": 2, "valid": 1, "invalid": 1, "errors": 1, "warnings": 0, "skipped": 0}
    good, worse = doc["files"]
    assert (good["valid"], good["errors"], good["warnings"]) == (True, [], [])
    assert set(worse) == {"file", "valid", "segments", "claims", "truncated", "errors", "warnings"}
    (err,) = worse["errors"]
    assert err["code"] == "se_count" and err["ik5"] == "4" and err["segment_id"] == "SE"
    assert err["snip"] == 1 and err["severity"] == "error" and err["segment_no"] == 47


def test_directory_skips_non_x12_and_reports_each_file(tmp_path: Path):
    (tmp_path / "notes.txt").write_text("not x12")
    (tmp_path / "a.837").write_text((DATA / "cob-claim.837").read_text())
    (tmp_path / "b.835").write_text((DATA / "primary-remit.835").read_text())
    result = CliRunner().invoke(main, ["validate", "--format", "json", str(tmp_path)])
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    assert [Path(f["file"]).name for f in doc["files"]] == ["a.837", "b.835"]


def test_usage_errors_exit_2(tmp_path: Path):
    assert run("validate").exit_code == 2
    assert CliRunner().invoke(main, ["validate", str(tmp_path / "missing.837")]).exit_code == 2
    assert CliRunner().invoke(main, ["validate", "--snip", "9", str(DATA / "cob-claim.837")]).exit_code == 2
    assert CliRunner().invoke(main, ["validate", "--max-errors", "0", str(DATA / "cob-claim.837")]).exit_code == 2


def test_max_errors_stops_and_says_so(tmp_path: Path):
    text = (DATA / "cob-claim.837").read_text()
    bad = tmp_path / "many.837"
    # three bad LX numbers and a bad SE count: four errors
    bad.write_text(text.replace("LX*1~", "LX*7~").replace("LX*2~", "LX*8~").replace("SE*45*0001", "SE*9*0001"))
    full = json.loads(run("validate", "--format", "json", str(bad)).output)["files"][0]
    assert len(full["errors"]) >= 3 and not full["truncated"]
    limited = json.loads(run("validate", "--format", "json", "--max-errors", "1", str(bad)).output)["files"][0]
    assert len(limited["errors"]) == 1 and limited["truncated"]


def test_ack_folder_gets_a_999_and_numbers_keep_increasing(tmp_path: Path):
    bad = _bad_count(tmp_path)
    acks = tmp_path / "acks"
    assert run("validate", "--ack", str(acks), str(bad)).exit_code == 1
    assert run("validate", "--ack", str(acks), str(DATA / "cob-claim.837")).exit_code == 0
    files = sorted(p for p in acks.iterdir() if p.suffix == ".999")
    assert len(files) == 2
    texts = {p.name.split(".")[0]: p.read_text() for p in files}
    assert "IK5*R*4~" in texts["bad"] and "AK9*R*1*1*0~" in texts["bad"]
    assert "IK5*A~" in texts["cob-claim"] and "AK9*A*1*1*1~" in texts["cob-claim"]
    isa13 = sorted(t.split("~", 1)[0].split("*")[13] for t in texts.values())
    assert isa13 == ["000000001", "000000002"]
    assert (acks / ".cob-ack-control").read_text() == "2"


def test_no_patient_data_in_any_output(tmp_path: Path):
    """The claim's patient and subscriber names and member id never appear in the report."""
    bad = _bad_code(tmp_path)
    text = (DATA / "cob-claim.837").read_text()
    nm1 = [line.rstrip("~").split("*") for line in text.splitlines() if line.startswith("NM1*IL")]
    secrets = {v for parts in nm1 for v in (parts[3], parts[4], parts[9]) if v}
    assert secrets
    for fmt in ("text", "json"):
        out = run("validate", "--format", fmt, str(bad)).output
        for secret in secrets:
            assert secret not in out


# ------------------------------------------------------------------------------------ conventions

def test_stdin_text_and_json(tmp_path: Path):
    text = (DATA / "cob-claim.837").read_bytes()
    result = CliRunner().invoke(main, ["validate", "-"], input=text)
    assert result.exit_code == 0
    assert result.stdout == "<stdin>: valid (49 segments, 1 claims, 0 errors, 0 warnings)\n"
    bad = _bad_count(tmp_path).read_bytes()
    doc = json.loads(CliRunner().invoke(main, ["validate", "--format", "json", "-", str(DATA / "primary-remit.835")],
                                        input=bad).stdout)
    assert [f["file"] for f in doc["files"]] == ["<stdin>", str(DATA / "primary-remit.835")]
    (err,) = doc["files"][0]["errors"]
    assert (err["code"], err["file"], err["segment_no"]) == ("se_count", "<stdin>", 47)
    assert doc["summary"] == {"files": 2, "valid": 1, "invalid": 1, "errors": 1, "warnings": 0, "skipped": 0}


def test_stdin_acks_are_filed_as_stdin(tmp_path: Path):
    acks = tmp_path / "acks"
    result = CliRunner().invoke(main, ["validate", "--ack", str(acks), "-"], input=_bad_count(tmp_path).read_bytes())
    assert result.exit_code == 1
    assert sorted(p.name for p in acks.iterdir()) == [".cob-ack-control", "stdin.000000101.999"]
    assert "IK5*R*4~" in (acks / "stdin.000000101.999").read_text()
    assert f"<stdin>: wrote {acks / 'stdin.000000101.999'}" in result.stderr


def test_quiet_prints_only_invalid_files(tmp_path: Path):
    good = CliRunner().invoke(main, ["validate", "-q", str(DATA / "cob-claim.837"), str(DATA / "primary-remit.835")])
    assert (good.exit_code, good.output) == (0, "")
    bad = _bad_code(tmp_path)
    mixed = CliRunner().invoke(main, ["validate", "--quiet", str(DATA / "cob-claim.837"), str(bad)])
    assert mixed.exit_code == 1
    assert mixed.stdout.splitlines()[0] == f"{bad}: INVALID (49 segments, 1 claims, 1 errors, 0 warnings)"
    assert str(DATA / "cob-claim.837") not in mixed.output and "files:" not in mixed.output
    as_json = CliRunner().invoke(main, ["validate", "-q", "--format", "json", str(DATA / "cob-claim.837")])
    assert json.loads(as_json.stdout)["summary"]["valid"] == 1  # JSON asked for is still written


def test_verbose_adds_sizes_and_the_summary():
    result = CliRunner().invoke(main, ["validate", "-v", str(DATA / "cob-claim.837")])
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        f"{DATA / 'cob-claim.837'}: valid (49 segments, 1 claims, 0 errors, 0 warnings)", "1 files: 1 valid, 0 invalid"]
    assert result.stderr.startswith(f"{DATA / 'cob-claim.837'}: {(DATA / 'cob-claim.837').stat().st_size} bytes in ")


def test_validate_files_library_call_reports_progress_over_all_bytes(tmp_path: Path):
    from cob.edi.validate import validate_files

    calls = []
    files = [DATA / "cob-claim.837", DATA / "primary-remit.835"]
    sizes = [f.stat().st_size for f in files]
    done = list(validate_files(files, progress=lambda d, t, label: calls.append((d, t, label))))
    assert [v.result.valid for v in done] == [True, True] and [v.size for v in done] == sizes
    total = sum(sizes)
    assert calls[0] == (0, total, "validating") and calls[-1] == (total, total, "validating")
    assert [c[0] for c in calls] == sorted(c[0] for c in calls) and {c[1] for c in calls} == {total}
    assert (sizes[0], total, "validating") in calls  # the first file's end
