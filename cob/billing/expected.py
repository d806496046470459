"""COB rules inside the secondary-claims pipeline: payer order checks, SBR05, expected payment.

- Order facts (`--order-facts FILE`) give, per claim or member, the facts `rules.order` needs. When the
  rules decide an order that contradicts the order the claim bills in, the claim is held: sending it
  would make the wrong payer pay first. Coverage ids in the facts are the payers' ids as the claim
  carries them (2010BB / 2330B NM109), so the two orders can be compared.
- When the rules say Medicare is not first, the MSP type fills 2000B SBR05 of a Medicare-bound claim
  whose original did not carry one.
- The roster's `benefit_terms` for the destination payer give the expected payment and the patient's
  balance, put in the report.

File format of the order facts (JSON; ``request`` is a `cob.schemas.order.OrderRequest`)::

    {"patients": [{"claim_id": "PCN123", "request": {"claim": {...}, "patient": {...},
                                                     "coverages": [{"id": "11111", "kind": "employer_group", ...},
                                                                   {"id": "SECPAY", "kind": "medicare", ...}]}},
                  {"member_id": "PRIM123", "request": {...}}]}
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from cob.schemas.codes import CasGroup, ClaimFilingIndicator, MedicareSecondaryType
from cob.schemas.coverage import RosterCoverage
from cob.schemas.order import BenefitTerms, EstimateInput, OrderRequest, OrderResult, PaymentEstimate, PrimaryAdjudication
from cob.schemas.remit import ClaimPayment

from cob.rules.order import determine_order
from cob.rules.payment import EstimateInputError, estimate_claim

MEDICARE_FILING = {ClaimFilingIndicator.MEDICARE_PART_A, ClaimFilingIndicator.MEDICARE_PART_B}


class OrderFactsEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    claim_id: str | None = None
    member_id: str | None = None
    request: OrderRequest


class OrderFactsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    patients: list[OrderFactsEntry]


class OrderFactsError(ValueError):
    """The order-facts file cannot be used; the message names the file and field, never values."""


@dataclass
class OrderFacts:
    by_claim: dict[str, OrderRequest]
    by_member: dict[str, OrderRequest]

    def lookup(self, claim_id: str, member_id: str | None) -> OrderRequest | None:
        return self.by_claim.get(claim_id) or (self.by_member.get(member_id) if member_id else None)


def load_order_facts(path: Path) -> OrderFacts:
    try:
        data = OrderFactsFile.model_validate(json.loads(Path(path).read_text(encoding="utf-8")))
    except OSError as exc:
        raise OrderFactsError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise OrderFactsError(f"{path}: not valid JSON (line {exc.lineno})") from None
    except ValidationError as exc:
        err = exc.errors(include_input=False)[0]
        where = ".".join(str(p) for p in err["loc"])
        raise OrderFactsError(f"{path}: {where}: {err['msg']}") from None
    facts = OrderFacts({}, {})
    for entry in data.patients:
        if entry.claim_id:
            facts.by_claim[entry.claim_id] = entry.request
        elif entry.member_id:
            facts.by_member[entry.member_id] = entry.request
    return facts


def order_conflict(result: OrderResult, billed_order: list[str]) -> str | None:
    """Plain words when the rules' order contradicts the billed order (ids only, no patient facts)."""
    if result.undetermined and not result.order:
        return None
    rank = {payer: i for i, payer in enumerate(result.order)}
    known = [p for p in billed_order if p in rank]
    for i, earlier in enumerate(known):
        for later in known[i + 1:]:
            if rank[later] < rank[earlier]:
                rule = next((d.rule for d in result.decisions if later in d.explanation or earlier in d.explanation),
                            result.decisions[0].rule if result.decisions else "order of benefits")
                return (f"by the {rule} rule payer {later} pays before payer {earlier}, "
                        f"but the claim bills {earlier} first")
    return None


def check_order(request: OrderRequest, billed_order: list[str]) -> tuple[str | None, MedicareSecondaryType | None]:
    """(conflict detail or None, MSP type when the rules put Medicare after another payer)."""
    result = determine_order(request)
    msp = MedicareSecondaryType(result.msp_type.value) if result.msp_type is not None else None
    return order_conflict(result, billed_order), msp


def is_medicare(filing: ClaimFilingIndicator | None) -> bool:
    return filing in MEDICARE_FILING


# ------------------------------------------------------------------------------------------ payment


