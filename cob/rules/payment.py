"""Expected payment of the next payer and the patient's final balance (reference section 5).

Public entry point: ``estimate_claim(primary, terms) -> PaymentEstimate``: ``primary`` is what the prior
payer did (``PrimaryAdjudication``), ``terms`` the next payer's method and benefit terms
(``BenefitTerms``). The pipeline calls it per claim and per payer; ``cob estimate`` is a CLI over it.

Money is ``Decimal`` throughout and every amount that leaves a formula is rounded to cents with
ROUND_HALF_UP (``cents``), so results match a hand calculation to the cent.

Notation used in the step texts: C charge, A1 primary allowed, P1 primary paid, PR1 the primary's
patient responsibility (deductible + coinsurance + copay + non-covered), A2 the secondary's allowed
amount, N2 the secondary's normal benefit (what it would pay as primary).

Every commercial method is capped at PR1: the secondary never pays more than the patient still owes.
The Medicare (42 CFR 411.33) and Medicaid formulas carry their own limits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from cob.schemas.order import (
    AllowableBasis,
    BenefitTerms,
    EstimateInput,
    MedigapPlan,
    PaymentEstimate,
    PaymentMethod,
    PrimaryAdjudication,
    VisitType,
)

CENT = Decimal("0.01")
ZERO = Decimal("0")
ONE = Decimal("1")


class EstimateInputError(ValueError):
    """A fact the chosen method needs is missing (e.g. the secondary's allowed amount)."""

    def __init__(self, claim_id: str, field_name: str, why: str) -> None:
        super().__init__(f"claim {claim_id}: {field_name} is required: {why}")
        self.claim_id = claim_id
        self.field_name = field_name


def cents(amount: Decimal) -> Decimal:
    """Round to cents, half up (the rounding billing staff expect; banker's rounding would surprise)."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def _m(amount: Decimal) -> str:
    """Money in step texts, always with two decimals."""
    return str(cents(amount))


def _pct(rate: Decimal) -> str:
    return f"{(rate * 100).normalize():f}%"


@dataclass
class _Calc:
    """Result of one method, with the arithmetic written out for the report."""

    pays: Decimal
    patient: Decimal
    reserve_after: Decimal | None = None
    steps: list[str] = field(default_factory=list)


def _secondary_allowed(primary: PrimaryAdjudication, terms: BenefitTerms) -> Decimal:
    """A2: the adjudication's own, else the one the roster's terms give for the claim."""
    if primary.secondary_allowed is None and terms.secondary_allowed is not None:
        return terms.secondary_allowed
    if primary.secondary_allowed is None:
        if terms.fee_schedule is not None:
            raise EstimateInputError(primary.claim_id, "secondary_allowed",
                                     "a fee schedule prices the 835's lines: use cob estimate --remit --coverage")
        raise EstimateInputError(
            primary.claim_id,
            "secondary_allowed",
            f"method {terms.method.value} prices the claim with the secondary's allowed amount",
        )
    return primary.secondary_allowed


def _normal_benefit(primary: PrimaryAdjudication, terms: BenefitTerms, steps: list[str]) -> Decimal:
    """N2: what the secondary would pay with no other coverage."""
    a2 = _secondary_allowed(primary, terms)
    base = max(ZERO, a2 - primary.unmet_deductible - terms.copay)
    n2 = cents(base * terms.plan_share)
    steps.append(
        f"N2 = {_pct(terms.plan_share)} x max(0, A2 {_m(a2)} - unmet deductible {_m(primary.unmet_deductible)} "
        f"- copay {_m(terms.copay)}) = {_m(n2)}"
    )
    return n2


def _cap_at_patient(pays: Decimal, pr1: Decimal, steps: list[str]) -> Decimal:
    if pays > pr1:
        steps.append(f"capped at what the patient still owes, PR1 = {_m(pr1)}")
        return pr1
    return pays


def _standard(primary: PrimaryAdjudication, terms: BenefitTerms) -> _Calc:
    """NAIC standard COB: S = min(N2, AE - P1); with a benefit reserve the savings are banked and spent."""
    steps: list[str] = []
    n2 = _normal_benefit(primary, terms, steps)
    ae = _allowable_expense(primary, terms, steps)
    unpaid = max(ZERO, ae - primary.paid)
    pr1 = primary.patient_responsibility
    if terms.benefit_reserve:
        pays = min(unpaid, n2 + terms.reserve_balance)
        steps.append(f"S = min(AE - P1 = {_m(unpaid)}, N2 + reserve {_m(terms.reserve_balance)}) = {_m(pays)}")
    else:
        pays = min(n2, unpaid)
        steps.append(f"S = min(N2 {_m(n2)}, AE - P1 = {_m(unpaid)}) = {_m(pays)}")
    pays = _cap_at_patient(pays, pr1, steps)
    reserve_after = None
    if terms.benefit_reserve:
        reserve_after = terms.reserve_balance + n2 - pays
        steps.append(f"benefit reserve: {_m(terms.reserve_balance)} + N2 {_m(n2)} - S {_m(pays)} = {_m(reserve_after)}")
    return _Calc(pays, pr1 - pays, reserve_after, steps)


def _allowable_expense(primary: PrimaryAdjudication, terms: BenefitTerms, steps: list[str]) -> Decimal:
    basis = terms.allowable_expense
    if basis is AllowableBasis.PRIMARY_ALLOWED:
        ae = primary.allowed
    elif basis is AllowableBasis.SECONDARY_ALLOWED:
        ae = _secondary_allowed(primary, terms)
    else:
        ae = max(primary.allowed, _secondary_allowed(primary, terms))
    steps.append(f"allowable expense AE ({basis.value}) = {_m(ae)}")
    return ae


def _non_duplication(primary: PrimaryAdjudication, terms: BenefitTerms) -> _Calc:
    """Hard non-dup: the secondary tops up only what its own benefit exceeds the primary payment."""
    steps: list[str] = []
    n2 = _normal_benefit(primary, terms, steps)
    pays = max(ZERO, n2 - primary.paid)
    steps.append(f"S = max(0, N2 {_m(n2)} - P1 {_m(primary.paid)}) = {_m(pays)}")
    pays = _cap_at_patient(pays, primary.patient_responsibility, steps)
    return _Calc(pays, primary.patient_responsibility - pays, steps=steps)


def _maintenance_of_benefits(primary: PrimaryAdjudication, terms: BenefitTerms) -> _Calc:
    """MOB: the secondary's cost-sharing applies to what is left of its allowed after the primary payment."""
    steps: list[str] = []
    a2 = _secondary_allowed(primary, terms)
    base = max(ZERO, a2 - primary.paid - primary.unmet_deductible - terms.copay)
    pays = cents(base * terms.plan_share)
    steps.append(
        f"S = {_pct(terms.plan_share)} x max(0, A2 {_m(a2)} - P1 {_m(primary.paid)} - unmet deductible "
        f"{_m(primary.unmet_deductible)} - copay {_m(terms.copay)}) = {_m(pays)}"
    )
    pays = _cap_at_patient(pays, primary.patient_responsibility, steps)
    return _Calc(pays, primary.patient_responsibility - pays, steps=steps)


def _carve_out(primary: PrimaryAdjudication, terms: BenefitTerms) -> _Calc:
    """Carve-out is non-dup for most plans; some plans mean MOB by it (``carve_out_form``)."""
    calc = (
        _non_duplication(primary, terms)
        if terms.carve_out_form == "non_duplication"
        else _maintenance_of_benefits(primary, terms)
    )
    calc.steps.insert(0, f"carve-out computed in its {terms.carve_out_form} form")
    return calc


def _medicare_secondary(primary: PrimaryAdjudication, terms: BenefitTerms) -> _Calc:
    """42 CFR 411.33(a): Medicare pays the lowest of three amounts, never less than zero."""
    steps: list[str] = []
    fee = _secondary_allowed(primary, terms)
    otaf = primary.otaf if primary.otaf is not None else primary.charge - primary.contractual
    p1 = primary.paid
    first = min(primary.charge, otaf) - p1
    second = cents(max(ZERO, fee - primary.unmet_deductible) * terms.plan_share)
    higher_allowed = max(fee, primary.allowed)
    third = higher_allowed - p1
    pays = max(ZERO, min(first, second, third))
    steps += [
        f"(1) min(C {_m(primary.charge)}, OTAF {_m(otaf)}) - P1 {_m(p1)} = {_m(first)}",
        f"(2) {_pct(terms.plan_share)} x (Medicare allowed {_m(fee)} - unmet deductible "
        f"{_m(primary.unmet_deductible)}) = {_m(second)}",
        f"(3) max(Medicare allowed {_m(fee)}, A1 {_m(primary.allowed)}) - P1 {_m(p1)} = {_m(third)}",
        f"Medicare pays the lowest, not below 0: {_m(pays)}",
    ]
    # Beneficiary liability: the provider may collect no more than the payment-in-full amount
    # min(OTAF, higher allowed) less both payments, and never more than the primary's PR.
    limit = min(otaf, higher_allowed)
    patient = max(ZERO, min(primary.patient_responsibility, limit - p1 - pays))
    steps.append(
        f"patient: min(PR1 {_m(primary.patient_responsibility)}, {_m(limit)} - P1 {_m(p1)} - S {_m(pays)}), "
        f"not below 0 = {_m(patient)}"
    )
    return _Calc(pays, patient, steps=steps)


def _medicaid(primary: PrimaryAdjudication, terms: BenefitTerms) -> _Calc:
    """Lesser of the patient's remaining liability and Medicaid's rate less the primary payment.

    The provider must accept Medicaid as payment in full, so the patient owes at most the Medicaid copay.
    """
    steps: list[str] = []
    rate = _secondary_allowed(primary, terms)
    pr1 = primary.patient_responsibility
    pays = max(ZERO, min(pr1, rate - primary.paid))
    steps.append(f"S = max(0, min(PR1 {_m(pr1)}, Medicaid allowed {_m(rate)} - P1 {_m(primary.paid)})) = {_m(pays)}")
    patient = min(terms.copay, pr1 - pays)
    steps.append(f"patient owes at most the Medicaid copay {_m(terms.copay)}: {_m(patient)}")
    return _Calc(pays, patient, steps=steps)


@dataclass(frozen=True)
class MedigapBenefit:
    """Which Part B cost-sharing a Medigap plan letter pays."""

    part_b_deductible: bool
    coinsurance_share: Decimal
    patient_copay_caps: dict[VisitType, Decimal] = field(default_factory=dict)


_FULL = MedigapBenefit(False, ONE)
MEDIGAP_PART_B: dict[MedigapPlan, MedigapBenefit] = {
    MedigapPlan.A: _FULL,
    MedigapPlan.B: _FULL,
    MedigapPlan.C: MedigapBenefit(True, ONE),
    MedigapPlan.D: _FULL,
    MedigapPlan.F: MedigapBenefit(True, ONE),
    MedigapPlan.G: _FULL,
    MedigapPlan.K: MedigapBenefit(False, Decimal("0.50")),
    MedigapPlan.L: MedigapBenefit(False, Decimal("0.75")),
    MedigapPlan.M: _FULL,
    MedigapPlan.N: MedigapBenefit(
        False,
        ONE,
        {VisitType.OFFICE: Decimal("20.00"), VisitType.EMERGENCY: Decimal("50.00"), VisitType.OTHER: ZERO},
    ),
}


def _medigap(primary: PrimaryAdjudication, terms: BenefitTerms) -> _Calc:
    """Pay the Medicare patient-responsibility parts the plan letter covers; non-covered stays the patient's."""
    steps: list[str] = []
    letter = terms.medigap_plan
    assert letter is not None  # BenefitTerms validates this
    benefit = MEDIGAP_PART_B[letter]
    deductible = primary.deductible if benefit.part_b_deductible else ZERO
    steps.append(
        f"plan {letter.value}: Part B deductible {'covered' if benefit.part_b_deductible else 'not covered'}, "
        f"pays {_m(deductible)} of {_m(primary.deductible)}"
    )
    cost_share = primary.coinsurance + primary.copay
    kept = ZERO
    if benefit.patient_copay_caps:
        if primary.visit is None:
            raise EstimateInputError(
                primary.claim_id, "visit", f"plan {letter.value} copays depend on office/emergency/other"
            )
        kept = min(cost_share, benefit.patient_copay_caps[primary.visit])
        steps.append(f"plan {letter.value} {primary.visit.value} copay kept by the patient: {_m(kept)}")
    coins = cents((cost_share - kept) * benefit.coinsurance_share)
    steps.append(
        f"coinsurance/copay paid: {_pct(benefit.coinsurance_share)} x ({_m(cost_share)} - {_m(kept)}) = {_m(coins)}"
    )
    pays = deductible + coins
    return _Calc(pays, primary.patient_responsibility - pays, steps=steps)


def _soft_non_duplication_1(primary: PrimaryAdjudication, terms: BenefitTerms) -> _Calc:
    """Soft non-dup I: hard non-dup, except the patient never owes more than the secondary's own cost share.

    The secondary pays max(N2 - P1, PR1 - (A2 - N2)): its benefit in excess of the primary payment, or, when
    that leaves the patient more than the plan alone would have (A2 - N2: its deductible, copay and
    coinsurance), enough to bring the patient down to that. Between hard non-dup (the first term) and
    standard COB. [The name's definition varies by payer; reference section 5 marks it UNCERTAIN.]
    """
    steps: list[str] = []
    n2 = _normal_benefit(primary, terms, steps)
    a2 = _secondary_allowed(primary, terms)
    pr1 = primary.patient_responsibility
    excess = max(ZERO, n2 - primary.paid)
    own_share = max(ZERO, a2 - n2)
    protect = max(ZERO, pr1 - own_share)
    pays = max(excess, protect)
    steps.append(f"non-dup: max(0, N2 {_m(n2)} - P1 {_m(primary.paid)}) = {_m(excess)}")
    steps.append(f"patient keeps at most the plan's own cost share A2 - N2 = {_m(own_share)}: "
                 f"PR1 {_m(pr1)} - {_m(own_share)} = {_m(protect)}")
    steps.append(f"S = max({_m(excess)}, {_m(protect)}) = {_m(pays)}")
    pays = _cap_at_patient(pays, pr1, steps)
    return _Calc(pays, pr1 - pays, steps=steps)


def _soft_non_duplication_2(primary: PrimaryAdjudication, terms: BenefitTerms) -> _Calc:
    """Soft non-dup II: non-dup whose normal benefit is priced on the higher of the two allowed amounts.

    S = max(0, N2' - P1) with N2' = plan share x (max(A1, A2) - unmet deductible - copay): a provider in
    network with the primary whose fee there is higher than the secondary's is not cut down to the
    secondary's fee before the primary payment is subtracted. [Definition varies by payer; see section 5.]
    """
    steps: list[str] = []
    a2 = _secondary_allowed(primary, terms)
    base_allowed = max(primary.allowed, a2)
    base = max(ZERO, base_allowed - primary.unmet_deductible - terms.copay)
    n2 = cents(base * terms.plan_share)
    steps.append(
        f"N2' = {_pct(terms.plan_share)} x max(0, max(A1 {_m(primary.allowed)}, A2 {_m(a2)}) - unmet deductible "
        f"{_m(primary.unmet_deductible)} - copay {_m(terms.copay)}) = {_m(n2)}"
    )
    pays = max(ZERO, n2 - primary.paid)
    steps.append(f"S = max(0, N2' {_m(n2)} - P1 {_m(primary.paid)}) = {_m(pays)}")
    pays = _cap_at_patient(pays, primary.patient_responsibility, steps)
    return _Calc(pays, primary.patient_responsibility - pays, steps=steps)


def _regular_medicare_cob(primary: PrimaryAdjudication, terms: BenefitTerms) -> _Calc:
    """A plan secondary to Medicare coordinating up to the Medicare allowance: S = min(N2, MA - Medicare paid).

    MA, the Medicare allowance, is Medicare's allowed amount before sequestration (paid + PR + CO 253:
    the 2% cut is a Medicare reduction the provider writes off, never the patient's). N2 is the plan's
    normal benefit on its own allowed amount when the roster gives one, else on the Medicare allowance.
    """
    steps: list[str] = []
    ma = primary.allowed + primary.sequestration
    steps.append(f"Medicare allowance MA = allowed {_m(primary.allowed)} + sequestration "
                 f"{_m(primary.sequestration)} = {_m(ma)}")
    # the plan's own allowed: the adjudication's (a fee schedule priced it), else the roster's, else MA
    a2 = next((a for a in (primary.secondary_allowed, terms.secondary_allowed) if a is not None), ma)
    base = max(ZERO, a2 - primary.unmet_deductible - terms.copay)
    n2 = cents(base * terms.plan_share)
    steps.append(f"N2 = {_pct(terms.plan_share)} x max(0, {_m(a2)} - unmet deductible "
                 f"{_m(primary.unmet_deductible)} - copay {_m(terms.copay)}) = {_m(n2)}")
    unpaid = max(ZERO, ma - primary.paid)
    pays = min(n2, unpaid)
    steps.append(f"S = min(N2 {_m(n2)}, MA - Medicare paid {_m(primary.paid)} = {_m(unpaid)}) = {_m(pays)}")
    pays = _cap_at_patient(pays, primary.patient_responsibility, steps)
    return _Calc(pays, primary.patient_responsibility - pays, steps=steps)


def _pro_rata(primary: PrimaryAdjudication, terms: BenefitTerms) -> _Calc:
    """CLHIA pro-rata, when no order rule decides: the plans share the eligible expense in proportion to
    what each would pay alone. This plan's share = min(E, N1 + N2) x N2 / (N1 + N2), never more than what
    the other plan's payment left of E. N1 is the other plan's normal benefit (``other_plan_benefit``;
    absent, its payment P1 is taken as its normal benefit)."""
    steps: list[str] = []
    n2 = _normal_benefit(primary, terms, steps)
    e = _allowable_expense(primary, terms, steps)
    n1 = terms.other_plan_benefit if terms.other_plan_benefit is not None else primary.paid
    steps.append(f"N1 (the other plan alone) = {_m(n1)}")
    both = n1 + n2
    total = min(e, both)
    share = cents(total * n2 / both) if both > 0 else ZERO
    steps.append(f"share = min(E {_m(e)}, N1 + N2 = {_m(both)}) x N2 / (N1 + N2) = {_m(share)}")
    left = max(ZERO, e - primary.paid)
    pays = min(share, left)
    if pays < share:
        steps.append(f"limited to what the other plan's payment left of E: E - P1 = {_m(left)}")
    pays = _cap_at_patient(pays, primary.patient_responsibility, steps)
    return _Calc(pays, primary.patient_responsibility - pays, steps=steps)


def _clhia_second_payer(primary: PrimaryAdjudication, terms: BenefitTerms) -> _Calc:
    """CLHIA second payer: the lesser of what it would have paid as first payer (N2) and 100% of the
    eligible expense (this plan's allowed amount, A2) less the first payer's payment."""
    steps: list[str] = []
    n2 = _normal_benefit(primary, terms, steps)
    e = _secondary_allowed(primary, terms)
    left = max(ZERO, e - primary.paid)
    pays = min(n2, left)
    steps.append(f"S = min(N2 {_m(n2)}, 100% of eligible {_m(e)} - P1 {_m(primary.paid)} = {_m(left)}) = {_m(pays)}")
    pays = _cap_at_patient(pays, primary.patient_responsibility, steps)
    return _Calc(pays, primary.patient_responsibility - pays, steps=steps)


METHODS: dict[PaymentMethod, Callable[[PrimaryAdjudication, BenefitTerms], _Calc]] = {
    PaymentMethod.STANDARD: _standard,
    PaymentMethod.NON_DUPLICATION: _non_duplication,
    PaymentMethod.CARVE_OUT: _carve_out,
    PaymentMethod.MAINTENANCE_OF_BENEFITS: _maintenance_of_benefits,
    PaymentMethod.MEDICARE_SECONDARY: _medicare_secondary,
    PaymentMethod.MEDICAID: _medicaid,
    PaymentMethod.MEDIGAP: _medigap,
    PaymentMethod.SOFT_NON_DUPLICATION_1: _soft_non_duplication_1,
    PaymentMethod.SOFT_NON_DUPLICATION_2: _soft_non_duplication_2,
    PaymentMethod.REGULAR_MEDICARE_COB: _regular_medicare_cob,
    PaymentMethod.PRO_RATA: _pro_rata,
    PaymentMethod.CLHIA_SECOND_PAYER: _clhia_second_payer,
}


def estimate_claim(primary: PrimaryAdjudication, terms: BenefitTerms) -> PaymentEstimate:
    """Expected payment of the payer described by ``terms`` after ``primary`` has adjudicated the claim.

    Raises ``EstimateInputError`` when the method needs a fact the adjudication lacks.
    """
    calc = METHODS[terms.method](primary, terms)
    return PaymentEstimate(
        claim_id=primary.claim_id,
        method=terms.method,
        secondary_pays=cents(calc.pays),
        patient_balance=cents(calc.patient),
        patient_responsibility_before=cents(primary.patient_responsibility),
        reserve_balance_after=None if calc.reserve_after is None else cents(calc.reserve_after),
        steps=calc.steps,
    )


@dataclass
class Estimates:
    """Estimates of many claims (`cob estimate`): those estimated, and those lacking a fact, with which."""

    estimates: list[PaymentEstimate] = field(default_factory=list)
    errors: list[dict[str, str]] = field(default_factory=list)  # claim_id, field, message

    def to_json(self) -> dict:
        return {"estimates": [e.model_dump(mode="json") for e in self.estimates], "errors": self.errors}


def estimate_claims(inputs: list[EstimateInput]) -> Estimates:
    """``estimate_claim`` for each input with its own terms; a claim lacking a fact is listed, not fatal."""
    out = Estimates()
    for item in inputs:
        try:
            out.estimates.append(estimate_claim(item, item.terms))
        except EstimateInputError as exc:
            out.errors.append({"claim_id": exc.claim_id, "field": exc.field_name, "message": str(exc)})
    return out
