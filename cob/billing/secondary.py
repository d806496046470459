"""`cob secondary`: original 837P claims + payers' 835s -> next-payer 837P files and a report.

Flow: read every 835 (a file that is not clean is reported and not used) into a `RemitIndex`; stream
the 837P claims; for each claim consolidate its remittances, triage it, match lines, build the next
payer's claim and check it (COB balancing and situational rules); write it to the destination payer's
spool file. Each spool is then validated against the implementation guide (cob's own engine, cob.edi.validate); claims with
IG problems, and claims from a claim file that turned out malformed, are taken out before the spool is
fsynced and renamed into place, so nothing rejected ever reaches the output folder.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Callable, Iterable

from cob.edi.envelope import CounterControlNumbers, Party as EnvParty
from cob.edi.errors import X12SyntaxError
from cob.edi.reader import X12Reader
from cob.edi.writer import Claim837Writer, InterchangeInfo, atomic_output, file_mode, publish
from cob.progress import Progress, Steps
from cob.schemas.claim import Claim, TransactionHeader
from cob.schemas.codes import ClaimStatus
from cob.schemas.coverage import CoverageRoster, RosterError, load_roster
from cob.schemas.remit import ClaimPayment
from cob.schemas.report import ClaimOutcome, InputResult, OutcomeStatus, RunReport

from .checks import check_claim, errors
from .build import CannotBuild, PayerChain, PayerInfo, build_next_claim, patient_responsibility, payer_chain
from .consolidate import ClaimRemits, RemitIndex
from .expected import OrderFacts, OrderFactsError, check_order, expected_payment, is_medicare, load_order_facts, terms_for
from .match import LineMatch, check_coverage, match_lines

FORWARDED = {ClaimStatus.PRIMARY_FORWARDED, ClaimStatus.SECONDARY_FORWARDED, ClaimStatus.TERTIARY_FORWARDED}
OTHER_PAYER_REASONS = {"22", "109"}
BILLED_REASON = {2: "secondary_billed"}
#: claim files from this size on are read by several processes (when the machine has several CPUs)
PARALLEL_BYTES = 4_000_000
#: check codes that are COB balancing (reference §1.9); the others are situational rules (§3.8)
BALANCING_CODES = {"claim_charge", "line_balance", "claim_vs_lines", "claim_balance", "missing_line_adjudication"}


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


class _Spool:
    """One destination payer's output: a temp file being written, and where each claim sits in it."""

    def __init__(self, out_dir: Path, payer_id: str, isa: int, info: InterchangeInfo, header: TransactionHeader,
                 when: dt.datetime):
        self.payer_id = payer_id
        self.isa = isa
        self.info = info
        self.header = header.model_copy(update={"bht": header.bht.model_copy(update={
            "reference_id": f"COB{isa:09d}", "date": when.date(), "time": when.strftime("%H%M"),
            "purpose_code": "00", "transaction_type": "CH"})})
        self.final = out_dir / f"{_safe(payer_id)}-{isa:09d}.837"
        fd, tmp = tempfile.mkstemp(prefix=f".{self.final.name}.", suffix=".spool", dir=out_dir)
        os.fchmod(fd, file_mode())
        self.tmp = Path(tmp)
        self.fh: IO[str] = os.fdopen(fd, "w", encoding="utf-8", newline="")
        self.writer = Claim837Writer(self.fh, info, CounterControlNumbers(start=isa))
        self.writer.start()
        self.writer.begin_transaction(self.header)
        self.readdressed = header  # before the BHT is made this file's own (a merged spool is rebuilt from it)
        self.entries: list[tuple[ClaimOutcome, int, int, str]] = []  # outcome, first seg, last seg, source file

    def add(self, claim: Claim, outcome: ClaimOutcome, source: str) -> None:
        first = self.writer.seg.total + 1
        self.writer.write_claim(claim)
        self.entries.append((outcome, first, self.writer.seg.total, source))

    def close(self) -> None:
        if not self.fh.closed:  # a joined spool is closed (and its check started) as soon as it is complete
            self.writer.finish()
            self.fh.close()


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in text) or "payer"


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
        self.spools: dict[str, _Spool] = {}
        self.next_isa = self.options.control_start
        self.bad_claim_files: set[str] = set()
        self.ready: list[tuple[_Spool, Path]] = []  # defer_publish: (spool, fsynced temp holding its final text)
        self.select: Callable[[str], bool] | None = None  # a worker's share of the claim ids (cob.billing.parallel)
        self.checks = None  # cob.billing.parallel.OutputChecks already started on finished spools, if any

    def run(self) -> RunReport:
        self.start()
        workers = self.worker_count()
        steps = Steps(self.options.progress, len(self.remits) + len(self.claims), "reading inputs")
        try:
            if workers > 1:
                from .parallel import read_in_workers

                read_in_workers(self, workers)
                steps.to(steps.total)
            else:
                for path in self.remits:
                    self._read_remit(path)
                    steps.update()
                self.read_side_inputs()
                seen: set[str] = set()
                for path in self.claims:
                    self._read_claims(path, seen)
                    steps.update()
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
        if size < PARALLEL_BYTES or threading.active_count() > 1:
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
                    detail="an 835 answers this claim, but no original 837P claim with this CLM01 was given"))

    def finish_outputs(self) -> None:
        """Close, validate and publish (or, with `defer_publish`, make ready) every destination's output."""
        spools = list(self.spools.values())
        for spool in spools:
            spool.close()
        if self.options.validate:
            from .parallel import validate_files

            workers = self.options.workers if self.options.workers is not None else default_workers()
            steps = Steps(self.options.progress, len(spools), "checking outputs")
            problems = validate_files([s.tmp for s in spools], _ig_errors, workers, self.checks)
            steps.to(len(spools))
        else:
            problems = [[] for _ in spools]
        for spool, found in zip(spools, problems):
            self._finish(spool, found)

    # ------------------------------------------------------------------------------------------ inputs

    def _read_remit(self, path: Path, payments: Callable[[Iterable], Iterable] | None = None) -> tuple[str, int] | None:
        """Add one 835's claim payments to the index, all or nothing; the problem of a bad file (reported as
        an input error) is returned. `payments` may wrap the stream (the workers note where each claim is)."""
        stream = (p for p in X12Reader(path, only="835", select=self.select) if isinstance(p, ClaimPayment))
        try:
            self.index.add_file(str(path), payments(stream) if payments else stream)
        except (X12SyntaxError, OSError) as exc:
            problem = input_problem(path, exc)
            self.inputs.append(InputResult(file=str(path), kind="835", status="error", error=problem[0]))
            return problem
        self.inputs.append(InputResult(file=str(path), kind="835", status="ok"))
        return None

    def _read_claims(self, path: Path, seen: set[str]) -> None:
        first = len(self.outcomes)
        try:
            for claim in X12Reader(path, only="837", select=self.select):
                seen.add(claim.claim_id)
                self._claim(claim, str(path))
        except (X12SyntaxError, OSError) as exc:
            self.claim_file_failed(path, input_problem(path, exc)[0], self.outcomes[first:])
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

    def _claim(self, claim: Claim, source: str) -> None:
        outcome, built, destination = self.triage(claim)
        self.outcomes.append(outcome)
        if built is None or destination is None:
            return
        self.spool_claim(claim, built, outcome, destination, source)

    def spool_claim(self, claim: Claim, built: Claim, outcome: ClaimOutcome, destination: PayerInfo,
                    source: str) -> _Spool:
        """Write a built claim into its destination payer's output (opened on first use)."""
        spool = self._spool(destination, claim)
        outcome.output = str(spool.final)
        spool.add(built, outcome, source)
        return spool

    def triage(self, claim: Claim) -> tuple[ClaimOutcome, Claim | None, PayerInfo | None]:
        """Decide what to do with one original claim; build the next claim when it is to be billed."""
        claim_id = claim.claim_id

        def result(status: str, reason: str, detail: str, destination: PayerInfo | None = None):
            return ClaimOutcome(claim_id=claim_id, status=status, reason=reason, detail=detail,
                                destination_payer=destination.payer_id if destination else None), None, None

        remits = self.index.consolidate(claim_id)
        if remits is None:
            return result("held", "awaiting_remittance", "no 835 for this claim among the inputs yet")
        early = _before_adjudication(remits)
        if early is not None:
            return result(*early)
        roster = self.roster.lookup(claim_id, _member_id(claim)) if self.roster is not None else None
        chain = payer_chain(claim, roster)
        if not chain.payers:
            return result("held", "claim_mismatch", "the claim has no subscriber or payer level")
        if chain.conflicts:
            return result("held", "coverage_conflict", chain.conflicts[0])
        problem = _assign(chain, remits)
        if problem is not None:
            return result("held", *problem)
        adjudicated = [p for p in chain.payers if p.adjudication is not None or p.existing]
        highest = max(p.level for p in adjudicated)
        missing = [p.level for p in chain.payers if p.level < highest and p not in adjudicated]
        if missing:
            return result("held", "adjudication_incomplete",
                          f"the payer at level {missing[0]} has not adjudicated, a later payer has")
        fresh = [p for p in chain.payers if p.adjudication is not None]
        if not fresh:
            return result("held", "awaiting_remittance",
                          "the remittances only repeat adjudications the claim already carries")
        top = chain.at(highest)
        destination = chain.at(highest + 1)
        stop = _stop_conditions(claim, fresh, top, chain, destination)
        if stop is not None:
            return result(*stop)
        if destination is None:
            return result("skipped", "no_further_coverage",
                          f"no payer after level {highest} is known for this claim")
        matches: dict[int, LineMatch] = {}
        for payer in fresh:
            match = check_coverage(claim, match_lines(claim, payer.adjudication.payment))
            if not match.ok:
                return result("held", match.problem, f"payer {payer.payer_id}: {match.detail}", destination)
            matches[payer.level] = match
        msp_type = None
        request = self.facts.lookup(claim_id, _member_id(claim)) if self.facts is not None else None
        if request is not None:
            conflict, msp_type = check_order(request, [p.payer_id for p in chain.payers])
            if conflict is not None:
                return result("held", "order_of_benefits", conflict, destination)
        if top.adjudication is not None and patient_responsibility(top.adjudication.payment) == 0:
            return result("skipped", "nothing_left_to_bill",
                          f"payer {top.payer_id} left no patient responsibility to bill on", destination)
        try:
            built = build_next_claim(claim, chain, destination, matches)
        except CannotBuild as exc:
            status = "rejected" if exc.reason == "balancing_failed" else "held"
            return result(status, exc.reason, exc.detail, destination)
        if msp_type is not None and is_medicare(destination.sbr.filing_indicator) \
                and built.subscriber.sbr.insurance_type is None:
            built.subscriber.sbr.insurance_type = msp_type  # the rules say why Medicare is not first
        findings = errors(check_claim(built))
        if findings:
            reason = "balancing_failed" if any(f.code in BALANCING_CODES for f in findings) else "cob_check_failed"
            return result("rejected", reason, "; ".join(f.message for f in findings[:3]), destination)
        reason = BILLED_REASON.get(destination.level, "tertiary_billed")
        detail = f"billed to payer {destination.payer_id} as {destination.sequence.name.lower()} payer"
        claim_pr = _claim_level_pr(fresh, matches)
        if claim_pr:
            detail += (f"; note: claim-level patient responsibility {claim_pr} is in the 2320 CAS but no "
                       "line's AMT*EAF (line-level reporting)")
        outcome = ClaimOutcome(claim_id=claim_id, status="billed", reason=reason, detail=detail,
                               destination_payer=destination.payer_id, source_payer=top.payer_id,
                               payer_sequence=destination.sequence.value)
        terms = terms_for(roster or [], destination.payer_id)
        if terms is not None and top.adjudication is not None:
            estimate = expected_payment(top.adjudication.payment, terms)
            if estimate is not None:
                outcome.expected_payment = estimate.secondary_pays
                outcome.patient_balance = estimate.patient_balance
        return outcome, built, destination

    # ------------------------------------------------------------------------------------------ output

    def _spool(self, destination: PayerInfo, claim: Claim) -> _Spool:
        payer_id = destination.payer_id
        spool = self.spools.get(payer_id)
        if spool is None:
            env = claim.header.envelope if claim.header is not None else None
            sender = self.options.sender or EnvParty(env.sender_qualifier or "ZZ", env.sender_id or "SENDER")
            receiver = self.options.receiver or EnvParty(env.receiver_qualifier or "ZZ",
                                                         env.receiver_id or "RECEIVER")
            info = InterchangeInfo(sender, receiver, usage=env.usage if env else "P", when=self.when)
            spool = _Spool(self.out_dir_for(payer_id), payer_id, self.allocate_isa(sender), info,
                           _readdressed(claim.header, claim, destination), self.when)
            self.spools[payer_id] = spool
        return spool

    def out_dir_for(self, payer_id: str) -> Path:
        out_dir = self.options.out_dir
        if self.options.payer_subfolders:
            out_dir = out_dir / _safe(payer_id)
            out_dir.mkdir(parents=True, exist_ok=True)
        return out_dir

    def allocate_isa(self, sender: EnvParty) -> int:
        """The next ISA13 for an interchange from `sender`. A plain counter here; `cob run` keeps one
        counter per sender in its state database."""
        number = self.next_isa
        self.next_isa += 1
        return number

    def _finish(self, spool: _Spool, problems: list) -> None:
        """Take out claims of bad claim files and claims with IG errors (`problems`), then publish."""
        drop: set[int] = set()
        for n, (outcome, _a, _b, source) in enumerate(spool.entries):
            if source in self.bad_claim_files:
                drop.add(n)
        for problem in problems:
            hit = [n for n, (_o, a, b, _s) in enumerate(spool.entries)
                   if problem.segment_no is not None and a <= problem.segment_no <= b]
            targets = hit or list(range(len(spool.entries)))  # an envelope problem fails them all
            for n in targets:
                outcome = spool.entries[n][0]
                if outcome.status == OutcomeStatus.BILLED:
                    outcome.status = OutcomeStatus.REJECTED
                    outcome.reason = "ig_invalid"
                    outcome.detail = (f"segment {problem.segment_no or '-'}: SNIP {problem.snip} "
                                      f"{problem.code}: {problem.message}")
                    outcome.output = None
                drop.add(n)
        keep = [n for n in range(len(spool.entries)) if n not in drop]
        try:
            if not keep:
                spool.tmp.unlink(missing_ok=True)
                for outcome, *_ in spool.entries:
                    outcome.output = None
                return
            if self.options.defer_publish:
                ready = _rewrite(spool, keep, defer=True) if drop else spool.tmp
                _fsync(ready)
                self.ready.append((spool, ready))
            elif drop:
                _rewrite(spool, keep)
            else:
                publish(spool.tmp, spool.final)
        except OSError as exc:
            if self.options.defer_publish:
                spool.tmp.unlink(missing_ok=True)
                raise  # cob run rolls the whole batch back and retries it next run
            spool.tmp.unlink(missing_ok=True)
            for n in keep:
                outcome = spool.entries[n][0]
                outcome.status, outcome.reason, outcome.output = OutcomeStatus.REJECTED, "write_failed", None
                outcome.detail = f"the output file could not be written: {exc.strerror or exc}"


