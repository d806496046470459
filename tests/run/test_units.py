"""Work units with leases (cob/run/units.py, issue 19 part 2) against a throwaway PostgreSQL: several
processes (spawned interpreters, each with its own connections, as on several machines) create, lease,
take over and commit units; a process whose lease expired cannot commit."""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import signal
import time
from dataclasses import replace

import pytest
from click.testing import CliRunner

from cob.cli import main
from cob.run import units as units_module
from cob.run.db import PostgresDatabase, SQLiteDatabase
from cob.run.migrations import LATEST, MIGRATIONS, current_version, migrate
from cob.run.units import FAILED, LeaseLost, Units, Wait

from . import unit_workers

SPAWN = multiprocessing.get_context("spawn")


@pytest.fixture
def url(pg_server) -> str:
    """A fresh PostgreSQL database at the latest schema, with a scratch table `worked` for the work's rows."""
    url = pg_server.new_database()
    db = PostgresDatabase(url)
    migrate(db)
    db.execute("CREATE TABLE worked (process INTEGER NOT NULL, key TEXT NOT NULL)")
    db.close()
    return url


@pytest.fixture
def db(url):
    """The runner's main connection (commits the work's rows and guards the units)."""
    database = PostgresDatabase(url)
    yield database
    database.close()


@pytest.fixture
def make_units(url):
    """make_units(lease_seconds) -> a registered Units (as one process), closed at the end."""
    made: list[Units] = []

    def make(lease_seconds: float = 5.0, **kw) -> Units:
        units = Units.connect(url, lease_seconds=lease_seconds, **kw)
        units.register("host-a", 4242, run_id=None)
        made.append(units)
        return units

    yield make
    for units in made:
        units.close()


def _start(target, *args):
    proc = SPAWN.Process(target=target, args=args, daemon=True)
    proc.start()
    return proc


def _finish(*procs, timeout: float = 60) -> None:
    for proc in procs:
        proc.join(timeout)
        if proc.is_alive():
            proc.kill()
            proc.join()
            raise AssertionError("a child process did not finish")


def _commit(db, units, lease, result: bytes | None = None) -> None:
    with db.transaction():
        db.execute("INSERT INTO worked (process, key) VALUES (?, ?)", (units.process_id, lease.key))
        units.done(db, lease, result)


def _row(db, key: str, kind: str = "bill") -> tuple:
    return db.one("SELECT state, attempts, result FROM units WHERE kind = ? AND key = ?", (kind, key))


# ---------------------------------------------------------------------------------------------- adding


def test_add_is_idempotent_and_numbers_units_in_the_given_order(make_units, db):
    units = make_units()
    assert units.add("batch-7", "bill", [("0", b"shard 0"), ("1", b"shard 1"), ("2", None)]) == 3
    assert units.add("batch-7", "bill", [("1", b"other"), ("0", b"other")]) == 0  # both exist: nothing new
    assert units.add("batch-7", "bill", [("2", None), ("3", b"shard 3")]) == 1
    assert units.add("batch-8", "bill", [("0", b"next night")]) == 1  # another round is another unit
    rows = db.query("SELECT round, key, seq, payload, state, attempts FROM units ORDER BY round, seq")
    assert [(r[0], r[1], r[2], bytes(r[3]) if r[3] is not None else None, r[4], r[5]) for r in rows] == [
        ("batch-7", "0", 0, b"shard 0", "ready", 0), ("batch-7", "1", 1, b"shard 1", "ready", 0),
        ("batch-7", "2", 2, None, "ready", 0), ("batch-7", "3", 3, b"shard 3", "ready", 0),
        ("batch-8", "0", 0, b"next night", "ready", 0)]
    assert units.open_count("batch-7", "bill") == 4 and units.open_count("batch-7", "ingest") == 0


