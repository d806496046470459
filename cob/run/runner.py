"""One `cob run`: recover, ingest, bill, publish, archive, report. Library entry point: `run_batch`.

Order of work, and why it survives `kill -9` at any point:

1. **Lock** (see `lock`): an overlapping run exits at once (or waits with `wait=True`).
2. **Recover** what an interrupted run left: committed outputs not yet renamed are renamed now (their
   fsynced temp files are recorded in `outputs` in the same transaction as the claims and control
   numbers they hold); inputs already recorded but not yet moved are left for step 6 (not read again);
   stray temp files of uncommitted work are removed.
3. **Ingest** the files present at the start, in name order: each is hashed; a content seen before is a
   duplicate; others are parsed (in `workers` processes) and written to the state in one transaction per
   file, which also marks its claims dirty and opens the batch (whose time becomes the outputs' time).
   A malformed or unreadable file is recorded as rejected.
4. **Bill** every dirty claim (`billing.bill`), writing each destination payer's output to a temp file,
   validated and fsynced. Then one transaction records emitted claims, control numbers, output files
   (pending rename), each claim's status, and closes the batch; a failure before it (full disk) rolls
   all of it back and the next run redoes it with the same numbers.
5. **Publish**: rename each output into place (fsync, rename, fsync folder) and mark it published.
6. **Move inputs**: into archive/ (duplicates to archive/duplicates/, bad ones to rejected/ with a
   .reason.txt), only now that everything built from them is committed and published.
7. **Report**: JSON report, summary and JSON-lines log in the reports folder.

With `--workers N` inputs are parsed and claims billed (in shards, `shards`) by N processes; on PostgreSQL
the work that can be done anywhere is handed out as units that other `cob run` processes, on any machine,
help with (`team`), while every commit above stays this run's, in the same order.

Since billing reads only committed state, a rerun after a kill produces the same claims, in the same
order, with the same control numbers and the same batch time: the outbox equals that of an
uninterrupted run byte for byte. The states each step moves inputs, outputs, claims and the batch
through, and the verbs that move them, are drawn in `states`. Exit codes: 0 ok, 1 an input was
quarantined, a claim rejected, or the run failed part-way (nothing lost; the next run finishes it); 2 is
the CLI's for configuration errors.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

from cob.edi.writer import atomic_output, publish
from cob.billing.output import ig_errors
from cob.billing.secondary import SecondaryOptions
from cob.progress import Progress, Steps
from cob.schemas.report import InputResult, OutcomeStatus, RunReport

from . import controls, faults, shards, signals, team, workers
from .adopt import refuse_fresh_state
from .files import created_with, make_private
from .inbox import EntryKind, classify, fs_path, kept_name, shown, stored
from .preflight import check_site
from .submitters import Submitters
from .billing import BillingResult, StateSecondaryRun, bill, sender_key
from .acks import ACK_KINDS, AckState, ack_section
from .afterpay_report import after_payment, write_balance_files
from .config import RunConfig
from .failures import WorkerDied, check_state_path, state_errors
from .posting import Poster, PostingSettings, PostingState
from .ingest import Parsed, WorkFailure, hash_file, parse_file, read_records
from .leftovers import clean_stale_temp_files
from .lock import LockBusy, LockStuck, RunLock
from .settle import Look, move_unchanged, return_grown
from .report import (Disposition, InputDisposition, OutputFile, RunBatchReport, RunLog, RunMeta, StaleClaim,
                     write_reports)
from .page import PageData, read_page_data, write_run_pages
from .state import InputRow, OutputRow, State
from .states import InputState, Inputs, OutputState, Outputs

RECORD_CHUNK = 1000


@dataclass
class RunOptions:
    wait: bool = False  # wait for an overlapping run instead of exiting
    dry_run: bool = False  # decide and report, but record, send and move nothing
    workers: int | None = None  # None: the configuration's (0 there: the CPU count)
    now: dt.datetime | None = None  # the run's clock (tests fix it; COB_NOW in the CLI)
    validate: bool = True  # IG validation of every output (keep on; tests of other parts may turn it off)
    #: `progress(done, total, label)` per input read and claim billed (the CLI draws bars on a terminal)
    progress: Progress | None = None


@dataclass
class RunResult:
    exit_code: int
    run_id: int | None = None
    report: RunBatchReport | None = None
    report_path: Path | None = None
    summary_path: Path | None = None
    log_path: Path | None = None
    locked_out: bool = False
    message: str = ""
    errors: list[str] = field(default_factory=list)  # what the CLI prints even under cron
    page_path: Path | None = None  # the run's HTML page (reports/<stem>.html)


def run_batch(config: RunConfig, options: RunOptions | None = None) -> RunResult:
    """Everything `cob run` does. Returns instead of exiting; see module doc. Raises `ConfigError` (exit 2)
    for configuration problems, the state database's among them (`failures.StateUnavailable`)."""
    options = options or RunOptions()
    check_site(config)  # ConfigError (exit 2): a missing folder, an unusable roster or order facts
    with created_with(config.file_mode), signals.stop_on_signals():
        return _locked_run(config, options)


