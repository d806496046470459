"""Output of `cob secondary`: one file per destination payer and transaction type (837P `<payer>-<ISA13>.837`,
837I `<payer>-<ISA13>.837i`), and the IG gate before it is published.

Billed claims are written as they are decided into a spool per destination payer and type: a temp file in the
output folder holding one interchange (`Spool`), which notes the segments of each claim. When every claim is
in, each spool is validated against the implementation guide (cob's own engine, cob.edi.validate; big runs
check the files in processes of their own, `OutputChecks`). Claims with IG errors, and claims from a claim
file that turned out malformed, are then taken out (`finish_spool`: the kept claims are copied into a new
file by the edi claim copier, the same ISA13), and the file is fsynced and renamed into place, so nothing
rejected ever reaches the output folder. `cob run` instead takes the ready, fsynced temp files and renames
them after its state commit.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import pickle
import tempfile
from multiprocessing.connection import wait
from pathlib import Path
from typing import IO, Any, Callable, Iterable, Sequence

from cob.edi.copier import copy_claims
from cob.edi.envelope import CounterControlNumbers
from cob.edi.validate import validate_file
from cob.edi.validate.findings import Finding
from cob.edi.writer import Claim837Writer, InterchangeInfo, atomic_output, file_mode
from cob.schemas.claim import Claim, TransactionHeader
from cob.schemas.report import ClaimOutcome, OutcomeStatus

from .build import PayerInfo
from .nightly import output_name, publish_new
from .processes import PARALLEL_BYTES, can_fork, receive

#: (outcome, first segment, last segment, claim file it came from) of each claim in a spool
Entry = tuple[ClaimOutcome, int, int, str]


def spool_key(payer_id: str, claim: Claim) -> str:
    """Which output a claim built for `payer_id` goes to: one per destination payer and transaction type
    (an 837P spool is keyed by the payer id alone, an 837I one by the payer id and its type)."""
    return payer_id if claim.CLAIM_TYPE == "P" else f"{payer_id}\t837{claim.CLAIM_TYPE}"


def output_suffix(guide: str) -> str:
    """The file suffix of an output written by `guide`: `.837` for the 837P, `.837i` for the 837I."""
    return ".837" if guide == Claim.GUIDE else ".837i"


class Spool:
    """One destination payer's output of one transaction type: a temp file being written, and where each
    claim sits in it. `guide` is the implementation guide it is written by (837P by default)."""

    def __init__(self, out_dir: Path, payer_id: str, isa: int, info: InterchangeInfo, header: TransactionHeader,
                 when: dt.datetime, guide: str = Claim.GUIDE):
        self.payer_id = payer_id
        self.guide = guide
        self.isa = isa
        self.info = info
        self.header = header.model_copy(update={"bht": header.bht.model_copy(update={
            "reference_id": f"COB{isa:09d}", "date": when.date(), "time": when.strftime("%H%M"),
            "purpose_code": "00", "transaction_type": "CH"})})
        self.final = out_dir / output_name(payer_id, isa, output_suffix(guide))
        fd, tmp = tempfile.mkstemp(prefix=f".{self.final.name}.", suffix=".spool", dir=out_dir)
        os.fchmod(fd, file_mode())
        self.tmp = Path(tmp)
        self.fh: IO[str] = os.fdopen(fd, "w", encoding="utf-8", newline="")
        self.writer = Claim837Writer(self.fh, info, CounterControlNumbers(start=isa), guide=guide)
        self.writer.start()
        self.writer.begin_transaction(self.header)
        self.readdressed = header  # before the BHT is made this file's own (a joined spool is opened with it)
        self.entries: list[Entry] = []

    def add(self, claim: Claim, outcome: ClaimOutcome, source: str) -> None:
        first = self.writer.seg.total + 1
        self.writer.write_claim(claim)
        self.entries.append((outcome, first, self.writer.seg.total, source))

    def add_copies(self, part: Path, outcomes: Sequence[ClaimOutcome], sources: Sequence[str],
                   providers: Sequence[Any]) -> None:
        """Append every claim of another spool's finished file (a worker's part; `outcomes` and `sources` are
        its claims'), sharing the billing provider level with the claim before when `providers` (the original
        2000A of each claim) says they came from the same one."""
        spans = copy_claims(self.writer, part, providers=providers)
        if len(spans) != len(outcomes):
            raise RuntimeError(f"{part}: {len(spans)} claims copied, {len(outcomes)} expected")
        final = str(self.final)
        for outcome, (first, last), source in zip(outcomes, spans, sources):
            outcome.output = final
            self.entries.append((outcome, first, last, source))

    @property
    def key(self) -> str:
        """Its key among a run's spools (`spool_key`)."""
        return self.payer_id if self.guide == Claim.GUIDE else f"{self.payer_id}\t837I"

    def close(self) -> None:
        if not self.fh.closed:  # a joined spool is closed (and its check started) as soon as it is complete
            self.writer.finish()
            self.fh.close()