def _readdressed(header: TransactionHeader, claim: Claim, destination: PayerInfo) -> TransactionHeader:
    """1000B names the receiver; when the original named the payer it billed, name the new payer instead
    (a clearinghouse named there stays)."""
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


def default_workers() -> int:
    """Processes for a big run: one per CPU, at most 4 (beyond that the parent's joining and each
    worker's walk of the others' claims eat the gain, and memory grows with every worker)."""
    return min(os.cpu_count() or 1, 4)


def input_problem(path: Path, exc: Exception) -> tuple[str, int]:
    """What is wrong with an input file that could not be read, and the segment number where it was
    found (0 when the file could not be read at all)."""
    if isinstance(exc, X12SyntaxError):
        return str(exc.error), exc.error.segment_no or 0
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
    return f"{path}: cannot read: {reason}", 0


def _hold_for_file(outcome: ClaimOutcome) -> None:
    outcome.status = OutcomeStatus.HELD
    outcome.reason = "input_file_error"
    outcome.detail = "the claim file it came from is malformed; nothing from it is billed"
    outcome.output = None


def _ig_errors(path: Path, parallel: bool | None = None):
    """Errors of cob's own validator (SNIP 1-5) in a written spool; warnings do not stop a claim.
    `parallel` as for `validate_file` (None: a second process for a big file when one is free)."""
    from cob.edi.validate import validate_file

    return validate_file(path, parallel=parallel).errors


