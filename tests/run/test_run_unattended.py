"""Issue 13, `cob run` unattended: a hostile night, reproduced clause by clause on SQLite and PostgreSQL.

Every kill and signal test ends with a rerun whose outbox and state equal an uninterrupted run's
(`_assert_same`: claim ids, no duplicates, control numbers never reused), checks that no process of the
interrupted run survives and that no temp file is left.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cob.cli import main
from cob.fixtures.generate import generate
from cob.run.config import ConfigError
from cob.run.runner import RunOptions, run_batch
from cob.run.status import status_report

from .conftest import NOW, Site
from .test_run_faults import _assert_same, _reference, _step

BIN = Path(sys.executable).parent


# ------------------------------------------------------------------------------------------------ helpers


def _alive(pid: int) -> bool:
    """Exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (OSError, IndexError):
        return False


def _children(pid: int) -> list[int]:
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        out += [int(c) for c in (task / "children").read_text().split()]
    return out


def _descendants(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        for child in _children(todo.pop()):
            out.append(child)
            todo.append(child)
    return out


def _gone(pids: list[int], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not any(_alive(p) for p in pids):
            return True
        time.sleep(0.05)
    return False


def _env(**extra: str) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "COB_NOW": NOW.isoformat(),
            "COB_SKIP_IG_VALIDATION": "1", **extra}


def _cob_run(site: Site, *args: str) -> list[str]:
    return [str(BIN / "cob"), "run", "--config", str(site.config_path), *args]


def _paused(site: Site, step: int, tmp: Path, *args: str, **env: str) -> tuple[subprocess.Popen, Path]:
    """`cob run` (the console script, in its own process group) paused at instrumented step `step`;
    returns it and the file whose creation releases it."""
    paused, release = tmp / f"paused-{step}", tmp / f"release-{step}"
    proc = subprocess.Popen(_cob_run(site, *args), env=_env(COB_FAULT_AFTER=str(step), COB_FAULT_KIND="pause",
                                                            COB_FAULT_PAUSED=str(paused),
                                                            COB_FAULT_RELEASE=str(release), **env),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 60
    while not paused.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    assert paused.exists(), proc.communicate()
    return proc, release


def _temp_files(site: Site) -> list[str]:
    return sorted(str(p.relative_to(site.root)) for p in site.root.rglob("*")
                  if p.name.endswith((".tmp", ".spool", ".moving", ".records")) or p.name == ".cob-work")


def _set(site: Site, key: str, value: str) -> None:
    text = site.config_path.read_text()
    lines = [f"{key} = {value}" if line.startswith(f"{key} =") else line for line in text.splitlines()]
    site.config_path.write_text("\n".join(lines) + "\n")


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def _hold_lock(site: Site, pid: int, started: float) -> subprocess.Popen:
    """A foreign process holding the run lock in the name of `pid` (an orphan of an old run, or a hung one)."""
    cfg = site.config
    if cfg.sqlite_path is not None:
        code = ("import fcntl, json, os, sys, time\n"
                f"fd = os.open({str(cfg.sqlite_path) + '.lock'!r}, os.O_RDWR | os.O_CREAT)\n"
                "fcntl.flock(fd, fcntl.LOCK_EX)\n"
                f"os.write(fd, json.dumps({{'pid': {pid}, 'host': {socket.gethostname()!r}, "
                f"'started': {started}}}).encode())\n"
                "print('held', flush=True)\ntime.sleep(120)\n")
    else:
        code = ("import psycopg, time\n"
                f"c = psycopg.connect({cfg.state_url!r}, autocommit=True, "
                f"application_name='cob-run {pid}@{socket.gethostname()[:30]} {int(started)}')\n"
                "c.execute('SELECT pg_advisory_lock(%s)', (0x636F6202,))\n"
                "print('held', flush=True)\ntime.sleep(120)\n")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


# ------------------------------------------------------------------------------------------------ item 5


def test_kill_9_of_a_run_with_workers_leaves_no_process_and_no_lock(make_site, fixture_set, tmp_path):
    """kill -9 of the run (its parent process alone) while 2 workers are alive: the workers die with it (they
    are spawned, hold neither the lock nor a connection), the next run is not locked out, `cob status` calls
    the killed run interrupted, and the rerun ends with the reference result."""
    ref, _total = _reference(make_site, fixture_set)
    site = make_site("orphans")
    site.drop(fixture_set)
    proc, _release = _paused(site, _step(ref, "input committed"), tmp_path, "--workers", "2")
    workers = _descendants(proc.pid)
    assert len(workers) >= 2, workers
    assert status_report(site.config).lock.startswith(f"held by pid {proc.pid} on {socket.gethostname()}")
    proc.kill()
    proc.wait()
    assert _gone(workers), [p for p in workers if _alive(p)]
    report = status_report(site.config)
    assert report.runs[0][3].startswith("interrupted") and report.lock.startswith("free")
    started = time.monotonic()
    assert site.run_forked() in (0, 1)
    assert time.monotonic() - started < 60
    _assert_same(site, ref)
    assert _temp_files(site) == []


def test_sigterm_to_the_parent_alone_stops_cleanly_with_143(make_site, fixture_set, tmp_path):
    """SIGTERM to the run alone (not its group) while workers parse: exit 143 at the next file, workers shut
    down, nothing half-written; the rerun ends with the reference result."""
    ref, _total = _reference(make_site, fixture_set)
    site = make_site("term")
    site.drop(fixture_set)
    proc, release = _paused(site, _step(ref, "input committed"), tmp_path, "--workers", "2")
    workers = _descendants(proc.pid)
    proc.send_signal(signal.SIGTERM)
    release.write_text("go")
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert b"stopped by SIGTERM" in err
    assert _gone(workers)
    assert site.run_forked() in (0, 1)
    _assert_same(site, ref)
    assert _temp_files(site) == []


@pytest.mark.parametrize("wait", [False, True])
def test_a_lock_whose_holder_is_gone_is_taken_over(make_site, fixture_set, wait):
    """An orphan (a process of an old run) still holds the lock in the name of a run whose process is gone:
    the run takes the lock over (says so in its report) instead of exiting 'another run holds the lock'
    every night, with --wait too."""
    ref, _total = _reference(make_site, fixture_set)
    site = make_site("orphaned-lock")
    site.drop(fixture_set)
    dead = _dead_pid()
    holder = _hold_lock(site, dead, time.time() - 60)
    try:
        result = site.run(wait=wait)
        assert not result.locked_out and result.exit_code in (0, 1)
        assert any(f"took over the run lock of a run that is gone (pid {dead} on" in p
                   for p in result.report.run.problems)
    finally:
        holder.kill()
        holder.wait()
    _assert_same(site, ref)


@pytest.mark.parametrize("wait", [False, True])
def test_a_lock_held_longer_than_max_run_minutes_is_reported_not_waited_for(make_site, fixture_set, wait):
    """A live holder past run.max_run_minutes: the run names it (pid, host, start), exits 1 at once, with
    --wait too (never blocks forever); the CLI prints it on stderr."""
    site = make_site("stuck")
    _set(site, "max_run_minutes", "0.01")
    site.drop(fixture_set)
    hung = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])  # alive, doing nothing
    locker = _hold_lock(site, hung.pid, time.time() - 3600)
    try:
        time.sleep(1.0)  # PostgreSQL measures the holder's age by its connection's start
        started = time.monotonic()
        result = site.run(wait=wait)
        assert time.monotonic() - started < 10
        assert result.locked_out and result.exit_code == 1
        assert "longer than run.max_run_minutes = 0.01" in result.message
        assert f"pid {hung.pid} on {socket.gethostname()}" in result.message
        cli = subprocess.run(_cob_run(site, "--workers", "1"), env=_env(), capture_output=True, text=True)
        assert cli.returncode == 1 and "longer than run.max_run_minutes" in cli.stderr
    finally:
        for proc in (locker, hung):
            proc.kill()
            proc.wait()
    assert site.listing("inbox") != [] and site.listing("archive") == []  # nothing was done


