"""The `cob` command line: exit codes, messages, JSON lines."""

from __future__ import annotations

import json

from click.testing import CliRunner

from cob.cli import main

from conftest import DATA


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_version_and_help():
    assert run("--version").output.startswith("cob, version ")
    result = run("--help")
    assert result.exit_code == 0 and "parse" in result.output and "Examples" in result.output
    assert "cob parse claims.837" in run("parse", "--help").output


def test_parse_prints_one_json_claim_per_line():
    result = run("parse", str(DATA / "cob-claim.837"))
    assert result.exit_code == 0
    (line,) = result.output.splitlines()
    claim = json.loads(line)
    assert claim["clm"]["patient_control_number"] == "PCN123"
    assert claim["clm"]["total_charge"] == "250"
    assert claim["lines"][1]["adjudications"][0]["svd"]["paid"] == "16"
    assert claim["other_payers"][0]["sbr"]["payer_sequence"] == "P"


def test_parse_bad_input_exit_1_with_location(tmp_path):
    bad = tmp_path / "bad.837"
    bad.write_text((DATA / "cob-claim.837").read_text().replace("SE*45*0001", "SE*9*0001"))
    result = CliRunner().invoke(main, ["parse", str(bad)])
    assert result.exit_code == 1
    assert f"{bad}: segment 47 (SE): SE01 says 9, the set has 45 segments" in result.output
    assert "Traceback" not in result.output


def test_parse_goes_on_after_a_bad_file(tmp_path):
    bad = tmp_path / "a.837"
    bad.write_text("not x12 at all")
    result = CliRunner().invoke(main, ["parse", "--summary", str(bad), str(DATA / "cob-claim.837")])
    assert result.exit_code == 1
    assert "does not start with ISA" in result.output
    assert "cob-claim.837\t837\t1 items\t0 errors" in result.output


def test_usage_errors_exit_2(tmp_path):
    assert CliRunner().invoke(main, ["parse"]).exit_code == 2
    assert CliRunner().invoke(main, ["parse", str(tmp_path / "missing.837")]).exit_code == 2
    assert CliRunner().invoke(main, ["nonsense"]).exit_code == 2


def test_fixtures_command(tmp_path):
    result = run("fixtures", "--out", str(tmp_path / "fx"), "--claims", "12", "--seed", "5")
    assert result.exit_code == 0
    assert sorted(p.suffix for p in (tmp_path / "fx").glob("claims-*"))[0] == ".837"
    parsed = run("parse", "--summary", str(tmp_path / "fx"))
    assert parsed.exit_code == 0
    assert "\t837\t12 items\t0 errors" in parsed.output
