"""Several `cob run` processes on one drop, sharing one PostgreSQL state (`cob.run.team`, `cob.run.units`).

Every test compares with a single uninterrupted `cob run` of the same drop on its own PostgreSQL database:
the outbox byte for byte, the state snapshot, the archive, and the run report's claims and outputs. Three
processes at once give the same; a helper SIGKILLed while it holds a unit has the unit taken over when its
lease expires; a helper stopped (SIGSTOP) past its lease and resumed has its commit refused and publishes
nothing. Leases are 2 seconds here, shards 3 claims (seven bill units for the 20 claims).
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

from .conftest import NOW, Site

BIN = Path(sys.executable).parent
SETTINGS = {"lease_seconds = 120": "lease_seconds = 2", "shard_claims = 400": "shard_claims = 3"}


@pytest.fixture
def team_site(make_site, backend):
    if backend != "postgres":
        pytest.skip("several processes share one drop through PostgreSQL only")

    def make(name: str) -> Site:
        site = make_site(name)
        text = site.config_path.read_text()
        for old, new in SETTINGS.items():
            assert old in text
            text = text.replace(old, new)
        site.config_path.write_text(text)
        return site
    return make


def _env(**extra: str) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "COB_NOW": NOW.isoformat(), **extra}


def _start(site: Site, tmp: Path | None = None, pause_at: str | None = None, name: str = "",
           workers: int = 1, host: str | None = None) -> tuple[subprocess.Popen, Path | None, Path | None]:
    """`cob run` in its own session; with `pause_at`, it pauses at that instrumented step (until released);
    with `host`, it records its units as another machine's (`faults.host_name`)."""
    env = _env(**({"COB_FAULT_HOST": host} if host else {}))
    paused = release = None
    if pause_at is not None:
        paused, release = tmp / f"paused-{name}", tmp / f"release-{name}"
        env.update(COB_FAULT_AT=pause_at, COB_FAULT_KIND="pause", COB_FAULT_PAUSED=str(paused),
                   COB_FAULT_RELEASE=str(release))
    proc = subprocess.Popen([str(BIN / "cob"), "run", "--config", str(site.config_path), "--workers", str(workers)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    return proc, paused, release


def _wait_for(path: Path, proc: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None:
            raise AssertionError(f"exited {proc.returncode} before {path.name}: {proc.communicate()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{path.name} never came")
        time.sleep(0.02)


def _reports(site: Site) -> list[dict]:
    return [json.loads(p.read_text().replace(str(site.root), "<site>"))
            for p in sorted((site.root / "reports").glob("run-*.json"))]


def _same_as(site: Site, ref: Site) -> None:
    assert site.outbox_files() == ref.outbox_files()
    assert site.snapshot() == ref.snapshot()
    assert site.listing("archive") == ref.listing("archive")
    assert site.listing("inbox") == []
    # no process left a part or a spool behind (a helper resumed after the run may leave empty folders, which
    # the next run's start removes with the rest of the work folder)
    assert [p for p in (site.root / ".cob-work").rglob("*") if not p.is_dir()] == []
    (report,), (ref_report,) = _reports(site), _reports(ref)
    assert report["claims"] == ref_report["claims"]
    assert report["run"]["outputs"] == ref_report["run"]["outputs"]
    assert report["summary"] == ref_report["summary"]


@pytest.fixture
def reference(team_site, fixture_set):
    """One `cob run` process alone on the drop."""
    ref = team_site("reference")
    ref.drop(fixture_set)
    proc, _p, _r = _start(ref)
    out, err = proc.communicate(timeout=180)
    assert proc.returncode in (0, 1), err
    (report,) = _reports(ref)
    assert len(report["run"]["team"]) == 1 and report["run"]["team"][0]["pid"] == proc.pid
    assert len(ref.snapshot()["emitted"]) >= 10
    return ref


def test_three_processes_on_one_drop_give_the_outbox_and_report_of_one_run(team_site, fixture_set, reference):
    site = team_site("three")
    site.drop(fixture_set)
    procs = [_start(site)[0] for _ in range(3)]
    results = [(p.pid, *p.communicate(timeout=180), p.returncode) for p in procs]
    codes = sorted(code for *_x, code in results)
    assert codes[0] in (0, 1) and all(c in (0, 1) for c in codes), results
    helped = [err for _pid, _out, err, _code in results if "this process helped it" in err]
    assert len(helped) == 2, results  # one run, two helpers; one report: the run's
    (report,) = _reports(site)
    pids = {pid for pid, *_x in results}
    assert {p["pid"] for p in report["run"]["team"]} <= pids
    done = {kind: sum(p["units"].get(kind, 0) for p in report["run"]["team"]) for kind in ("ingest", "bill", "check")}
    # each input parsed once, each of the 7 shards billed once, each output checked once, by whoever took it
    assert done == {"ingest": len(list(fixture_set.glob("*.83[57]"))), "bill": 7,
                    "check": len(report["run"]["outputs"])}
    _same_as(site, reference)


@pytest.mark.parametrize("where", ["another machine", "this machine"])
def test_a_helper_killed_holding_a_unit_has_it_taken_over(team_site, fixture_set, reference, tmp_path, where):
    """The run pauses once its shards are handed out; a helper leases one and is SIGKILLed holding it. The
    run goes on and finds the unit leased: a helper of another machine (whose pid it cannot check) loses the
    unit when its 2-second lease expires; one of this machine, known dead, at once (with a 60-second lease
    the run still ends within seconds). Either way the run ends as one run would."""
    site = team_site("killed")
    if where == "this machine":
        site.config_path.write_text(site.config_path.read_text().replace("lease_seconds = 2", "lease_seconds = 60"))
    site.drop(fixture_set)
    run, run_paused, run_release = _start(site, tmp_path, "billing shards handed out", "run")
    _wait_for(run_paused, run)
    helper, helper_paused, _release = _start(site, tmp_path, "unit leased bill", "helper",
                                             host="elsewhere" if where == "another machine" else None)
    _wait_for(helper_paused, helper)
    helper.kill()
    helper.communicate(timeout=30)
    run_release.write_text("go")
    started = time.monotonic()
    out, err = run.communicate(timeout=180)
    assert run.returncode in (0, 1), err
    if where == "this machine":
        assert time.monotonic() - started < 30
    (report,) = _reports(site)
    (me,) = [p for p in report["run"]["team"] if p["pid"] == run.pid]
    assert me["taken_over"] == 1 and all(p["pid"] != helper.pid for p in report["run"]["team"])
    _same_as(site, reference)


def test_a_helper_stopped_past_its_lease_has_its_commit_refused(team_site, fixture_set, reference, tmp_path):
    """A helper stopped (SIGSTOP) while it holds a bill unit: the run takes the unit over when the lease
    expires and finishes. Resumed, the helper bills its shard, its commit is refused (lease lost), it
    removes what it wrote and exits; nothing is published twice."""
    site = team_site("stopped")
    site.drop(fixture_set)
    run, run_paused, run_release = _start(site, tmp_path, "billing shards handed out", "run")
    _wait_for(run_paused, run)
    helper, helper_paused, helper_release = _start(site, tmp_path, "unit leased bill", "helper")
    _wait_for(helper_paused, helper)
    os.kill(helper.pid, signal.SIGSTOP)
    try:
        helper_release.write_text("go")  # seen only once it runs again
        run_release.write_text("go")
        _out, err = run.communicate(timeout=180)
        assert run.returncode in (0, 1), err
        outbox = site.outbox_files()
    finally:
        os.kill(helper.pid, signal.SIGCONT)
    out, err = helper.communicate(timeout=120)
    assert helper.returncode == 0, err
    assert "lease lost to another process; nothing committed" in err
    assert site.outbox_files() == outbox  # the resumed helper published nothing
    _same_as(site, reference)


def test_status_shows_the_processes_at_work(team_site, fixture_set, tmp_path):
    site = team_site("status")
    site.drop(fixture_set)
    run, run_paused, run_release = _start(site, tmp_path, "billing shards handed out", "run")
    _wait_for(run_paused, run)
    try:
        status = subprocess.run([str(BIN / "cob"), "status", "--config", str(site.config_path), "--format", "json"],
                                env=_env(), capture_output=True, text=True, timeout=60)
        assert status.returncode in (0, 1), status.stderr
        at_work = json.loads(status.stdout)["processes"]
        assert [p["pid"] for p in at_work] == [run.pid]
    finally:
        run_release.write_text("go")
        run.communicate(timeout=180)


def test_a_helper_becomes_the_run_when_the_run_dies(team_site, fixture_set, reference, tmp_path):
    """The run is SIGKILLed once its shards are handed out, while a helper waits for work: the lock is
    freed with the run's connection, the helper finds the run unfinished, takes the lock and is the run (a
    new round; what the dead run committed stands), and the drop ends as one run would have ended it."""
    site = team_site("orphaned")
    site.drop(fixture_set)
    run, run_paused, _release = _start(site, tmp_path, "billing shards handed out", "run")
    _wait_for(run_paused, run)
    helper, helper_paused, helper_release = _start(site, tmp_path, "unit leased bill", "helper")
    _wait_for(helper_paused, helper)  # it holds a unit of the run's round
    run.kill()
    run.communicate(timeout=30)
    helper_release.write_text("go")
    out, err = helper.communicate(timeout=180)
    assert helper.returncode in (0, 1), err
    reports = _reports(site)
    assert len(reports) == 1 and reports[0]["run"]["team"][0]["pid"] == helper.pid  # the helper's run
    assert site.outbox_files() == reference.outbox_files()
    assert site.snapshot() == reference.snapshot()
    assert site.listing("archive") == reference.listing("archive") and site.listing("inbox") == []
