"""One `cob secondary` run over several processes: the claims shared out by claim id, the results joined.

Why by claim id: what happens to a claim depends only on the claim and on the remittances that carry its
CLM01 as CLP01. So a worker that reads every input but builds models only for its own ids (the readers'
`select`) does its share of the reading, consolidating, building and writing, and needs nothing from the
others. Ids are handed out in contiguous runs of the claim files (found by a quick scan for CLM01s,
`cob.edi.scan`, not a walk); ids the scan missed fall to worker 0. Each worker therefore writes its claims in
input order, and the parent joins the workers' output files payer by payer with the edi claim copier
(`cob.edi.copier`: HLs renumbered, a worker's first claim under the billing provider level of the claim
before when both came from the same original 2000A): the same bytes, control numbers and report as a
serial run.

Where workers could see different things, the parent decides as a serial run would. A worker does not see
a bad element inside a claim it does not build, so: an 835 is unusable if any worker found it bad (a bad
835 adds no payment; the workers wait for this verdict before billing). In a claim file the earliest
problem any worker met counts, and claims after it are dropped, since a serial run stops reading there.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import gc
import multiprocessing
import pickle
import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Protocol

from cob.edi.envelope import Party
from cob.edi.errors import X12SyntaxError, read_problem
from cob.edi.reader import X12Reader
from cob.edi.scan import scan_claim_ids
from cob.schemas.claim import Claim
from cob.schemas.report import ClaimOutcome, InputResult

from .consolidate import RemitIndex
from .output import OutputChecks, Spool, ig_errors
from .processes import can_fork, receive

Key = tuple[int, int]  # (index of the input file, segment number): where a claim or payment sits
#: a worker makes many small objects per claim, nearly all kept (outcomes) or freed by reference counting;
#: collecting the youngest generation every 700 allocations (the default) costs about 5% of its time
_GC_THRESHOLD = (20_000, 20, 20)


class Run(Protocol):
    """What the workers use of the run they split (a `cob.billing.secondary.SecondaryRun`). That run calls
    `read_in_workers` and is called back here: this module names what it needs instead of importing it."""

    claims: list[Path]
    remits: list[Path]
    options: Any  # SecondaryOptions
    inputs: list[InputResult]
    outcomes: list[ClaimOutcome]
    orphans: list[ClaimOutcome]
    index: RemitIndex
    spools: dict[str, Spool]
    select: Callable[[str], bool] | None
    checks: OutputChecks | None
    when: dt.datetime

    def read_side_inputs(self) -> None: ...
    def read_remit(self, path: Path, payments: Callable[[Iterable], Iterable] | None = None) -> tuple[str, int] | None: ...
    def bill_claim(self, claim: Claim, source: str) -> None: ...
    def claim_file_failed(self, path: Path, message: str, outcomes: list[ClaimOutcome]) -> None: ...
    def add_missing_originals(self, claim_ids: Iterable[str], seen: set[str]) -> None: ...
    def flush_pending(self) -> None: ...
    def out_dir_for(self, payer_id: str) -> Path: ...
    def new_spool(self, payer_id: str, isa: int, info: Any, header: Any, guide: str = Claim.GUIDE) -> Spool: ...
    def allocate_isa(self, sender: Party) -> int: ...
    def free_isa(self, payer_id: str, sender: Party, guide: str = Claim.GUIDE) -> int: ...


# --------------------------------------------------------------------------------------------- sharing out

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
    """One worker's output for one destination payer and guide: a complete interchange in a private file."""

    payer_id: str
    tmp: str
    readdressed: Any  # TransactionHeader before this file's own BHT
    info: Any  # InterchangeInfo
    entries: list[tuple[int, int, int, str]]  # (outcome index in the worker's list, first seg, last seg, source)
    printed: list = dataclasses.field(default_factory=list)  # a paper payer's pages of each entry (paper.py)
    guide: str = Claim.GUIDE  # 837P or 837I


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
    orphans: list[ClaimOutcome]  # payments no claim of their CLM01 took (matching)


def _work(run: Run, k: int, owner: dict[str, int], workdir: Path, conn) -> None:
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
            problems.append(run.read_remit(path, _noting(firsts)))
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


def _discard_file(run: Run, name: str) -> None:
    """Take back a file's payments: another worker found the file bad, and a bad 835 adds nothing."""
    records = run.index.records
    for cid in list(records):
        kept = [r for r in records[cid] if r.file != name]
        if kept:
            records[cid] = kept
        else:
            del records[cid]