def test_create_once_runs_make_items_in_one_of_three_racing_processes(url, tmp_path, db):
    log = tmp_path / "make_items.log"
    ready = [SPAWN.Event() for _ in range(3)]
    go, out = SPAWN.Event(), SPAWN.Queue()
    procs = [_start(unit_workers.create_racer, url, ready[n], go, str(log), out) for n in range(3)]
    for event in ready:  # all three connected and registered, waiting for go
        assert event.wait(60)
    go.set()
    answers = sorted(out.get(timeout=60)[1:] for _ in procs)
    _finish(*procs)
    assert len(log.read_text().splitlines()) == 1  # make_items ran exactly once
    # one winner; the two that lost waited for its transaction and then saw its 5 units
    assert answers == [(False, 5), (False, 5), (True, 5)]
    assert db.query("SELECT key, seq FROM units WHERE kind = 'ingest' ORDER BY seq") == [
        (f"inbox/claims-{n}.837", n - 1) for n in range(1, 6)]
    assert db.query("SELECT round, kind, units FROM unit_phases") == [("batch-7", "ingest", 5)]


def test_create_once_whose_make_items_fails_leaves_the_phase_to_the_next_process(make_units):
    first, second = make_units(), make_units()

    def broken():
        raise OSError("the inbox share went away")

    with pytest.raises(OSError):
        first.create_once("batch-7", "ingest", broken)
    assert not first.created("batch-7", "ingest") and first.open_count("batch-7", "ingest") == 0
    assert second.create_once("batch-7", "ingest", lambda: [("inbox/a.837", None)]) is True
    assert first.open_count("batch-7", "ingest") == 1


def test_create_once_of_an_empty_phase_is_recorded_and_not_made_again(make_units):
    units = make_units()
    calls = []
    assert units.create_once("batch-7", "publish", lambda: calls.append(1) or []) is True
    assert units.create_once("batch-7", "publish", lambda: calls.append(1) or [("x", None)]) is False
    assert calls == [1] and units.created("batch-7", "publish") and not units.created("batch-7", "bill")
    assert units.wait_for("batch-7", "publish", poll_seconds=0.01) == Wait.DONE


# ---------------------------------------------------------------------------------------------- leasing


def test_three_processes_lease_thirty_units_each_exactly_once(url, db):
    keys = [f"{n:02d}" for n in range(30)]
    setup = Units.connect(url)
    setup.register("host-a", 1)
    setup.add("batch-7", "bill", [(k, f"claims of shard {k}".encode()) for k in keys])
    ready = [SPAWN.Event() for _ in range(3)]
    go, out = SPAWN.Event(), SPAWN.Queue()
    procs = [_start(unit_workers.leaser, url, ready[n], go, out) for n in range(3)]
    for event in ready:
        assert event.wait(60)
    go.set()
    done_by = dict(out.get(timeout=120) for _ in procs)
    _finish(*procs)
    sets = [set(v) for v in done_by.values()]
    assert all(sets), done_by  # all three took part
    assert sum(len(s) for s in sets) == 30 and set().union(*sets) == set(keys)  # disjoint, and all 30
    for mine in done_by.values():  # each process went through the units in seq order
        assert mine == sorted(mine)
    # the work's rows: each unit committed once, by the process whose lease it was
    worked = db.query("SELECT key, COUNT(*) FROM worked GROUP BY key ORDER BY key")
    assert worked == [(k, 1) for k in keys]
    assert db.query("SELECT DISTINCT state, attempts FROM units") == [("done", 0)]
    results = setup.results("batch-7", "bill")
    assert [(k, s) for k, s, _ in results] == [(k, n) for n, k in enumerate(keys)]
    owner = dict(db.query("SELECT key, process FROM worked"))
    assert all(r == f"shard {k} by {owner[k]}".encode() for k, _, r in results)
    assert setup.open_count("batch-7", "bill") == 0
    assert setup.clear("batch-7") == 30 and setup.open_count("batch-7", "bill") == 0
    setup.close()


def test_lease_picks_by_seq_and_a_live_lease_is_not_leased_twice(make_units, db):
    first, second = make_units(), make_units()
    first.add("batch-7", "bill", [("a", b"1"), ("b", b"2")])
    one = first.lease("batch-7", "bill")
    two = second.lease("batch-7", "bill")
    assert (one.key, one.seq, one.payload, one.attempts, one.taken_over) == ("a", 0, b"1", 0, False)
    assert (two.key, two.seq, two.payload) == ("b", 1, b"2")
    assert one.token != two.token and len(one.token) == 32
    assert first.lease("batch-7", "bill") is None and second.lease("batch-7", "bill") is None
    assert first.open_count("batch-7", "bill") == 2
    held = db.query("SELECT key, holder FROM units ORDER BY seq")
    assert held == [("a", first.process_id), ("b", second.process_id)]


