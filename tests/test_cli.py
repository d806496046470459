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


# ------------------------------------------------------------------------------------ conventions

import ast
import os
import re
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path


from cob.cli import EPILOG_MAIN, conventions

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "cob" / "fixtures" / "sample"
COB = Path(sys.executable).parent / "cob"


def invoke(*args: str, input: str | bytes | None = None, env: dict | None = None):
    return CliRunner().invoke(main, list(args), input=input, env=env, catch_exceptions=False)


def test_no_module_outside_cli_imports_click():
    """Library code never imports click: only cob/cli draws and parses the command line."""
    offenders = []
    for path in sorted((ROOT / "cob").rglob("*.py")):
        if path.relative_to(ROOT / "cob").parts[0] == "cli":
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            if any(n == "click" or n.startswith("click.") for n in names):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []
    assert len(list((ROOT / "cob").rglob("*.py"))) > 40  # the walk saw the package


def test_every_command_help_has_examples_and_the_common_options():
    names = main.list_commands(None)
    assert names == ["codesets", "estimate", "fixtures", "init", "order", "parse", "run", "secondary", "status", "validate"]
    for name in names:
        text = invoke(name, "--help").output
        assert "Examples:" in text, name
        examples = [line.strip() for line in text.split("Examples:", 1)[1].splitlines() if line.strip()]
        assert any(f"cob {name}" in line for line in examples), name
        assert "--quiet" in text and "--verbose" in text, name


def test_main_help_examples_run_outside_the_clone(tmp_path, monkeypatch):
    """Every `cob ...` line of `cob --help` works from any folder: no make, no paths into the clone."""
    text = invoke("--help").output
    assert "make demo" not in text and "fixtures/sample" not in text
    lines = [line.split("#", 1)[0].strip() for line in EPILOG_MAIN.splitlines() if line.strip().startswith("cob ")]
    assert len(lines) == 5 and all(line in text for line in lines)
    monkeypatch.chdir(tmp_path)
    for line in lines:
        args = shlex.split(line.replace("/tmp/", f"{tmp_path}/"))[1:]
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0, (line, result.output)
    assert len(list((tmp_path / "fx").glob("claims-*.837"))) == 1
    report = json.loads((tmp_path / "fx-report.json").read_text())
    assert report["summary"]["claims"] == 100 and report["summary"]["rejected"] == 0
    assert (tmp_path / "fx-site" / "cob.toml").is_file()


def test_shell_completion_script_and_completions():
    script = CliRunner().invoke(main, [], prog_name="cob", env={"_COB_COMPLETE": "bash_source"})
    assert script.exit_code == 0
    assert "_cob_completion()" in script.output and "complete -o nosort -F _cob_completion cob" in script.output
    zsh = CliRunner().invoke(main, [], prog_name="cob", env={"_COB_COMPLETE": "zsh_source"})
    assert "#compdef cob" in zsh.output
    words = CliRunner().invoke(main, [], prog_name="cob",
                               env={"_COB_COMPLETE": "bash_complete", "COMP_WORDS": "cob val", "COMP_CWORD": "1"})
    assert words.output.split() == ["plain,validate"]  # a lazily loaded command completes too
    options = CliRunner().invoke(main, [], prog_name="cob", env={
        "_COB_COMPLETE": "bash_complete", "COMP_WORDS": "cob status --for", "COMP_CWORD": "2"})
    assert options.output.split() == ["plain,--format"]


def test_quiet_and_verbose_exclude_each_other():
    result = CliRunner().invoke(main, ["parse", "-q", "-v", str(DATA / "cob-claim.837")])
    assert result.exit_code == 2 and "--quiet and --verbose exclude each other" in result.output


# ------------------------------------------------------------------------------------ parse