def _bill_share(run: Run, paid_at: list[dict[str, int]], bad: set[int]) -> _Share:
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
                run.bill_claim(claim, str(path))
                keys.append(key)
                providers.append((f, reader.context_at.get("2000A", 0)))
        except (X12SyntaxError, OSError) as exc:
            failures[f] = read_problem(path, exc)
    run.flush_pending()
    position = {id(o): n for n, o in enumerate(run.outcomes)}
    parts = []
    for spool in run.spools.values():
        spool.close()
        parts.append(_Part(spool.payer_id, str(spool.tmp), spool.readdressed, spool.info,
                           [(position[id(o)], a, b, src) for o, a, b, src in spool.entries],
                           getattr(spool, "printed", []), spool.guide))
    remitted = []
    for cid in run.index.claim_ids():
        key = min((r, at[cid]) for r, at in enumerate(paid_at) if r not in bad and cid in at)
        remitted.append((key, cid))
    return _Share(run.outcomes, keys, providers, seen, failures, remitted, parts, run.orphans)


# --------------------------------------------------------------------------------------------- the parent

def read_in_workers(run: Run, workers: int) -> None:
    """Read and bill every input of `run` in `workers` forked processes; leave `run` as a serial run would
    (inputs, outcomes, open spools), ready for `finish_outputs`."""
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
        problems = [receive(conn) for conn in conns]
        bad = {i for i in range(len(run.remits)) if any(p[i] is not None for p in problems)}
        for conn in conns:
            conn.send(bad)
        shares = [receive(conn, raw=True) for conn in conns]
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


def _remit_input(path: Path, problems: list[tuple[str, int] | None]) -> InputResult:
    found = [p for p in problems if p is not None]
    if not found:
        return InputResult(file=str(path), kind="835", status="ok")
    return InputResult(file=str(path), kind="835", status="error", error=min(found, key=lambda p: p[1])[0])


def _join(run: Run, shares: list[_Share], workers: int) -> None:
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
    run.outcomes.extend(o for share in shares for o in share.orphans)
    for f, path in enumerate(run.claims):
        if f in failures:
            mine = [shares[w].outcomes[n] for key, w, n in placed if key[0] == f and kept(key)]
            run.claim_file_failed(path, failures[f][0], mine)
        else:
            run.inputs.append(InputResult(file=str(path), kind="837", status="ok"))
    seen = {cid for share in shares for cid, key in share.seen if kept(key)}
    run.add_missing_originals((cid for _key, cid in sorted(r for s in shares for r in s.remitted)), seen)
    _join_outputs(run, shares, kept, workers)


def _join_outputs(run: Run, shares: list[_Share], kept: Callable[[Key], bool], workers: int) -> None:
    """One spool per destination payer from the workers' parts, opened in the order a serial run opens them
    (by its first claim), so control numbers and file names come out the same. With validation on, each
    spool's check starts as soon as the spool is complete (`run.checks`)."""
    checks = None
    if run.options.validate and can_fork():
        checks = run.checks = OutputChecks(ig_errors, workers)
    by_payer: dict[tuple[str, str], list[tuple[Key, int, _Part]]] = {}
    for w, share in enumerate(shares):
        for part in share.parts:
            live = [share.keys[n] for n, *_ in part.entries if kept(share.keys[n])]
            if live:  # a part whose claims all lie past a claim file's problem: a serial run never wrote them
                by_payer.setdefault((part.payer_id, part.guide), []).append((live[0], w, part))
    joins = []
    for (payer_id, guide), pieces in sorted(by_payer.items(), key=lambda item: min(p[0] for p in item[1])):
        pieces.sort(key=lambda p: p[0])
        first = pieces[0][2]
        spool = run.new_spool(payer_id, run.free_isa(payer_id, first.info.sender, guide), first.info,
                              first.readdressed, guide)
        run.spools[spool.key] = spool
        joins.append((sum(Path(part.tmp).stat().st_size for *_, part in pieces), spool, pieces))
    # biggest first: each is checked as soon as it is complete, while the parent joins the next
    for _size, spool, pieces in sorted(joins, key=lambda j: -j[0]):
        for _key, w, part in pieces:
            # a part's claims are copied whole (HLs renumbered); its first claim hangs under the claim before's
            # billing provider level when both came from the same original 2000A, as a serial writer has it
            share = shares[w]
            spool.add_copies(Path(part.tmp), [share.outcomes[n] for n, *_ in part.entries],
                             [source for *_, source in part.entries],
                             [share.providers[n] for n, *_ in part.entries])
            if part.printed:  # a paper payer: its claims' pages follow its entries
                spool.printed.extend(part.printed)
        if checks is not None:
            spool.close()
            checks.submit(spool.tmp)