def test_a_sigkilled_holders_unit_is_taken_over_after_its_lease_and_not_before(url, make_units, db, caplog):
    lease_seconds = 1.5
    Units.connect(url).add("batch-7", "bill", [("3", b"shard 3")])
    out = SPAWN.Queue()
    child = _start(unit_workers.holder, url, lease_seconds, out)
    assert out.get(timeout=60) == ("leased", "3")
    os.kill(child.pid, signal.SIGKILL)
    child.join()
    killed_at = time.monotonic()
    other = make_units(lease_seconds)
    assert other.lease("batch-7", "bill") is None  # its lease has not expired yet
    assert other.wait_for("batch-7", "bill", poll_seconds=0.05) == Wait.LEASABLE  # ... until it expires
    assert time.monotonic() - killed_at > 0.5  # renewed at most lease/3 before the kill
    with caplog.at_level(logging.WARNING, logger="cob.run.units"):
        lease = other.lease("batch-7", "bill")
    assert (lease.key, lease.payload, lease.taken_over, lease.attempts) == ("3", b"shard 3", True, 1)
    assert lease.previous_holder is not None and lease.previous_holder != other.process_id
    assert f"unit bill 3: taken over from process {lease.previous_holder}, whose lease expired (attempt 1)" \
        in caplog.text
    _commit(db, other, lease, b"finished by the second")
    assert _row(db, "3") == ("done", 1, b"finished by the second")


def test_a_sigstopped_process_past_its_lease_cannot_commit_when_resumed(url, make_units, db):
    """The stalled machine wakes up: its commit is refused, and the row it wrote in the same transaction
    is rolled back; the unit stays done by the process that took it over."""
    lease_seconds = 1.5
    Units.connect(url).add("batch-7", "bill", [("7", b"shard 7")])
    out, commit_now = SPAWN.Queue(), SPAWN.Event()
    child = _start(unit_workers.holder, url, lease_seconds, out, commit_now)
    assert out.get(timeout=60) == ("leased", "7")
    os.kill(child.pid, signal.SIGSTOP)
    try:
        other = make_units(lease_seconds)
        assert other.lease("batch-7", "bill") is None
        assert other.wait_for("batch-7", "bill", poll_seconds=0.05) == Wait.LEASABLE
        lease = other.lease("batch-7", "bill")
        assert (lease.key, lease.taken_over, lease.attempts) == ("7", True, 1)
        _commit(db, other, lease, b"from the process that took over")
    finally:
        os.kill(child.pid, signal.SIGCONT)
    commit_now.set()  # (after SIGCONT: an Event's set waits for its sleepers to wake)
    assert out.get(timeout=60) == ("lost", "unit bill 7: lease lost to another process; nothing committed")
    _finish(child)
    assert db.query("SELECT process, key FROM worked") == [(other.process_id, "7")]  # the child's row: gone
    assert _row(db, "7") == ("done", 1, b"from the process that took over")


def test_the_heartbeat_keeps_a_long_unit_leased_while_its_process_lives(make_units, db):
    first, second = make_units(2.0), make_units(2.0)
    first.add("batch-7", "bill", [("9", None)])
    lease = first.lease("batch-7", "bill")
    until = db.scalar("SELECT lease_until FROM units WHERE id = ?", (lease.id,))
    deadline = time.monotonic() + 5.0  # two and a half leases
    while time.monotonic() < deadline:
        assert second.lease("batch-7", "bill") is None
        time.sleep(0.2)
    assert db.scalar("SELECT lease_until FROM units WHERE id = ?", (lease.id,)) > until  # renewed
    age = db.scalar("SELECT EXTRACT(EPOCH FROM clock_timestamp() - heartbeat_at) FROM processes WHERE id = ?",
                    (first.process_id,))
    assert float(age) < 2.0  # beats every third of a lease
    _commit(db, first, lease, b"long")
    assert _row(db, "9") == ("done", 0, b"long")