def safe_name(text: str) -> str:
    """A payer id as a file or folder name."""
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in text) or "payer"


def destination_header(header: TransactionHeader, claim: Claim, destination: PayerInfo) -> TransactionHeader:
    """The transaction header of the destination's file. 1000B names the receiver; when the original named
    the payer it billed, name the new payer instead (a clearinghouse named there stays)."""
    receiver = header.receiver
    old_payer = claim.payer
    if receiver is None or old_payer is None:
        return header
    same = (receiver.name.id and receiver.name.id == old_payer.name.id) or \
        (receiver.name.last_or_org_name and receiver.name.last_or_org_name == old_payer.name.last_or_org_name)
    if not same:
        return header
    name = receiver.name.model_copy(update={"last_or_org_name": destination.payer.name.last_or_org_name,
                                            "id": destination.payer_id})
    parties = [p.model_copy(update={"name": name}) if p is receiver else p for p in header.parties]
    return header.model_copy(update={"parties": parties})


# --------------------------------------------------------------------------------------------- the IG gate

def ig_errors(path: Path, parallel: bool | None = None) -> list[Finding]:
    """Errors of cob's own validator (SNIP 1-5) in a written spool; warnings do not stop a claim.
    `parallel` as for `validate_file` (None: a second process for a big file when one is free)."""
    return validate_file(path, parallel=parallel).errors


def finish_spool(spool: Spool, problems: list[Finding], bad_claim_files: set[str], defer: bool) -> Path | None:
    """Take out claims of bad claim files and claims with IG errors (`problems`), then publish the spool;
    with `defer`, return the fsynced temp file holding its final text instead (None: no claim is left).

    A claim taken out for an IG error is `rejected` (`ig_invalid`, the first problem's segment and code);
    a problem outside every claim (the envelope) takes out all of them.
    """
    drop: set[int] = set()
    for n, (outcome, _a, _b, source) in enumerate(spool.entries):
        if source in bad_claim_files:
            outcome.output = None  # (a worker's claim is held before the join names its output file)
            drop.add(n)
    found: dict[int, list[Finding]] = {}
    for problem in problems:
        hit = [n for n, (_o, a, b, _s) in enumerate(spool.entries)
               if problem.segment_no is not None and a <= problem.segment_no <= b]
        for n in hit or range(len(spool.entries)):  # an envelope problem fails them all
            found.setdefault(n, []).append(problem)
    for n, mine in found.items():
        outcome, first, _last, source = spool.entries[n]
        if outcome.status == OutcomeStatus.BILLED:
            outcome.status = OutcomeStatus.REJECTED
            outcome.reason = "ig_invalid"
            outcome.detail = ig_detail(outcome.original or source, first, mine)
            outcome.output = None
        drop.add(n)
    keep = [n for n in range(len(spool.entries)) if n not in drop]
    try:
        if not keep:
            spool.tmp.unlink(missing_ok=True)
            for outcome, *_ in spool.entries:
                outcome.output = None
            return None
        printer = getattr(spool, "print_claims", None)
        if printer is not None:  # a paper payer (cob.billing.paper): the kept claims are printed, not sent
            return printer(keep, defer)
        if defer:
            ready = rewrite(spool, keep, defer=True) if drop else spool.tmp
            _fsync(ready)
            return ready
        ready = rewrite(spool, keep, defer=True) if drop else spool.tmp
        try:
            publish_new(ready, spool.final)  # never over a file already there
        finally:
            ready.unlink(missing_ok=True)
    except OSError as exc:
        spool.tmp.unlink(missing_ok=True)
        if defer:
            raise  # cob run rolls the whole batch back and retries it next run
        why = "a file of that name already exists (not overwritten)" if isinstance(exc, FileExistsError) \
            else (exc.strerror or str(exc))
        for n in keep:
            outcome = spool.entries[n][0]
            outcome.status, outcome.reason, outcome.output = OutcomeStatus.REJECTED, "write_failed", None
            outcome.detail = f"our output file {spool.final} could not be written: {why}"
    return None


def ig_detail(origin: str, first: int, problems: list[Finding]) -> str:
    """Every IG problem of a claim built from the original at `origin` (file and CLM segment), each by the
    loop and segment id where it is in the built claim (`first` is its first segment in the never-published
    output: positions are given within the claim)."""
    listed = []
    for p in problems:
        where = f"loop {p.loop or '-'} {p.segment_id or 'segment'}"
        if p.segment_no is not None and p.segment_no >= first:
            where += f" (segment {p.segment_no - first + 1} of the built claim)"
        listed.append(f"{where}: SNIP {p.snip} {p.code}: {p.message}")
    return (f"the claim built from {origin} (loop 2300) failed implementation-guide validation, "
            f"{len(problems)} problem(s): " + "; ".join(listed))


