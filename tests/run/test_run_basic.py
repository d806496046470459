"""`cob init` + `cob run` end to end: what a night's run produces, and the properties scripts rely on."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from click.testing import CliRunner

from cob.edi.reader import X12Reader
from cob.cli import main
from cob.billing.secondary import SecondaryOptions, run_secondary

from .conftest import NOW

BIN = Path(sys.executable).parent


def _claims(folder: Path) -> dict[tuple[str, str], dict]:
    """Every claim of every 837 under a folder, by (CLM01, payer), without envelope and HL numbering."""
    out = {}
    for f in sorted(folder.rglob("*.837")):
        for claim in X12Reader(f):
            data = claim.model_dump(mode="json", exclude={"header", "source", "billing_provider"})
            for level in ("subscriber", "patient"):
                if data.get(level):
                    data[level].pop("hl", None)
            out[(claim.claim_id, claim.payer.name.id)] = data
    return out


def test_init_writes_a_config_that_works_as_written(tmp_path, sample_set):
    """`cob init DIR` then `cob run --config DIR/cob.toml` (the real console script, IG validation on):
    every folder exists, the sample is billed, inputs are archived, reports are written, exit 0."""
    site = tmp_path / "cob"
    out = subprocess.run([str(BIN / "cob"), "init", str(site)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    for name in ("inbox", "outbox", "archive", "rejected", "reports"):
        assert (site / name).is_dir()
    text = (site / "cob.toml").read_text()
    assert text.count("\n#") > 10  # commented
    old = time.time() - 3600  # dropped during the night: settled (the default settle time is 60 s)
    for f in sample_set.glob("*.83?"):
        (site / "inbox" / f.name).write_bytes(f.read_bytes())
        os.utime(site / "inbox" / f.name, (old, old))
    run = subprocess.run([str(BIN / "cob"), "run", "--config", str(site / "cob.toml")], capture_output=True,
                         text=True, env={"PATH": "/usr/bin:/bin", "COB_NOW": NOW.isoformat()})
    assert run.returncode == 0, run.stderr
    assert run.stderr == ""  # silent when not on a terminal
    assert sorted(p.name for p in (site / "inbox").iterdir()) == []
    assert len(list((site / "archive").iterdir())) == 10
    outputs = sorted(p.name for p in (site / "outbox").iterdir())
    assert len(outputs) == 7 and all(re.fullmatch(r"\d{5}-\d{9}\.837", n) for n in outputs)
    reports = sorted(p.name for p in (site / "reports").iterdir())
    # index.html and nights.json (the morning pages over the nights), then the run's page, report, log, summary
    assert [r.rsplit(".", 1)[-1] for r in reports] == ["html", "json", "html", "json", "jsonl", "txt"]
    report = json.loads((site / "reports" / reports[3]).read_text())
    assert report["summary"]["billed"] == 21 and report["summary"]["held"] == 1
    assert report["run"]["exit_code"] == 0 and len(report["run"]["outputs"]) == 7


def test_run_builds_the_same_claims_as_cob_secondary(make_site, sample_set, tmp_path, backend):
    """With IG validation on: the claims `cob run` sends equal those `cob secondary` builds from the same
    files (only HL numbering differs), the summary counts match, and a second run sends nothing."""
    site = make_site()
    site.drop(sample_set)
    result = site.run(validate=True)
    assert result.exit_code == 0
    secondary = run_secondary(sorted(sample_set.glob("claims-*.837")), sorted(sample_set.glob("*.835")),
                              SecondaryOptions(out_dir=tmp_path / "secondary", now=NOW))
    ours = _claims(site.outbox)
    assert len(ours) == secondary.summary.billed == result.report.summary.billed == 21
    assert ours == _claims(tmp_path / "secondary")
    assert result.report.summary.by_reason == secondary.summary.by_reason
    again = site.run()
    assert again.exit_code == 0 and again.report.summary.claims == 0 and again.report.run.outputs == []
    assert len(site.outbox_files()) == 7


def test_duplicate_drop_is_archived_and_processed_once(make_site, sample_set):
    site = make_site()
    site.drop(sample_set)
    first = site.run()
    before = site.outbox_files()
    site.drop(sample_set, "remit-0001.835")  # same content again, next night
    (site.inbox / "copy-of-claims.837").write_bytes((sample_set / "claims-0002.837").read_bytes())
    second = site.run()
    assert second.exit_code == 0
    assert [d.disposition for d in second.report.run.inputs] == ["duplicate", "duplicate"]
    assert site.listing("archive/duplicates") == ["copy-of-claims.837", "remit-0001.835"]
    assert site.outbox_files() == before and second.report.summary.claims == 0
    snap = site.snapshot()
    assert len(snap["inputs"]) == 10 and len(snap["duplicates"]) == 2
    assert first.report.summary.billed == len(snap["emitted"]) == 21


def test_same_content_twice_in_one_drop(make_site, sample_set):
    site = make_site()
    site.drop(sample_set)
    (site.inbox / "zz-again.835").write_bytes((sample_set / "remit-0002.835").read_bytes())
    result = site.run()
    dispositions = {d.file: d.disposition for d in result.report.run.inputs}
    assert dispositions["zz-again.835"] == "duplicate" and dispositions["remit-0002.835"] == "archived"
    assert result.report.summary.billed == 21


def test_workers_do_not_change_the_outcome(make_site, fixture_set):
    """Parsing in 2 processes gives byte-identical outputs and the same state as 1 process."""
    one, two = make_site("one"), make_site("two")
    one.drop(fixture_set)
    two.drop(fixture_set)
    assert one.run(workers=1).exit_code == two.run(workers=2).exit_code
    assert one.outbox_files() == two.outbox_files() and one.outbox_files()
    assert one.snapshot() == two.snapshot()


def test_dry_run_changes_nothing(make_site, sample_set):
    site = make_site()
    site.drop(sample_set)
    dry = site.run(dry_run=True)
    assert dry.report.summary.billed == 21 and dry.report.run.dry_run
    assert "dry run" in dry.summary_path.read_text()
    assert site.outbox_files() == {} and len(list(site.inbox.iterdir())) == 10
    assert site.listing("archive") == []
    snap = site.snapshot()
    assert snap["inputs"] == [] and snap["emitted"] == [] and snap["control_numbers"] == []
    real = site.run()
    assert real.report.summary.billed == 21
    assert sorted(o.file for o in real.report.run.outputs) == sorted(o.file for o in dry.report.run.outputs)


def test_payer_subfolders(make_site, sample_set):
    site = make_site(extra="")
    text = site.config_path.read_text().replace("payer_subfolders = false", "payer_subfolders = true")
    site.config_path.write_text(text)
    site.drop(sample_set)
    site.run()
    files = site.outbox_files()
    assert len(files) == 7 and all(name.split("/")[1].startswith(name.split("/")[0] + "-") for name in files)


def test_log_and_reports_carry_no_phi(make_site, sample_set):
    """The JSON-lines log, the JSON report and the summary hold no patient names, member ids or birth dates
    of the fixtures (names and ids read from the input files themselves)."""
    site = make_site()
    site.drop(sample_set)
    (site.inbox / "broken.837").write_text((sample_set / "claims-0001.837").read_text()[:3000])
    result = site.run()
    phi: set[str] = set()
    for f in sample_set.glob("*.83?"):
        for seg in re.split(r"~\r?\n?", f.read_text()):
            el = re.split(r"[*|]", seg)
            if el[0] == "NM1" and len(el) > 3 and el[1] in ("IL", "QC"):
                phi.add(el[3])
                if len(el) > 9 and el[9]:
                    phi.add(el[9])
            if el[0] == "DMG" and len(el) > 2:
                phi.add(el[2])
    phi = {p for p in phi if len(p) >= 4}
    assert len(phi) > 40
    texts = {p.name: p.read_text() for p in site.root.joinpath("reports").iterdir()}
    assert {n.rsplit(".", 1)[-1] for n in texts} == {"json", "jsonl", "txt", "html"}  # html: the run page, index
    for name, text in texts.items():
        leaked = sorted(p for p in phi if p in text)
        assert not leaked, f"{name} holds PHI: {leaked[:3]}"
    log = [json.loads(line) for line in result.log_path.read_text().splitlines()]
    assert log[0]["event"] == "run_start" and log[-1]["event"] == "run_end"
    assert any(e["event"] == "input_rejected" and e["file"] == "broken.837" for e in log)


def test_cli_exit_codes_and_status(tmp_path, sample_set, monkeypatch):
    runner = CliRunner()
    missing = runner.invoke(main, ["run", "--config", str(tmp_path / "nope.toml")])
    assert missing.exit_code == 2 and "nope.toml" in missing.output
    bad = tmp_path / "bad.toml"
    bad.write_text("[folders]\ninbox = 'in'\nmax_wiat_days = 3\n")
    out = runner.invoke(main, ["run", "--config", str(bad)])
    assert out.exit_code == 2 and "unknown key folders.max_wiat_days" in out.output
    site = tmp_path / "site"
    assert runner.invoke(main, ["init", str(site)]).exit_code == 0
    toml = site / "cob.toml"
    toml.write_text(toml.read_text().replace("settle_seconds = 60", "settle_seconds = 0"))  # read at once
    for f in sample_set.glob("claims-*.837"):
        (site / "inbox" / f.name).write_bytes(f.read_bytes())
    (site / "inbox" / "notes.txt").write_text("hello")
    monkeypatch.setenv("COB_NOW", "2026-03-02T01:30:00")
    monkeypatch.setenv("COB_SKIP_IG_VALIDATION", "1")
    run = runner.invoke(main, ["run", "--config", str(site / "cob.toml"), "--workers", "1"])
    assert run.exit_code == 1  # notes.txt was quarantined
    assert "quarantined notes.txt: notes.txt: not an X12 file" in run.output
    assert (site / "rejected" / "notes.txt").read_text() == "hello"
    assert "not an X12 file" in (site / "rejected" / "notes.txt.reason.txt").read_text()
    status = runner.invoke(main, ["status", "--config", str(site / "cob.toml"), "--format", "json"])
    assert status.exit_code == 0
    data = json.loads(status.output)
    assert len(data["waiting"]) == 24 and {w["reason"] for w in data["waiting"]} == {"awaiting_remittance"}
    assert data["stale"] == []


def test_run_batch_reports_progress_through_a_callback(tmp_path, sample_set):
    """The library draws nothing: it tells `progress(done, total, label)` and the CLI draws the bars."""
    from cob.run.config import init_folder, load_config
    from cob.run.runner import RunOptions, run_batch

    path = init_folder(tmp_path / "site")
    path.write_text(path.read_text().replace("settle_seconds = 60", "settle_seconds = 0"))  # read at once
    config = load_config(path)
    for f in sorted(sample_set.glob("*.83?")):
        (tmp_path / "site" / "inbox" / f.name).write_bytes(f.read_bytes())
    calls: list[tuple[int, int, str]] = []
    result = run_batch(config, RunOptions(now=NOW, validate=False, workers=1,
                                          progress=lambda d, t, label: calls.append((d, t, label))))
    assert result.exit_code == 0
    reading = [c for c in calls if c[2] == "reading inputs"]
    billing = [c for c in calls if c[2] == "billing claims"]
    assert reading == [(n, 10, "reading inputs") for n in range(11)]  # 4 claim files and 6 835s
    assert billing == [(0, 24, "billing claims"), (24, 24, "billing claims")]  # 24 claims, billed in one chunk
    assert calls == reading + billing  # phases in order, nothing else


def test_cli_quiet_verbose_and_status_formats(tmp_path, sample_set, monkeypatch):
    runner = CliRunner()
    site = tmp_path / "site"
    assert runner.invoke(main, ["init", "-q", str(site)]).output == ""
    toml = site / "cob.toml"
    toml.write_text(toml.read_text().replace("settle_seconds = 60", "settle_seconds = 0"))  # read at once
    verbose_init = runner.invoke(main, ["init", "-v", str(site)])
    assert verbose_init.output.splitlines()[0] == f"kept existing {site / 'cob.toml'}"
    assert f"  {site / 'archive'}/" in verbose_init.output.splitlines()
    for f in sample_set.glob("*.83?"):
        (site / "inbox" / f.name).write_bytes(f.read_bytes())
    monkeypatch.setenv("COB_NOW", "2026-03-02T01:30:00")
    monkeypatch.setenv("COB_SKIP_IG_VALIDATION", "1")
    config = str(site / "cob.toml")
    dry = runner.invoke(main, ["run", "-q", "--dry-run", "--format", "json", "--config", config, "--workers", "1"])
    assert dry.exit_code == 0 and dry.stderr == ""
    report = json.loads(dry.stdout)
    assert (report["summary"]["billed"], report["summary"]["held"], report["run"]["dry_run"]) == (21, 1, True)
    quiet = runner.invoke(main, ["run", "-q", "--config", config, "--workers", "1"])
    assert (quiet.exit_code, quiet.output) == (0, "")
    (site / "inbox" / "claims-0001.837").write_bytes((sample_set / "claims-0001.837").read_bytes())
    verbose = runner.invoke(main, ["run", "-v", "--config", config, "--workers", "1"])
    assert verbose.exit_code == 0
    lines = verbose.stderr.splitlines()
    assert any(line.startswith("report: ") for line in lines) and any(line.startswith("log: ") for line in lines)
    assert len(lines) > 4  # the morning summary, off a terminal, because -v asked for it

    text = runner.invoke(main, ["status", "--config", config])
    assert text.exit_code == 0 and "Waiting: 1 claim(s), 0 stale" in text.stdout
    assert "  PCN00100000013  0 days  patient_not_identified  " in text.stdout
    assert runner.invoke(main, ["status", "-q", "--config", config]).output == ""  # nothing stale
    monkeypatch.setenv("COB_NOW", "2026-06-01T08:00:00")
    stale = runner.invoke(main, ["status", "-q", "--config", config])
    assert stale.stdout.startswith("  STALE PCN00100000013  91 days  patient_not_identified  ")
    assert len(stale.stdout.splitlines()) == 1
    data = json.loads(runner.invoke(main, ["status", "--config", config, "--format", "json"]).stdout)
    assert data["stale"] == ["PCN00100000013"] and data["waiting"][0]["days"] == 91
    assert runner.invoke(main, ["status", "--config", config, "--json"]).exit_code == 2  # one way: --format json
