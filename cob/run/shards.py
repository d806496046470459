"""Billing on every core: the dirty claims cut into shards, each decided and written by a worker process, the
workers' parts joined in order into the run's outputs.

Why claims can be shared out: what happens to a claim depends only on the rows of its CLM01 (its claims, the
payments with it as CLP01, what was already emitted), which `billing.decide_ids` reads from the state. So a
worker given a list of CLM01s decides them alone, exactly as the run's own billing step would.

Why the run's crash guarantees stay as they were: a worker only *reads* the state, on a connection it opens
itself after it was spawned (it never holds the run lock or the run's connection: `workers`), and writes its
parts into its own folder under the run's work folder. The run joins the parts into its own spools, numbers
them from the state database, validates them, and records everything in the one billing transaction of
`runner`, as before. A worker killed, or a stop signal, costs only parts: nothing was recorded, the work folder
is removed, and the next run bills the same claims again with the same numbers.

Why the joined outputs are byte for byte the serial step's: shards are contiguous runs of the dirty CLM01s in
the order the serial step decides them, and each worker writes its claims in that order. The run opens each
destination's output at the first claim any shard billed to it, in shard order, so ISA13s are allocated and
file names chosen in the serial order; parts are appended shard by shard with the edi claim copier (HLs
renumbered, a claim's billing provider level shared with the claim before when both came from one stored
billing provider loop, as the serial writer shares it). A parity test compares both.

Shards are a fixed number of CLM01s (`SHARD_CLAIMS`), not one per worker: a pool takes the next shard as it
finishes one, so a slow shard does not hold the others up, and the cut does not depend on the worker count.
"""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

from cob.billing.secondary import SecondaryOptions
from cob.schemas.claim import Claim
from cob.schemas.report import ClaimOutcome

from . import faults, workers
from .billing import BillingResult, Emission, StateSecondaryRun, begin, decide_ids
from .failures import WorkerDied
from .posting import Poster, PostingSettings
from .state import State

#: CLM01s per shard by default (`[run] shard_claims`): enough that a worker's per-shard start (its spools, the
#: roster) costs little, few enough that two or more workers get an even share of a night's drop
SHARD_CLAIMS = 400
#: environment variable of the fault tests: the worker billing this shard number kills itself (SIGKILL)
KILL_SHARD = "COB_FAULT_KILL_SHARD"


@dataclass
class ShardTask:
    """What a worker needs to bill one shard (picklable: it crosses to a spawned process)."""

    number: int
    claim_ids: list[str]
    state_url: str
    sqlite_path: str | None
    options: SecondaryOptions  # out_dir: the shard's own folder under the run's work folder
    coverage: Path | None
    order_facts: Path | None
    posting: PostingSettings


@dataclass
class Part:
    """One destination's output of one shard: a complete interchange in the shard's folder."""

    key: str  # `submitters.spool_key`: destination payer, sender, receiver, submitter
    payer_id: str
    guide: str
    tmp: str
    info: object  # InterchangeInfo
    readdressed: object  # TransactionHeader before the output's own BHT
    #: per claim in the part: (index of its outcome in the shard's outcomes, key of its billing provider
    #: loop, the claim's source label)
    entries: list[tuple[int, str, str]]
    printed: list = field(default_factory=list)  # a paper payer's pages per entry (`cob.billing.paper`)


@dataclass
class ShardResult:
    """What a worker sends back: its shard's outcomes in decision order and the parts that hold the billed."""

    number: int
    outcomes: list[ClaimOutcome]
    claim_keys: list[str]
    emissions: list[Emission]  # each `outcome` is one of `outcomes` (pickled together: the same object)
    first_seen: dict[str, str]
    postings: list
    parts: list[Part]
    size: int = 0  # CLM01s in the shard


class ShardRun(StateSecondaryRun):
    """A worker's billing run: outputs are parts in its own folder, numbered by a private counter (the run
    numbers the joined outputs), and each billed claim's billing provider loop key is noted for the join."""

    def __init__(self, state: State, options: SecondaryOptions):
        super().__init__(state, options)
        self.counter_value = 0
        self.provider_of_claim: dict[int, str | None] = {}  # id(claim) -> its billing provider loop key
        self.provider_of_outcome: dict[int, str | None] = {}  # id(outcome) -> the same, for billed claims

    def loaded(self, claim: Claim, provider_key: str | None) -> None:
        self.provider_of_claim[id(claim)] = provider_key

    def allocate_isa(self, sender) -> int:
        self.counter_value += 1
        return self.counter_value

    def open_spool(self, key, payer_id, info, header, guide=Claim.GUIDE):
        """`SecondaryRun.open_spool` as is: a part's file name is private to this worker's folder, so the run's
        check of names already used in the outbox and the state (`StateSecondaryRun.open_spool`) is not for it."""
        return super(StateSecondaryRun, self).open_spool(key, payer_id, info, header, guide)

    def spool_claim(self, claim, built, outcome, destination, source):
        self.provider_of_outcome[id(outcome)] = self.provider_of_claim.get(id(claim))
        return super().spool_claim(claim, built, outcome, destination, source)

    def parts(self, outcomes: list[ClaimOutcome]) -> list[Part]:
        position = {id(o): n for n, o in enumerate(outcomes)}
        parts = []
        for key, spool in self.spools.items():
            spool.close()
            parts.append(Part(key, spool.payer_id, spool.guide, str(spool.tmp), spool.info, spool.readdressed,
                              [(position[id(o)], self.provider_of_outcome.get(id(o)) or f"#{position[id(o)]}",
                                source) for o, _first, _last, source in spool.entries],
                              list(getattr(spool, "printed", []))))
        return parts


