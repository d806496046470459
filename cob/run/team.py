"""Several `cob run` processes, on one machine or many, working one drop together through the PostgreSQL
state (issue 19). Built on `units` (work units with leases, a guarded commit).

**Who does what.** The process that holds the run lock (`lock`) is the run: it does everything a single
`cob run` does, in the same order and with the same commits, so a drop gives the same outbox, state and
report whatever the number of processes. What can be done anywhere it hands out as units of its round
(`run-<run id>`):

- ``ingest``: parse one input file into a record spool in the work folder (the run commits the records,
  in input order, as it does with its own workers' spools);
- ``bill``: decide one claim shard and write its parts (`shards`); the run joins them in shard order,
  numbers the outputs from the state's control numbers and records them in its one billing transaction;
- ``check``: the implementation-guide check of one payer's joined output, which the run then publishes
  (renames into place and records) itself: each output is published once, by the run.

A `cob run` that finds the lock held on PostgreSQL *helps* (`help_runs`) instead of exiting: it leases
units of the open round, works them and commits each result with `units.done`, which checks its lease
token in the same transaction, so a process whose lease expired (killed, or stopped and resumed: SIGSTOP,
a frozen VM) commits nothing; the unit was taken over by another process when its lease expired and is
done once. The run works units itself too while it waits for them, so a round finishes even when every
helper dies. `cob run --workers N` starts N-1 helpers of its own (spawned, as the local workers were).

**Paths.** Machines may mount the shared folders at different places: payloads and results name files
relative to the site folder (the folder of cob.toml), and each process resolves them against its own.

**When the run dies.** Its lock is released with its connection; a helper that then finds the lock free
and the run unfinished becomes the run itself (a new round: what the dead run committed stands, as after
any crash, and the rest is redone; units of dead rounds are deleted).
"""

from __future__ import annotations

import os
import pickle
import shutil
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from cob.billing.output import ig_errors

from . import faults, signals, workers
from .config import RunConfig
from .failures import WorkerDied
from .ingest import Parsed, WorkFailure, parse_file
from .lock import LockStuck, current_holder, pid_alive
from .shards import bill_shard, shard_task, worker_died
from .units import DONE, FAILED, LeaseLost, Lease, Units

INGEST, BILL, CHECK = "ingest", "bill", "check"
KINDS = (INGEST, BILL, CHECK)
#: how often an idle process looks for units again
POLL_SECONDS = 0.2


def round_of(run_id: int) -> str:
    return f"run-{run_id}"


@dataclass
class Problem:
    """A unit's work failed in the process that did it (its result, for the run to raise)."""

    message: str
    internal: bool = True


# ------------------------------------------------------------------------------------------ unit work


def work_unit(config: RunConfig, kind: str, key: str, payload: Any, token: str, state) -> Any:
    """Do one unit's work (in any process, reading the state on its `state`); the result to commit. Paths in
    and out are site-relative."""
    site = config.path.parent
    if kind == INGEST:
        rel, sha, size = payload
        work_folder(config).mkdir(parents=True, exist_ok=True)
        parsed = parse_file(str(site / rel), sha, size, str(work_folder(config)))
        if parsed.spool:
            parsed.spool = site_relative(config, Path(parsed.spool))
        parsed.path = rel
        return parsed
    if kind == BILL:
        number, ids, when = payload
        shard = bill_shard(shard_task(config, number, ids, when, _shard_folder(config, number, token)), state)
        for part in shard.parts:
            part.tmp = site_relative(config, Path(part.tmp))
        return shard
    if kind == CHECK:
        return ig_errors(site / payload, False)
    raise ValueError(f"unknown unit kind {kind!r}")


def site_relative(config: RunConfig, path: Path) -> str:
    """`path` as the processes of a team name it: relative to the site folder (each resolves it against its
    own mount), or absolute when it lies outside (a folder configured elsewhere must be mounted at the same
    path on every machine)."""
    try:
        return str(path.relative_to(config.path.parent))
    except ValueError:
        return str(path)


def work_folder(config: RunConfig) -> Path:
    """The run's work folder (in the site folder: shared by every process of a team)."""
    return config.path.parent / ".cob-work"


def _work_and_commit(units: Units, state, config: RunConfig, lease: Lease, the_run: bool = False) -> None:
    """Work one leased unit and commit its result under the lease (`LeaseLost`: the work is dropped). In the
    run itself (`the_run`) a failure is raised as it would be without a team (a full disk stops the billing
    step with exit 1, a bug exits 3); a helper commits it as the unit's result, for the run to raise."""
    faults.checkpoint(f"unit leased {lease.kind}")  # (the fault tests stop or kill a process holding a unit)
    try:
        result: Any = work_unit(config, lease.kind, lease.key, pickle.loads(lease.payload), lease.token, state)
        state_fn = units.done
    except signals.StopRequested:
        raise  # this process stops: the unit is given back (`Units.finish_process`) for another to do
    except Exception:
        if the_run:
            raise
        result, state_fn = _problem(lease), units.fail
    try:
        with state.db.transaction():
            state_fn(state.db, lease, pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))
    except LeaseLost:
        _discard(config, lease, result)  # another process did this unit: what we wrote is nobody's
        raise


