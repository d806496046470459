"""One `cob secondary` run over several processes: the claims shared out by claim id, the results joined.

Why by claim id: what happens to a claim depends only on the claim and on the remittances that carry its
CLM01 as CLP01. So a worker that reads every input but builds models only for its own ids (the readers'
`select`) does its share of the reading, consolidating, building and writing, and needs nothing from the
others. Ids are handed out in contiguous runs of the claim files (found by a quick scan for CLM01s, not a
walk); ids the scan missed fall to worker 0. Each worker therefore writes its claims in input order, and the
parent joins the workers' output files payer by payer: the same claims in the same order, the same control
numbers and the same report as a serial run. The one visible difference: the first claim of a worker's
share opens its own billing provider / subscriber HLs even when the previous worker's last claim had
the same ones (both are valid; the claims simply do not share a level there).

Where workers could see different things, the parent decides as a serial run would. A worker does not see
a bad element inside a claim it does not build, so: an 835 is unusable if any worker found it bad (a bad
835 adds no payment; the workers wait for this verdict before billing). In a claim file the earliest
problem any worker met counts, and claims after it are dropped, since a serial run stops reading there.
"""

from __future__ import annotations

import dataclasses
import gc
import pickle
import re
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from cob.edi.errors import X12SyntaxError
from cob.edi.reader import X12Reader
from cob.edi.validate.findings import Finding
from cob.schemas.report import ClaimOutcome, InputResult

from .secondary import PARALLEL_BYTES, SecondaryRun, _ig_errors, _Spool, input_problem

Key = tuple[int, int]  # (index of the input file, segment number): where a claim or payment sits
_CHUNK = 1 << 20
#: a worker makes many small objects per claim, nearly all kept (outcomes) or freed by reference counting;
#: collecting the youngest generation every 700 allocations (the default) costs about 5% of its time
_GC_THRESHOLD = (20_000, 20, 20)


# --------------------------------------------------------------------------------------------- sharing out

def scan_claim_ids(path: Path) -> list[str]:
    """Every CLM01 of a claim file in order, found with one regex over the text (about 1 GB/s).

    Only the sharing-out uses it: a CLM it misreads is still billed (by worker 0), so it need not be exact.
    """
    ids: list[str] = []
    try:
        with open(path, encoding="utf-8", errors="replace", newline="") as fh:
            text = fh.read(_CHUNK)
            at = text.find("ISA")
            if at < 0 or len(text) < at + 106:
                return ids
            sep, term = text[at + 3], text[at + 105]
            pattern = re.compile(re.escape(term) + r"\s*CLM" + re.escape(sep) + "([^" + re.escape(sep + term) + "]*)")
            while True:
                cut = text.rfind(term)
                if cut < 0:  # no segment ends in this chunk: read on
                    more = fh.read(_CHUNK)
                    if not more:
                        return ids
                    text += more
                    continue
                ids.extend(pattern.findall(text, 0, cut + 1))
                more = fh.read(_CHUNK)
                if not more:
                    return ids
                text = text[cut:] + more  # from the last terminator: a CLM right after it is found next round
    except OSError:
        return ids


