"""The `cob secondary` run report: what happened to every input file and every claim.

Scripts read the JSON, so its shape is a contract (keys are always present; absent values are null)::

    {"inputs": [{"file": "in/claims.837", "kind": "837", "status": "ok", "error": null}, ...],
     "claims": [{"claim_id": "PCN123", "status": "billed", "reason": "secondary_billed",
                 "detail": "Billed to the secondary payer after the primary paid 116.",
                 "destination_payer": "SECPAY", "output": "out/SECPAY.837",
                 "source_payer": "11111", "payer_sequence": "S"}, ...],
     "summary": {"claims": 1, "billed": 1, "skipped": 0, "held": 0, "rejected": 0,
                 "inputs": 1, "input_errors": 0, "outputs": {"out/SECPAY.837": 1},
                 "by_reason": {"secondary_billed": 1}}}

A claim ends in one of four states: billed (written to an output file), skipped (nothing to bill, by
design), held (a person must look: data missing or inconsistent) or rejected (we built it but it failed
our own checks or could not be written: a defect to fix). `reason` is a stable code from `Reason`;
`detail` is one plain sentence for a billing lead.

No PHI: the report names claims by CLM01 and payers by payer id. `detail` and input `error` texts must
follow the same rule (the reader's and the checks' messages already do).
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from enum import StrEnum
from typing import Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, model_validator


class OutcomeStatus(StrEnum):
    """Where a claim ended up."""

    BILLED = "billed"
    SKIPPED = "skipped"
    HELD = "held"
    REJECTED = "rejected"


class Reason(StrEnum):
    """Stable reason codes. `REASONS` gives each one's status and a one-line meaning."""

    # billed
    SECONDARY_BILLED = "secondary_billed"
    TERTIARY_BILLED = "tertiary_billed"
    # skipped
    CROSSOVER_DONE = "crossover_done"
    NO_FURTHER_COVERAGE = "no_further_coverage"
    NOTHING_LEFT_TO_BILL = "nothing_left_to_bill"
    ALREADY_ADJUDICATED = "already_adjudicated"
    PREDETERMINATION_ONLY = "predetermination_only"
    # held
    AWAITING_REMITTANCE = "awaiting_remittance"
    PATIENT_NOT_IDENTIFIED = "patient_not_identified"
    NOT_PAYER_CLAIM = "not_payer_claim"
    OTHER_PAYER_PRIMARY = "other_payer_primary"
    ADJUDICATION_INCOMPLETE = "adjudication_incomplete"
    REVERSAL_PENDING = "reversal_pending"
    AMBIGUOUS_LINE_MATCH = "ambiguous_line_match"
    AMBIGUOUS_CLAIM_MATCH = "ambiguous_claim_match"
    ORDER_OF_BENEFITS_ANSWER = "order_of_benefits_answer"
    LINE_CHARGE_MISMATCH = "line_charge_mismatch"
    CLAIM_MISMATCH = "claim_mismatch"
    CANNOT_REPRESENT = "cannot_represent"
    ORIGINAL_CLAIM_MISSING = "original_claim_missing"
    COVERAGE_CONFLICT = "coverage_conflict"
    INPUT_FILE_ERROR = "input_file_error"
    ORDER_OF_BENEFITS = "order_of_benefits"
    REPLACEMENT_HELD = "replacement_held"
    # rejected
    BALANCING_FAILED = "balancing_failed"
    COB_CHECK_FAILED = "cob_check_failed"
    IG_INVALID = "ig_invalid"
    WRITE_FAILED = "write_failed"

    @property
    def status(self) -> OutcomeStatus:
        return REASONS[self][0]

    @property
    def description(self) -> str:
        return REASONS[self][1]

    @property
    def next_action(self) -> str:
        return NEXT_ACTIONS[self]

    @property
    def waiting(self) -> bool:
        """Held only until the other half arrives: counted in summaries, not listed for a person."""
        return self in WAITING


_B, _S, _H, _R = OutcomeStatus.BILLED, OutcomeStatus.SKIPPED, OutcomeStatus.HELD, OutcomeStatus.REJECTED