def _problem(lease: Lease) -> Problem:
    """What a helper's failed unit tells the run (no data of the input: the exception's type and place)."""
    exc = sys.exc_info()[1]
    if isinstance(exc, WorkFailure):
        return Problem(str(exc), internal=exc.internal)
    if isinstance(exc, OSError):
        return Problem(f"unit {lease.kind} {lease.key} stopped in another process: {exc.strerror or exc}; nothing "
                       "of it was recorded, the next run does it again", internal=False)
    where = traceback.extract_tb(exc.__traceback__)[-1]
    return Problem(f"internal error ({type(exc).__name__}) in {Path(where.filename).name} line {where.lineno} "
                   f"while another process worked unit {lease.kind} {lease.key}")


def _discard(config: RunConfig, lease: Lease, result: Any) -> None:
    """Remove the files a unit's work wrote (its result was not committed)."""
    if lease.kind == INGEST and isinstance(result, Parsed) and result.spool:
        (config.path.parent / result.spool).unlink(missing_ok=True)
    elif lease.kind == BILL:
        shutil.rmtree(_shard_folder(config, pickle.loads(lease.payload)[0], lease.token), ignore_errors=True)


def _shard_folder(config: RunConfig, number: int, token: str) -> Path:
    """Where the holder of a bill unit's lease writes its parts: a stalled holder never writes where the
    process that took the unit over writes."""
    return work_folder(config) / "shards" / f"{number}-{token[:12]}"


# ------------------------------------------------------------------------------------------ the run's side


class Round:
    """The run's round: its units handed out, worked here too, and their results taken back in order."""

    def __init__(self, config: RunConfig, state, run_id: int, helpers: int):
        self.config = config
        self.state = state
        self.name = round_of(run_id)
        self.units = Units.connect(config.state_url, config.lease_seconds)
        self.units.register(faults.host_name(), os.getpid(), run_id)
        self.units.clear_other_rounds(self.name)  # a dead run's units: what it committed stands, the rest is redone
        self.helpers = helpers
        self._pool = None

    def start_helpers(self) -> None:
        """This machine's share of the work beside the run itself: `helpers` spawned processes that help this
        round (they die with the run, hold nothing of it, and stop when the round is over)."""
        if self.helpers > 0 and self._pool is None:
            with workers.signals_held():
                self._pool = workers.pool(self.helpers)
                for _ in range(self.helpers):
                    self._pool.submit(help_round, str(self.config.path), self.name)

    def map(self, kind: str, items: Sequence[tuple[str, Any]], died: Callable[[list[int]], BaseException]
            ) -> Iterator[Any]:
        """Hand `items` ((key, payload)) out as units of `kind` and yield their results in order, working
        units here while waiting. A unit that failed raises its problem (`WorkFailure`; `died` names a unit
        whose every holder died)."""
        if not items:
            return iter(())
        self.units.add(self.name, kind, [(key, pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL))
                                         for key, payload in items])  # handed out now: others start at once
        self.start_helpers()
        return self._collect(kind, [key for key, _payload in items], died)

    def _collect(self, kind: str, keys: list[str], died: Callable[[list[int]], BaseException]) -> Iterator[Any]:
        for n, key in enumerate(keys):
            while True:
                signals.check()
                state, result = self.units.outcome(self.name, kind, key)
                if state == DONE:
                    yield pickle.loads(result)
                    break
                if state == FAILED:
                    problem = pickle.loads(result) if result and result.startswith(b"\x80") else None
                    if isinstance(problem, Problem):
                        failure = WorkFailure(problem.message)
                        failure.internal = problem.internal
                        raise failure
                    raise died(list(range(n, len(keys))))  # its lease expired too often: its holders died
                lease = self.units.lease(self.name, kind)
                if lease is not None:
                    try:
                        _work_and_commit(self.units, self.state, self.config, lease, the_run=True)
                    except LeaseLost:
                        pass  # taken over while we worked it (we were stopped): its holder commits it
                    continue
                if self.units.reclaim_dead(faults.host_name(), pid_alive):
                    continue  # a helper of this machine died holding units: they are ready again
                time.sleep(POLL_SECONDS)

    def parsed(self, items: list[tuple[Path, str, int]]) -> Iterator[Parsed]:
        """The inputs (path, sha256, size) parsed by the team, in input order (`runner._parsed`)."""
        rels = [site_relative(self.config, path) for path, _sha, _size in items]
        site = self.config.path.parent

        def died(unfinished: list[int]) -> WorkerDied:
            return WorkerDied(f"every process that read {Path(rels[unfinished[0]]).name} died (killed, or out of "
                              "memory?); nothing of that file was recorded, the next run reads it again")
        for (path, _sha, _size), parsed in zip(items, self.map(INGEST, [(rel, (rel, sha, size)) for rel, (_p, sha, size)
                                                                         in zip(rels, items)], died)):
            parsed.path = str(path)
            if parsed.spool:
                parsed.spool = str(site / parsed.spool)
            yield parsed

    def shard_results(self, cuts: list[list[str]], when) -> Iterator:
        """The claim shards billed by the team, their results in shard order (`shards.bill_in_shards`)."""
        site = self.config.path.parent
        results = self.map(BILL, [(str(n), (n, ids, when)) for n, ids in enumerate(cuts)],
                           lambda unfinished: worker_died(unfinished, len(cuts)))  # handed out now

        def absolute() -> Iterator:
            for shard in results:
                for part in shard.parts:
                    part.tmp = str(site / part.tmp)
                yield shard
        return absolute()

    def check_files(self, paths: list[Path]) -> list[list]:
        """The implementation-guide check of each joined output (temp files in the outbox), by the team."""
        rels = [site_relative(self.config, p) for p in paths]

        def died(unfinished: list[int]) -> WorkerDied:
            return WorkerDied("every process that checked an output died (killed, or out of memory?); nothing was "
                              "recorded as sent, the next run bills the claims again")
        return list(self.map(CHECK, [(rel, rel) for rel in rels], died))

    def tally(self) -> list[dict]:
        """Who did the round's units: per process (host, pid) how many of each kind (the report's `team`)."""
        return self.units.tally(self.name)

    def close(self) -> None:
        """The round is over: its units are deleted (helpers stop), the helpers of this machine end."""
        try:
            self.units.clear(self.name)
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=True, cancel_futures=True)
            self.units.finish_process()
            self.units.close()