def share_out(claim_files: list[Path], workers: int) -> dict[str, int]:
    """claim id -> worker: contiguous, equal runs of the claims in file order (an id seen twice stays
    with its first worker)."""
    ids = [cid for path in claim_files for cid in scan_claim_ids(path)]
    owner: dict[str, int] = {}
    for k in range(workers):
        for cid in ids[k * len(ids) // workers:(k + 1) * len(ids) // workers]:
            owner.setdefault(cid, k)
    return owner


# --------------------------------------------------------------------------------------------- the worker

@dataclasses.dataclass
class _Part:
    """One worker's output for one destination payer: a complete interchange in a private file."""

    payer_id: str
    tmp: str
    readdressed: Any  # TransactionHeader before this file's own BHT
    info: Any  # InterchangeInfo
    entries: list[tuple[int, int, int, str]]  # (outcome index in the worker's list, first seg, last seg, source)


@dataclasses.dataclass
class _Share:
    """What one worker sends back."""

    outcomes: list[ClaimOutcome]
    keys: list[Key]  # where each outcome's claim sits
    providers: list[Key]  # where each outcome's claim's billing provider level (2000A HL) sits
    seen: list[tuple[str, Key]]
    failures: dict[int, tuple[str, int]]  # claim file index -> (problem, segment number)
    remitted: list[tuple[Key, str]]  # the worker's claim ids in the remittance index, where first paid
    parts: list[_Part]


def _work(run: SecondaryRun, k: int, owner: dict[str, int], workdir: Path, conn) -> None:
    """A forked worker: its share of the 835s, the verdict on bad 835s from the parent, then its claims."""
    try:
        gc.freeze()  # what the parent built stays shared with it: no collection pass touches (copies) it
        gc.set_threshold(*_GC_THRESHOLD)
        run.select = lambda cid: owner.get(cid, 0) == k
        out = workdir / str(k)
        out.mkdir()
        run.options = dataclasses.replace(run.options, out_dir=out, payer_subfolders=False)
        paid_at: list[dict[str, int]] = []
        problems = []
        for path in run.remits:
            firsts: dict[str, int] = {}
            paid_at.append(firsts)
            problems.append(run._read_remit(path, _noting(firsts)))
        conn.send(problems)
        bad: set[int] = conn.recv()
        for i in bad:
            if problems[i] is None:
                _discard_file(run, str(run.remits[i]))
        conn.send_bytes(pickle.dumps(_bill_share(run, paid_at, bad), protocol=pickle.HIGHEST_PROTOCOL))
    except BaseException as exc:  # the parent re-raises it; a worker must never die silently
        try:
            conn.send_bytes(pickle.dumps(exc))
        except Exception:
            conn.send_bytes(pickle.dumps(RuntimeError(f"worker {k} failed: {type(exc).__name__}")))
    finally:
        conn.close()


def _noting(firsts: dict[str, int]) -> Callable[[Iterable], Iterator]:
    """A pass-through for an 835's payment stream that notes where each claim id is first paid: the
    parent orders the "original claim missing" outcomes by it, as a serial run's index would."""
    def wrap(stream: Iterable) -> Iterator:
        for payment in stream:
            firsts.setdefault(payment.clp.patient_control_number, payment.source.segment_no or 0)
            yield payment
    return wrap


def _discard_file(run: SecondaryRun, name: str) -> None:
    """Take back a file's payments: another worker found the file bad, and a bad 835 adds nothing."""
    records = run.index.records
    for cid in list(records):
        kept = [r for r in records[cid] if r.file != name]
        if kept:
            records[cid] = kept
        else:
            del records[cid]


def _bill_share(run: SecondaryRun, paid_at: list[dict[str, int]], bad: set[int]) -> _Share:
    """Bill this worker's claims into its own spools, noting where each claim and its billing provider
    level sit so that the parent can put everything in a serial run's order."""
    keys: list[Key] = []
    providers: list[Key] = []
    seen: list[tuple[str, Key]] = []
    failures: dict[int, tuple[str, int]] = {}
    for f, path in enumerate(run.claims):
        reader = X12Reader(path, only="837", select=run.select)
        try:
            for claim in reader:
                key = (f, claim.source.segment_no or 0)
                seen.append((claim.claim_id, key))
                run._claim(claim, str(path))
                keys.append(key)
                providers.append((f, reader.context_at.get("2000A", 0)))
        except (X12SyntaxError, OSError) as exc:
            failures[f] = input_problem(path, exc)
    position = {id(o): n for n, o in enumerate(run.outcomes)}
    parts = []
    for spool in run.spools.values():
        spool.close()
        parts.append(_Part(spool.payer_id, str(spool.tmp), spool.readdressed, spool.info,
                           [(position[id(o)], a, b, src) for o, a, b, src in spool.entries]))
    remitted = []
    for cid in run.index.claim_ids():
        key = min((r, at[cid]) for r, at in enumerate(paid_at) if r not in bad and cid in at)
        remitted.append((key, cid))
    return _Share(run.outcomes, keys, providers, seen, failures, remitted, parts)


# --------------------------------------------------------------------------------------------- the parent

def read_in_workers(run: SecondaryRun, workers: int) -> None:
    """Read and bill every input of `run` in `workers` forked processes; leave `run` as a serial run would
    (inputs, outcomes, open spools), ready for `finish_outputs`."""
    import multiprocessing

    before = len(run.inputs)
    run.read_side_inputs()  # small; loaded once here and inherited by the workers
    side = run.inputs[before:]
    del run.inputs[before:]
    owner = share_out(run.claims, workers)
    workdir = Path(tempfile.mkdtemp(prefix=".cob-workers-", dir=run.options.out_dir))
    ctx = multiprocessing.get_context("fork")
    conns, procs = [], []
    try:
        for k in range(workers):
            parent_end, child_end = ctx.Pipe()
            proc = ctx.Process(target=_work, args=(run, k, owner, workdir, child_end), daemon=True)
            proc.start()
            child_end.close()
            conns.append(parent_end)
            procs.append(proc)
        problems = [_receive(conn) for conn in conns]
        bad = {i for i in range(len(run.remits)) if any(p[i] is not None for p in problems)}
        for conn in conns:
            conn.send(bad)
        shares = [_receive(conn, raw=True) for conn in conns]
        for proc in procs:
            proc.join()
        remit_inputs = [_remit_input(path, [p[i] for p in problems]) for i, path in enumerate(run.remits)]
        run.inputs[before:before] = remit_inputs + side
        _join(run, shares, workers)
    finally:
        for proc in procs:
            if proc.is_alive():
                proc.kill()
                proc.join()
        shutil.rmtree(workdir, ignore_errors=True)


def _receive(conn, raw: bool = False) -> Any:
    try:
        value = _unpickled(conn.recv_bytes()) if raw else conn.recv()
    except EOFError:
        raise RuntimeError("a cob secondary worker process ended without its result") from None
    if isinstance(value, BaseException):
        raise value
    return value


def _unpickled(data: bytes) -> Any:
    """`pickle.loads` with the collector paused: a worker's share is tens of thousands of small containers,
    all kept, and with collection on they set off passes over everything unpickled so far (two shares of
    25,000 claims: 0.31 s of the parent's CPU with collection on, 0.14 s paused)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        return pickle.loads(data)
    finally:
        if enabled:
            gc.enable()


def _remit_input(path: Path, problems: list[tuple[str, int] | None]) -> InputResult:
    found = [p for p in problems if p is not None]
    if not found:
        return InputResult(file=str(path), kind="835", status="ok")
    return InputResult(file=str(path), kind="835", status="error", error=min(found, key=lambda p: p[1])[0])


def _join(run: SecondaryRun, shares: list[_Share], workers: int) -> None:
    failures: dict[int, tuple[str, int]] = {}
    for share in shares:
        for f, problem in share.failures.items():
            if f not in failures or problem[1] < failures[f][1]:
                failures[f] = problem

    def kept(key: Key) -> bool:  # a serial run stops reading a claim file at its first problem
        failure = failures.get(key[0])
        return failure is None or key[1] < failure[1]

    placed = sorted((key, w, n) for w, share in enumerate(shares) for n, key in enumerate(share.keys))
    run.outcomes.extend(shares[w].outcomes[n] for key, w, n in placed if kept(key))
    for f, path in enumerate(run.claims):
        if f in failures:
            mine = [shares[w].outcomes[n] for key, w, n in placed if key[0] == f and kept(key)]
            run.claim_file_failed(path, failures[f][0], mine)
        else:
            run.inputs.append(InputResult(file=str(path), kind="837", status="ok"))
    seen = {cid for share in shares for cid, key in share.seen if kept(key)}
    run.add_missing_originals((cid for _key, cid in sorted(r for s in shares for r in s.remitted)), seen)
    _join_outputs(run, shares, kept, workers)


def _join_outputs(run: SecondaryRun, shares: list[_Share], kept: Callable[[Key], bool], workers: int) -> None:
    """One spool per destination payer from the workers' parts, opened in the order a serial run opens them
    (by its first claim), so control numbers and file names come out the same. With validation on, each
    spool's check starts as soon as the spool is complete (`run.checks`)."""
    checks = None
    if run.options.validate and threading.active_count() == 1:
        checks = run.checks = OutputChecks(_ig_errors, workers)
    by_payer: dict[str, list[tuple[Key, int, _Part]]] = {}
    for w, share in enumerate(shares):
        for part in share.parts:
            live = [share.keys[n] for n, *_ in part.entries if kept(share.keys[n])]
            if live:  # a part whose claims all lie past a claim file's problem: a serial run never wrote them
                by_payer.setdefault(part.payer_id, []).append((live[0], w, part))
    joins = []
    for payer_id, pieces in sorted(by_payer.items(), key=lambda item: min(p[0] for p in item[1])):
        pieces.sort(key=lambda p: p[0])
        first = pieces[0][2]
        spool = _Spool(run.out_dir_for(payer_id), payer_id, run.allocate_isa(first.info.sender), first.info,
                       first.readdressed, run.when)
        run.spools[payer_id] = spool
        joins.append((sum(Path(part.tmp).stat().st_size for *_, part in pieces), spool, pieces))
    # biggest first: each is checked as soon as it is complete, while the parent joins the next
    for _size, spool, pieces in sorted(joins, key=lambda j: -j[0]):
        levels = _Levels()
        for _key, w, part in pieces:
            share = shares[w]
            _append_part(spool, part, [share.outcomes[n] for n, *_ in part.entries], levels,
                         share.providers[part.entries[0][0]], share.providers[part.entries[-1][0]])
        if checks is not None:
            spool.close()
            checks.submit(spool.tmp)


@dataclasses.dataclass
class _Levels:
    """The HLs of a joined spool so far: how many, and the last billing provider level's id and source."""

    count: int = 0
    provider_id: int = 0
    provider_at: Key | None = None


def _append_part(spool: _Spool, part: _Part, outcomes: list[ClaimOutcome], levels: _Levels,
                 first_provider: Key, last_provider: Key) -> None:
    """Copy a part's claims (its segments between the header and SE) into `spool` with its HLs renumbered
    after those already there. When its first claim has the billing provider level the spool's last claim
    has, the part's opening 2000A is left out and its claims hang under the spool's, as a serial writer
    (which shares a level between consecutive claims of the same original HL) would have written them."""
    sep = spool.writer.d.element
    hl = re.compile(r"(?m)^HL" + re.escape(sep) + r"(\d+)" + re.escape(sep) + r"(\d*)" + re.escape(sep) + r"(\w*)")
    shared = first_provider == levels.provider_at
    offset = levels.count - 1 if shared else levels.count

    def renumber(match: re.Match) -> str:
        number, parent, code = int(match.group(1)) + offset, match.group(2), match.group(3)
        if parent:
            parent = str(levels.provider_id if shared and parent == "1" else int(parent) + offset)
        if code == "20":
            levels.provider_id = number
        levels.count += 1
        return f"HL{sep}{number}{sep}{parent}{sep}{code}"

    first, last = part.entries[0][1], part.entries[-1][2]
    seg = spool.writer.seg
    with open(part.tmp, encoding="utf-8", newline="") as fh:
        for _ in range(first - 1):  # ISA ... the transaction header: the spool has its own
            fh.readline()
        skipped = 0
        carry = ""
        if shared:  # the opening HL*..*20 and its 2000A segments, up to the next HL
            fh.readline()
            skipped = 1
            while not (carry := fh.readline()).startswith("HL" + sep):
                skipped += 1
        delta = seg.total - (first - 1) - skipped
        remaining = last - first + 1 - skipped
        copied = remaining
        while remaining:
            chunk = fh.read(_CHUNK)
            text = carry + chunk
            cut = text.rfind("\n") + 1
            if not chunk and cut < len(text):
                raise RuntimeError(f"{part.tmp}: a worker's output ended early")
            text, carry = text[:cut], text[cut:]
            lines = text.count("\n")
            if lines > remaining:
                end = -1
                for _ in range(remaining):
                    end = text.index("\n", end + 1)
                text, lines = text[:end + 1], remaining
            spool.fh.write(hl.sub(renumber, text))
            remaining -= lines
    levels.provider_at = last_provider
    seg.count += copied
    seg.total += copied
    spool.writer.claims += len(part.entries)
    for n, (outcome, (_n, a, b, source)) in enumerate(zip(outcomes, part.entries)):
        outcome.output = str(spool.final)
        spool.entries.append((outcome, (a if n else a + skipped) + delta, b + delta, source))


# --------------------------------------------------------------------------------------------- validation

def validate_files(paths: list[Path], check: Callable[[Path, bool | None], list[Finding]], workers: int,
                   started: "OutputChecks | None" = None) -> list[list[Finding]]:
    """`check` each file, in up to `workers` forked processes when there are several big files; results
    in the order of `paths`. `started` holds checks already under way (files joined early); the others
    are added, biggest first, each to the next free process."""
    if started is None:
        sizes = [p.stat().st_size for p in paths]
        if workers < 2 or len(paths) < 2 or sum(sizes) < PARALLEL_BYTES or threading.active_count() > 1:
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
        if threading.active_count() > 1:  # forking a process with threads is unsafe
            self.found[path] = self.check(path, None)
            return
        while len(self.running) >= self.workers:
            self._collect_one()
        import multiprocessing

        parent_end, child_end = multiprocessing.get_context("fork").Pipe(duplex=False)
        proc = multiprocessing.get_context("fork").Process(target=_check_one, args=(path, self.check, child_end),
                                                           daemon=True)
        proc.start()
        child_end.close()
        self.running[path] = (proc, parent_end)

    def _collect_one(self) -> None:
        from multiprocessing.connection import wait

        ready = wait([conn for _proc, conn in self.running.values()])
        for path, (proc, conn) in list(self.running.items()):
            if conn in ready:
                del self.running[path]
                try:
                    found = _receive(conn, raw=True)
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