#: reason -> (the only status it may go with, what it means in plain words)
REASONS: dict[Reason, tuple[OutcomeStatus, str]] = {
    Reason.SECONDARY_BILLED: (_B, "Billed to the secondary payer after the primary's remittance."),
    Reason.TERTIARY_BILLED: (_B, "Billed to the third (or later) payer after the earlier payers' remittances."),
    Reason.CROSSOVER_DONE: (_S, "The primary already forwarded the claim to the next payer (crossover)."),
    Reason.NO_FURTHER_COVERAGE: (_S, "No other payer is known for this claim."),
    Reason.NOTHING_LEFT_TO_BILL: (_S, "The earlier payers left no amount the next payer would consider."),
    Reason.ALREADY_ADJUDICATED: (_S, "The next payer has already been billed or has already paid this claim."),
    Reason.PREDETERMINATION_ONLY: (_S, "The remittance is a predetermination, not a payment decision."),
    Reason.AWAITING_REMITTANCE: (_H, "No remittance from the prior payer has been received yet."),
    Reason.PATIENT_NOT_IDENTIFIED: (_H, "The prior payer could not identify the patient; fix and rebill it first."),
    Reason.NOT_PAYER_CLAIM: (_H, "The prior payer says the claim is not theirs; the order of payers needs review."),
    Reason.OTHER_PAYER_PRIMARY: (_H, "The prior payer says another payer is primary; fix the order of payers first."),
    Reason.ADJUDICATION_INCOMPLETE: (_H, "The prior payer has not finished the claim (lines or split parts missing)."),
    Reason.REVERSAL_PENDING: (_H, "The prior payer reversed the claim and the corrected payment is not in yet."),
    Reason.AMBIGUOUS_LINE_MATCH: (_H, "Remittance lines cannot be matched to the billed lines with certainty."),
    Reason.AMBIGUOUS_CLAIM_MATCH: (_H, "A remittance fits several claims with this claim id equally (same patient, "
                                       "dates, charge, payer and lines); no claim is billed with it."),
    Reason.ORDER_OF_BENEFITS_ANSWER: (_H, "A payer answered at another level than it was billed at (CLP02), or "
                                          "forwarded the claim to a payer the claim does not list."),
    Reason.LINE_CHARGE_MISMATCH: (_H, "The prior payer's line charges differ from the billed line charges."),
    Reason.CLAIM_MISMATCH: (_H, "The remittance does not agree with the original claim (charge, dates or payer)."),
    Reason.CANNOT_REPRESENT: (_H, "The prior payer's decision does not fit the 837P limits (too many adjustments)."),
    Reason.ORIGINAL_CLAIM_MISSING: (_H, "A remittance arrived for a claim whose original 837P was not supplied."),
    Reason.COVERAGE_CONFLICT: (_H, "The claim and the coverage roster disagree about the other payers."),
    Reason.INPUT_FILE_ERROR: (_H, "The claim's original 837P file is malformed; nothing from it is billed."),
    Reason.ORDER_OF_BENEFITS: (_H, "The order-of-benefits rules put another payer first; fix the order of payers."),
    Reason.REPLACEMENT_HELD: (_H, "An earlier payer changed its decision after the next payer was billed; a "
                                  "replacement claim needs that payer's claim number from its own 835."),
    Reason.BALANCING_FAILED: (_R, "The built claim failed the COB balancing checks; a defect to investigate."),
    Reason.COB_CHECK_FAILED: (_R, "The built claim failed a COB situational check; a defect to investigate."),
    Reason.IG_INVALID: (_R, "The built claim failed implementation-guide validation; a defect to investigate."),
    Reason.WRITE_FAILED: (_R, "The claim could not be written to its output file."),
}