def _rewrite(spool: _Spool, keep: list[int], defer: bool = False) -> Path:
    """Write the spool again without the dropped claims (same ISA13), then remove the spool. With `defer`
    the new text stays in a temp file beside the final name (returned) for the caller to publish."""
    wanted = set(keep)
    if defer:
        fd, name = tempfile.mkstemp(prefix=f".{spool.final.name}.", suffix=".tmp", dir=spool.final.parent)
        os.fchmod(fd, file_mode())
        target = Path(name)
        out = os.fdopen(fd, "w", encoding="utf-8", newline="")
    else:
        target = spool.final
        out = atomic_output(spool.final)
    with out as fh:
        writer = Claim837Writer(fh, spool.info, CounterControlNumbers(start=spool.isa))
        writer.start()
        writer.begin_transaction(spool.header)
        for n, claim in enumerate(X12Reader(spool.tmp, only="837")):
            if n in wanted:
                writer.write_claim(claim)
        writer.finish()
    spool.tmp.unlink(missing_ok=True)
    return target


def _fsync(path: Path) -> None:
    with open(path, "rb+") as fh:
        os.fsync(fh.fileno())


def _member_id(claim: Claim) -> str | None:
    sub = claim.subscriber.subscriber if claim.subscriber is not None else None
    return sub.name.id if sub is not None else None