def test_without_heartbeats_a_lease_expires(make_units, db):
    """The counterpart of the heartbeat test: the same unit, its holder's heartbeat stopped (as SIGSTOP
    stops it), is taken over after one lease."""
    first, second = make_units(1.0), make_units(1.0)
    first.add("batch-7", "bill", [("9", None)])
    lease = first.lease("batch-7", "bill")
    first._stop_heartbeat()
    assert second.lease("batch-7", "bill") is None
    time.sleep(1.5)
    took = second.lease("batch-7", "bill")
    assert (took.key, took.taken_over, took.attempts) == ("9", True, 1)
    with pytest.raises(LeaseLost):
        _commit(db, first, lease)


# ---------------------------------------------------------------------------------------------- the guard


def test_guard_refuses_a_wrong_token_an_expired_lease_and_a_finished_unit(make_units, db):
    units = make_units()
    units.add("batch-7", "bill", [("1", None), ("2", None), ("3", None)])
    one, two, three = (units.lease("batch-7", "bill") for _ in range(3))

    with pytest.raises(LeaseLost) as lost:  # a token that is not the unit's
        _commit(db, units, replace(one, token="0" * 32))
    assert (str(lost.value), lost.value.why) == (
        "unit bill 1: lease lost to another process; nothing committed", "taken over by another process")

    with db.transaction():  # expire unit 2's lease
        db.execute("UPDATE units SET lease_until = clock_timestamp() - interval '1 second' WHERE id = ?", (two.id,))
    with pytest.raises(LeaseLost) as lost:
        _commit(db, units, two)
    assert lost.value.why == "the lease expired"

    _commit(db, units, three, b"first")
    with pytest.raises(LeaseLost) as lost:  # done already: not twice
        _commit(db, units, three, b"second")
    assert lost.value.why == "the unit is done"

    assert db.query("SELECT key FROM worked") == [("3",)]  # only the one accepted commit wrote its row
    assert [_row(db, k) for k in "123"] == [("leased", 0, None), ("leased", 0, None), ("done", 0, b"first")]
    _commit(db, units, one)  # the right token still commits
    assert _row(db, "1")[0] == "done"


def test_guard_must_be_inside_the_commit_transaction(make_units, db):
    units = make_units()
    units.add("batch-7", "bill", [("1", None)])
    lease = units.lease("batch-7", "bill")
    with pytest.raises(RuntimeError, match="inside the transaction"):
        units.done(db, lease)
    assert _row(db, "1")[0] == "leased"


def test_a_unit_every_holder_dies_on_is_failed_after_max_attempts(make_units, db, caplog):
    units = make_units(max_attempts=2)
    units.add("batch-7", "bill", [("5", None), ("6", None)])
    for attempts in (0, 1, 2):
        lease = units.lease("batch-7", "bill")
        assert (lease.key, lease.attempts) == ("5", attempts)
        with db.transaction():  # the holder "dies": its lease runs out
            db.execute("UPDATE units SET lease_until = clock_timestamp() - interval '1 second' WHERE id = ?",
                       (lease.id,))
    with caplog.at_level(logging.WARNING, logger="cob.run.units"):
        nxt = units.lease("batch-7", "bill")
    assert nxt.key == "6"  # 5 is failed, not leased a fourth time
    assert "unit bill 5: failed, its lease expired 3 times" in caplog.text
    assert units.failures("batch-7", "bill") == [("5", 0, 3, b"lease expired 3 times")]
    with db.transaction():
        units.fail(db, nxt, b"unreadable shard")
    assert _row(db, "6") == (FAILED, 0, b"unreadable shard")
    assert units.open_count("batch-7", "bill") == 0 and units.results("batch-7", "bill") == []