_worker_state: dict[tuple[str, str | None], State] = {}


def shard_task(config, number: int, claim_ids: list[str], when, out_dir: Path) -> ShardTask:
    """The task of billing one shard as `config`'s run bills (its envelope, folders, paper payers, roster,
    order facts and report settings), into `out_dir`, dated `when` (the batch time)."""
    options = SecondaryOptions(out_dir=out_dir, sender=config.sender, receiver=config.receiver, validate=False,
                               now=when, payer_subfolders=config.payer_subfolders, defer_publish=True,
                               paper_payers=config.paper_payers, paper_proof=config.paper_proof)
    return ShardTask(number, claim_ids, config.state_url, str(config.sqlite_path) if config.sqlite_path else None,
                     options, config.coverage, config.order_facts,
                     PostingSettings(config.include_patient_names, config.underpayment_tolerance, config.deadlines))


def bill_shard(task: ShardTask, state: State | None = None) -> ShardResult:
    """Decide the shard's claims and write its parts. The state is read on
    `state` (a team's process passes its own connection) or, in a worker, on a connection of the worker's
    own, opened once (never inherited) and closed with the worker."""
    if os.environ.get(KILL_SHARD) == str(task.number):
        os.kill(os.getpid(), signal.SIGKILL)
    if state is None:
        key = (task.state_url, task.sqlite_path)
        state = _worker_state.get(key)
        if state is None:
            state = _worker_state[key] = State.open(task.state_url,
                                                    Path(task.sqlite_path) if task.sqlite_path else None)
    task.options.out_dir.mkdir(parents=True, exist_ok=True)
    run = ShardRun(state, task.options)
    poster = Poster(task.coverage, task.posting)
    result = begin(run, task.coverage, task.order_facts, poster.observe)
    decide_ids(result, task.claim_ids)  # (the connection is in autocommit: it holds no transaction open)
    # (pickled whole wherever it crosses to another process: each emission's outcome stays one of `outcomes`)
    return ShardResult(task.number, result.outcomes, result.claim_keys, result.emissions, result.first_seen,
                       poster.postings, run.parts(result.outcomes), len(task.claim_ids))


def cut(ids: list[str], size: int | None = None) -> list[list[str]]:
    """Contiguous shards of `size` CLM01s (the last may be smaller), in order."""
    size = size or SHARD_CLAIMS
    return [ids[k:k + size] for k in range(0, len(ids), size)]


def on_this_machine(config, cuts: list[list[str]], when, work: Path, pool: "workers.Workers") -> Iterator[ShardResult]:
    """The shards billed by the run's worker processes (`pool`), their results in shard order. Raises
    `WorkerDied` when a worker died, `signals.StopRequested` on a stop (the workers are killed: they only
    wrote parts)."""
    tasks = [shard_task(config, n, ids, when, work / f"shard-{n}") for n, ids in enumerate(cuts)]

    def died(unfinished: list[int]) -> WorkerDied:
        return worker_died(unfinished, len(tasks))
    yield from pool.in_order(bill_shard, [(t,) for t in tasks], died)


def worker_died(unfinished: list[int], total: int) -> WorkerDied:
    which = ", ".join(str(n + 1) for n in unfinished[:3]) + (" or another" if len(unfinished) > 3 else "")
    return WorkerDied(f"a worker process billing claims (shard {which} of {total}) died (killed, or out of "
                      "memory?); no claim was recorded as sent, the next run bills them again")


def bill_in_shards(run: StateSecondaryRun, results: Iterable[ShardResult],
                   progress: Callable[[int], None] | None = None) -> tuple[BillingResult, list]:
    """Join the shards' results (in shard order, from `on_this_machine` or a team's round) into `run`'s
    spools, finished (checked, ready to record). Returns the billing result, as `billing.bill` gives it, and
    the postings of every claim, in the serial order."""
    run.start()
    collected: list[ShardResult] = []
    faults.checkpoint("billing shards handed out")
    for shard in results:
        collected.append(shard)
        if progress is not None:
            progress(shard.size)
    result = join(run, collected)
    run.finish_outputs()
    return result, [p for r in collected for p in r.postings]


def join(run: StateSecondaryRun, results: list[ShardResult]) -> BillingResult:
    """The shards' outcomes in order, and their parts joined into `run`'s spools (see module doc)."""
    out = BillingResult(run=run)
    pieces: dict[str, list[tuple[tuple[int, int], ShardResult, Part]]] = {}
    for shard in results:
        out.outcomes.extend(shard.outcomes)
        out.claim_keys.extend(shard.claim_keys)
        out.emissions.extend(shard.emissions)
        out.first_seen.update(shard.first_seen)
        for part in shard.parts:
            if part.entries:
                pieces.setdefault(part.key, []).append(((shard.number, part.entries[0][0]), shard, part))
    # each output opened (numbered) at its first claim in the serial order
    for key, group in sorted(pieces.items(), key=lambda item: min(p[0] for p in item[1])):
        group.sort(key=lambda p: p[0])
        first = group[0][2]
        spool = run.open_spool(key, first.payer_id, first.info, first.readdressed, first.guide)
        for _order, shard, part in group:
            spool.add_copies(Path(part.tmp), [shard.outcomes[n] for n, _p, _s in part.entries],
                             [source for _n, _p, source in part.entries],
                             [provider for _n, provider, _s in part.entries])
            if part.printed:  # a paper payer: its claims' pages follow its entries
                spool.printed.extend(part.printed)
    return out
