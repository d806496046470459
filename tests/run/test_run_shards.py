"""Billing on every core (`cob.run.shards`): the claims of a night cut into shards billed by worker processes.

The joined outputs must be the serial billing step's byte for byte (same claims, same order, same ISA13s and
file names, same state), and the crash guarantees of `cob run` must hold: a worker killed or a stop signal
while the shards are billed records nothing, and the rerun ends where an uninterrupted run ends.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cob.run import shards

from .conftest import NOW, Site

BIN = Path(sys.executable).parent


def _with_shards(site: Site, size: int = 3) -> Site:
    text = site.config_path.read_text().replace("shard_claims = 400", f"shard_claims = {size}")
    site.config_path.write_text(text)
    assert site.config.shard_claims == size
    return site


def _env(**extra: str) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "COB_NOW": NOW.isoformat(),
            "COB_SKIP_IG_VALIDATION": "1", **extra}


def _cob_run(site: Site, *args: str) -> list[str]:
    return [str(BIN / "cob"), "run", "--config", str(site.config_path), *args]


def _report(site: Site) -> dict:
    """The last run's JSON report, the site's own folder left out of the paths it names."""
    reports = sorted((site.root / "reports").glob("run-*.json"))
    return json.loads(reports[-1].read_text().replace(str(site.root), "<site>"))


def _decisions(report: dict) -> list[dict]:
    return report["claims"]


def _same_as(site: Site, ref: Site) -> None:
    assert site.outbox_files() == ref.outbox_files()
    assert site.snapshot() == ref.snapshot()
    assert site.listing("archive") == ref.listing("archive")
    assert not [p for p in site.outbox.rglob(".*") if p.name != ".cob-control.json"]  # no temp file left


def _group(pgid: int) -> list[str]:
    """Command lines of the live processes in process group `pgid`."""
    out = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and os.getpgid(int(proc.name)) == pgid:
                stat = (proc / "stat").read_bytes()
                if stat.rsplit(b")", 1)[1].split()[0] != b"Z":
                    out.append((proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"))
        except (OSError, ProcessLookupError):
            pass
    return out


def _group_gone(pgid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while _group(pgid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_cut_is_contiguous_and_in_order():
    ids = [f"C{n}" for n in range(10)]
    assert shards.cut(ids, 4) == [["C0", "C1", "C2", "C3"], ["C4", "C5", "C6", "C7"], ["C8", "C9"]]
    assert shards.cut(ids, 10) == [ids]
    assert shards.cut([], 4) == []


def test_billing_on_every_core_gives_the_serial_outputs(make_site, fixture_set):
    """Two nights (the primary's 835s and the claims, then the reprocessed 835s: reversals and replacements),
    billed serially and in shards of 3 by 2 workers with IG validation on: the same outbox byte for byte,
    the same state (statuses, emitted claims, control numbers, outputs), the same report."""
    serial = make_site("serial")
    sharded = _with_shards(make_site("sharded"))
    first = [f for f in sorted(fixture_set.iterdir()) if ".reprocessed." not in f.name]
    assert len(first) < len(list(fixture_set.iterdir()))  # a second night exists
    for night, files in enumerate([first, [f for f in sorted(fixture_set.iterdir()) if f not in first]]):
        when = NOW.replace(day=NOW.day + night)
        for site, workers in ((serial, 1), (sharded, 2)):
            for f in files:
                if f.suffix in (".835", ".837"):
                    (site.inbox / f.name).write_bytes(f.read_bytes())
            result = site.run(workers=workers, validate=True, now=when)
            assert result.exit_code in (0, 1), result.errors
        ref_report, report = _report(serial), _report(sharded)
        assert _decisions(report) == _decisions(ref_report)
        assert report["run"]["outputs"] == ref_report["run"]["outputs"]
        assert report["run"]["after_payment"] == ref_report["run"]["after_payment"]  # postings of every shard
        assert report["summary"] == ref_report["summary"]
        _same_as(sharded, serial)
    snapshot = sharded.snapshot()
    assert len(snapshot["emitted"]) >= 10 and snapshot["dirty"] == []
    # several outputs, each numbered once (ISA13 per sender never reused)
    isa = [(row[0], row[1]) for row in snapshot["outputs"]]
    assert len(isa) >= 2 and len(isa) == len(set(isa))


def test_a_worker_killed_while_billing_is_named_and_nothing_is_recorded(make_site, fixture_set, backend):
    """The OOM killer takes the worker billing shard 3: exit 3 naming the billing step, no claim recorded as
    sent, no output and no temp file in the outbox; the rerun ends with the serial run's outbox and state.
    (On PostgreSQL shards are units of the run's team: a killed holder's unit is taken over after its lease,
    tests/run/test_run_team.py.)"""
    if backend == "postgres":
        pytest.skip("PostgreSQL bills shards as team units (test_run_team.py)")
    ref = make_site("reference")
    ref.drop(fixture_set)
    assert ref.run().exit_code in (0, 1)
    site = _with_shards(make_site("killed"))
    site.drop(fixture_set)
    out = subprocess.run(_cob_run(site, "--workers", "2"), env=_env(**{shards.KILL_SHARD: "2"}),
                         capture_output=True, text=True, timeout=180)
    assert out.returncode == 3, out.stderr
    assert "a worker process billing claims (shard" in out.stderr and "no claim was recorded as sent" in out.stderr
    assert "BrokenProcessPool" not in out.stderr and "Traceback" not in out.stderr
    state = site.snapshot()
    assert state["emitted"] == [] and state["outputs"] == [] and len(state["dirty"]) == 20
    assert [p.name for p in site.outbox.iterdir() if p.name != ".cob-control.json"] == []
    assert not (site.root / ".cob-work").exists()
    assert site.run().exit_code in (0, 1)
    _same_as(site, ref)


def test_a_stop_while_the_shards_are_billed_records_nothing(make_site, fixture_set, tmp_path):
    """SIGTERM while the workers bill (local workers on SQLite, the run's team of local helpers on
    PostgreSQL): exit 143, nothing recorded as sent, no worker left running; the rerun (on every core again)
    ends with the serial run's outbox and state."""
    ref = make_site("reference")
    ref.drop(fixture_set)
    assert ref.run().exit_code in (0, 1)
    site = _with_shards(make_site("stopped"))
    site.drop(fixture_set)
    paused, release = tmp_path / "paused", tmp_path / "release"
    proc = subprocess.Popen(_cob_run(site, "--workers", "2"),
                            env=_env(COB_FAULT_AT="billing shards handed out", COB_FAULT_KIND="pause",
                                     COB_FAULT_PAUSED=str(paused), COB_FAULT_RELEASE=str(release)),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 120
    while not paused.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    assert paused.exists(), proc.communicate()[1]
    os.kill(proc.pid, signal.SIGTERM)
    release.write_text("go")
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err
    assert "Traceback" not in err.decode()
    assert _group_gone(proc.pid), _group(proc.pid)  # no worker left behind
    state = site.snapshot()
    assert state["emitted"] == [] and state["outputs"] == [] and len(state["dirty"]) == 20
    assert site.run(workers=2).exit_code in (0, 1)
    _same_as(site, ref)


def test_shard_claims_is_validated(make_site):
    from cob.run.config import ConfigError, load_config

    site = make_site("bad")
    site.config_path.write_text(site.config_path.read_text().replace("shard_claims = 400", "shard_claims = 0"))
    with pytest.raises(ConfigError, match="shard_claims"):
        load_config(site.config_path)