def _locked_run(config: RunConfig, options: RunOptions) -> RunResult:
    """The run under the lock (see `lock`): the state opened, refused when fresh over a used folder."""
    lock = RunLock(config.sqlite_path, None if config.sqlite_path else config.state_url)
    check_state_path(config)
    try:
        with state_errors(config):
            lock.acquire(wait=options.wait, max_run_minutes=config.max_run_minutes)
    except LockBusy as exc:
        if config.is_postgres and config.team and not options.dry_run:
            return _help(config, options, str(exc))
        return RunResult(0, locked_out=True, message=f"cob run: {exc}; this run exits without doing "
                                                     "anything (use --wait to wait for it)")
    except LockStuck as exc:
        return RunResult(1, locked_out=True, message=f"cob run: {exc}", errors=[f"cob run: {exc}"])
    except signals.StopRequested as exc:  # while waiting for the lock
        return RunResult(exc.exit_code, locked_out=True, message=f"cob run: {exc} while waiting for the lock")
    try:
        clean_stale_temp_files(config)  # only a dead run's: we hold the lock
        with state_errors(config):
            state = State.open(config.state_url, config.sqlite_path)
            try:
                refuse_fresh_state(config, state)
                run = _Run(config, options, state)
                if lock.took_over is not None:
                    run.took_over = lock.took_over.describe()
                return run.run()
            finally:
                state.close()
    finally:
        lock.release()


def _help(config: RunConfig, options: RunOptions, busy: str) -> RunResult:
    """PostgreSQL: another run holds the lock, so help it (`team.help_runs`). Should that run die before it
    finished, this process takes the lock and is the run (a rerun, as the next cron run would be)."""
    try:
        helped, orphaned = team.help_runs(config, options.workers)
    except signals.StopRequested as exc:
        return RunResult(exc.exit_code, locked_out=True, message=f"cob run: {exc} while helping another run")
    except LockStuck as exc:
        return RunResult(1, locked_out=True, message=f"cob run: {exc}", errors=[f"cob run: {exc}"])
    if orphaned:
        return _locked_run(config, options)
    return RunResult(0, locked_out=True, message=f"cob run: {busy}; this process helped it ({helped} unit(s) of "
                                                  "work) and exits (its report is the run's)")