#: reason -> what a person (or nobody) does next
NEXT_ACTIONS: dict[Reason, str] = {
    Reason.SECONDARY_BILLED: "None: send the output file; watch for the payer's 835.",
    Reason.TERTIARY_BILLED: "None: send the output file; watch for the payer's 835.",
    Reason.CROSSOVER_DONE: "None: wait for the crossover payer's 835.",
    Reason.NO_FURTHER_COVERAGE: "None, unless the patient has other coverage: then add it to the claim or roster.",
    Reason.NOTHING_LEFT_TO_BILL: "None.",
    Reason.ALREADY_ADJUDICATED: "None.",
    Reason.PREDETERMINATION_ONLY: "Wait for the payer's real adjudication.",
    Reason.AWAITING_REMITTANCE: "Wait; follow up with the payer if its 835 is overdue.",
    Reason.PATIENT_NOT_IDENTIFIED: "Check the patient's eligibility and member id with the payer; correct and rebill.",
    Reason.NOT_PAYER_CLAIM: "Confirm the patient's coverage and the order of payers; bill the right payer.",
    Reason.OTHER_PAYER_PRIMARY: "Find the payer that pays first; correct the order of payers (SBR01) and rebill.",
    Reason.ADJUDICATION_INCOMPLETE: "Ask the payer named in the detail for its missing remittance (lines, split part).",
    Reason.REVERSAL_PENDING: "Wait for the corrected payment; call the payer if it does not come.",
    Reason.AMBIGUOUS_LINE_MATCH: "Compare the remittance lines with the claim's lines and post them by hand.",
    Reason.AMBIGUOUS_CLAIM_MATCH: "Decide which visit the named remittance pays (check the payer's portal); give "
                                  "the claims distinct claim ids (CLM01) in the practice-management system.",
    Reason.LINE_CHARGE_MISMATCH: "Compare the payer's line charges with the claim; ask the payer to reprocess.",
    Reason.CLAIM_MISMATCH: "Check the named remittance: it belongs to another visit, patient or provider, or "
                           "the claim was changed after it was sent.",
    Reason.CANNOT_REPRESENT: "Bill this claim by hand (paper or the payer's portal).",
    Reason.ORIGINAL_CLAIM_MISSING: "Wait for the original claim file, or supply it.",
    Reason.COVERAGE_CONFLICT: "Correct the coverage roster or the claim's other payers.",
    Reason.INPUT_FILE_ERROR: "Fix or re-export the named claim file and run again.",
    Reason.ORDER_OF_BENEFITS: "Confirm the order of payers with the patient and payers; correct the claim.",
    Reason.ORDER_OF_BENEFITS_ANSWER: "Call the payer named in the detail: correct the order of payers on the "
                                     "claim (SBR01), or ask the payer to reprocess at the level it was billed.",
    Reason.REPLACEMENT_HELD: "Wait for the next payer's 835 (its claim number), or send the replacement by hand.",
    Reason.BALANCING_FAILED: "Report the claim to cob's maintainers (a defect); bill it by hand meanwhile.",
    Reason.COB_CHECK_FAILED: "Report the claim to cob's maintainers (a defect); bill it by hand meanwhile.",
    Reason.IG_INVALID: "Check the named segment of the original claim; fix the original or report a defect.",
    Reason.WRITE_FAILED: "Fix the output folder (space, permissions) and run again.",
}

#: held reasons that only wait for the other half (a remittance, an original): a count, not a list
WAITING = frozenset({Reason.AWAITING_REMITTANCE, Reason.ORIGINAL_CLAIM_MISSING})


def reason_table() -> list[dict[str, str]]:
    """Every reason code with its status, meaning and next action: the one table both report renderers
    (`cob secondary`, `cob run`) print and put in the JSON report."""
    return [{"reason": r.value, "status": r.status.value, "meaning": r.description, "next_action": r.next_action}
            for r in Reason]


class _Report(BaseModel):
    model_config = ConfigDict(extra="forbid")


class InputResult(_Report):
    """One input file: what kind it was taken for and whether it could be read."""

    file: str
    kind: Literal["837", "835", "roster", "unknown"]
    status: Literal["ok", "error", "duplicate"]
    error: Optional[str] = None
    #: status "duplicate": the earlier input with the same content (this one was not read)
    duplicate_of: Optional[str] = None

    @model_validator(mode="after")
    def _error_iff_failed(self) -> "InputResult":
        if (self.status == "error") != (self.error is not None):
            raise ValueError("an input has an error message exactly when its status is 'error'")
        return self


class ClaimOutcome(_Report):
    """What happened to one claim. `reason` must be a `Reason` that belongs to `status`."""

    claim_id: str
    status: OutcomeStatus
    reason: str
    detail: str
    destination_payer: Optional[str] = None
    output: Optional[str] = None
    source_payer: Optional[str] = None
    payer_sequence: Optional[str] = None
    expected_payment: Optional[Decimal] = None  # the destination payer's expected payment (benefit terms given)
    patient_balance: Optional[Decimal] = None  # what the patient owes after it
    #: where the original claim is: its file and the segment number of its CLM (tells apart claims sharing a CLM01)
    original: Optional[str] = None
    #: things a person should know about a decided claim (duplicate payments ignored, liability not carried)
    warnings: list[str] = Field(default_factory=list)
    #: a billed claim's money: its charge (CLM02), what the earlier payers paid (their AMT*D) and the balance
    #: billed to the destination (charge - paid)
    charge: Optional[Decimal] = None
    prior_paid: Optional[Decimal] = None
    balance_billed: Optional[Decimal] = None

    @model_validator(mode="after")
    def _known_reason(self) -> "ClaimOutcome":
        """Scripts group by reason; an unlisted or misfiled code would silently fall out of their counts."""
        try:
            reason = Reason(self.reason)
        except ValueError:
            raise ValueError("reason is not one of the codes in cob.schemas.report.Reason") from None
        if reason.status is not self.status:
            raise ValueError(f"reason {reason.value} belongs to status {reason.status.value}, not {self.status.value}")
        return self


