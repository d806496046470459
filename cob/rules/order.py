"""Order of benefits for one claim (reference section 6, blocks A to D, applied in that order).

Public entry point: ``determine_order(request, rule_set) -> OrderResult``. The pipeline calls it once
per claim with the patient's coverages and the claim's accident/work facts; ``cob order`` is a thin CLI
over it.

How the order is built - a sequence of *segments*, each either settled (its payers in order) or open
(the facts do not decide; ``missing`` says which facts would):

  A. injury/illness payers (workers' comp, no-fault, liability, black lung, VA, other federal) whose
     claim flag is true - first; those whose flag is false are left out of the order;
  B. private plans that MSP law puts before Medicare, (active-duty TRICARE,) Medicare, Medigap, then
     private plans that follow Medicare - or, without Medicare, just the private plans. Within each
     group private plans are ordered among themselves by the NAIC or CLHIA rules (block D, ``plans``);
  C. TRICARE / TRICARE For Life / CHAMPVA, then Medicaid, then IHS (payers of last resort).

``OrderResult.order`` lists the payers of the settled segments up to the first open one, so a partly
known order still tells the caller who is certainly first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from cob.schemas.order import (
    MEDICARE_KINDS,
    PRIVATE_KINDS,
    Coverage,
    CoverageKind,
    Decision,
    EmploymentStatus,
    MspType,
    OrderRequest,
    OrderResult,
    Relationship,
    RuleSet,
)

from . import medicare as msp
from .outcome import Context, Missing
from .plans import order_plans


@dataclass(frozen=True)
class InjuryRule:
    """Section 6 A as data: a claim flag that, when true, makes a coverage kind the first payer."""

    kind: CoverageKind
    claim_flag: str
    msp_type: MspType
    rule: str
    applies: str  # plain words when the flag is true
    left_out: str  # plain words when the flag is false


INJURY_RULES: tuple[InjuryRule, ...] = (
    InjuryRule(
        CoverageKind.WORKERS_COMP,
        "work_related",
        MspType.WORKERS_COMP,
        "workers_comp",
        "work-related claim: workers' compensation pays first",
        "the claim is not work-related",
    ),
    InjuryRule(
        CoverageKind.NO_FAULT,
        "auto_accident",
        MspType.NO_FAULT,
        "no_fault",
        "accident-related claim: no-fault/auto med-pay pays first",
        "the claim is not accident-related",
    ),
    InjuryRule(
        CoverageKind.LIABILITY,
        "liability",
        MspType.LIABILITY,
        "liability",
        "a liability insurer is responsible for this claim: it pays first",
        "no liability insurer is responsible for this claim",
    ),
    InjuryRule(
        CoverageKind.BLACK_LUNG,
        "black_lung_related",
        MspType.BLACK_LUNG,
        "black_lung",
        "black-lung-related claim: the Federal Black Lung program pays first",
        "the claim is not black-lung-related",
    ),
    InjuryRule(
        CoverageKind.VA,
        "va_authorized",
        MspType.VETERANS,
        "va",
        "care authorized by the VA: the VA pays",
        "the VA did not authorize this care",
    ),
    InjuryRule(
        CoverageKind.OTHER_FEDERAL,
        "federal_program_responsible",
        MspType.OTHER_FEDERAL,
        "other_federal",
        "a federal program / Public Health Service is responsible: it pays first",
        "no federal program is responsible for this claim",
    ),
)


@dataclass
class _Plan:
    """The order under construction."""

    segments: list[tuple[bool, list[Coverage]]] = field(default_factory=list)  # (settled, payers)
    decisions: list[Decision] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    msp_by_payer: dict[str, MspType | None] = field(default_factory=dict)

    def settle(self, payers: Sequence[Coverage]) -> None:
        if payers:
            self.segments.append((True, list(payers)))

    def leave_open(self, payers: Sequence[Coverage], facts: Sequence[str]) -> None:
        self.segments.append((False, list(payers)))
        self.missing.extend(f for f in facts if f not in self.missing)

    def placed(self, cov: Coverage) -> bool:
        return any(cov.id == p.id for _, payers in self.segments for p in payers)

    def decide(self, rule: str, explanation: str) -> None:
        self.decisions.append(Decision(rule=rule, explanation=explanation))

    def result(self, medicare: Coverage | None) -> OrderResult:
        order: list[str] = []
        undetermined = False
        for settled, payers in self.segments:
            if not settled:
                undetermined = True
                break
            order.extend(p.id for p in payers)
        msp_type = None
        if medicare is not None and order and order[0] != medicare.id:
            msp_type = self.msp_by_payer.get(order[0])
        return OrderResult(
            order=order,
            decisions=self.decisions,
            msp_type=msp_type,
            undetermined=undetermined or bool(self.missing),
            missing=self.missing,
        )


def determine_order(request: OrderRequest, rule_set: RuleSet = RuleSet.NAIC) -> OrderResult:
    """Return the payers in order, every decision in plain words, and the MSP type when Medicare is not first."""
    ctx = Context(claim=request.claim, patient=request.patient, rule_set=rule_set)
    plan = _Plan()
    by_kind = _group(request.coverages)
    medicare = next(iter(by_kind.get("medicare", [])), None)
    _injury_payers(request.coverages, ctx, plan)
    if medicare is not None:
        _with_medicare(by_kind, medicare, ctx, plan)
    else:
        _without_medicare(by_kind, ctx, plan)
    _last_resort(by_kind, medicare, plan)
    return plan.result(medicare)


def _ids(covs: Sequence[Coverage]) -> str:
    """Ids sorted, so a message does not depend on the order the coverages were listed in."""
    return ", ".join(sorted(c.id for c in covs))


def _group(coverages: Sequence[Coverage]) -> dict[str, list[Coverage]]:
    groups: dict[str, list[Coverage]] = {}
    for cov in coverages:
        if cov.kind in MEDICARE_KINDS:
            key = "medicare"
        elif cov.kind in PRIVATE_KINDS:
            key = "private"
        else:
            key = cov.kind.value
        groups.setdefault(key, []).append(cov)
    return groups


# --- A. injury/illness-specific payers ------------------------------------------------------------


def _injury_payers(coverages: Sequence[Coverage], ctx: Context, plan: _Plan) -> None:
    for rule in INJURY_RULES:
        covs = [c for c in coverages if c.kind is rule.kind]
        if not covs:
            continue
        flag = getattr(ctx.claim, rule.claim_flag)
        ids = _ids(covs)
        if flag is None:
            plan.leave_open(covs, [f"claim.{rule.claim_flag}"])
        elif not flag:
            for cov in covs:
                plan.decide(rule.rule, f"{cov.id} left out: {rule.left_out}")
        elif len(covs) > 1:
            plan.leave_open(covs, [f"order among the {rule.kind.value} coverages {ids}"])
        else:
            plan.settle(covs)
            plan.msp_by_payer[covs[0].id] = rule.msp_type
            plan.decide(rule.rule, f"{rule.applies}: {ids} (MSP type {rule.msp_type.value} if Medicare follows)")


# --- B/D. private plans with and without Medicare --------------------------------------------------


def _ordered_private(plans: Sequence[Coverage], ctx: Context, plan: _Plan) -> None:
    ordered, decided, missing = order_plans(plans, ctx)
    if ordered is None:
        plan.leave_open(plans, [f for m in missing for f in m.facts])
        return
    for d in decided:
        plan.decide(d.rule, d.explanation)
    plan.settle(ordered)


def _without_medicare(by_kind: dict[str, list[Coverage]], ctx: Context, plan: _Plan) -> None:
    _ordered_private(by_kind.get("private", []), ctx, plan)
    for cov in by_kind.get("medigap", []):
        plan.leave_open([cov], [f"the Medicare coverage that {cov.id} (medigap) supplements"])


def _with_medicare(by_kind: dict[str, list[Coverage]], medicare: Coverage, ctx: Context, plan: _Plan) -> None:
    placements = []
    missing: list[Missing] = []
    for cov in by_kind.get("private", []):
        placed = msp.place(cov, medicare, ctx)
        (missing if isinstance(placed, Missing) else placements).append(placed)
    if missing:
        rest = by_kind.get("private", []) + [medicare] + by_kind.get("medigap", [])
        plan.leave_open(rest, [f for m in missing for f in m.facts])
        return
    before = [p.plan for p in placements if p.before_medicare]
    after = [p.plan for p in placements if not p.before_medicare]
    for p in sorted(placements, key=lambda p: not p.before_medicare):  # explain in the order they are paid
        plan.decide(p.rule, p.explanation)
        if p.before_medicare:
            plan.msp_by_payer[p.plan.id] = p.msp_type
    _dependent_exception(before, after, plan)
    _ordered_private(before, ctx, plan)
    _active_duty_tricare(by_kind, medicare, plan)
    plan.settle([medicare])
    _medigap_and_after(by_kind.get("medigap", []), after, medicare, ctx, plan)


def _dependent_exception(before: Sequence[Coverage], after: Sequence[Coverage], plan: _Plan) -> None:
    """Rule 17's exception: say so when MSP puts a dependent plan ahead of the patient's own plan."""
    dependents = [c.id for c in before if c.relationship is not Relationship.SELF]
    own = [c.id for c in after if c.relationship is Relationship.SELF]
    if dependents and own:
        plan.decide(
            "non_dependent_exception",
            f"Medicare is secondary to {', '.join(sorted(dependents))} and primary to {', '.join(sorted(own))}, "
            "so the dependent coverage pays first and the patient's own plan after Medicare "
            "(exception to own-plan-first)",
        )


def _active_duty_tricare(by_kind: dict[str, list[Coverage]], medicare: Coverage, plan: _Plan) -> None:
    tricare = [c for c in by_kind.get("tricare", []) if c.status is EmploymentStatus.ACTIVE]
    if len(tricare) == 1:
        plan.settle(tricare)
        plan.msp_by_payer[tricare[0].id] = None
        plan.decide(
            "tricare_active_duty",
            f"{tricare[0].id} is TRICARE of an active-duty sponsor: it pays before {medicare.id} (Medicare); "
            "the reference marks this case uncertain and names no SBR05 code for it",
        )


def _medigap_and_after(
    medigap: Sequence[Coverage], after: Sequence[Coverage], medicare: Coverage, ctx: Context, plan: _Plan
) -> None:
    if len(medigap) > 1:
        plan.leave_open(list(medigap) + list(after), [f"which Medigap policy applies: {_ids(medigap)}"])
        return
    if medigap and after:
        gap = medigap[0]
        plan.leave_open(
            [gap, *after],
            [
                f"order between {gap.id} (Medigap) and {_ids(after)} after Medicare "
                "(Medigap is outside the NAIC COB rules; check both policies)"
            ],
        )
        return
    for gap in medigap:
        plan.settle([gap])
        plan.decide("medigap", f"{gap.id} is a Medicare supplement: it pays right after {medicare.id} (Medicare)")
    _ordered_private(after, ctx, plan)


# --- C. government programs and payers of last resort ---------------------------------------------


def _last_resort(by_kind: dict[str, list[Coverage]], medicare: Coverage | None, plan: _Plan) -> None:
    tricare = [c for c in by_kind.get("tricare", []) if not plan.placed(c)]
    tfl = by_kind.get("tricare_for_life", [])
    if medicare is None and tfl:
        plan.leave_open(tfl, [f"the Medicare coverage that {c.id} (tricare_for_life) pays after" for c in tfl])
        tfl = []
    federal = tricare + tfl + by_kind.get("champva", [])
    if len(federal) > 1:
        plan.leave_open(
            federal, [f"which of {_ids(federal)} the patient is actually eligible for (they exclude each other)"]
        )
    for cov in federal if len(federal) == 1 else []:
        plan.settle([cov])
        plan.decide(cov.kind.value, _federal_reason(cov, medicare))
    _single("medicaid", by_kind, plan, "Medicaid is the payer of last resort: {id} pays after all other coverage")
    _single("ihs", by_kind, plan, "Indian Health Service pays last, even after Medicaid: {id}")


def _federal_reason(cov: Coverage, medicare: Coverage | None) -> str:
    if cov.kind is CoverageKind.CHAMPVA:
        return f"CHAMPVA pays after all other health insurance (Medicare included), before Medicaid: {cov.id}"
    if medicare is not None:
        return f"TRICARE with Medicare: {medicare.id} (Medicare) first, {cov.id} (TRICARE For Life) after it"
    return f"TRICARE pays after other health insurance (but before Medicaid and IHS): {cov.id}"


def _single(kind: str, by_kind: dict[str, list[Coverage]], plan: _Plan, reason: str) -> None:
    covs = by_kind.get(kind, [])
    if len(covs) > 1:
        plan.leave_open(covs, [f"which {kind} coverage applies: {_ids(covs)}"])
    elif covs:
        plan.settle(covs)
        plan.decide(kind + "_last", reason.format(id=covs[0].id))