def _before_adjudication(remits: ClaimRemits) -> tuple[str, str, str] | None:
    """Outcomes decided before any standing adjudication is looked at."""
    if remits.adjudications:
        if remits.conflicts:
            return "held", "coverage_conflict", remits.conflicts[0]
        return None
    if remits.reversal_pending:
        return "held", "reversal_pending", "the payment was reversed and no corrected adjudication has arrived"
    statuses = {r.status for r in remits.denied}
    if ClaimStatus.DENIED in statuses:
        return "held", "patient_not_identified", "the payer could not identify the patient (CLP02=4); check eligibility"
    if ClaimStatus.NOT_OUR_CLAIM in statuses:
        return "held", "not_payer_claim", "the payer says the claim is not theirs (CLP02=23)"
    if remits.predeterminations:
        return "skipped", "predetermination_only", "only a predetermination (CLP02=25) was received"
    return "held", "awaiting_remittance", "no standing adjudication among the inputs"


def _assign(chain: PayerChain, remits: ClaimRemits) -> tuple[str, str] | None:
    """Put each payer's adjudication on the payer at the level its CLP02 says it paid at."""
    for adj in remits.adjudications:
        payer = chain.at(adj.level)
        if payer is None:
            return "coverage_conflict", f"payer {adj.payer} adjudicated at level {adj.level}, which the claim does not list"
        if payer.existing:
            continue  # the original claim already carries this adjudication
        payer.adjudication = adj
    return None