class PayerMoney(_Report):
    """What went to one destination payer: claims billed, their charges, the earlier payers' payments on
    them, and the balance billed."""

    claims: int = 0
    charges: Decimal = Decimal(0)
    prior_paid: Decimal = Decimal(0)
    balance_billed: Decimal = Decimal(0)


class RunSummary(_Report):
    """Counts over a run (see `RunReport.build`). `need_person`: held claims a person must work (all held
    reasons but the `WAITING` ones) and rejected claims; `waiting`: held claims that only wait for their other
    half; `held_by_reason`: every held claim by reason; `money`: billed claims per destination payer."""

    claims: int = 0
    billed: int = 0
    skipped: int = 0
    held: int = 0
    rejected: int = 0
    inputs: int = 0
    input_errors: int = 0
    outputs: dict[str, int] = Field(default_factory=dict)
    by_reason: dict[str, int] = Field(default_factory=dict)
    need_person: int = 0
    waiting: int = 0
    held_by_reason: dict[str, int] = Field(default_factory=dict)
    money: dict[str, PayerMoney] = Field(default_factory=dict)


class ReasonDoc(_Report):
    """One row of the reason table the JSON report carries: a code, its status, meaning and next action."""

    reason: str
    status: str
    meaning: str
    next_action: str


class RunReport(_Report):
    """The whole report: inputs, claims, the summary computed from them, and the table of reason codes
    (`reasons`: every code with its meaning and next action, so a reader of the JSON needs no manual)."""

    inputs: list[InputResult] = Field(default_factory=list)
    claims: list[ClaimOutcome] = Field(default_factory=list)
    summary: RunSummary = Field(default_factory=RunSummary)
    reasons: list[ReasonDoc] = Field(default_factory=lambda: [ReasonDoc(**r) for r in reason_table()])

    @classmethod
    def build(cls, inputs: list[InputResult], claims: list[ClaimOutcome]) -> "RunReport":
        """A report whose summary is computed from the inputs and claims, so the two never disagree."""
        return cls(inputs=list(inputs), claims=list(claims), summary=_summarize(inputs, claims))

    def to_json(self, indent: int | None = 2) -> str:
        return self.model_dump_json(indent=indent)

    def human_summary(self, limit: int = 50) -> str:
        """A short morning read for a billing lead: counts, what needs attention, where the files are."""
        return "\n".join(_human_lines(self, limit)) + "\n"


def _summarize(inputs: list[InputResult], claims: list[ClaimOutcome]) -> RunSummary:
    status = Counter(c.status for c in claims)
    outputs = Counter(c.output for c in claims if c.output is not None)
    reasons = Counter(c.reason for c in claims)
    held = Counter(c.reason for c in claims if c.status is OutcomeStatus.HELD)
    waiting = sum(n for r, n in held.items() if Reason(r).waiting)
    money: dict[str, PayerMoney] = {}
    for c in claims:
        if c.status is OutcomeStatus.BILLED:
            m = money.setdefault(c.destination_payer or "(unknown payer)", PayerMoney())
            m.claims += 1
            m.charges += c.charge or 0
            m.prior_paid += c.prior_paid or 0
            m.balance_billed += c.balance_billed or 0
    return RunSummary(
        need_person=sum(held.values()) - waiting + status[OutcomeStatus.REJECTED],
        waiting=waiting,
        held_by_reason=dict(sorted(held.items())),
        money=dict(sorted(money.items())),
        claims=len(claims),
        billed=status[OutcomeStatus.BILLED],
        skipped=status[OutcomeStatus.SKIPPED],
        held=status[OutcomeStatus.HELD],
        rejected=status[OutcomeStatus.REJECTED],
        inputs=len(inputs),
        input_errors=sum(1 for i in inputs if i.status == "error"),
        outputs=dict(sorted(outputs.items())),
        by_reason=dict(sorted(reasons.items())),
    )