def test_parse_reads_stdin_and_names_it(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    result = invoke("parse", "-", input=(DATA / "cob-claim.837").read_bytes())
    assert result.exit_code == 0, result.output
    (line,) = result.stdout.splitlines()
    claim = json.loads(line)
    assert claim["clm"]["patient_control_number"] == "PCN123" and claim["clm"]["total_charge"] == "250"
    assert claim["source"]["file"] == "<stdin>" and claim["source"]["segment_no"] == 21
    assert list(tmp_path.iterdir()) == []  # the spooled copy is gone


def test_parse_stdin_problem_is_located_as_stdin():
    text = (DATA / "cob-claim.837").read_text().replace("SE*45*0001", "SE*9*0001")
    result = CliRunner().invoke(main, ["parse", "-", str(DATA / "primary-remit.835")], input=text)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == ["<stdin>: segment 47 (SE): SE01 says 9, the set has 45 segments"]
    assert json.loads(result.stdout.splitlines()[-1])["clp"]["patient_control_number"] == "PCN123"  # the 835


def test_stdin_spool_is_private_and_removed(monkeypatch):
    seen = {}

    class Stdin:
        def __init__(self):
            self.data = [b"ISA*hello", b""]

        def read(self, n=-1):
            return self.data.pop(0)

    monkeypatch.setattr(conventions.sys, "stdin", type("In", (), {"buffer": Stdin()})())
    with conventions.stdin_spooled(["a.837", "-"]) as (paths, names):
        spooled = Path(paths[1])
        seen["mode"] = spooled.stat().st_mode & 0o777
        seen["text"] = spooled.read_bytes()
        assert paths[0] == "a.837" and names == {spooled: "<stdin>"}
    assert seen == {"mode": 0o600, "text": b"ISA*hello"}
    assert not spooled.exists()


def test_stdin_only_once():
    result = CliRunner().invoke(main, ["parse", "-", "-"], input="")
    assert result.exit_code == 2 and "only once" in result.output


def test_parse_summary_json_and_text():
    result = invoke("parse", "--summary", "--format", "json", str(DATA / "cob-claim.837"), str(DATA / "primary-remit.835"))
    assert result.exit_code == 0
    docs = [json.loads(line) for line in result.stdout.splitlines()]
    assert docs == [
        {"file": str(DATA / "cob-claim.837"), "transactions": ["837"], "items": 1, "errors": 0, "warnings": 0},
        {"file": str(DATA / "primary-remit.835"), "transactions": ["835"], "items": 1, "errors": 0, "warnings": 0}]
    text = invoke("parse", "--summary", str(DATA / "cob-claim.837")).stdout
    assert text == f"{DATA / 'cob-claim.837'}\t837\t1 items\t0 errors\t0 warnings\n"
    assert CliRunner().invoke(main, ["parse", "--format", "text", str(DATA / "cob-claim.837")]).exit_code == 2


def test_parse_quiet_and_verbose(tmp_path):
    quiet = invoke("parse", "--summary", "-q", str(SAMPLE))  # the folder holds README.md and manifest.jsonl
    assert (quiet.exit_code, quiet.output) == (0, "")
    normal = invoke("parse", "--summary", str(SAMPLE))
    assert f"{SAMPLE / 'README.md'}: skipped, not an X12 file" in normal.stderr
    assert len(normal.stdout.splitlines()) == 10
    verbose = invoke("parse", "-v", str(DATA / "cob-claim.837"))
    assert verbose.stderr == f"{DATA / 'cob-claim.837'}: 837, 1 items, 0 errors, 0 warnings\n"
    assert json.loads(verbose.stdout)["clm"]["patient_control_number"] == "PCN123"
    bad = tmp_path / "bad.837"
    bad.write_text("not x12 at all")
    failed = CliRunner().invoke(main, ["parse", "-q", "--summary", str(DATA / "cob-claim.837"), str(bad)])
    assert failed.exit_code == 1
    assert failed.stdout == f"{bad}\t-\t0 items\t1 errors\t0 warnings\n"  # only the file with a problem
    assert failed.stderr == f"{bad}: segment 1: does not look like an X12 file: it does not start with ISA\n"


def test_parse_into_a_closed_pipe_is_quiet():
    """`cob parse big.837 | head -1`: the reader goes away; no traceback, no 'cannot read' message."""
    proc = subprocess.run(f"'{COB}' parse '{SAMPLE / 'claims-0001.837'}' | head -c 10",
                          shell=True, capture_output=True, text=True, timeout=120)
    assert proc.stdout == '{"other_se'
    assert proc.stderr == ""


# ------------------------------------------------------------------------------------ fixtures, secondary

def test_fixtures_quiet_and_verbose(tmp_path):
    quiet = invoke("fixtures", "-q", "--out", str(tmp_path / "a"), "--claims", "10")
    assert (quiet.exit_code, quiet.output) == (0, "")
    verbose = invoke("fixtures", "-v", "--out", str(tmp_path / "b"), "--claims", "10")
    assert f"  {tmp_path / 'b' / 'claims-0001.837'}" in verbose.stderr.splitlines()


def _secondary(tmp_path, *extra: str, **kw):
    return CliRunner().invoke(main, ["secondary", "--claims", str(SAMPLE), "--remit", str(SAMPLE),
                                     "--out", str(tmp_path / "out"), *extra], **kw)


def test_secondary_report_to_stdout(tmp_path):
    result = _secondary(tmp_path, "--report", "-")
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    assert report["summary"]["claims"] == 24
    assert (report["summary"]["billed"], report["summary"]["skipped"], report["summary"]["held"]) == (21, 2, 1)
    assert "cob secondary: 24 claims: 21 billed, 2 skipped, 1 held, 0 rejected" in result.stderr
    assert "cob secondary" not in result.stdout


def test_secondary_quiet_prints_nothing_on_success_and_verbose_more(tmp_path):
    quiet = _secondary(tmp_path, "-q")
    assert (quiet.exit_code, quiet.output) == (0, "")
    normal = _secondary(tmp_path)
    verbose = _secondary(tmp_path, "-v")
    assert verbose.exit_code == 0
    assert f"input {SAMPLE / 'claims-0001.837'} (837): ok" in verbose.stderr
    assert len(verbose.stderr.splitlines()) == len(normal.stderr.splitlines()) + 10  # one line per input file


def test_secondary_quiet_still_prints_errors(tmp_path):
    bad = tmp_path / "bad.835"
    bad.write_text((DATA / "primary-remit.835").read_text().replace("SE*", "SE*99", 1))
    result = CliRunner().invoke(main, ["secondary", "-q", "--claims", str(DATA / "cob-claim.837"), "--remit", str(bad),
                                       "--out", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith(f"{bad}: segment ")


def test_no_progress_bar_off_a_terminal(tmp_path):
    """CliRunner's stderr is not a terminal: no bar, and the library gets no callback at all."""
    result = _secondary(tmp_path)
    assert "reading inputs" not in result.stderr and "%" not in result.stderr
    validate = invoke("validate", str(DATA / "cob-claim.837"))
    assert validate.stderr == ""


def test_progress_bars_when_stderr_is_a_terminal(tmp_path, monkeypatch):
    """With the terminal check forced, the library's progress reaches click's bars (which, on a stream
    that is not a terminal, print their label once)."""
    monkeypatch.setattr(conventions, "stderr_is_terminal", lambda: True)
    result = _secondary(tmp_path)
    assert result.exit_code == 0
    assert result.stderr.splitlines()[:2] == ["reading inputs", "checking outputs"]
    validate = invoke("validate", str(DATA / "cob-claim.837"), str(DATA / "primary-remit.835"))
    assert validate.stderr.splitlines() == ["validating"]
    assert invoke("validate", "-q", str(DATA / "cob-claim.837")).output == ""  # --quiet: no bar either


def _on_a_pty(args: list[str]) -> tuple[int, bytes, bytes]:
    import pty

    master, slave = pty.openpty()
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=slave, stdin=subprocess.DEVNULL)
    os.close(slave)
    err = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed its end
            break
        if not chunk:
            break
        err += chunk
    out = proc.stdout.read()
    proc.wait(timeout=120)
    os.close(master)
    return proc.returncode, out, err


def test_progress_bars_drawn_on_a_real_terminal(tmp_path):
    code, out, err = _on_a_pty([str(COB), "validate", str(DATA / "cob-claim.837"), str(DATA / "primary-remit.835")])
    assert code == 0
    assert re.search(rb"validating +\[#+\] +100%", err)
    assert out.decode().splitlines()[-1] == "2 files: 2 valid, 0 invalid"
    code, out, err = _on_a_pty([str(COB), "secondary", "--claims", str(SAMPLE), "--remit", str(SAMPLE),
                                "--out", str(tmp_path / "out")])
    assert code == 0 and out == b""
    assert re.search(rb"reading inputs +\[#+\] +100%", err) and b"cob secondary: 24 claims" in err