def primary_adjudication(payment: ClaimPayment) -> PrimaryAdjudication:
    """What the estimate methods need from a payer's 835 answer: CAS totals by kind, allowed = paid + PR.

    CO 253 (Medicare sequestration) is kept apart as well as counted as contractual: it is part of the
    Medicare allowance that Regular Medicare COB coordinates up to."""
    tally = {"deductible": Decimal(0), "coinsurance": Decimal(0), "copay": Decimal(0),
             "noncovered_patient": Decimal(0), "contractual": Decimal(0), "sequestration": Decimal(0)}
    kinds = {"1": "deductible", "2": "coinsurance", "3": "copay"}
    segments = list(payment.adjustments) + [c for s in payment.services for c in s.adjustments]
    for cas in segments:
        for reason, amount, _qty in cas.trios():
            if cas.group is CasGroup.PATIENT:
                tally[kinds.get(reason, "noncovered_patient")] += amount
            elif cas.group in (CasGroup.CONTRACTUAL, CasGroup.PAYER_INITIATED):
                tally["contractual"] += amount
                if reason == "253":
                    tally["sequestration"] += amount
    patient = tally["deductible"] + tally["coinsurance"] + tally["copay"] + tally["noncovered_patient"]
    return PrimaryAdjudication(claim_id=payment.claim_id, charge=payment.clp.charge,
                               allowed=payment.clp.paid + patient, paid=payment.clp.paid, **tally)


class FeeScheduleError(ValueError):
    """A fee schedule file that cannot be used (names the file and line, never amounts of a patient)."""

    def __init__(self, path: str | Path, message: str):
        super().__init__(f"{path}: {message}")
        self.path = str(path)
        self.message = message


def load_fee_schedule(path: Path) -> dict[tuple[str, str], Decimal]:
    """A payer's fee schedule: CSV with the header ``procedure,modifier,amount`` (modifier may be empty:
    the fee of the code with any modifier that has no row of its own). Keys (procedure, modifier)."""
    import csv
    from decimal import InvalidOperation

    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.DictReader(fh))
            header = set(rows[0].keys()) if rows else set()
    except OSError as exc:
        raise FeeScheduleError(path, f"cannot read fee schedule: {exc.strerror or exc}") from None
    if not rows or not {"procedure", "amount"} <= header or header - {"procedure", "modifier", "amount"}:
        raise FeeScheduleError(path, "a fee schedule is CSV with the header procedure,modifier,amount and one "
                                     "row per code")
    fees: dict[tuple[str, str], Decimal] = {}
    for n, row in enumerate(rows, 2):
        code = (row.get("procedure") or "").strip()
        try:
            amount = Decimal((row.get("amount") or "").strip())
        except InvalidOperation:
            raise FeeScheduleError(path, f"line {n}: amount is not a number") from None
        if not code or amount < 0:
            raise FeeScheduleError(path, f"line {n}: procedure is empty or amount negative")
        fees[(code, (row.get("modifier") or "").strip())] = amount
    return fees


def price_lines(payment: ClaimPayment, fees: dict[tuple[str, str], Decimal]) -> tuple[Decimal | None, str]:
    """The payer's allowed amount for the claim from its fee schedule: per 835 service, the submitted
    procedure (SVC06, else SVC01) and units (SVC07, else SVC05, else 1) at the fee for the code with its
    first modifier (else without), never above the line's charge. (None, why) when a line cannot be priced."""
    if not payment.services:
        return None, "the fee schedule prices service lines and this 835 claim has none"
    total = Decimal(0)
    for n, service in enumerate(payment.services, 1):
        svc = service.svc
        proc = svc.submitted_procedure or svc.procedure
        modifier = proc.modifiers[0] if proc.modifiers else ""
        fee = fees.get((proc.code, modifier), fees.get((proc.code, "")))
        if fee is None:
            return None, f"line {n}: procedure {proc.code} is not in the fee schedule"
        units = svc.submitted_units if svc.submitted_units is not None else (
            svc.paid_units if svc.paid_units is not None else Decimal(1))
        total += min(fee * Decimal(units), svc.charge)
    return total, ""


def terms_for(coverages: list[RosterCoverage], payer_id: str) -> BenefitTerms | None:
    for cov in coverages:
        if cov.payer_id == payer_id and cov.benefit_terms:
            return BenefitTerms.model_validate(cov.benefit_terms)
    return None


def expected_payment(payment: ClaimPayment, terms: BenefitTerms) -> PaymentEstimate | None:
    """The next payer's expected payment, or None when the method needs a fact the 835 lacks."""
    try:
        return estimate_claim(primary_adjudication(payment), terms)
    except EstimateInputError:
        return None