def rewrite(spool: Spool, keep: Iterable[int], defer: bool = False) -> Path:
    """Write the spool again with only the claims `keep` (their numbers in it), same ISA13, then remove the
    spool. With `defer` the new text stays in a temp file beside the final name (returned) for the caller to
    publish."""
    if defer:
        fd, name = tempfile.mkstemp(prefix=f".{spool.final.name}.", suffix=".tmp", dir=spool.final.parent)
        os.fchmod(fd, file_mode())
        target = Path(name)
        out = os.fdopen(fd, "w", encoding="utf-8", newline="")
    else:
        target = spool.final
        out = atomic_output(spool.final)
    with out as fh:
        writer = Claim837Writer(fh, spool.info, CounterControlNumbers(start=spool.isa), guide=spool.guide)
        writer.start()
        writer.begin_transaction(spool.header)
        copy_claims(writer, spool.tmp, keep=keep)
        writer.finish()
    spool.tmp.unlink(missing_ok=True)
    return target


def _fsync(path: Path) -> None:
    with open(path, "rb+") as fh:
        os.fsync(fh.fileno())


# --------------------------------------------------------------------------------------------- checks in processes

def validate_files(paths: list[Path], check: Callable[[Path, bool | None], list[Finding]], workers: int,
                   started: "OutputChecks | None" = None) -> list[list[Finding]]:
    """`check` each file, in up to `workers` forked processes when there are several big files; results
    in the order of `paths`. `started` holds checks already under way (files joined early); the others
    are added, biggest first, each to the next free process."""
    if started is None:
        sizes = [p.stat().st_size for p in paths]
        if workers < 2 or len(paths) < 2 or sum(sizes) < PARALLEL_BYTES or not can_fork():
            return [check(p, None) for p in paths]
        started = OutputChecks(check, workers)
    for path in sorted(paths, key=lambda p: -p.stat().st_size):
        started.submit(path)
    return started.results(paths)


class OutputChecks:
    """Output files checked in forked processes, at most `workers` at a time, each file as soon as it is
    submitted and a process is free; the parent can go on joining the next file meanwhile.

    Each file is checked in its process alone (`check(path, False)`): with every CPU already given a
    process, a file's own second process would only compete (measured: 2.9 s against 3.3 s for 47 MB of
    spools in two processes). One process per file, not a fixed share per process: files differ in size
    tenfold, and a process that is done takes the next one."""

    def __init__(self, check: Callable[[Path, bool | None], list[Finding]], workers: int):
        self.check = check
        self.workers = max(1, workers)
        self.found: dict[Path, list[Finding]] = {}
        self.running: dict[Path, tuple[Any, Any]] = {}  # path -> (process, its end of the pipe)

    def submit(self, path: Path) -> None:
        if path in self.found or path in self.running:
            return
        if not can_fork():
            self.found[path] = self.check(path, None)
            return
        while len(self.running) >= self.workers:
            self._collect_one()
        parent_end, child_end = multiprocessing.get_context("fork").Pipe(duplex=False)
        proc = multiprocessing.get_context("fork").Process(target=_check_one, args=(path, self.check, child_end),
                                                           daemon=True)
        proc.start()
        child_end.close()
        self.running[path] = (proc, parent_end)

    def _collect_one(self) -> None:
        ready = wait([conn for _proc, conn in self.running.values()])
        for path, (proc, conn) in list(self.running.items()):
            if conn in ready:
                del self.running[path]
                try:
                    found = receive(conn, raw=True)
                finally:
                    conn.close()
                    proc.join()
                self.found[path] = found

    def results(self, paths: list[Path]) -> list[list[Finding]]:
        for path in paths:
            self.submit(path)
        while self.running:
            self._collect_one()
        return [self.found[path] for path in paths]

    def stop(self) -> None:
        """End the checks still running (the run failed before it asked for their results)."""
        for proc, conn in self.running.values():
            if proc.is_alive():
                proc.kill()
            proc.join()
            conn.close()
        self.running.clear()


def _check_one(path: Path, check: Callable[[Path, bool | None], list[Finding]], conn) -> None:
    try:
        result: Any = check(path, False)
    except BaseException as exc:
        result = exc
    try:
        conn.send_bytes(pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))
    except Exception:
        conn.send_bytes(pickle.dumps(RuntimeError("validation worker failed")))
    finally:
        conn.close()