# ------------------------------------------------------------------------------------------ helpers


def help_runs(config: RunConfig, n_workers: int | None) -> tuple[int, bool]:
    """This process (and `workers - 1` spawned helpers of its own) helps the run that holds the lock until
    it is over. Returns (units committed, orphaned): orphaned when that run died before it finished (the
    lock is free and its run is still marked running), so the caller should take the lock and run."""
    extra = max(config.effective_workers(n_workers) - 1, 0)
    pool = None
    if extra:
        with workers.signals_held():
            pool = workers.pool(extra)
            futures = [pool.submit(help_round, str(config.path), None) for _ in range(extra)]
    try:
        done = help_round(str(config.path), None)
        if pool is not None:
            done += sum(f.result() for f in futures)
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    return done, _orphaned(config)


def _orphaned(config: RunConfig) -> bool:
    """The lock is free but the last run is still marked running: it died (its units will not finish)."""
    from .state import State

    if _run_holds_lock(config):
        return False
    state = State.open(config.state_url, None)
    try:
        last = state.last_runs(1)
    finally:
        state.close()
    return bool(last) and last[0][3] == "running"


def help_round(config_path: str, round_name: str | None) -> int:
    """A helper process's loop (`cob run` that found the lock held, or one the run started): lease and work
    units of the open rounds (or of `round_name` only) until none is open and no run holds the lock.
    Returns how many units it committed."""
    from .config import load_config
    from .state import State

    config = load_config(Path(config_path))
    state = State.open(config.state_url, None)
    units = Units.connect(config.state_url, config.lease_seconds)
    units.register(faults.host_name(), os.getpid(), None)
    done = 0
    try:
        while True:
            signals.check()
            if round_name is None and not _run_holds_lock(config):
                return done  # no run at work (it finished, or died: the caller finds out which), or a hung one
            rounds = [round_name] if round_name else units.open_rounds()
            worked = False
            for name in rounds:
                for kind in KINDS:
                    lease = units.lease(name, kind)
                    if lease is None:
                        continue
                    try:
                        _work_and_commit(units, state, config, lease)
                        done += 1
                    except LeaseLost as lost:
                        print(f"cob run: {lost} ({lost.why})", file=sys.stderr, flush=True)
                    worked = True
                    break
                if worked:
                    break
            if worked:
                continue
            if round_name is not None and not units.round_open(round_name):
                return done
            time.sleep(POLL_SECONDS)
    finally:
        units.finish_process()
        units.close()
        state.close()


def _run_holds_lock(config: RunConfig) -> bool:
    """A run holds the lock (one held past `max_run_minutes` raises `LockStuck`: helping it would never end)."""
    holder, held = current_holder(None, config.state_url)
    if held and holder is not None and holder.age_seconds > config.max_run_minutes * 60:
        raise LockStuck(f"the run that holds the lock ({holder.describe()}) has held it longer than "
                        f"run.max_run_minutes = {config.max_run_minutes:g}; it may be hung, a person should look")
    return held