def estimate_remit(remit: str | Path, coverage: str | Path | None = None):
    """`cob estimate --remit --coverage`: the next payer's expected payment for each claim of an 835 whose
    next payer has benefit terms in the roster. A bad 835 or roster raises `cob.rules.inputs.InputError`
    naming that file."""
    from cob.edi.errors import X12SyntaxError
    from cob.rules.inputs import InputError
    from cob.rules.payment import estimate_claims
    from cob.schemas.coverage import RosterError

    try:
        inputs, skipped = estimate_inputs(Path(remit), Path(coverage) if coverage is not None else None)
    except FeeScheduleError as exc:
        raise InputError(exc.path, exc.message) from None
    except X12SyntaxError as exc:
        raise InputError(remit, exc.error.message) from None
    except OSError as exc:
        raise InputError(remit, f"cannot read file: {exc.strerror or exc}") from None
    except RosterError as exc:
        raise InputError(exc.path, f"{exc.label}: {exc.message}" if exc.label else exc.message) from None
    found = estimate_claims(inputs)
    found.errors = skipped + found.errors
    return found


def priced_adjudication(payment: ClaimPayment, terms: BenefitTerms, base: Path | None,
                        schedules: dict[str, dict[tuple[str, str], Decimal]]) -> tuple[PrimaryAdjudication | None, str]:
    """The prior payer's adjudication with the next payer's allowed amount priced from its fee schedule
    (a path relative to `base`, the roster's folder; loaded once into `schedules`). (None, why) when a
    line cannot be priced. Raises `FeeScheduleError` for a file that cannot be used."""
    primary = primary_adjudication(payment)
    if terms.fee_schedule is None:
        return primary, ""
    path = (base / terms.fee_schedule) if base is not None else Path(terms.fee_schedule)
    if str(path) not in schedules:
        schedules[str(path)] = load_fee_schedule(path)
    allowed, why = price_lines(payment, schedules[str(path)])
    if allowed is None:
        return None, why
    return primary.model_copy(update={"secondary_allowed": allowed}), ""


def estimate_inputs(remit: Path, coverage: Path | None) -> tuple[list[EstimateInput], list[dict[str, str]]]:
    """`cob estimate --remit --coverage`: one input per claim of the 835 whose next payer has benefit terms,
    and for every other claim why it is not estimated (claim_id, field, message)."""
    from cob.edi.reader import X12Reader
    from cob.schemas.coverage import load_roster

    from .consolidate import RemitIndex

    index = RemitIndex()
    index.add_file(str(remit), [p for p in X12Reader(remit, only="835") if isinstance(p, ClaimPayment)])
    roster = load_roster(coverage) if coverage is not None else None
    schedules: dict[str, dict[tuple[str, str], Decimal]] = {}
    out: list[EstimateInput] = []
    skipped: list[dict[str, str]] = []

    def skip(claim_id: str, field_name: str, why: str) -> None:
        skipped.append({"claim_id": claim_id, "field": field_name, "message": f"claim {claim_id}: {why}"})

    for claim_id in index.claim_ids():
        remits = index.consolidate(claim_id)
        if remits is None or not remits.adjudications:
            skip(claim_id, "remit", "no standing adjudication in the 835 (reversed, denied CLP02 4/23 or "
                                    "predetermination only)")
            continue
        if roster is None:
            skip(claim_id, "coverage", "no coverage roster given (--coverage) to name the next payer's terms")
            continue
        top = remits.adjudications[-1]
        insured = top.payment.name("IL") or top.payment.name("QC")
        coverages = roster.lookup(claim_id, insured.id if insured else None)
        nxt = next((c for c in coverages if c.sequence.rank == top.level + 1), None)
        if nxt is None:
            skip(claim_id, "coverage", f"the roster has no payer at level {top.level + 1} for this claim")
            continue
        if not nxt.benefit_terms:
            skip(claim_id, "benefit_terms", f"the roster entry of payer {nxt.payer_id} has no benefit_terms")
            continue
        try:
            terms = BenefitTerms.model_validate(nxt.benefit_terms)
        except ValidationError as exc:
            err = exc.errors(include_input=False)[0]
            where = ".".join(str(p) for p in err["loc"])
            skip(claim_id, "benefit_terms", f"payer {nxt.payer_id} benefit_terms{'.' + where if where else ''}: "
                                            f"{err['msg'].removeprefix('Value error, ')}")
            continue
        primary, why = priced_adjudication(top.payment, terms, Path(coverage).parent, schedules)
        if primary is None:
            skip(claim_id, "fee_schedule", why)
            continue
        out.append(EstimateInput(**primary.model_dump(), terms=terms))
    return out, skipped