def _stop_conditions(claim: Claim, fresh: list[PayerInfo], top: PayerInfo, chain: PayerChain,
                     destination: PayerInfo | None) -> tuple[str, str, str] | None:
    for payer in fresh:
        payment = payer.adjudication.payment
        if payment.name("PR") is not None:
            return "held", "other_payer_primary", f"payer {payer.payer_id} names another payer as primary (NM1*PR)"
        reasons = {r for c in payment.adjustments for r in c.element_values()[1::3]}  # (and None, no reason)
        reasons.update([r for s in payment.services for c in s.adjustments for r in c.element_values()[1::3]])
        hit = reasons & OTHER_PAYER_REASONS
        if hit:
            return "held", "other_payer_primary", (f"payer {payer.payer_id} adjusted with CARC "
                                                   f"{', '.join(sorted(hit))}: another payer should pay first")
        charge = payment.clp.charge
        if charge > claim.charge:
            return "held", "claim_mismatch", (f"payer {payer.payer_id} adjudicated a charge of {charge}, "
                                              f"the claim is for {claim.charge}")
        if charge < claim.charge:
            return "held", "adjudication_incomplete", (f"payer {payer.payer_id} adjudicated {charge} of "
                                                       f"{claim.charge}: a split part is missing")
        if _patient_differs(claim, payment):
            return "held", "claim_mismatch", f"payer {payer.payer_id} answered for a different patient"
    payment = top.adjudication.payment if top.adjudication is not None else None
    if payment is not None and payment.clp.status in FORWARDED:
        carrier = payment.name("TT")
        if carrier is not None and _crossed_to_next(carrier, chain, destination):
            return "skipped", "crossover_done", (f"payer {top.payer_id} forwarded the claim to "
                                                 f"{carrier.id or 'another payer'} (crossover)")
    return None