def test_status_names_the_lock_holder(make_site, fixture_set, tmp_path):
    """While a run works, `cob status` (text and JSON) names its pid, host and start time."""
    site = make_site("status")
    site.drop(fixture_set)
    proc, release = _paused(site, 5, tmp_path, "--workers", "1")
    try:
        text = subprocess.run([str(BIN / "cob"), "status", "--config", str(site.config_path)], env=_env(),
                              capture_output=True, text=True)
        assert text.returncode == 0
        assert f"Run lock: held by pid {proc.pid} on {socket.gethostname()}, started " in text.stdout
        data = json.loads(subprocess.run([str(BIN / "cob"), "status", "--config", str(site.config_path),
                                          "--format", "json"], env=_env(), capture_output=True).stdout)
        assert data["lock"].startswith(f"held by pid {proc.pid}")
    finally:
        release.write_text("go")
        proc.communicate(timeout=60)
    assert status_report(site.config).lock == "free"


# ------------------------------------------------------------------------------------------------ item 1


@pytest.fixture(scope="session")
def other_set(tmp_path_factory) -> Path:
    """Another drop with other claim ids (seed 6): replacement content."""
    out = tmp_path_factory.mktemp("fx6")
    generate(out, seed=6, claims=8, claims_per_file=4)
    (out / "manifest.jsonl").unlink()
    return out