class _Run:
    def __init__(self, config: RunConfig, options: RunOptions, state: State):
        self.config = config
        self.options = options
        self.state = state
        self.now = (options.now or dt.datetime.now()).replace(microsecond=0)
        self.workers = config.effective_workers(options.workers)
        self.dispositions: list[InputDisposition] = []
        self.inputs: list[InputResult] = []
        self.problems: list[str] = []
        self.errors: list[str] = []
        self.failed = False
        self.timings: dict[str, float] = {}
        self.work = config.path.parent / ".cob-work"
        self.billing: BillingResult | None = None
        self.outputs: list[OutputFile] = []
        self.recovered: list[str] = []
        self.page_path: Path | None = None
        self.postings: list = []  # `posting.ClaimPosting`s committed by this run's billing step
        self.filed: set[tuple[str, str, str]] = set()  # (claim, claim key, payer) sent by this run
        self.acks: list = []  # `acks.AckResult`s of the 999 / 277CA files read this run
        self.looks: dict[Path, Look] = {}  # each input as the scan saw it (`settle`)
        self.took_over: str | None = None  # the dead holder of the lock this run replaced
        self.exit_override: int | None = None  # 128 + signal when stopped; 3 when a worker died
        self.submitters = Submitters(config, state)
        self.pool = workers.Workers(self.workers)  # parses and bills with --workers N (started at first use)
        self.round: team.Round | None = None  # the units this run hands out on PostgreSQL (`team`)
        self.team: list[dict] = []  # who did them: the report's `team`

    # -------------------------------------------------------------------------------------------- run

    def run(self) -> RunResult:
        state, config = self.state, self.config
        dry = self.options.dry_run
        if dry:
            state.db.begin_outer()  # everything below is rolled back at the end
        self.run_id = state.start_run(self.now, socket.gethostname(), os.getpid())
        stem = f"run-{self.now:%Y%m%dT%H%M%S}-{self.run_id}" + ("-dry-run" if dry else "")
        self.log = RunLog(config.reports / f"{stem}.log.jsonl")
        self.log.event("run_start", run_id=self.run_id, dry_run=dry, workers=self.workers,
                       config=config.path.name)
        if self.took_over:
            self.log.event("lock_taken_over", holder=self.took_over[:200])
            self.problems.append(f"took over the run lock of a run that is gone ({self.took_over})")
        faults.checkpoint("run started")
        if config.is_postgres and config.team and not dry:  # others may help (`team`); --workers N: N-1 here
            self.round = team.Round(config, state, self.run_id, max(self.workers - 1, 0))
        try:
            t = time.perf_counter()
            if not dry:
                controls.write(config.outbox, state.controls())  # a kill may have come before it was written
            leftovers = self._recover() if not dry else set()
            self.timings["recover_s"] = time.perf_counter() - t
            t = time.perf_counter()
            self._ingest(leftovers)
            self.timings["ingest_s"] = time.perf_counter() - t
            t = time.perf_counter()
            if not self.failed:
                self._bill()
            self.timings["bill_s"] = time.perf_counter() - t
            t = time.perf_counter()
            if not dry:
                self._publish_pending()
                if not self.failed:
                    self._move_inputs()
            self.timings["publish_move_s"] = time.perf_counter() - t
        except WorkFailure as exc:
            self._fail(str(exc))
            if exc.internal:
                self.exit_override = 3
        except WorkerDied as exc:
            self._fail(str(exc))
            self.exit_override = 3
        except signals.StopRequested as exc:
            self._fail(f"{exc}; nothing is lost: what was committed stays, the next run continues from there")
            self.exit_override = exc.exit_code
        except OSError as exc:
            self._fail(f"run stopped: {_os_problem(exc)}; nothing is lost, the next run continues")
        finally:
            self.pool.close()
            if self.round is not None:
                self.team = self.round.tally()
                self.round.close()
        shutil.rmtree(self.work, ignore_errors=True)  # spools are consumed or worthless now: leave no temp file
        return self._finish(stem)

    def _fail(self, message: str) -> None:
        self.failed = True
        self.problems.append(message)
        self.errors.append(f"cob run: {message}")
        self.log.event("run_failed", message=message)

    # -------------------------------------------------------------------------------------------- recover

    def _recover(self) -> set[Path]:
        """Finish what an interrupted run committed; returns inbox files already recorded (not re-read)."""
        self._publish_pending(recovering=True)
        self._clean_temp_files()
        back, stuck = return_grown([(fs_path(i), d, n) for i, d, n in self.state.quarantined_files()],
                                   self.config.settle_seconds)
        back, stuck = [shown(n) for n in back], [shown(n) for n in stuck]
        for name in back:
            self.log.event("input_put_back", file=name)
            self.problems.append(f"{name}: grew after it was quarantined (its writer had paused); put back into "
                                 "the inbox to be read whole")
        for name in stuck:
            self.problems.append(f"{name}: grew in rejected/ after it was quarantined; move it back into the inbox")
        leftovers: set[Path] = set()
        for row in self.state.unmoved_inputs():
            source = fs_path(row.inbox_path)
            if os.path.lexists(source) and (row.sha256 is None or _sha_or_none(source) in (row.sha256, None)):
                leftovers.add(source)
                self._carry(row)
            else:  # moved before the interruption, or removed by someone: nothing left to move
                self.state.move_input(row, Inputs.move(row.state))
        return leftovers

    def _carry(self, row: InputRow) -> None:
        rejected = row.state is InputState.REJECTED
        self.dispositions.append(InputDisposition(
            file=row.name, sha256=row.sha256, kind=row.kind, claims=row.claims, payments=row.payments,
            disposition=Disposition.of(row.state, carried_over=True), reason=row.reason))
        self.inputs.append(_input_result(row.name, row.kind, row.reason if rejected else None))

    def _clean_temp_files(self) -> None:
        """`Outputs.discard` what uncommitted billing wrote (staged outputs' temp files stay)."""
        self._discard_written()
        shutil.rmtree(self.work, ignore_errors=True)

    def _discard_written(self) -> None:
        pending = {str(self._abs(row.tmp_path)) for row in self.state.pending_outputs()}
        for folder in [self.config.outbox, *[p for p in self.config.outbox.iterdir() if p.is_dir()]]:
            for f in folder.iterdir():
                if f.name.startswith(".") and f.name.endswith((".spool", ".tmp")) and str(f) not in pending:
                    Outputs.discard(OutputState.WRITTEN, f.name)
                    f.unlink(missing_ok=True)

    def _publish_pending(self, recovering: bool = False) -> None:
        """`Outputs.publish` every staged output: rename it into place, then record it."""
        for row in self.state.pending_outputs():
            self._publish(row, recovering)

    def _publish(self, row: OutputRow, recovering: bool) -> None:
        final, tmp = self._abs(row.path), self._abs(row.tmp_path)
        if tmp.exists():
            publish(tmp, final)
        elif not final.exists():  # it stays staged, and every run says so until someone looks
            self._fail(f"output {row.path} was committed but its temp file is gone; its claims are recorded as "
                       "sent: check the outbox")
            return
        faults.checkpoint("output published")
        self.state.publish_output(row)
        faults.checkpoint("output marked published")
        self.log.event("output_published", file=row.path, recovered=recovering)
        if recovering:
            self.recovered.append(row.path)

    def _abs(self, rel: str) -> Path:
        return self.config.outbox / rel

    # -------------------------------------------------------------------------------------------- ingest

    def _scan(self, leftovers: set[Path]) -> list[Path]:
        """Input files present now: regular, not hidden, settled (`settle`); in inbox order, then name order.
        Links and names that are not UTF-8 are quarantined here (never opened); folders and FIFOs are reported."""
        out: list[Path] = []
        now = time.time()
        for inbox in self.config.inboxes:
            for entry in classify(inbox):
                f = entry.path
                if entry.kind is EntryKind.HIDDEN or f in leftovers:
                    continue
                if entry.kind in (EntryKind.LINK, EntryKind.BAD_NAME):
                    self._reject(f, None, None, f"{entry.shown}: {entry.reason}")
                    continue
                if entry.kind is not EntryKind.FILE:
                    self._report_skipped(entry.shown, entry.reason)
                    continue
                look = Look.now_or_none(f)
                if look is not None and not look.settled(self.config.settle_seconds, now):
                    self.log.event("input_not_settled", file=entry.shown)
                    continue
                if look is not None:
                    self.looks[f] = look
                out.append(f)
        return out

    def _changed(self, path: Path, when: str) -> bool:
        """True (logged; the file stays in the inbox for the next run) when `path` is no longer as scanned."""
        look = self.looks.get(path)
        if look is None or look.same(Look.now_or_none(path)):
            return False
        self.log.event("input_changed", file=shown(path.name), when=when)
        self.problems.append(f"{shown(path.name)}: changed {when}; left in the inbox for the next run")
        return True

    def _report_skipped(self, name: str, reason: str) -> None:
        """An inbox entry that is not read and not moved (a folder, a FIFO): said every run, not hidden."""
        self.problems.append(f"inbox entry {name} skipped: {reason}")
        self.errors.append(f"cob run: inbox entry {name} skipped: {reason}")
        self.log.event("input_skipped", file=name, reason=reason)

    def _ingest(self, leftovers: set[Path]) -> None:
        files = self._scan(leftovers)
        self.log.event("scan", files=len(files), carried_over=len(leftovers))
        to_parse: list[tuple[Path, str, int]] = []
        seen: dict[str, Path] = {}
        for path in files:
            signals.check()
            try:
                sha, size = hash_file(path)
            except OSError as exc:
                self._reject(path, None, None, f"{shown(path.name)}: cannot read: {exc.strerror or exc}")
                continue
            faults.checkpoint("input hashed")
            if self._changed(path, "while it was hashed"):
                continue
            if sha in seen or self.state.ingested(sha) is not None:
                self._duplicate(path, sha, size)
                continue
            seen[sha] = path
            to_parse.append((path, sha, size))
        if not to_parse:
            return
        self.work.mkdir(parents=True, exist_ok=True)
        bar = Steps(self.options.progress, len(to_parse), "reading inputs")
        try:
            for parsed in self._parsed(to_parse):
                self._commit_input(parsed)
                bar.update(1)
                signals.check()
        finally:
            bar.close()

    def _parsed(self, items: list[tuple[Path, str, int]]) -> Iterator[Parsed]:
        """Parsed inputs in input order; by the team's processes (`team`), or in worker processes when more
        than one worker is asked for."""
        if self.round is not None:
            yield from self.round.parsed(items)
            return
        args = [(str(p), sha, size, str(self.work)) for p, sha, size in items]
        if self.workers <= 1 or len(items) <= 1:
            for a in args:
                yield parse_file(*a)
            return
        # spawned workers: they inherit neither the lock nor a connection and die with us (`workers`);
        # on a stop, a worker's death or any error the pool is shut down before we go on (no hang at exit)
        n = min(self.workers, len(items))

        def died(unfinished: list[int]) -> WorkerDied:
            names = [shown(Path(args[k][0]).name) for k in unfinished]
            dying = " or ".join(names[:n]) + (" (or another)" if len(names) > n else "")
            return WorkerDied(f"a worker process reading {dying} died (killed, or out of memory?); nothing of that "
                              "file was recorded, the next run reads it again")
        yield from self.pool.in_order(parse_file, args, died)  # (kept for billing: `workers.Workers`)

    def _commit_input(self, parsed: Parsed) -> None:
        path = Path(parsed.path)
        if self._changed(path, "while it was read"):  # ingested half or truncated: read it again next run
            if parsed.spool:
                Path(parsed.spool).unlink(missing_ok=True)
            return
        if parsed.error is not None:
            self._reject(path, parsed.sha256, parsed.size, parsed.error)
            return
        foreign = self.submitters.foreign(parsed.pairs)
        if foreign is not None:
            Path(parsed.spool).unlink(missing_ok=True)
            self._reject(path, parsed.sha256, parsed.size, f"{shown(path.name)}: {foreign}")
            return
        name = shown(path.name)
        dest = self._destination(self.config.archive, path.name)
        record_input(self.state, parsed, path, dest, self.now, self.run_id, acks=self.acks)
        faults.checkpoint("input committed")
        self.dispositions.append(InputDisposition(file=name, sha256=parsed.sha256, kind=parsed.kind,
                                                  disposition=Disposition.of(InputState.INGESTED),
                                                  moved_to=str(dest),
                                                  claims=parsed.claims, payments=parsed.payments))
        self.inputs.append(_input_result(name, parsed.kind, None))
        self.log.event("input", file=name, kind=parsed.kind, claims=parsed.claims, payments=parsed.payments,
                       bytes=parsed.size, parse_s=round(parsed.seconds, 3))

    def _destination(self, folder: Path, name: str) -> Path:
        """A name in `folder` that no file and no recorded input uses (a suffix on a clash); a name that is
        not UTF-8 or too long to derive names from is made safe (`inbox.kept_name`)."""
        name = kept_name(name)
        dest = folder / name
        n = 1
        while (os.path.lexists(dest) or dest.with_name(dest.name + ".reason.txt").exists()
               or self.state.dest_taken(str(dest))):
            n += 1
            dest = folder / f"{name}.{n}"
        return dest

    def _reject(self, path: Path, sha: str | None, size: int | None, reason: str) -> None:
        dest = self._destination(self.config.rejected, path.name)
        name = shown(path.name)
        with self.state.transaction():
            self.state.add_input(Inputs.reject, sha256=sha, name=name, size=size, kind=None, reason=reason,
                                 now=self.now, run_id=self.run_id, inbox_path=stored(path), dest_path=str(dest))
        faults.checkpoint("input rejected")
        self.dispositions.append(InputDisposition(file=name, sha256=sha,
                                                  disposition=Disposition.of(InputState.REJECTED),
                                                  moved_to=str(dest), reason=reason))
        self.inputs.append(_input_result(name, None, reason))
        self.errors.append(f"cob run: quarantined {name}: {reason}")
        self.log.event("input_rejected", file=name, moved_to=dest.name, reason=reason)

    def _duplicate(self, path: Path, sha: str, size: int) -> None:
        dest = self._destination(self.config.archive / "duplicates", path.name)
        name = shown(path.name)
        with self.state.transaction():
            self.state.add_input(Inputs.mark_duplicate, sha256=sha, name=name, size=size, kind=None,
                                 reason="same content as an input already processed", now=self.now,
                                 run_id=self.run_id, inbox_path=stored(path), dest_path=str(dest))
        faults.checkpoint("duplicate recorded")
        self.dispositions.append(InputDisposition(file=name, sha256=sha,
                                                  disposition=Disposition.of(InputState.DUPLICATE),
                                                  moved_to=str(dest)))
        self.inputs.append(_input_result(name, None, None))
        self.log.event("input_duplicate", file=name, moved_to=dest.name)

    # -------------------------------------------------------------------------------------------- bill

    def _bill(self) -> None:
        state, config = self.state, self.config
        ids = state.dirty_ids()
        dirty = len(ids)
        if not dirty:
            return
        batch_time = state.batch_time()
        self.batch_time = dt.datetime.fromisoformat(batch_time) if batch_time else self.now
        out_dir = config.outbox
        scratch = None
        if self.options.dry_run:
            scratch = out_dir = Path(_mkdtemp(self.work))
        options = SecondaryOptions(out_dir=out_dir, sender=config.sender, receiver=config.receiver,
                                   validate=self.options.validate, now=self.batch_time,
                                   payer_subfolders=config.payer_subfolders, defer_publish=True,
                                   paper_payers=config.paper_payers, paper_proof=config.paper_proof)
        if not self.options.dry_run:
            self._raise_control_floor()
        bar = Steps(self.options.progress, dirty, "billing claims")
        result: BillingResult | None = None
        poster = Poster(config.coverage, PostingSettings(config.include_patient_names, config.underpayment_tolerance,
                                                         config.deadlines))
        try:
            cuts = shards.cut(ids, config.shard_claims)
            if self.round is not None:  # shards billed by every process of the team (`team`)
                billing = StateSecondaryRun(state, options)
                billing.check_files = self.round.check_files
                result, poster.postings = shards.bill_in_shards(
                    billing, self.round.shard_results(cuts, self.batch_time), bar.update)
            elif self.workers > 1 and not self.options.dry_run and len(cuts) > 1:
                # on every core (`shards`); a dry run's ingest is uncommitted, so only this connection sees it
                billing = StateSecondaryRun(state, options)
                billing.check_files = self._check_in_workers
                result, poster.postings = shards.bill_in_shards(
                    billing, shards.on_this_machine(config, cuts, self.batch_time, self.work / "shards", self.pool),
                    bar.update)
            else:
                result = bill(state, options, config.coverage, config.order_facts, progress=bar.update,
                              observer=poster.observe)
            signals.check()
        except OSError as exc:
            self._discard(result)
            self._fail(f"billing stopped: {exc.strerror or exc}; no claim was recorded as sent, the next run "
                       "bills them again")
            return
        except signals.StopRequested:
            self._discard(result)
            raise
        finally:
            bar.close()
        run = result.run
        try:
            with state.transaction():
                for sender, last in run.last_isa.items():
                    state.set_control(sender, last)
                for spool, ready in run.ready:
                    kept = sum(1 for o, *_ in spool.entries if o.status == OutcomeStatus.BILLED)
                    state.stage_output(sender=sender_key(spool.info.sender), isa13=spool.isa,
                                       payer_id=spool.payer_id, path=self._rel_out(spool.final, out_dir),
                                       tmp_path=self._rel_out(ready, out_dir), claims=kept, now=self.now,
                                       run_id=self.run_id)
                    self.outputs.append(OutputFile(payer_id=spool.payer_id, file=self._rel_out(spool.final, out_dir),
                                                   isa13=f"{spool.isa:09d}", claims=kept))
                rows = []
                for e in result.emissions:
                    if e.outcome.status != OutcomeStatus.BILLED or e.outcome.output is None:
                        continue
                    spool = run.spools[e.spool_key]
                    rows.append((e.claim_id, e.payer_id, e.generation, e.frequency, e.level, e.fingerprint,
                                 sender_key(spool.info.sender), spool.isa, self._rel_out(spool.final, out_dir),
                                 e.claim_key))
                state.add_emitted(rows, self.now, self.run_id)
                state.decide_claims([(o.claim_id, o.status, o.reason, o.detail, o.destination_payer,
                                      result.first_seen.get(o.claim_id) or _iso(self.now), key, "\n".join(o.warnings))
                                     for o, key in zip(result.outcomes, result.claim_keys)], self.now, self.run_id)
                PostingState(state.db).record(
                    poster.postings, self.now, self.run_id, {(r[0], r[9], r[1]) for r in rows},
                    {(o.claim_id, key) for o, key in zip(result.outcomes, result.claim_keys)
                     if o.status == OutcomeStatus.SKIPPED})
                state.close_batch(self.now)
                faults.checkpoint("batch written, before commit")
        except OSError as exc:
            self.outputs.clear()
            self._discard(result)
            self._fail(f"billing stopped: {exc.strerror or exc}; no claim was recorded as sent, the next run "
                       "bills them again")
            return
        finally:
            if scratch is not None:
                shutil.rmtree(scratch, ignore_errors=True)
        faults.checkpoint("batch committed")
        if not self.options.dry_run:  # the second place, before any of these numbers is published
            controls.write(config.outbox, {k: v for k, v in run.last_isa.items()})
        self.billing = result  # only now: what the report lists as billed is committed
        self.postings = poster.postings
        self.filed = {(r[0], r[9], r[1]) for r in rows}
        for o in self.outputs:
            self.log.event("output", payer_id=o.payer_id, file=o.file, isa13=o.isa13, claims=o.claims)
        self.log.event("billed", claims=len(result.outcomes), emitted=len(result.emissions))
        self.log.event("posted", balances=sum(1 for p in self.postings if p.balance is not None),
                       worklist=sum(len(p.items) for p in self.postings), acks=len(self.acks))

    def _check_in_workers(self, paths: list[Path]) -> list[list]:
        """The implementation-guide check of each output in the run's workers (this process has threads, so
        `cob secondary`'s forked checks are not for it)."""
        def died(_unfinished: list[int]) -> WorkerDied:
            return WorkerDied("a worker process checking an output died (killed, or out of memory?); no claim was "
                              "recorded as sent, the next run bills them again")
        return list(self.pool.in_order(ig_errors, [(p, False) for p in paths], died))

    def _raise_control_floor(self) -> None:
        """Never number below the control-number file (`controls`): lift the database to it."""
        floor = controls.read(self.config.outbox)
        have = self.state.controls()
        low = {s: n for s, n in floor.items() if n > have.get(s, 0)}
        if low:
            with self.state.transaction():
                for sender, last in low.items():
                    self.state.set_control(sender, last)
            self.log.event("control_numbers_raised", senders=len(low))
            self.problems.append(
                f"the state database's last control numbers were below the control-number file's for {len(low)} "
                "sender(s): numbering continues above the file. The state database is older than the last output "
                "(lost, or restored from a backup?): claims billed since then are unknown to it")

    def _rel_out(self, path: Path, out_dir: Path) -> str:
        return str(path.relative_to(out_dir))

    def _discard(self, result: BillingResult | None) -> None:
        """`Outputs.discard` this run's written outputs (nothing about them was committed)."""
        run = result.run if result is not None else None
        self._discard_written()
        if run is not None:
            run.ready.clear()

    # -------------------------------------------------------------------------------------------- move

    def _move_inputs(self) -> None:
        for row in self.state.unmoved_inputs():
            signals.check()
            source, dest = fs_path(row.inbox_path), Path(row.dest_path)
            verb = Inputs.move(row.state)
            if os.path.lexists(source):
                if not move_unchanged(source, dest, self.looks.get(source), row.sha256,
                                      self._move_one(row, verb, dest)):
                    self._left(row, verb, source)  # replaced after it was read: the next run's input
                    continue
                faults.checkpoint("input moved")
            elif verb is Inputs.quarantine:  # moved before an interruption: its reason may not be
                self._move_one(row, verb, dest)(source, dest, move=False)
            self.state.move_input(row, verb)
            faults.checkpoint("input marked moved")
            for d in self.dispositions:
                if d.file == row.name and d.moved_to is None:
                    d.moved_to = str(dest)

    def _move_one(self, row: InputRow, verb, dest: Path):
        """The move of one input: its reason file first when it is quarantined."""
        def move(source: Path, target: Path, move: bool = True) -> None:
            if verb is Inputs.quarantine:
                with atomic_output(dest.with_name(dest.name + ".reason.txt")) as fh:
                    fh.write(_reason_text(row, self.now))
            if move:
                _move_whole(source, target)
                make_private(target, self.config.file_mode)
        return move

    def _left(self, row: InputRow, verb, source: Path) -> None:
        """An input replaced under its name after it was read: closed where it is; the file is new input."""
        self.state.leave_input(row, verb)
        self.log.event("input_replaced", file=row.name)
        self.problems.append(f"{row.name}: replaced after it was read; the new file stays in the inbox for the "
                             "next run")
        for d in self.dispositions:
            if d.file == row.name and d.moved_to is None:
                d.moved_to = str(source)

    # -------------------------------------------------------------------------------------------- report

    def _finish(self, stem: str) -> RunResult:
        outcomes = self.billing.outcomes if self.billing is not None else []
        rejected_claims = any(o.status == OutcomeStatus.REJECTED for o in outcomes)
        quarantined = any(d.disposition == Disposition.REJECTED for d in self.dispositions)
        exit_code = 1 if (self.failed or rejected_claims or quarantined) else 0
        if self.exit_override is not None:
            exit_code = self.exit_override
        finished = dt.datetime.now().replace(microsecond=0) if self.options.now is None else self.now
        stale = self._stale()
        meta = RunMeta(run_id=self.run_id, config=str(self.config.path), state=self.config.describe_state(),
                       started_at=_iso(self.now), finished_at=_iso(finished), dry_run=self.options.dry_run,
                       workers=self.workers, exit_code=exit_code,
                       batch_time=_iso(self.batch_time) if hasattr(self, "batch_time") else None,
                       inputs=self.dispositions, outputs=self.outputs, stale=stale,
                       max_wait_days=self.config.max_wait_days, recovered_outputs=self.recovered,
                       problems=self.problems, timings={k: round(v, 3) for k, v in self.timings.items()},
                       team=self.team,
                       after_payment=after_payment(self.postings, self._ack_section(), filed=self.filed,
                                                   today=self.now.date(),
                                                   warn_days=self.config.deadlines.warn_days))
        write_balance_files(self.postings, self.config.reports, stem.removeprefix("run-"),
                            self.config.include_patient_names)
        base = RunReport.build(self.inputs, outcomes)
        report = RunBatchReport(inputs=base.inputs, claims=base.claims, summary=base.summary, run=meta)
        page_data = self._page_data(report)
        if self.options.dry_run:
            self.state.db.rollback_outer()
        else:
            self.state.finish_run(self.run_id, finished, "failed" if self.failed else "ok", exit_code)
        try:
            json_path, text_path = write_reports(report, self.config.reports, stem)
            faults.checkpoint("reports written")
        except OSError as exc:  # our own output folder, not an input: said so, and the run is not "ok"
            self.errors.append(f"cob run: cannot write the run's report into the reports folder "
                               f"{self.config.reports}: {exc.strerror or exc}; the run's work is committed, "
                               "only its report is missing")
            self.log.close_quietly()
            return RunResult(max(exit_code, 1), self.run_id, report, None, None, self.log.path, errors=self.errors)
        if not self._write_pages(page_data, stem):
            exit_code = max(exit_code, 1)  # like a report or log that cannot be written: someone must look
        s = report.summary
        self.log.event("run_end", exit_code=exit_code, claims=s.claims, billed=s.billed, skipped=s.skipped,
                       held=s.held, rejected=s.rejected, inputs=len(self.dispositions), stale=len(stale),
                       outputs=len(self.outputs), **{k: round(v, 3) for k, v in self.timings.items()})
        self.log.close()
        if self.log.error is not None:
            self.errors.append(f"cob run: cannot write the run's log {self.log.path}: "
                               f"{self.log.error.strerror or self.log.error} (the reports folder, not an input)")
            exit_code = max(exit_code, 1)
        return RunResult(exit_code, self.run_id, report, json_path, text_path, self.log.path,
                         errors=self.errors, page_path=self.page_path)

    def _page_data(self, report: RunBatchReport) -> PageData | None:
        try:
            return read_page_data(self.state, report.model_dump(mode="json"), self.config.include_patient_names)
        except Exception as exc:  # noqa: BLE001 - the page is a view; it never fails the night's billing
            self._page_failed(exc)
            return None

    def _write_pages(self, data: PageData | None, stem: str) -> bool:
        """The run's HTML page and the refreshed index beside the JSON report (`page`); False when they could
        not be written (said in `errors`)."""
        if data is None:
            return False
        try:
            path, _ = write_run_pages(data, self.config.reports, stem, self.config.include_patient_names, self.now)
            self.page_path = path
            return True
        except Exception as exc:  # noqa: BLE001
            self._page_failed(exc)
            return False

    def _page_failed(self, exc: Exception) -> None:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        self.errors.append(f"cob run: the HTML report was not written ({why}); the JSON and text reports were")
        self.log.event("page_failed", error=why)

    def _ack_section(self) -> dict:
        wait = self.config.ack_wait_days
        return ack_section(self.acks, AckState(self.state.db).unacknowledged(self.now, wait), wait)

    def _stale(self) -> list[StaleClaim]:
        limit = self.now - dt.timedelta(days=self.config.max_wait_days)
        out = []
        for claim_id, _status, reason, detail, _dest, first_seen, _updated in self.state.waiting():
            since = dt.datetime.fromisoformat(first_seen)
            if since < limit:
                out.append(StaleClaim(claim_id=claim_id, reason=reason, detail=detail, waiting_since=first_seen,
                                      days=(self.now - since).days))
        return out