# ---------------------------------------------------------------------------------------- human text


def _human_lines(report: RunReport, limit: int) -> list[str]:
    """The morning read, for `cob secondary` and (with its own header) `cob run`: what needs a person first
    and in full, then what only waits (a count), held claims by reason, money per payer, the rest."""
    s = report.summary
    lines = [
        f"cob secondary: {_plural(s.claims, 'claim')}: {s.billed} billed, {s.skipped} skipped, "
        f"{s.held} held, {s.rejected} rejected",
        f"Inputs: {_plural(s.inputs, 'file')}, {s.input_errors} with errors",
    ]
    lines += _person_section(report)
    if s.waiting:
        parts = ", ".join(f"{r}: {n}" for r, n in s.held_by_reason.items() if Reason(r).waiting)
        lines += ["", f"Waiting for the other half (no action yet): {s.waiting} ({parts})"]
    if s.held_by_reason:
        lines += ["", "Held by reason:"] + [f"  {r}: {n}" for r, n in s.held_by_reason.items()]
    lines += _money_section(report)
    lines += _warning_section(report, limit)
    lines += _skipped_section(report)
    lines += _input_error_section(report)
    lines += _output_section(report)
    return lines


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _person_section(report: RunReport) -> list[str]:
    """Every claim a person must work (held for a reason other than waiting, or rejected), in full, with
    where its original is and the next action."""
    claims = [c for c in report.claims if c.status is OutcomeStatus.REJECTED or
              (c.status is OutcomeStatus.HELD and not Reason(c.reason).waiting)]
    if not claims:
        return []
    out = ["", f"Need a person: {len(claims)}"]
    for c in claims:
        out.append(f"  {c.claim_id}  {c.status.value}  {c.reason}  {c.detail}")
        if c.original:
            out.append(f"      original: {c.original}")
        out.append(f"      next: {Reason(c.reason).next_action}")
    return out


def _money_section(report: RunReport) -> list[str]:
    money = report.summary.money
    if not money:
        return []
    out = ["", "Billed per destination payer (claims, charges, earlier payers paid, balance billed):"]
    for payer, m in money.items():
        out.append(f"  {payer}: {_plural(m.claims, 'claim')}, charges {_amount(m.charges)}, paid "
                   f"{_amount(m.prior_paid)}, balance billed {_amount(m.balance_billed)}")
    return out


def _amount(value: Decimal) -> str:
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _warning_section(report: RunReport, limit: int) -> list[str]:
    """Decided claims with something to know (duplicate payments ignored, liability not carried)."""
    claims = [c for c in report.claims if c.warnings]
    if not claims:
        return []
    out = ["", f"Warnings on {_plural(len(claims), 'claim')}:"]
    for c in claims[:limit]:
        out += [f"  {c.claim_id}  {c.status.value}  {w}" for w in c.warnings]
    if len(claims) > limit:
        out.append(f"  … and {len(claims) - limit} more claims with warnings (in the JSON report)")
    return out


def _skipped_section(report: RunReport) -> list[str]:
    """Skipped claims are expected, so only their reasons are counted, not listed."""
    counts = Counter(c.reason for c in report.claims if c.status is OutcomeStatus.SKIPPED)
    if not counts:
        return []
    return ["", "Skipped by reason:"] + [f"  {reason}: {n}" for reason, n in sorted(counts.items())]


def _input_error_section(report: RunReport) -> list[str]:
    failed = [i for i in report.inputs if i.status == "error"]
    if not failed:
        return []
    return ["", f"Input files with errors: {len(failed)}"] + [f"  {i.file} ({i.kind}): {i.error}" for i in failed]


def _output_section(report: RunReport) -> list[str]:
    """Output files grouped by destination payer, with how many claims each holds."""
    per_file: Counter[tuple[str, str]] = Counter(
        (c.destination_payer or "(unknown payer)", c.output) for c in report.claims if c.output is not None)
    if not per_file:
        return ["", "Output files: none"]
    out = ["", "Output files:"]
    for (payer, file), n in sorted(per_file.items()):
        out.append(f"  {payer}: {file} ({_plural(n, 'claim')})")
    return out
