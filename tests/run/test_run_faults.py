"""Fault injection: kill -9 anywhere, full disk, unreadable and malformed inputs, overlapping runs.

Each fault test compares against an uninterrupted run of the same drop on the same backend: the outbox
byte for byte, the state snapshot (inputs, claims, adjudications, statuses, control numbers, outputs,
emitted claims), the archive and the inbox.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import NOW, Site

KILL_POINTS = 22


def _reference(make_site, fixture_set) -> tuple[Site, int]:
    """An uninterrupted run; returns it and how many instrumented steps it passed (trace in ref/trace)."""
    ref = make_site("reference")
    ref.drop(fixture_set)
    count_file = ref.root / "count"
    assert ref.run_forked({"COB_FAULT_COUNT": str(count_file), "COB_FAULT_TRACE": str(ref.root / "trace")}) == 0
    return ref, int(count_file.read_text())


def _step(ref: Site, name: str) -> int:
    """The number of the first instrumented step called `name` in the reference run."""
    return next(int(line.split(" ", 1)[0]) for line in (ref.root / "trace").read_text().splitlines()
                if line.split(" ", 1)[1] == name)


def _assert_same(site: Site, ref: Site) -> None:
    assert site.outbox_files() == ref.outbox_files()
    assert site.snapshot() == ref.snapshot()
    assert site.listing("archive") == ref.listing("archive")
    assert site.listing("inbox") == [] and site.listing("rejected") == ref.listing("rejected")


def test_kill_9_anywhere_then_rerun_equals_an_uninterrupted_run(make_site, fixture_set):
    """SIGKILL at >= 20 random instrumented steps (hashing, before/after each input's commit, per claim
    decided, before/after the billing commit, between a commit and its rename, between moves, after the
    reports); each time a rerun ends with exactly the reference outbox and state: no claim lost, none
    sent twice, control numbers the same (so unique)."""
    ref, total = _reference(make_site, fixture_set)
    assert total >= 60, total
    ref_snapshot = ref.snapshot()
    isa = [row[1] for row in ref_snapshot["outputs"]]
    assert len(isa) == len(set(isa)) and len(ref_snapshot["emitted"]) > 10
    points = sorted(random.Random(5).sample(range(1, total + 1), KILL_POINTS))
    for n, point in enumerate(points):
        site = make_site(f"kill{n}")
        site.drop(fixture_set)
        assert site.run_forked({"COB_FAULT_AFTER": str(point)}) == -signal.SIGKILL, point
        code = site.run_forked()
        assert code in (0, 1), point
        try:
            _assert_same(site, ref)
        except AssertionError as exc:
            raise AssertionError(f"after a kill at step {point}: {exc}") from None


def test_kill_at_each_critical_step(make_site, fixture_set):
    """Besides the random points, a kill at the first occurrence of every step where work changes hands:
    inside an input's transaction, right after its commit, inside and right after the billing commit
    (outputs committed but not renamed: the next run renames them), between two renames, between moving
    an input and recording it, after the reports. Each rerun ends with the reference result."""
    ref, _total = _reference(make_site, fixture_set)
    steps = ["input hashed", "input written, before commit", "input committed", "claim decided",
             "batch written, before commit", "batch committed", "output published", "output marked published",
             "input moved", "input marked moved", "reports written"]
    for n, step in enumerate(steps):
        site = make_site(f"step{n}")
        site.drop(fixture_set)
        assert site.run_forked({"COB_FAULT_AFTER": str(_step(ref, step))}) == -signal.SIGKILL, step
        assert site.run_forked() in (0, 1), step
        try:
            _assert_same(site, ref)
        except AssertionError as exc:
            raise AssertionError(f"after a kill at {step!r}: {exc}") from None


def test_kill_twice_in_a_row(make_site, fixture_set):
    """A rerun that is itself killed, then a third run: still the reference result."""
    ref, total = _reference(make_site, fixture_set)
    site = make_site("twice")
    site.drop(fixture_set)
    assert site.run_forked({"COB_FAULT_AFTER": str(total // 3)}) == -signal.SIGKILL
    assert site.run_forked({"COB_FAULT_AFTER": "5"}) == -signal.SIGKILL
    assert site.run_forked() in (0, 1)
    _assert_same(site, ref)


def test_outputs_keep_the_batch_time_of_the_interrupted_run(make_site, fixture_set):
    """Killed after its first input was committed, the run's batch time (ISA09/GS04/BHT) is in the state:
    a rerun a day later still writes the bytes the interrupted run would have written."""
    ref, _total = _reference(make_site, fixture_set)
    site = make_site("late-rerun")
    site.drop(fixture_set)
    assert site.run_forked({"COB_FAULT_AFTER": str(_step(ref, "input committed") + 1)}) == -9
    assert site.run_forked(now=NOW + dt.timedelta(days=1)) in (0, 1)
    assert site.outbox_files() == ref.outbox_files()


@pytest.mark.parametrize("step", ["input written, before commit", "claim decided", "batch written, before commit",
                                  "output published", "input moved", "reports written"])
def test_full_disk_loses_nothing(make_site, fixture_set, step, tmp_path):
    """ENOSPC at a step: the run stops with exit 1 and a clear message, nothing committed is lost and no
    partial output is visible; the next run (disk freed) ends with the reference result."""
    ref, _total = _reference(make_site, fixture_set)
    index = _step(ref, step)
    site = make_site("full")
    site.drop(fixture_set)
    code = site.run_forked({"COB_FAULT_AFTER": str(index), "COB_FAULT_KIND": "enospc"})
    assert code == 1  # the reports folder full too: said as our output's problem, exit 1 (issue 13)
    inbox_and_archive = set(site.listing("inbox")) | set(site.listing("archive"))
    assert inbox_and_archive == set(ref.listing("archive"))  # every input still here, none altered
    for name, data in site.outbox_files().items():
        if not name.split("/")[-1].startswith("."):  # temp files are hidden; a visible output is complete
            assert data == ref.outbox_files()[name]
    assert site.run_forked() in (0, 1)
    _assert_same(site, ref)


def test_permission_denied_and_malformed_inputs_are_quarantined(make_site, fixture_set):
    """An unreadable input and a truncated one are moved whole to rejected/ with a reason; the other files
    are processed as if they were not there."""
    site = make_site()
    site.drop(fixture_set)
    bad = site.inbox / "claims-0003.837"
    truncated = site.inbox / "remit-0002.835"
    original_bad, original_truncated = bad.read_bytes(), truncated.read_bytes()[:1500]
    truncated.write_bytes(original_truncated)
    env = {}
    if os.geteuid() == 0:
        env["COB_FAULT_UNREADABLE"] = bad.name  # root reads through chmod 000
    bad.chmod(0)
    try:
        code = site.run_forked(env)
    finally:
        (site.root / "rejected" / bad.name).chmod(0o644)
    assert code == 1
    assert sorted(site.listing("rejected")) == ["claims-0003.837", "claims-0003.837.reason.txt",
                                                "remit-0002.835", "remit-0002.835.reason.txt"]
    assert (site.root / "rejected" / "claims-0003.837").read_bytes() == original_bad
    assert (site.root / "rejected" / "remit-0002.835").read_bytes() == original_truncated
    reason = (site.root / "rejected" / "claims-0003.837.reason.txt").read_text()
    assert "cannot read: Permission denied" in reason
    assert "file ends inside" in (site.root / "rejected" / "remit-0002.835.reason.txt").read_text() or \
        "segment" in (site.root / "rejected" / "remit-0002.835.reason.txt").read_text()
    assert site.listing("inbox") == []
    # the same drop without the two bad files gives the same outbox
    other = make_site("without")
    other.drop(fixture_set)
    (other.inbox / "claims-0003.837").unlink()
    (other.inbox / "remit-0002.835").unlink()
    other.run_forked()
    assert site.outbox_files() == other.outbox_files()


def test_two_concurrent_runs(make_site, fixture_set, tmp_path):
    """While a run holds the lock, a second run exits 0 at once saying so; with --wait it waits and then
    finds nothing left to do. The result equals one uninterrupted run. (On PostgreSQL a second run helps by
    default, `[run] team`: tests/run/test_run_team.py; here it is turned off.)"""
    ref, _total = _reference(make_site, fixture_set)
    site = make_site("busy", extra="")
    site.config_path.write_text(site.config_path.read_text().replace("team = true", "team = false"))
    site.drop(fixture_set)
    paused, release = tmp_path / "paused", tmp_path / "release"
    env = {"COB_FAULT_AFTER": "10", "COB_FAULT_KIND": "pause", "COB_FAULT_PAUSED": str(paused),
           "COB_FAULT_RELEASE": str(release)}
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child: the first run, paused half-way with the lock held
        os._exit(site.run_forked(env))
    deadline = time.monotonic() + 60
    while not paused.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert paused.exists()
    started = time.monotonic()
    from cob.run.runner import RunOptions, run_batch

    second = run_batch(site.config, RunOptions(now=NOW, validate=False, workers=1))
    assert second.locked_out and second.exit_code == 0 and time.monotonic() - started < 5
    assert "another cob run holds" in second.message and "--wait" in second.message
    waiter = os.fork()
    if waiter == 0:  # pragma: no cover - child: a third run that waits for the lock
        os._exit(site.run_forked(wait=True))
    time.sleep(0.5)
    assert os.waitpid(waiter, os.WNOHANG) == (0, 0)  # still waiting
    release.write_text("go")
    assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) in (0, 1)
    assert os.waitstatus_to_exitcode(os.waitpid(waiter, 0)[1]) == 0
    _assert_same(site, ref)


def test_cob_run_killed_at_random_times(make_site, fixture_set, backend):
    """The real console script killed by SIGKILL after a random delay, three times, then run to the end."""
    if backend != "sqlite":
        pytest.skip("one backend is enough for the wall-clock variant")
    ref, _total = _reference(make_site, fixture_set)
    site = make_site("cli")
    site.drop(fixture_set)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "COB_NOW": NOW.isoformat(),
           "COB_SKIP_IG_VALIDATION": "1"}
    cmd = [str(Path(sys.executable).parent / "cob"), "run", "--config", str(site.config_path), "--workers", "1"]
    rng = random.Random(11)
    for _ in range(3):
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.3, 1.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert subprocess.run(cmd, env=env, capture_output=True).returncode in (0, 1)
    _assert_same(site, ref)