# ------------------------------------------------------------------------------------------------ helpers


def record_input(state: State, parsed: Parsed, path: Path, dest: Path, now: dt.datetime, run_id: int,
                 acks: list | None = None) -> int:
    """`Inputs.record` one parsed input: its claims and payments (marked dirty) in one transaction that also
    opens or joins the batch, or a 999 / 277CA tied back to what was sent in that same transaction (`acks.py`;
    its `AckResult`s appended to `acks`); the spool is removed. Returns the input's id (`adopt` uses it too)."""
    name = shown(path.name)
    try:
        with state.transaction():
            input_id = state.add_input(Inputs.record, sha256=parsed.sha256, name=name, size=parsed.size,
                                       kind=parsed.kind, reason=None, now=now, run_id=run_id,
                                       inbox_path=stored(path), dest_path=str(dest), claims=parsed.claims,
                                       payments=parsed.payments)
            if parsed.kind in ACK_KINDS:
                results = AckState(state.db).record(read_records(parsed.spool), name, now, run_id)
                if acks is not None:
                    acks += results
            else:
                for blobs, claims, payments in _chunks(read_records(parsed.spool)):
                    state.add_blobs(blobs)
                    state.add_claims(claims, input_id, now)
                    state.add_payments(payments, input_id, now)
                    state.mark_dirty(sorted({c[0] for c in claims} | {p[0] for p in payments}))
                state.join_batch(now, run_id)
            faults.checkpoint("input written, before commit")
    finally:
        Path(parsed.spool).unlink(missing_ok=True)
    return input_id


