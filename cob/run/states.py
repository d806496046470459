"""The states of `cob run`: what an input file, an output file, a claim and a batch can be, and the only ways
each moves on. One table per family (a `Machine` class); one verb per transition; a verb called from a state
it does not leave raises `IllegalTransition` (a bug in the runner, never a data problem: bad data is a state).

  Input   (inputs.status + inputs.moved)
    new ──record─────────> ingested ──archive──┐
     ├───mark_duplicate──> duplicate ─archive──┴─> archived
     └───reject──────────> rejected ──quarantine─> quarantined

  Output  (outputs.published; no row before `stage`)     Batch   (batches.closed_at)
    written ──stage──> staged ──publish──> published       new ──open──> open ──close──> closed
     └──────discard──> discarded                                        └join┘

  Claim   (a row in dirty; claim_status.status)
    new ──mark_dirty──> dirty ──bill────> billed
                         ^    ├──skip────> skipped
                         │    ├──hold────> held
                         │    └──reject──> rejected
                         └── mark_dirty from every state (new 837P/835 data)

Why the steps are apart (what survives `kill -9`, see `runner`): `record` commits an input's claims and
payments, marks them dirty and opens (or joins) the batch in one transaction; one billing transaction then
decides every dirty claim (`bill`, `skip`, `hold`, `reject`), `stage`s the outputs holding the billed ones
and `close`s the batch; only after that commit are outputs `publish`ed (renamed) and inputs `archive`d or
`quarantine`d (moved). A run killed in between finds staged outputs and unmoved inputs and finishes them.

A claim's decided states are the report's `OutcomeStatus` values: its standing is the status of its last
decision (kept for `cob status` while the claim is dirty again), plus `dirty` while new data waits for the
next decision. A batch is closed by the commit that bills it, so billed and closed are one state.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Generic, TypeVar

from cob.schemas.report import OutcomeStatus


class InputState(StrEnum):
    NEW = "new"  # in an inbox, nothing recorded
    INGESTED = "ingested"  # its claims and payments are committed; the file waits in the inbox
    DUPLICATE = "duplicate"  # same content as an ingested input: nothing read
    REJECTED = "rejected"  # unreadable or malformed: nothing used
    ARCHIVED = "archived"  # moved to archive/ (a duplicate to archive/duplicates/)
    QUARANTINED = "quarantined"  # moved to rejected/ beside a .reason.txt


class OutputState(StrEnum):
    WRITTEN = "written"  # a validated, fsynced hidden temp file; nothing committed
    STAGED = "staged"  # committed with the claims it holds; the rename is still to do
    PUBLISHED = "published"  # renamed into the outbox
    DISCARDED = "discarded"  # temp file removed: the billing that wrote it was not committed


class ClaimState(StrEnum):
    NEW = "new"  # nothing received yet
    DIRTY = "dirty"  # new 837P/835 data since its last decision
    BILLED = OutcomeStatus.BILLED.value
    SKIPPED = OutcomeStatus.SKIPPED.value
    HELD = OutcomeStatus.HELD.value
    REJECTED = OutcomeStatus.REJECTED.value


class BatchState(StrEnum):
    NEW = "new"  # no batch open: the next recorded input opens one
    OPEN = "open"  # its time (the outputs' ISA/GS/BHT time) is committed; inputs join it
    CLOSED = "closed"  # billed: the billing commit closed it


S = TypeVar("S", bound=StrEnum)


class IllegalTransition(RuntimeError):
    """A verb called from a state it does not leave: a bug in the caller, never a data problem."""


class Verb(Generic[S]):
    """One transition: from any of `sources` to `target`; named by the `Machine` attribute it is bound to."""

    def __init__(self, sources: S | set[S], target: S):
        self.sources = frozenset(sources if isinstance(sources, set) else {sources})
        self.target = target
        self.family = self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.family, self.name = owner.family, name

    def __call__(self, current: S, subject: str = "") -> S:
        """The state after this verb; `subject` (a file name, a CLM01) only names the thing in the error."""
        if current not in self.sources:
            what = f"{self.family} {subject}" if subject else self.family
            raise IllegalTransition(f"{what}: cannot {self.name} from {current} "
                                    f"({self.name} leaves only {', '.join(sorted(self.sources))})")
        return self.target

    def __repr__(self) -> str:
        return f"{self.family}.{self.name}"


class Machine:
    """One family's transition table: its verbs are the class attributes."""

    family = ""

    @classmethod
    def verbs(cls) -> list[Verb]:
        return [v for v in vars(cls).values() if isinstance(v, Verb)]


class Inputs(Machine):
    family = "input"
    record = Verb(InputState.NEW, InputState.INGESTED)
    mark_duplicate = Verb(InputState.NEW, InputState.DUPLICATE)
    reject = Verb(InputState.NEW, InputState.REJECTED)
    archive = Verb({InputState.INGESTED, InputState.DUPLICATE}, InputState.ARCHIVED)
    quarantine = Verb(InputState.REJECTED, InputState.QUARANTINED)

    @classmethod
    def move(cls, state: InputState) -> Verb[InputState]:
        """The verb that moves a recorded input out of the inbox: a rejected one is quarantined, others archived."""
        return cls.quarantine if state is InputState.REJECTED else cls.archive


class Outputs(Machine):
    family = "output"
    stage = Verb(OutputState.WRITTEN, OutputState.STAGED)
    discard = Verb(OutputState.WRITTEN, OutputState.DISCARDED)
    publish = Verb(OutputState.STAGED, OutputState.PUBLISHED)


class Claims(Machine):
    family = "claim"
    mark_dirty = Verb(set(ClaimState), ClaimState.DIRTY)
    bill = Verb(ClaimState.DIRTY, ClaimState.BILLED)
    skip = Verb(ClaimState.DIRTY, ClaimState.SKIPPED)
    hold = Verb(ClaimState.DIRTY, ClaimState.HELD)
    reject = Verb(ClaimState.DIRTY, ClaimState.REJECTED)


class Batches(Machine):
    family = "batch"
    open = Verb(BatchState.NEW, BatchState.OPEN)
    join = Verb(BatchState.OPEN, BatchState.OPEN)
    close = Verb(BatchState.OPEN, BatchState.CLOSED)


#: the verb of each decision of the billing step (`OutcomeStatus` of the claim's outcome)
DECISIONS: dict[OutcomeStatus, Verb[ClaimState]] = {
    OutcomeStatus.BILLED: Claims.bill, OutcomeStatus.SKIPPED: Claims.skip,
    OutcomeStatus.HELD: Claims.hold, OutcomeStatus.REJECTED: Claims.reject,
}