def _claim_ids(site: Site) -> set[str]:
    state = site.state()
    try:
        return {r[0] for r in state.db.query("SELECT claim_id FROM claims")}
    finally:
        state.close()


def _emitted(site: Site) -> list[tuple]:
    state = site.state()
    try:
        return state.db.query("SELECT claim_id, payer_id, generation FROM emitted")
    finally:
        state.close()


def _ids_in(path: Path) -> set[str]:
    from cob.edi.scan import scan_claim_ids

    return set(scan_claim_ids(path))


def test_a_file_replaced_after_it_was_read_stays_for_the_next_run(make_site, fixture_set, other_set, tmp_path):
    """`mv -f` of another claim file over one the run has read, during billing: the run does not archive it
    unread; the next run reads it and its claims are billed; the first file's claims were billed too."""
    ref, _total = _reference(make_site, fixture_set)
    site = make_site("replaced")
    _set(site, "other_submitters", '"separate"')  # the replacement comes from another submitter (seed 6)
    site.drop(fixture_set)
    for f in sorted(other_set.glob("*.835")):  # the replacement's 835s arrive first
        shutil.copy(f, site.inbox / f"other-{f.name}")
    proc, release = _paused(site, _step(ref, "batch committed") + 2, tmp_path, "--workers", "1")
    replacement = tmp_path / "new.837"
    shutil.copy(other_set / "claims-0001.837", replacement)
    os.replace(replacement, site.inbox / "claims-0001.837")  # mv -f
    release.write_text("go")
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode in (0, 1), err
    assert "claims-0001.837" in site.listing("inbox")  # left for the next run
    assert (site.inbox / "claims-0001.837").read_bytes() == (other_set / "claims-0001.837").read_bytes()
    report = json.loads(sorted((site.root / "reports").glob("run-*.json"))[-1].read_text())
    assert any("claims-0001.837: replaced after it was read" in p for p in report["run"]["problems"])
    assert site.run_forked() in (0, 1)
    assert site.listing("inbox") == []
    new_ids = _ids_in(other_set / "claims-0001.837")
    assert new_ids <= _claim_ids(site)
    billed = {r[0] for r in _emitted(site)}
    assert new_ids & billed  # billed against their 835s
    assert {r[0] for r in ref.snapshot()["emitted"]} <= billed  # nothing of the first drop lost
    rows = _emitted(site)
    assert len(rows) == len(set(rows))
    assert _temp_files(site) == []


# ------------------------------------------------------------------------------------------------ item 2