def _iso(when: dt.datetime) -> str:
    return when.isoformat(timespec="seconds")


def _input_result(name: str, kind: str | None, error: str | None) -> InputResult:
    k = kind if kind in ("837", "835") else "unknown"
    return InputResult(file=name, kind=k, status="error" if error else "ok", error=error)


def _os_problem(exc: OSError) -> str:
    """An OS error with the path it concerns (a read-only inbox names the inbox file, not just EROFS)."""
    where = f" ({shown(str(exc.filename))})" if exc.filename else ""
    return f"{exc.strerror or exc}{where}"


def _sha_or_none(path: Path) -> str | None:
    try:
        return hash_file(path)[0]
    except OSError:
        return None


def _chunks(records: Iterable[tuple]) -> Iterator[tuple[list, list, list]]:
    blobs: list = []
    claims: list = []
    payments: list = []
    for record in records:
        kind = record[0]
        if kind == "blob":
            blobs.append(record[1:])
        elif kind == "claim":
            claims.append(record[1:])
        else:
            payments.append(record[1:])
        if len(claims) + len(payments) >= RECORD_CHUNK:
            yield blobs, claims, payments
            blobs, claims, payments = [], [], []
    if blobs or claims or payments:
        yield blobs, claims, payments


def _move_whole(source: Path, dest: Path) -> None:
    """Move a file unchanged: rename (same file system) or copy + fsync + rename + unlink; folders fsynced."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.rename(source, dest)
    except OSError as exc:
        if exc.errno != 18:  # EXDEV: another file system
            raise
        tmp = dest.with_name(f".{dest.name}.moving")
        shutil.copy2(source, tmp, follow_symlinks=False)
        if not tmp.is_symlink():
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
        os.replace(tmp, dest)
        os.unlink(source)
    for folder in {dest.parent, source.parent}:
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _reason_text(row: InputRow, now: dt.datetime) -> str:
    return (f"file: {row.name}\n"
            f"sha256: {row.sha256 or '(could not be read)'}\n"
            f"quarantined: {_iso(now)}\n"
            f"reason: {row.reason}\n\n"
            "The file was moved here unchanged and nothing from it was used. Fix the cause (or ask the\n"
            "sender for a corrected file) and drop the corrected file into the inbox again.\n")


def _mkdtemp(base: Path) -> str:
    import tempfile

    base.mkdir(parents=True, exist_ok=True)
    return tempfile.mkdtemp(prefix="dry-run-", dir=base)
