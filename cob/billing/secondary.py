"""`cob secondary`: original 837P claims + payers' 835s -> next-payer 837P files and a report.

This module runs the stages; each stage has its own module:

- reading: every 835 (a file that is not clean is reported and not used) into a `RemitIndex`
  (`consolidate.py`), then the 837P claims, streamed;
- triage (`triage.py`): per claim, its remittances consolidated, the decision - held, skipped, rejected or
  billed - with the next payer's claim built (`build.py`: 2320/2330/2430) and checked (`checks.py`: COB
  balancing and situational rules);
- output (`output.py`): billed claims written to a spool file per destination payer, each spool validated
  against the implementation guide (cob.edi.validate), claims with IG problems and claims from a claim file
  that turned out malformed taken out, and the file fsynced and renamed into place (or, for `cob run`, left
  ready), so nothing rejected ever reaches the output folder. A destination payer that takes paper gets the
  same spool and gate, and its kept claims are printed to a PDF instead (`paper.py`, cob.paper).

Big inputs are read and billed by several processes (`parallel.py`), whose outputs are joined into the
spools a serial run would have written.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Callable, Iterable

from cob.edi.envelope import Party as EnvParty
from cob.edi.errors import X12SyntaxError, read_problem
from cob.edi.reader import X12Reader
from cob.edi.writer import DelimiterInDataError, InterchangeInfo, atomic_output
from cob.progress import Progress, Steps
from cob.schemas.claim import Claim, TransactionHeader
from cob.schemas.coverage import CoverageRoster, RosterError, load_roster
from cob.schemas.remit import ClaimPayment
from cob.schemas.report import ClaimOutcome, InputResult, OutcomeStatus, RunReport

from .build import PayerInfo
from .consolidate import RemitIndex, consolidate
from .expected import OrderFacts, OrderFactsError, load_order_facts
from .output import (OutputChecks, Spool, destination_header, finish_spool, ig_errors, output_suffix, safe_name,
                     spool_key, validate_files)
from .paper import PaperSpool, paper_path
from .parallel import read_in_workers
from .processes import PARALLEL_BYTES, can_fork, default_workers
from .match import ClaimPayments, GroupMatch, match_claims
from .nightly import (COUNTER_NAME, ControlCounter, OutputLocationError, check_locations, drop_repeated_inputs,
                      output_name)
from .triage import Decision, member_id, triage

__all__ = ["SecondaryOptions", "SecondaryRun", "run_secondary", "default_workers", "PARALLEL_BYTES",
           "held_by_matching", "note_matching", "orphan_outcomes", "claim_label"]


@dataclass
class SecondaryOptions:
    out_dir: Path
    sender: EnvParty | None = None  # default: the original claim file's ISA sender
    receiver: EnvParty | None = None  # default: the original claim file's ISA receiver
    control_start: int = 1
    validate: bool = True  # IG validation of every output file (cob.edi.validate); off only in tests of other parts
    now: dt.datetime | None = None
    payer_subfolders: bool = False  # write each destination payer's file into out_dir/<payer id>/
    #: leave each finished output as an fsynced temp file listed in `SecondaryRun.ready` instead of renaming
    #: it: `cob run` records the pending rename in its state database in the same transaction as the claims
    #: and control numbers, and renames only after that commit (so a crash cannot publish an unrecorded file)
    defer_publish: bool = False
    #: processes reading and billing the claims (cob.billing.parallel); None: one per CPU for big inputs
    workers: int | None = None
    #: `progress(done, total, label)` per input file read and per output checked (the CLI draws a bar)
    progress: Progress | None = None
    #: the file that keeps the last ISA13 per sender across runs (`nightly.ControlCounter`); None: numbers start
    #: at `control_start` every run (`bill_paths`, the CLI's call, defaults it to `out_dir/.cob-control.json`)
    control_file: Path | None = None
    #: destination payer ids that take paper: their claims are printed (CMS-1500 + the prior payers' EOBs)
    #: to out_dir/paper/<payer>-<ISA13>.pdf instead of sent as 837P (cob.billing.paper)
    paper_payers: frozenset[str] = frozenset()
    paper_proof: bool = False  # draw the form's boxes and captions too (a plain-paper proof copy)


@dataclass
class SecondaryRun:
    """One `cob secondary` run; `run()` returns the report. Library entry point of the CLI."""

    claims: list[Path]
    remits: list[Path]
    options: SecondaryOptions
    coverage: Path | None = None
    order_facts: Path | None = None
    inputs: list[InputResult] = field(default_factory=list)
    outcomes: list[ClaimOutcome] = field(default_factory=list)
    #: the implementation-guide check of finished outputs when it is done elsewhere: paths -> problems of each
    #: (`cob run` on PostgreSQL hands the checks out to its team; default: `validate_files` here)
    check_files: Callable[[list[Path]], list[list]] | None = None

    def _side_input(self, path: Path, kind: str, load, error: type[Exception]):
        """A roster or order-facts file: loaded and reported as an input; None (reported) when bad."""
        try:
            value = load(path)
        except error as exc:
            self.inputs.append(InputResult(file=str(path), kind=kind, status="error", error=str(exc)))
            return None
        self.inputs.append(InputResult(file=str(path), kind=kind, status="ok"))
        return value

    def start(self) -> None:
        """Set up an empty run. `run()` then reads files; `cob.run` feeds claims it keeps in its state
        database instead (`triage` + `spool_claim`, then `finish_outputs`)."""
        self.options.out_dir.mkdir(parents=True, exist_ok=True)
        self.when = self.options.now or dt.datetime.now()
        self.index = RemitIndex()
        self.roster: CoverageRoster | None = None
        self.facts: OrderFacts | None = None
        self.spools: dict[str, Spool] = {}
        self.next_isa = self.options.control_start
        self.counter = ControlCounter.load(self.options.control_file) if self.options.control_file else None
        self.bad_claim_files: set[str] = set()
        self.ready: list[tuple[Spool, Path]] = []  # defer_publish: (spool, fsynced temp holding its final text)
        self.select: Callable[[str], bool] | None = None  # a worker's share of the claim ids (cob.billing.parallel)
        self.checks: OutputChecks | None = None  # checks already started on finished (joined) spools
        #: CLM01s that more than one claim of the claim files carries (`repeated_ids`), and how many: their
        #: claims are decided together once all have been read (a payment must be matched among them)
        self.repeated: dict[str, int] = {}
        #: claims of a repeated CLM01 read so far: (claim, claim file, the outcome's index in `outcomes`)
        self.pending: dict[str, list[tuple[Claim, str, int]]] = {}
        #: payments no claim of their CLM01 took (`original_claim_missing`), reported after the claims
        self.orphans: list[ClaimOutcome] = []

    def run(self) -> RunReport:
        self.start()
        self.repeated = repeated_ids(self.claims)  # (before the workers fork: they inherit it)
        workers = self.worker_count()
        steps = Steps(self.options.progress, len(self.remits) + len(self.claims), "reading inputs")
        try:
            if workers > 1:
                read_in_workers(self, workers)
                steps.to(steps.total)
            else:
                for path in self.remits:
                    self.read_remit(path)
                    steps.update()
                self.read_side_inputs()
                seen: set[str] = set()
                for path in self.claims:
                    self._read_claims(path, seen)
                    steps.update()
                self.flush_pending()
                self.outcomes.extend(self.orphans)
                self.add_missing_originals(self.index.claim_ids(), seen)
            self.finish_outputs()
        finally:
            if self.checks is not None:
                self.checks.stop()
        return RunReport.build(self.inputs, self.outcomes)

    def worker_count(self) -> int:
        """Processes to read and bill the claims with: `options.workers`, or by default one per CPU (at most
        4) when the claim files are big enough to pay for the forks and nothing else runs in this process
        (forking a process with threads is unsafe)."""
        if self.options.workers is not None:
            return max(1, self.options.workers)
        size = sum(p.stat().st_size for p in self.claims if p.is_file())
        if size < PARALLEL_BYTES or not can_fork():
            return 1
        return default_workers()

    def read_side_inputs(self) -> None:
        if self.coverage is not None:
            self.roster = self._side_input(self.coverage, "roster", load_roster, RosterError)
        if self.order_facts is not None:
            self.facts = self._side_input(self.order_facts, "unknown", load_order_facts, OrderFactsError)

    def add_missing_originals(self, claim_ids: Iterable[str], seen: set[str]) -> None:
        """Claims some 835 answers but no claim file carried: a person has to find the original."""
        for claim_id in claim_ids:
            if claim_id not in seen:
                self.outcomes.append(ClaimOutcome(
                    claim_id=claim_id, status="held", reason="original_claim_missing",
                    detail="received: an 835 payment with this CLP01; missing: the original claim (837P or 837I) "
                           "with this CLM01 (none of the claim files given carries it)"))

    def finish_outputs(self) -> None:
        """Close, validate and publish (or, with `defer_publish`, make ready) every destination's output. The
        control numbers used are saved first, so no later run can reuse one whatever happens next."""
        spools = list(self.spools.values())
        for spool in spools:
            spool.close()
        if self.counter is not None and spools:
            self.counter.save()
        if self.options.validate:
            workers = self.options.workers if self.options.workers is not None else default_workers()
            steps = Steps(self.options.progress, len(spools), "checking outputs")
            if self.check_files is not None:  # checked elsewhere (`cob run`'s team of processes)
                problems = self.check_files([s.tmp for s in spools])
            else:
                problems = validate_files([s.tmp for s in spools], ig_errors, workers, self.checks)
            steps.to(len(spools))
        else:
            problems = [[] for _ in spools]
        for spool, found in zip(spools, problems):
            ready = finish_spool(spool, found, self.bad_claim_files, self.options.defer_publish)
            if ready is not None:
                self.ready.append((spool, ready))

    # ------------------------------------------------------------------------------------------ inputs

    def read_remit(self, path: Path, payments: Callable[[Iterable], Iterable] | None = None) -> tuple[str, int] | None:
        """Add one 835's claim payments to the index, all or nothing; the problem of a bad file (reported as
        an input error) is returned. `payments` may wrap the stream (the workers note where each claim is)."""
        stream = (p for p in X12Reader(path, only="835", select=self.select) if isinstance(p, ClaimPayment))
        try:
            self.index.add_file(str(path), payments(stream) if payments else stream)
        except (X12SyntaxError, OSError) as exc:
            problem = read_problem(path, exc)
            self.inputs.append(InputResult(file=str(path), kind="835", status="error", error=problem[0]))
            return problem
        self.inputs.append(InputResult(file=str(path), kind="835", status="ok"))
        return None

    def _read_claims(self, path: Path, seen: set[str]) -> None:
        first = len(self.outcomes)
        try:
            for claim in X12Reader(path, only="837", select=self.select):
                seen.add(claim.claim_id)
                self.bill_claim(claim, str(path))
        except (X12SyntaxError, OSError) as exc:
            self.claim_file_failed(path, read_problem(path, exc)[0], self.outcomes[first:])
            return
        self.inputs.append(InputResult(file=str(path), kind="837", status="ok"))

    def claim_file_failed(self, path: Path, message: str, outcomes: list[ClaimOutcome]) -> None:
        """A malformed claim file: reported, and nothing built from it is billed (its claims are held)."""
        self.inputs.append(InputResult(file=str(path), kind="837", status="error", error=message))
        self.bad_claim_files.add(str(path))
        for outcome in outcomes:
            if outcome.status == OutcomeStatus.BILLED:
                _hold_for_file(outcome)

    # ------------------------------------------------------------------------------------------ claims

    def bill_claim(self, claim: Claim, source: str) -> None:
        """Triage one claim and spool it when it is billed. A claim whose CLM01 other claims carry too waits
        (its outcome's place kept) until all of them are read, then they are matched and decided together."""
        claim_id = claim.claim_id
        count = self.repeated.get(claim_id, 1)
        if count > 1:
            group = self.pending.setdefault(claim_id, [])
            group.append((claim, source, len(self.outcomes)))
            self.outcomes.append(ClaimOutcome(claim_id=claim_id, status="held", reason="awaiting_remittance",
                                              detail="not decided yet"))  # its place in the report's order
            if len(group) >= count:
                self._bill_group(self.pending.pop(claim_id))
            return
        self._bill_group([(claim, source, None)])

    def flush_pending(self) -> None:
        """Decide the claims still waiting for others of their CLM01 (a claim file stopped early)."""
        for claim_id in list(self.pending):
            self._bill_group(self.pending.pop(claim_id))

    def _bill_group(self, group: list[tuple[Claim, str, int | None]]) -> None:
        claims = [c for c, _s, _n in group]
        decisions, orphans = self.decide(claims, [claim_label(c, s) for c, s, _n in group])
        for (claim, source, place), (outcome, built, destination) in zip(group, decisions):
            if source in self.bad_claim_files:
                _hold_for_file(outcome)
                built = None
            if place is None:
                self.outcomes.append(outcome)
            else:
                self.outcomes[place] = outcome
            if built is not None and destination is not None:
                self.spool_claim(claim, built, outcome, destination, source)
        self.orphans.extend(orphans)

    def spool_claim(self, claim: Claim, built: Claim, outcome: ClaimOutcome, destination: PayerInfo,
                    source: str) -> Spool:
        """Write a built claim into its destination payer's output of its transaction type (opened on first
        use). A failure to write there is our output's problem (`OutputLocationError`), never the claim file's."""
        if destination.payer_id in self.options.paper_payers and claim.GUIDE != Claim.GUIDE:
            outcome.detail = _join(outcome.detail, PAPER_837I_NOTE.format(payer=destination.payer_id))
        try:
            spool = self._spool(destination, claim)
            outcome.output = str(spool.final)
            try:
                spool.add(built, outcome, source)
            except DelimiterInDataError:  # nothing of the claim was written; the others go on
                _reject_unwritable(outcome)
        except OSError as exc:
            raise OutputLocationError(f"cannot write to {self.options.out_dir}: {exc.strerror or exc}") from None
        return spool

    def triage(self, claim: Claim) -> Decision:
        """The decision on one claim alone (no other claim of its CLM01): `decide([claim])`."""
        return self.decide([claim], [claim_label(claim, "")])[0][0]

    def decide(self, claims: list[Claim], labels: list[str]) -> tuple[list[Decision], list[ClaimOutcome]]:
        """Decide the claims that share one CLM01: this run's payments with it as CLP01 matched to them
        (`match_group`), then each claim triaged with its own payments (`triage.triage`). Also returns an
        `original_claim_missing` outcome per payment no claim took."""
        claim_id = claims[0].claim_id
        group = self.match_group(claims, labels)
        if group is None:
            decisions = [self.decide_matched(c, None) for c in claims]
            for decision, label in zip(decisions, labels):
                decision.outcome.original = label
            return decisions, []
        decisions: list[Decision] = []
        for claim, mine, label in zip(claims, group.claims, labels):
            decision = held_by_matching(claim_id, mine) or self.decide_matched(claim, mine)
            note_matching(decision.outcome, mine, label)
            decisions.append(decision)
        return decisions, orphan_outcomes(claim_id, group, len(claims))

    def decide_matched(self, claim: Claim, mine: ClaimPayments | None) -> Decision:
        """The decision on one claim whose payments (`mine`, not held by matching; None: no payment carries
        its CLM01) were matched to it already: its remittances consolidated and triaged."""
        if mine is None:
            return self._triage(claim, None)
        remits = consolidate(claim.claim_id, mine.records, self.index.headers, claim.charge)
        return unconfirmed(self._triage(claim, remits), mine)

    def match_group(self, claims: list[Claim], labels: list[str]) -> GroupMatch | None:
        """This run's payments with the claims' CLM01 as CLP01 matched to them; None when there are none."""
        records = self.index.records.get(claims[0].claim_id, [])
        if not records:
            return None
        headers = self.index.headers
        return match_claims(claims, records, lambda r: r.payment(headers), labels)

    def _triage(self, claim: Claim, remits) -> Decision:
        """`triage.triage` of one claim with its matched remittances, this run's roster and order facts."""
        member = member_id(claim) if self.roster is not None or self.facts is not None else None
        return triage(claim, remits,
                      self.roster.lookup(claim.claim_id, member) if self.roster is not None else None,
                      self.facts.lookup(claim.claim_id, member) if self.facts is not None else None)

    # ------------------------------------------------------------------------------------------ output

    def _spool(self, destination: PayerInfo, claim: Claim) -> Spool:
        key = spool_key(destination.payer_id, claim)  # one output per destination payer and transaction type
        spool = self.spools.get(key)
        if spool is None:
            spool = self.open_spool(key, destination.payer_id, self.interchange(claim),
                                    destination_header(claim.header, claim, destination), claim.GUIDE)
        return spool

    def interchange(self, claim: Claim) -> InterchangeInfo:
        """The envelope of the output a claim goes to: the configured sender and receiver, else its own file's."""
        env = claim.header.envelope if claim.header is not None else None
        sender = self.options.sender or EnvParty(env.sender_qualifier or "ZZ", env.sender_id or "SENDER")
        receiver = self.options.receiver or EnvParty(env.receiver_qualifier or "ZZ", env.receiver_id or "RECEIVER")
        return InterchangeInfo(sender, receiver, usage=env.usage if env else "P", when=self.when)

    def open_spool(self, key: str, payer_id: str, info: InterchangeInfo, header: TransactionHeader,
                   guide: str = Claim.GUIDE) -> Spool:
        """Open the output `key` (numbered now: the next free ISA13 of its sender) and keep it in `spools`."""
        spool = self.new_spool(payer_id, self.free_isa(payer_id, info.sender, guide), info, header, guide)
        self.spools[key] = spool
        return spool

    def new_spool(self, payer_id: str, isa: int, info: InterchangeInfo, header: TransactionHeader,
                  guide: str = Claim.GUIDE) -> Spool:
        """A destination payer's output of one guide: an 837P spool, or for a payer that takes paper a
        `PaperSpool` (the CMS-1500 is the professional form: an 837I, whose paper form is the UB-04, which
        cob does not print, is written as an 837I spool for a paper payer too)."""
        if payer_id in self.options.paper_payers and guide == Claim.GUIDE:
            return PaperSpool(self.options.out_dir, payer_id, isa, info, header, self.when, self.prior_payments,
                              self.options.paper_proof)
        return Spool(self.out_dir_for(payer_id), payer_id, isa, info, header, self.when, guide=guide)

    def prior_payments(self, claim_id: str) -> list[ClaimPayment]:
        """The standing 835 claim payments of a claim's earlier payers, by level (its EOB pages on paper)."""
        remits = self.index.consolidate(claim_id)
        return [a.payment for a in sorted(remits.adjudications, key=lambda a: a.level)] if remits else []

    def out_dir_for(self, payer_id: str) -> Path:
        out_dir = self.options.out_dir
        if self.options.payer_subfolders:
            out_dir = out_dir / safe_name(payer_id)
            out_dir.mkdir(parents=True, exist_ok=True)
        return out_dir

    def allocate_isa(self, sender: EnvParty) -> int:
        """The next ISA13 for an interchange from `sender`: from the counter file when there is one (per
        sender, across runs), else a plain counter from `control_start`; `cob run` keeps one counter per
        sender in its state database."""
        if self.counter is not None:
            return self.counter.allocate(sender, self.options.control_start)
        number = self.next_isa
        self.next_isa += 1
        return number

    def output_path(self, payer_id: str, isa: int, guide: str = Claim.GUIDE) -> Path:
        """Where `new_spool` publishes a destination payer's output of `guide` numbered `isa` (837P, 837I
        `.837i`, or a paper payer's PDF: only 837P claims are printed)."""
        if payer_id in self.options.paper_payers and guide == Claim.GUIDE:
            return paper_path(self.options.out_dir, payer_id, isa)
        return self.out_dir_for(payer_id) / output_name(payer_id, isa, output_suffix(guide))

    def free_isa(self, payer_id: str, sender: EnvParty, guide: str = Claim.GUIDE) -> int:
        """The next ISA13 whose output file name (of `guide`'s transaction type) is free: an existing file is
        never overwritten (a number whose name is taken is used up, not reused)."""
        number = self.allocate_isa(sender)
        while self.output_path(payer_id, number, guide).exists():
            number = self.allocate_isa(sender)
        return number


def held_by_matching(claim_id: str, mine: ClaimPayments) -> Decision | None:
    """The hold matching itself decides for a claim (ambiguous, mismatching, or only other visits paid)."""
    if mine.hold is not None:
        return Decision(ClaimOutcome(claim_id=claim_id, status="held", reason=mine.hold[0], detail=mine.hold[1]),
                        None, None)
    if not mine.records:
        return Decision(ClaimOutcome(
            claim_id=claim_id, status="held", reason="awaiting_remittance",
            detail=f"received {mine.others} 835 payment(s) with this CLP01, each for another claim with this "
                   "CLM01 (other visit, patient or provider); missing: the payment for this claim"), None, None)
    return None


def unconfirmed(decision: Decision, mine: ClaimPayments) -> Decision:
    """A claim about to be billed from a payment that gives no service date is held instead: nothing in the
    payment says it is this visit's (the CLM01 may be reused; the TR3 asks for DTM*232/233 when the lines
    carry no DTM*472). Holds decided from such a payment stand (they bill nothing)."""
    if decision.built is None or not mine.undated:
        return decision
    received = "; ".join(f"{r.where} (payer {r.payer}, CLP07 {r.payer_claim_number or '-'})" for r in mine.undated)
    return Decision(ClaimOutcome(
        claim_id=decision.outcome.claim_id, status="held", reason="claim_mismatch",
        destination_payer=decision.outcome.destination_payer,
        detail=f"received a payment with this CLP01 that gives no service dates: {received}; missing: its "
               "service dates (DTM*232/233 or DTM*472), which confirm the visit it pays"), None, None)


def note_matching(outcome: ClaimOutcome, mine: ClaimPayments, label: str | None) -> None:
    """Duplicates ignored go on the claim's outcome as warnings; `label` (file and segment of the original)
    says where the claim came from (and tells apart claims sharing a CLM01)."""
    outcome.warnings.extend(d.note for d in mine.duplicates)
    if label is not None:
        outcome.original = label


def orphan_outcomes(claim_id: str, group: GroupMatch, claims: int) -> list[ClaimOutcome]:
    """One `original_claim_missing` per payment no claim of its CLM01 took (another visit's payment)."""
    return [ClaimOutcome(
        claim_id=claim_id, status="held", reason="original_claim_missing",
        detail=f"the payment in {record.where} (payer {record.payer}, CLP07 {record.payer_claim_number or '-'}) "
               f"matches none of the {claims} claim(s) with this CLM01 ({why or 'no claim confirms it'}); "
               "missing: the original claim of the visit it pays") for record, why in group.orphans]


def claim_label(claim: Claim, source: str) -> str:
    """Where an original claim is, for messages: its file and the segment number of its CLM."""
    where = claim.source.file or source or "the claim file"
    return f"{where} segment {claim.source.segment_no}" if claim.source.segment_no else where


def repeated_ids(claim_files: Iterable[Path]) -> dict[str, int]:
    """CLM01s carried by more than one claim of `claim_files`, with their counts (a regex scan, about 1 GB/s;
    a claim it misses is decided alone, and a group it over-counts is decided when the files end)."""
    from collections import Counter

    from cob.edi.scan import scan_claim_ids

    counts = Counter(cid for path in claim_files for cid in scan_claim_ids(path))
    return {cid: n for cid, n in counts.items() if n > 1}


def _reject_unwritable(outcome: ClaimOutcome) -> None:
    """A claim whose data holds one of the output's delimiters (e.g. the original's component separator
    inside a simple element): it cannot be written as X12, so it is rejected, without quoting the value."""
    outcome.status = OutcomeStatus.REJECTED
    outcome.reason = "write_failed"
    outcome.detail = "a value of the claim contains an X12 delimiter (the original holds a separator inside an element)"
    outcome.output = None


def _hold_for_file(outcome: ClaimOutcome) -> None:
    outcome.status = OutcomeStatus.HELD
    outcome.reason = "input_file_error"
    outcome.detail = "the claim file it came from is malformed; nothing from it is billed"
    outcome.output = None


#: the report's word on an 837I for a payer named for paper (`new_spool`): billed as an 837I, not printed
PAPER_837I_NOTE = ("payer {payer} is named for paper, but cob prints only the CMS-1500 (837P): this 837I is "
                   "written as EDI (.837i); send it by the clearinghouse's drop to paper or bill a UB-04 by hand")


def _join(detail: str, note: str) -> str:
    return f"{detail}; {note}" if detail else note


def run_secondary(claims: Iterable[Path], remits: Iterable[Path], options: SecondaryOptions,
                  coverage: Path | None = None, order_facts: Path | None = None) -> RunReport:
    """Library entry point: what `cob secondary` does, returning the report."""
    return SecondaryRun(list(claims), list(remits), options, coverage, order_facts).run()


@dataclass
class SecondaryResult:
    """What `cob secondary` reports: the run's report, and the folder entries skipped as not X12."""

    report: RunReport
    notes: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        """An input could not be used, or a claim was rejected: scripts see exit 1 and look."""
        return (any(i.status == "error" for i in self.report.inputs)
                or any(c.status == OutcomeStatus.REJECTED for c in self.report.claims))


def bill_paths(claims: Iterable[str | Path], remits: Iterable[str | Path], options: SecondaryOptions,
               coverage: str | Path | None = None, order_facts: str | Path | None = None,
               report_to: str | Path | IO[str] | None = None) -> SecondaryResult:
    """`cob secondary` as one call: the 837P files among `claims` and the 835s among `remits` (files, or
    folders whose X12 files of the right kind are taken, so one folder can hold both) billed by
    `run_secondary`, and the JSON report written to `report_to`: a path (written atomically) or an open
    text stream (the CLI's stdout for `--report -`)."""
    from cob.edi.inputs import expand_paths

    claims, remits = list(claims), list(remits)
    if options.control_file is None:
        options.control_file = options.out_dir / COUNTER_NAME
    check_locations(options.out_dir, [*claims, *remits],
                    Path(report_to) if isinstance(report_to, (str, Path)) else None, options.control_file)
    notes: list[str] = []
    seen: dict[str, Path] = {}
    claim_files, repeated = drop_repeated_inputs(expand_paths(claims, notes, kind="837"), seen)
    remit_files, repeated_remits = drop_repeated_inputs(expand_paths(remits, notes, kind="835"), seen)
    report = run_secondary(claim_files, remit_files, options, Path(coverage) if coverage else None,
                           Path(order_facts) if order_facts else None)
    if repeated or repeated_remits:
        report = RunReport.build(report.inputs + [
            InputResult(file=str(path), kind=kind, status="duplicate", duplicate_of=str(first))
            for kind, pairs in (("837", repeated), ("835", repeated_remits)) for path, first in pairs], report.claims)
    if report_to is not None:
        if isinstance(report_to, (str, Path)):
            try:
                with atomic_output(report_to) as fh:
                    fh.write(report.to_json())
                    fh.write("\n")
            except OSError as exc:
                raise OutputLocationError(f"cannot write the report to {report_to}: {exc.strerror or exc}") from None
        else:
            report_to.write(report.to_json())
            report_to.write("\n")
            report_to.flush()
    return SecondaryResult(report, list(dict.fromkeys(notes)))  # a folder given for both sides: noted once