def test_release_and_finish_give_unfinished_units_back_at_once(make_units, db):
    first, second = make_units(30.0), make_units(30.0)
    first.add("batch-7", "bill", [("1", None), ("2", None), ("3", None)])
    one, two = first.lease("batch-7", "bill"), first.lease("batch-7", "bill")
    assert first.release(one) is True and first.release(one) is False  # only while it is ours
    again = second.lease("batch-7", "bill")  # at once, not after 30 s; not a takeover
    assert (again.key, again.taken_over, again.attempts) == ("1", False, 0)
    first.finish_process()  # stopping (SIGTERM): "2" was not committed, it goes back too
    assert [(x.key, x.taken_over) for x in (second.lease("batch-7", "bill"), second.lease("batch-7", "bill"))] \
        == [("2", False), ("3", False)]
    assert db.query("SELECT key, state, holder FROM units ORDER BY seq") == [
        ("1", "leased", second.process_id), ("2", "leased", second.process_id), ("3", "leased", second.process_id)]
    assert db.scalar("SELECT state FROM processes WHERE id = ?", (first.process_id,)) == "finished"
    with pytest.raises(LeaseLost):
        _commit(db, first, two)


def test_drain_stops_when_asked(make_units):
    units = make_units()
    units.add("batch-7", "bill", [("1", None), ("2", None)])
    seen = []
    assert units.drain("batch-7", "bill", lambda lease: seen.append(lease.key), stop_check=lambda: bool(seen)) \
        == Wait.STOPPED
    assert seen == ["1"]
    # "2" is ready, "1" leased by us: something can be leased, so wait_for does not wait
    assert units.wait_for("batch-7", "bill", poll_seconds=0.01) == Wait.LEASABLE
    assert units.wait_for("batch-7", "bill", poll_seconds=0.01, stop_check=lambda: True) == Wait.STOPPED


def test_lease_needs_a_registered_process_and_units_need_postgresql(url, tmp_path):
    units = Units.connect(url)
    with pytest.raises(RuntimeError, match="register first"):
        units.lease("batch-7", "bill")
    units.close()
    sqlite = SQLiteDatabase(tmp_path / "state.db")
    with pytest.raises(ValueError, match="PostgreSQL"):
        Units(sqlite)
    sqlite.close()


# ---------------------------------------------------------------------------------------------- status


def test_at_work_lists_live_processes_and_the_units_they_hold(make_units, db):
    first, second, gone = make_units(30.0), make_units(30.0), make_units(30.0)
    first.add("batch-7", "ingest", [("inbox/claims-1.837", None)])
    first.add("batch-7", "bill", [("4", None)])
    first.lease("batch-7", "ingest")
    first.lease("batch-7", "bill")
    gone.finish_process()
    procs = first.at_work()
    assert [(p.id, p.host, p.pid, p.state) for p in procs] == [
        (first.process_id, "host-a", 4242, "working"), (second.process_id, "host-a", 4242, "waiting")]
    assert [(u.kind, u.key) for u in procs[0].units] == [("bill", "4"), ("ingest", "inbox/claims-1.837")]
    assert all(28 < u.lease_remaining_seconds <= 30 for u in procs[0].units)
    assert procs[1].units == []
    with db.transaction():  # a process whose heartbeat stopped a minute ago is not at work
        db.execute("UPDATE processes SET heartbeat_at = clock_timestamp() - interval '61 seconds' WHERE id = ?",
                   (second.process_id,))
    second._stop_heartbeat()
    assert [p.id for p in first.at_work()] == [first.process_id]


def test_cob_status_shows_the_processes_at_work_on_postgresql_only(make_site, backend):
    site = make_site()
    CliRunner().invoke(main, ["status", "--config", str(site.config_path)])  # creates the state
    units = None
    if backend == "postgres":
        units = Units.connect(site.config.state_url, lease_seconds=site.config.lease_seconds)
        units.register("worker-b", 31337, run_id=None)
        units.add("batch-7", "bill", [("12", b"claims")])
        units.lease("batch-7", "bill")
    try:
        text = CliRunner().invoke(main, ["status", "--config", str(site.config_path)]).stdout
        payload = json.loads(CliRunner().invoke(main, ["status", "--config", str(site.config_path), "--format",
                                                       "json"]).stdout)
    finally:
        if units is not None:
            units.close()
    if backend == "sqlite":
        assert "Processes at work" not in text and "processes" not in payload
        return
    assert "Processes at work: 1\n  pid 31337 on worker-b, started " in text
    assert ", working: bill 12 (lease 1" in text  # 120 s lease: "119 s left" or "120 s left"
    (proc,) = payload["processes"]
    assert (proc["host"], proc["pid"], proc["state"], proc["run_id"]) == ("worker-b", 31337, "working", None)
    (unit,) = proc["units"]
    assert (unit["round"], unit["kind"], unit["key"]) == ("batch-7", "bill", "12")
    assert 110 < unit["lease_remaining_seconds"] <= 120