def _crossed_to_next(carrier, chain: PayerChain, destination: PayerInfo | None) -> bool:
    """Was the claim forwarded to the payer we would bill next? Crossover ids (COBA ids) often match no
    payer we know; then we assume it was, since billing it again would duplicate the claim. A carrier
    that is a known *later* payer (e.g. the tertiary) does not stop the secondary claim."""
    def same(payer: PayerInfo) -> bool:
        name = (payer.payer.name.last_or_org_name or "").strip().upper()
        return bool(carrier.id and carrier.id == payer.payer_id) or \
            bool(name and name == (carrier.last_or_org_name or "").strip().upper())
    if destination is not None and same(destination):
        return True
    return not any(same(p) for p in chain.payers)


def _claim_level_pr(fresh: list[PayerInfo], matches: dict[int, LineMatch]):
    """Claim-level PR of payers reported at line level: reference §3.5 says to flag it (no EAF holds it)."""
    total = 0
    for payer in fresh:
        if matches.get(payer.level) is not None and matches[payer.level].services:
            total += sum((c.total for c in payer.adjudication.payment.adjustments if c.group.value == "PR"), 0)
    return total


def _patient_differs(claim: Claim, payment: ClaimPayment) -> bool:
    """The 835 patient's last name against the claim's patient (both present, case-insensitive)."""
    qc = payment.name("QC")
    party = claim.patient.name if claim.patient is not None else (
        claim.subscriber.subscriber if claim.subscriber is not None else None)
    if qc is None or party is None or not qc.last_or_org_name or not party.name.last_or_org_name:
        return False
    return qc.last_or_org_name.strip().upper() != party.name.last_or_org_name.strip().upper()


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

    notes: list[str] = []
    claim_files = expand_paths(claims, notes, kind="837")
    remit_files = expand_paths(remits, notes, kind="835")
    report = run_secondary(claim_files, remit_files, options, Path(coverage) if coverage else None,
                           Path(order_facts) if order_facts else None)
    if report_to is not None:
        if isinstance(report_to, (str, Path)):
            with atomic_output(report_to) as fh:
                fh.write(report.to_json())
                fh.write("\n")
        else:
            report_to.write(report.to_json())
            report_to.write("\n")
            report_to.flush()
    return SecondaryResult(report, list(dict.fromkeys(notes)))  # a folder given for both sides: noted once