def _halves(path: Path) -> tuple[bytes, bytes]:
    """The file cut after its first interchange (IEA segment) when it has two, else in the middle of a segment."""
    data = path.read_bytes()
    at = data.find(b"IEA")
    end = data.find(b"~", at) + 1
    while end < len(data) and data[end:end + 1] in b"\r\n":
        end += 1
    if end < len(data) - 10:
        return data[:end], data[end:]
    return data[:len(data) // 2], data[len(data) // 2:]


def test_default_settle_time_leaves_a_file_being_written(make_site, fixture_set):
    """settle_seconds has a safe non-zero default (60): a file written just now in place is left for the next
    run; one whose last write is older, or that arrived by rename, is read."""
    site = make_site("settle")
    _set(site, "settle_seconds", "60")
    assert site.config.settle_seconds == 60
    fresh = site.inbox / "claims-0001.837"
    fresh.write_bytes((fixture_set / "claims-0001.837").read_bytes())
    old = site.inbox / "claims-0002.837"
    old.write_bytes((fixture_set / "claims-0002.837").read_bytes())
    os.utime(old, (time.time() - 120, time.time() - 120))
    hidden = site.inbox / ".upload.part"
    hidden.write_bytes((fixture_set / "claims-0003.837").read_bytes())
    time.sleep(0.05)
    os.rename(hidden, site.inbox / "claims-0003.837")  # an upload renamed into place when complete
    result = site.run()
    assert result.exit_code == 0
    assert site.listing("inbox") == ["claims-0001.837"]
    assert site.listing("archive") == ["claims-0002.837", "claims-0003.837"]
    default = load_default_settle(site)
    assert default == 60


def load_default_settle(site: Site) -> float:
    from cob.run.config import load_config

    bare = site.root / "bare.toml"
    bare.write_text("[folders]\ninbox = 'inbox'\n")
    return load_config(bare).settle_seconds


def _age(site: Site, seconds: float = 5) -> None:
    """Every inbox file last written `seconds` ago: settled under a settle time below that."""
    old = time.time() - seconds
    for f in site.inbox.iterdir():
        os.utime(f, (old, old))


#: where the writer resumes, as the instrumented step the run is paused at: before the file is hashed (the
#: second of the drop's files), after it was hashed and before it is parsed, after the billing commit
#: (before the move); `None` is found by name in the run's trace
RESUME = {"before hashing": 2, "after hashing": 3, "after billing": None}


@pytest.mark.parametrize("resume", list(RESUME))
def test_a_file_cut_between_two_interchanges_is_never_ingested_half(make_site, fixture_set, tmp_path, resume):
    """A writer pausing longer than the settle time between a file's two interchanges resumes while the run
    works: the grown file is neither ingested half nor archived as read; the next run reads it whole, and
    every claim the reference bills is billed, once."""
    ref, _total = _reference(make_site, fixture_set)
    name = "claims-0002.837"  # the generator's file with two interchanges
    first, second = _halves(fixture_set / name)
    assert first.rstrip().endswith(b"~") and second.startswith(b"ISA")
    site = make_site("cut")
    _set(site, "settle_seconds", "1")
    site.drop(fixture_set)
    target = site.inbox / name
    target.write_bytes(first)
    _age(site)  # the writer paused: settled by the rule
    step = RESUME[resume] or _step(ref, "batch committed") + 1
    proc, release = _paused(site, step, tmp_path, "--workers", "1")
    with open(target, "ab") as fh:
        fh.write(second)
    release.write_text("go")
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode in (0, 1), err
    assert site.listing("inbox") == [name] and site.listing("rejected") == []
    report = json.loads(sorted((site.root / "reports").glob("run-*.json"))[-1].read_text())
    assert any(p.startswith(f"{name}: ") for p in report["run"]["problems"]), report["run"]["problems"]
    _age(site)
    assert site.run_forked() in (0, 1)
    assert site.listing("inbox") == [] and site.listing("rejected") == []
    assert _ids_in(fixture_set / name) <= _claim_ids(site)
    _billed_as(site, ref)


@pytest.mark.parametrize("resume", ["before hashing", "after hashing", "after it was rejected"])
def test_a_file_written_in_two_halves_is_not_quarantined(make_site, fixture_set, tmp_path, resume):
    """The first half ends inside a segment (malformed X12); the writer resumes while the run works (before
    the hash, after it, after the file was judged malformed and before its move): its size changed since it
    was read, so it stays in the inbox, not in rejected/; the next run reads it whole."""
    ref, _total = _reference(make_site, fixture_set)
    name = "claims-0003.837"
    data = (fixture_set / name).read_bytes()
    first, second = data[:len(data) // 2], data[len(data) // 2:]

    def prepare(site: Site) -> None:
        _set(site, "settle_seconds", "1")
        site.drop(fixture_set)
        (site.inbox / name).write_bytes(first)
        _age(site)

    if resume == "after it was rejected":
        trace = tmp_path / "trace"
        probe = make_site("probe")
        prepare(probe)
        probe.run_forked({"COB_FAULT_TRACE": str(trace)})
        step = next(int(line.split(" ", 1)[0]) for line in trace.read_text().splitlines()
                    if line.endswith(" input rejected"))
    else:
        step = {"before hashing": 3, "after hashing": 4}[resume]
    site = make_site("halves")
    prepare(site)
    proc, release = _paused(site, step, tmp_path, "--workers", "1")
    with open(site.inbox / name, "ab") as fh:
        fh.write(second)
    release.write_text("go")
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode in (0, 1), err
    assert site.listing("rejected") == [] and site.listing("inbox") == [name]
    _age(site)
    assert site.run_forked() in (0, 1)
    assert site.listing("inbox") == [] and site.listing("rejected") == []
    _billed_as(site, ref)


def test_a_quarantined_half_file_whose_writer_finished_is_read_whole(make_site, fixture_set):
    """The writer paused longer than the settle time and resumed only after the run had quarantined its
    half file: the rest went into rejected/ (its descriptor followed the file). The next run puts the grown
    file back into the inbox (its reason file gone) and reads it whole; every claim is billed as in the
    reference. A grown file whose last write is fresh waits."""
    ref, _total = _reference(make_site, fixture_set)
    name = "claims-0003.837"
    data = (fixture_set / name).read_bytes()
    site = make_site("grown")
    _set(site, "settle_seconds", "1")
    site.drop(fixture_set)
    (site.inbox / name).write_bytes(data[:len(data) // 2])
    _age(site)
    assert site.run().exit_code == 1
    rejected = site.root / "rejected" / name
    assert sorted(site.listing("rejected")) == [name, name + ".reason.txt"]
    with open(rejected, "ab") as fh:  # the writer resumes
        fh.write(data[len(data) // 2:])
    site.run()  # written just now: not settled, it waits in rejected/
    assert sorted(site.listing("rejected")) == [name, name + ".reason.txt"]
    old = time.time() - 5
    os.utime(rejected, (old, old))
    result = site.run()
    assert any(p == f"{name}: grew after it was quarantined (its writer had paused); put back into the inbox to "
               "be read whole" for p in result.report.run.problems), result.report.run.problems
    assert site.listing("rejected") == [] and site.listing("inbox") == []
    assert (site.root / "archive" / name).read_bytes() == data
    _billed_as(site, ref)


def _billed_as(site: Site, ref: Site) -> None:
    """Every claim the reference billed is billed, to the same payer, once (in one run or two: the outputs
    differ in how the claims are shared out, not in what is sent); no output repeats an ISA13."""
    rows = _emitted(site)
    assert len(rows) == len(set(rows))
    assert sorted(rows) == sorted(_emitted(ref))
    assert _sent(site) == _sent(ref)  # each claim as often as in the reference (a replacement is a second)
    isa = [r[:2] for r in site.snapshot()["outputs"]]
    assert len(isa) == len(set(isa))
    assert _temp_files(site) == []


def _sent(site: Site) -> dict[str, int]:
    """How many times each CLM01 is in the outbox."""
    sent: dict[str, int] = {}
    for data in site.outbox_files().values():
        for claim_id in _ids_in_bytes(data):
            sent[claim_id] = sent.get(claim_id, 0) + 1
    assert sent
    return sent


def _ids_in_bytes(data: bytes) -> list[str]:
    text = data.decode()
    element, terminator = text[3], text[105]
    return [seg.split(element)[1] for seg in text.replace("\n", "").replace("\r", "").split(terminator)
            if seg.startswith("CLM" + element)]


# ------------------------------------------------------------------------------------------------ items 3, 7


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
@pytest.mark.parametrize("step", ["input hashed", "claim decided", "batch committed"])
def test_a_signal_stops_the_run_cleanly(make_site, fixture_set, tmp_path, sig, step):
    """SIGINT / SIGTERM at a step (reading, billing, after the billing commit): the run stops at the next
    file or claim with 130 / 143 and says so, nothing is corrupt or half-written, every stored body reads
    back; the rerun ends with the reference result."""
    ref, _total = _reference(make_site, fixture_set)
    site = make_site("signal")
    site.drop(fixture_set)
    proc, release = _paused(site, _step(ref, step) + (3 if step == "claim decided" else 0), tmp_path,
                            "--workers", "1")
    proc.send_signal(sig)
    release.write_text("go")
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + sig, err
    assert f"stopped by {sig.name}".encode() in err and b"Traceback" not in err and b"Exception ignored" not in err
    _bodies_read_back(site)
    assert site.run_forked() in (0, 1)
    _assert_same(site, ref)
    assert _temp_files(site) == []


def test_ctrl_c_while_cob_run_starts_exits_130(make_site, backend, tmp_path):
    """SIGINT before the run has its own handling (reading its configuration): 130 and one line, not click's
    'Aborted!' with 1."""
    if backend != "sqlite":
        pytest.skip("before any state is opened")
    site = make_site("early")
    hook = tmp_path / "sitecustomize.py"
    hook.write_text("import os, signal\nimport cob.cli.run as r\nreal = r.load_config\n"
                    "def load(*a, **k):\n    os.kill(os.getpid(), signal.SIGINT)\n    return real(*a, **k)\n"
                    "r.load_config = load\n")
    out = subprocess.run(_cob_run(site), env=_env(PYTHONPATH=str(tmp_path)), capture_output=True, text=True)
    assert out.returncode == 130, out.stderr
    assert out.stderr == "cob run: stopped by SIGINT\n"


def _bodies_read_back(site: Site) -> None:
    import zlib

    from cob.schemas.claim import Claim
    from cob.schemas.remit import ClaimPayment

    state = site.state()
    try:
        for (body,) in state.db.query("SELECT body FROM claims"):
            Claim.model_validate_json(zlib.decompress(bytes(body)))
        for (body,) in state.db.query("SELECT body FROM adjudications"):
            ClaimPayment.model_validate_json(zlib.decompress(bytes(body)))
    finally:
        state.close()


def test_ctrl_c_with_two_workers_never_hangs(make_site, fixture_set, backend):
    """Ctrl-C (SIGINT to the whole process group) at random moments of a run with 2 workers: the run exits
    130 (or had finished: 0/1) within seconds, no InvalidStateError, no process survives; the rerun ends with
    the reference result."""
    import random

    ref, _total = _reference(make_site, fixture_set)
    site = make_site("ctrl-c")
    site.drop(fixture_set)
    rng = random.Random(13)
    for _ in range(4):
        proc = subprocess.Popen(_cob_run(site, "--workers", "2"), env=_env(), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, start_new_session=True)
        time.sleep(rng.uniform(0.2, 1.2))
        family = [proc.pid, *(_descendants(proc.pid) if proc.poll() is None else [])]
        try:
            os.killpg(proc.pid, signal.SIGINT)
        except ProcessLookupError:
            pass
        _out, err = proc.communicate(timeout=30)
        assert proc.returncode in (0, 1, 130), err
        assert b"InvalidStateError" not in err and b"Traceback" not in err
        assert _gone(family)
    assert site.run_forked() in (0, 1)
    _assert_same(site, ref)
    assert _temp_files(site) == []


def test_a_body_that_does_not_read_back_is_never_stored(make_site, fixture_set, monkeypatch):
    """A claim whose serialized form is corrupt (as a swallowed exception inside pydantic-core once made it:
    "<unprintable Decimal object>") is not stored: the run stops with exit 3 naming the claim, none of its
    file is recorded; the next run (serialization sound again) ends with the reference result."""
    from cob.schemas.claim import Claim

    ref, _total = _reference(make_site, fixture_set)
    site = make_site("corrupt")
    site.drop(fixture_set)
    real = Claim.model_dump_json

    def corrupt(self, **kw):
        text = real(self, **kw)
        if self.claim_id.endswith("2"):
            text = text.replace('"charge":"', '"charge":"<unprintable Decimal object>', 1)
        return text

    monkeypatch.setattr(Claim, "model_dump_json", corrupt)
    result = site.run()
    assert result.exit_code == 3
    assert any("does not read back" in p and "claim PCN" in p for p in result.report.run.problems)
    _bodies_read_back(site)
    monkeypatch.setattr(Claim, "model_dump_json", real)
    assert site.run().exit_code in (0, 1)
    _assert_same(site, ref)


# ------------------------------------------------------------------------------------------------ item 4


def _lose_state(site: Site, make_site) -> None:
    cfg = site.config
    if cfg.sqlite_path is not None:
        for f in cfg.sqlite_path.parent.glob(cfg.sqlite_path.name + "*"):
            f.unlink()
    else:  # a new, empty PostgreSQL database in its place
        fresh = make_site("fresh-db")
        url = fresh.config.state_url
        text = site.config_path.read_text().replace(cfg.state_url, url)
        site.config_path.write_text(text)


@pytest.fixture(scope="session")
def more_set(tmp_path_factory) -> Path:
    """The drop's generator run further (seed 5, 28 claims): files 0006 and 0007 hold new claims of the same
    senders."""
    out = tmp_path_factory.mktemp("fx5more")
    generate(out, seed=5, claims=28, claims_per_file=4)
    return out


def test_a_lost_state_is_refused_then_adopted(make_site, fixture_set, more_set):
    """After the state database is lost, a run refuses (exit 2, naming the folder and `cob init --adopt`)
    instead of billing the archived files put back in the inbox; `cob init --adopt` rebuilds what was sent:
    the files put back are duplicates (nothing billed twice), and the next claims go out with ISA13 above
    the outbox's."""
    from click.testing import CliRunner

    site = make_site("lost")
    site.drop(fixture_set)
    assert site.run().exit_code in (0, 1)
    before = site.snapshot()
    outbox = site.outbox_files()
    _lose_state(site, make_site)
    for f in (site.root / "archive").glob("*.83?"):
        shutil.copy(f, site.inbox / f.name)
    runner = CliRunner()
    env = {"COB_NOW": NOW.isoformat(), "COB_SKIP_IG_VALIDATION": "1"}
    refused = runner.invoke(main, ["run", "--config", str(site.config_path), "--workers", "1"], env=env)
    assert refused.exit_code == 2
    assert "has no record of any run" in refused.stderr and "cob init --adopt" in refused.stderr
    assert site.outbox_files() == outbox
    adopted = runner.invoke(main, ["init", "--adopt", str(site.root)], env=env)
    assert adopted.exit_code == 0, adopted.output
    sent = len(before["emitted"])
    assert f"{sent} claims counted as sent" in adopted.stderr
    after = site.snapshot()
    assert after["control_numbers"] == before["control_numbers"]
    assert {r[:3] for r in after["emitted"]} == {r[:3] for r in before["emitted"]}
    again = runner.invoke(main, ["run", "--config", str(site.config_path), "--workers", "1"], env=env)
    assert again.exit_code == 0, again.output
    assert site.outbox_files() == outbox  # nothing billed again
    assert sorted(site.listing("archive/duplicates")) != []
    # new claims of the same senders continue the numbering
    site.drop(more_set, "*-000[67].83?")
    assert site.run().exit_code in (0, 1)
    new = {k: v for k, v in site.outbox_files().items() if k not in outbox}
    assert new
    last = dict(before["control_numbers"])
    for data in new.values():
        parts = data.decode()[:106].split(data.decode()[3])
        assert int(parts[13]) > last[f"{parts[5].strip()}:{parts[6].strip()}"]


def test_control_numbers_are_kept_in_a_second_place(make_site, fixture_set):
    """The state database and the folder both emptied (the clearinghouse picked the outbox up, the archive
    was cleaned): a fresh state starts above the control-number file beside the outbox, never at 000000001."""
    site = make_site("controls")
    site.drop(fixture_set)
    assert site.run().exit_code in (0, 1)
    numbers = dict(site.snapshot()["control_numbers"])
    kept = json.loads((site.root / ".outbox.control-numbers.json").read_text())
    assert kept == numbers
    _lose_state(site, make_site)
    for folder in ("outbox", "archive"):
        shutil.rmtree(site.root / folder)
        (site.root / folder).mkdir()
    site.drop(fixture_set)  # the same senders again (a new site would be new numbers: the file keeps them)
    assert site.run().exit_code in (0, 1)
    sent = site.outbox_files()
    assert sent
    for data in sent.values():
        text = data.decode()
        element = text[3]
        parts = text[:106].split(element)
        assert int(parts[13]) > numbers[f"{parts[5].strip()}:{parts[6].strip()}"]


def test_a_restored_state_numbers_above_the_file_and_says_so(make_site, fixture_set, more_set):
    """A state database restored from a backup (its control numbers behind the last output's): the next
    interchange of each sender is numbered above the control-number file, never reusing an ISA13 already
    sent, and the report says the state is older than the last output."""
    site = make_site("restored")
    site.drop(fixture_set)
    assert site.run().exit_code in (0, 1)
    numbers = dict(site.snapshot()["control_numbers"])
    sent = {(k, int(v.decode()[:106].split(v.decode()[3])[13])) for k, v in site.outbox_files().items()}
    state = site.state()
    try:
        with state.transaction():
            state.db.execute("UPDATE control_numbers SET last_isa = 0")  # what the backup knew: nothing sent
    finally:
        state.close()
    site.drop(more_set, "*-000[67].83?")
    result = site.run()
    assert result.exit_code in (0, 1)
    assert any("below the control-number file's for 1 sender(s)" in p for p in result.report.run.problems)
    new = {k: v for k, v in site.outbox_files().items() if k not in dict(sent)}
    assert new
    for data in new.values():
        parts = data.decode()[:106].split(data.decode()[3])
        assert int(parts[13]) > numbers[f"{parts[5].strip()}:{parts[6].strip()}"]


# ------------------------------------------------------------------------------------------------ item 13


def _cli(site: Site, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "cob"), *args, "--config", str(site.config_path)], env=_env(),
                          capture_output=True, text=True)


@pytest.mark.parametrize("damage", ["garbage", "truncated", "folder"])
def test_a_damaged_state_database_is_named_exit_2(make_site, fixture_set, backend, damage):
    """State DB garbage, truncated, or a folder: `cob run` and `cob status` name the file and the problem and
    exit 2, never 'internal error (DatabaseError)'."""
    if backend != "sqlite":
        pytest.skip("a SQLite file")
    site = make_site("damaged")
    site.drop(fixture_set)
    assert site.run().exit_code in (0, 1)
    db = site.config.sqlite_path
    for f in db.parent.glob(db.name + "-*"):
        f.unlink()
    if damage == "garbage":
        db.write_bytes(os.urandom(8192))
    elif damage == "truncated":
        data = db.read_bytes()
        db.write_bytes(data[:len(data) // 3])
    else:
        db.unlink()
        db.mkdir()
    for command in ("run", "status"):
        out = _cli(site, command)
        assert out.returncode == 2, (command, out.stderr)
        assert str(db) in out.stderr and "internal error" not in out.stderr
        assert ("is a folder" if damage == "folder" else "not a readable SQLite database") in out.stderr


@pytest.mark.parametrize("url", ["postgresql://cob@127.0.0.1:1/cob", "postgresql://cob:pw@db host/x"])
def test_an_unreachable_or_bad_postgresql_url_is_named_exit_2(make_site, backend, url):
    if backend != "sqlite":
        pytest.skip("the URL is the test")
    site = make_site("pg-url")
    text = site.config_path.read_text().replace('url = "sqlite:///cob-state.db"', f'url = "{url}"')
    site.config_path.write_text(text)
    for command in ("run", "status"):
        out = _cli(site, command)
        assert out.returncode == 2, out.stderr
        assert "state database postgresql://cob@" in out.stderr and "internal error" not in out.stderr
        assert "pw" not in out.stderr


def test_a_database_locked_by_another_program_is_named(make_site, fixture_set, backend, monkeypatch):
    if backend != "sqlite":
        pytest.skip("SQLite's write lock")
    from cob.run import db as dbmod

    site = make_site("locked")
    site.drop(fixture_set)
    assert site.run().exit_code in (0, 1)
    monkeypatch.setattr(dbmod, "SQLITE_BUSY_SECONDS", 0.5)
    other = sqlite3.connect(str(site.config.sqlite_path), isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(ConfigError, match="is locked by another program"):
            site.run()
    finally:
        other.execute("ROLLBACK")
        other.close()


def test_a_killed_worker_is_named_exit_3(make_site, fixture_set, backend):
    """A worker killed while reading a file (the OOM killer): exit 3 naming the file, nothing of it recorded;
    the rerun ends with the reference result. (On PostgreSQL the run's workers are helpers of its team: one
    that dies has its unit taken over, tests/run/test_run_team.py.)"""
    if backend == "postgres":
        pytest.skip("PostgreSQL: a dead helper's unit is taken over (test_run_team.py)")
    ref, _total = _reference(make_site, fixture_set)
    site = make_site("worker-killed")
    site.drop(fixture_set)
    out = subprocess.run(_cob_run(site, "--workers", "2"), env=_env(COB_FAULT_KILL_READER="remit-0002.835"),
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 3, out.stderr
    # named: the file it read (with the one its partner, stopped by the broken pool, was reading, if any)
    assert re.search(r"a worker process reading [^;]*remit-0002\.835[^;]* died", out.stderr), out.stderr
    assert "BrokenProcessPool" not in out.stderr
    assert site.run_forked() in (0, 1)
    _assert_same(site, ref)


def test_status_stale_only_exits_1_when_claims_are_stale(make_site, sample_set):
    site = make_site("stale")
    site.drop(sample_set)
    assert site.run().exit_code in (0, 1)
    assert _cli(site, "status", "--stale-only").returncode == 0
    late = subprocess.run([str(BIN / "cob"), "status", "--stale-only", "--config", str(site.config_path)],
                          env={**_env(), "COB_NOW": (NOW + dt.timedelta(days=90)).isoformat()},
                          capture_output=True, text=True)
    assert late.returncode == 1 and "STALE" in late.stdout


def test_an_internal_error_names_where_exit_3(make_site, fixture_set, backend, tmp_path):
    """An unexpected exception: one line with its type and where in cob it was raised, exit 3."""
    if backend != "sqlite":
        pytest.skip("one backend")
    site = make_site("internal")
    site.drop(fixture_set)
    hook = tmp_path / "sitecustomize.py"
    hook.write_text("import cob.run.billing as b\n"
                    "def boom(*a, **k):\n    raise KeyError('PATIENT NAME')\n"
                    "b.bill = boom\nimport cob.run.runner as r\nr.bill = boom\n")
    out = subprocess.run(_cob_run(site, "--workers", "1"), env=_env(PYTHONPATH=str(tmp_path)),
                         capture_output=True, text=True)
    assert out.returncode == 3, out.stderr
    assert "internal error (KeyError at " in out.stderr and "PATIENT" not in out.stderr


# ------------------------------------------------------------------------------------------------ item 15


def test_a_kill_while_writing_a_report_leaves_no_temp_file(make_site, fixture_set):
    ref, _total = _reference(make_site, fixture_set)
    site = make_site("report-kill")
    site.drop(fixture_set)
    assert site.run_forked({"COB_FAULT_AFTER": str(_step(ref, "report being written"))}) == -signal.SIGKILL
    assert [p.name for p in (site.root / "reports").iterdir() if p.name.endswith(".tmp")]
    assert site.run_forked() in (0, 1)
    assert [p.name for p in (site.root / "reports").iterdir() if p.name.endswith(".tmp")] == []
    _assert_same(site, ref)
    assert _temp_files(site) == []