# ---------------------------------------------------------------------------------------------- schema


def test_units_migration_applies_to_an_existing_state_on_both_backends(backend, pg_server, tmp_path):
    """A version-5 state (the schema before issue 19) with data upgrades to 6: the three tables appear,
    the data stays."""
    from cob.run import migrations

    db = SQLiteDatabase(tmp_path / "state.db") if backend == "sqlite" else PostgresDatabase(
        pg_server.new_database())
    saved = migrations.MIGRATIONS, migrations.LATEST
    migrations.MIGRATIONS, migrations.LATEST = MIGRATIONS[:5], 5
    try:
        assert migrate(db) == 5
    finally:
        migrations.MIGRATIONS, migrations.LATEST = saved
    with db.transaction():
        db.execute("INSERT INTO control_numbers (sender, last_isa) VALUES ('ZZ:S', 41)")
    assert migrate(db) == 1 and current_version(db) == LATEST == 6
    assert db.query("SELECT version, name FROM schema_version WHERE version = 6") == [
        (6, "work units and the processes leasing them")]
    assert db.query("SELECT sender, last_isa FROM control_numbers") == [("ZZ:S", 41)]
    for table in ("units", "processes", "unit_phases"):
        assert db.scalar(f"SELECT COUNT(*) FROM {table}") == 0
    with db.transaction():  # the UNIQUE (round, kind, key) holds on both
        db.execute("INSERT INTO units (round, kind, key, seq, state) VALUES ('r', 'bill', '1', 0, 'ready')")
    with pytest.raises(Exception) as err:
        with db.transaction():
            db.execute("INSERT INTO units (round, kind, key, seq, state) VALUES ('r', 'bill', '1', 1, 'ready')")
    assert "unique" in str(err.value).lower()
    db.close()


def test_lease_seconds_is_configured_and_checked(tmp_path):
    from cob.run.config import ConfigError, init_folder, load_config

    config = init_folder(tmp_path / "site")
    assert load_config(config).lease_seconds == 120
    text = config.read_text()
    assert "lease_seconds = 120" in text
    for bad, shown in (("0", "0"), ("-5", "-5"), ("0.5", "0.5"), ("100000", "100000"), ("nan", "nan")):
        config.write_text(text.replace("lease_seconds = 120", f"lease_seconds = {bad}"))
        with pytest.raises(ConfigError, match=f"run.lease_seconds must be a number of seconds from 1 to 86400 "
                                              f"\\(found {shown}"):
            load_config(config)
    config.write_text(text.replace("lease_seconds = 120", 'lease_seconds = "long"'))
    with pytest.raises(ConfigError, match="run.lease_seconds has the wrong type"):
        load_config(config)
    config.write_text(text.replace("lease_seconds = 120", "lease_seconds = 30"))
    assert load_config(config).lease_seconds == 30
    assert units_module.DEFAULT_LEASE_SECONDS == 120


def test_a_status_line_escapes_control_characters_in_keys():
    """Keys may be inbox file names, which a sender chooses: shown escaped, as everywhere else."""
    from cob.run.units import HeldUnit, ProcessAtWork

    proc = ProcessAtWork(3, "host-a", 7, "2026-03-02T01:30:00+00:00", 0.4, "working", 12,
                         [HeldUnit("batch-7", "ingest", "inbox/x\x1b[2J.837", 42.4)])
    assert proc.line() == ("  pid 7 on host-a, started 2026-03-02T01:30:00+00:00, working: "
                           "ingest inbox/x\\x1b[2J.837 (lease 42 s left)")
    assert proc.to_dict() == {"id": 3, "host": "host-a", "pid": 7, "started_at": "2026-03-02T01:30:00+00:00",
                              "heartbeat_age_seconds": 0.4, "state": "working", "run_id": 12,
                              "units": [{"round": "batch-7", "kind": "ingest", "key": "inbox/x\x1b[2J.837",
                                         "lease_remaining_seconds": 42.4}]}
