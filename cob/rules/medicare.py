"""Medicare versus a private plan (reference section 6 B, 42 CFR 411 subparts E-H).

Medicare Secondary Payer law decides, plan by plan, whether a private plan pays before or after
Medicare; it does not compare private plans with each other. So each private plan is classified on its
own against the patient's Medicare coverage, and the NAIC/CLHIA rules then order the plans within the
"before Medicare" and the "after Medicare" groups. That grouping is what makes the rule-17 exception
(a dependent plan before Medicare, the patient's own retiree plan after it) come out right.

Rules are tried in order; the first one that answers wins:
  7. ESRD basis: group health plan first during the 30-month coordination period (type 13).
  8. Age basis: own/spouse's current employment with an employer of 20+ employees first (type 12).
  9. Disability basis: own/family member's current employment, employer of 100+ first (type 43).
 10. Anything else (retiree, COBRA, laid-off, individual, small employer): Medicare first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from cob.schemas.order import Coverage, CoverageKind, EmploymentStatus, MedicareBasis, MspType, Relationship

from .outcome import Context, Missing, add_months, fact, first_of_month

ESRD_COORDINATION_MONTHS = 30
WORKING_AGED_MIN_EMPLOYEES = 20
DISABLED_LGHP_MIN_EMPLOYEES = 100
CURRENT_EMPLOYMENT = frozenset({EmploymentStatus.ACTIVE, EmploymentStatus.PART_TIME})
NOT_CURRENT_WORDS = {
    EmploymentStatus.RETIRED: "retiree coverage",
    EmploymentStatus.COBRA: "COBRA continuation coverage",
    EmploymentStatus.LAID_OFF: "coverage of a laid-off employee",
}


@dataclass(frozen=True)
class Placement:
    """Where one private plan goes relative to Medicare, and why."""

    plan: Coverage
    before_medicare: bool
    msp_type: MspType | None
    rule: str
    explanation: str


MedicareRule = Callable[[Coverage, Coverage, Context], "Placement | Missing | None"]


def _after(plan: Coverage, rule: str, why: str) -> Placement:
    return Placement(plan, False, None, rule, f"{why}: Medicare pays before {plan.id}")


def _before(plan: Coverage, msp: MspType, rule: str, why: str) -> Placement:
    return Placement(plan, True, msp, rule, f"{why}: {plan.id} pays before Medicare (MSP type {msp.value})")


def not_a_group_plan(plan: Coverage, medicare: Coverage, ctx: Context) -> Placement | Missing | None:
    """MSP protects only employer group health plans; individual and student plans follow Medicare."""
    if plan.kind is CoverageKind.EMPLOYER_GROUP:
        return None
    return _after(
        plan, "medicare_primary", f"{plan.id} is {plan.kind.value} coverage, not an employer group health plan"
    )


def basis_known(plan: Coverage, medicare: Coverage, ctx: Context) -> Placement | Missing | None:
    if medicare.medicare_basis is None:
        return Missing(
            "medicare_basis",
            (fact(medicare, "medicare_basis"),),
            "Medicare versus a group health plan depends on why the patient has Medicare",
        )
    return None


def esrd_coordination(plan: Coverage, medicare: Coverage, ctx: Context) -> Placement | Missing | None:
    """Rule 7: 30 months from the first month of ESRD eligibility, any GHP (retiree, COBRA too) is first."""
    if medicare.medicare_basis is not MedicareBasis.ESRD:
        return None
    if medicare.esrd_prior_medicare_primary:
        return _after(
            plan, "msp_esrd", "ESRD began when Medicare was already primary (age or disability), so it stays primary"
        )
    if medicare.esrd_coordination_start is None:
        return Missing(
            "msp_esrd",
            (fact(medicare, "esrd_coordination_start"),),
            "ESRD: the 30-month coordination period needs its first month",
        )
    start = first_of_month(medicare.esrd_coordination_start)
    end = add_months(start, ESRD_COORDINATION_MONTHS)  # first day after the period
    period = f"ESRD coordination period {start:%Y-%m} to {add_months(start, ESRD_COORDINATION_MONTHS - 1):%Y-%m}"
    service = ctx.claim.service_date
    if service < end:
        month = (service.year - start.year) * 12 + service.month - start.month + 1
        where = f"month {month} of {ESRD_COORDINATION_MONTHS}" if month >= 1 else "before the period starts"
        return _before(
            plan,
            MspType.ESRD,
            "msp_esrd",
            f"{period}, service in {where}: the group health plan pays first whatever the employer size "
            "or employment status",
        )
    return _after(plan, "msp_esrd", f"{period} is over (service {service})")


def _employment_facts(plan: Coverage, min_size: int) -> Missing | Placement | None:
    """Shared by rules 8 and 9: current employment, then employer size. None means 'large employer'."""
    if plan.status is None:
        return Missing(
            "msp_employment",
            (fact(plan, "status"),),
            "MSP needs to know whether the coverage is from current employment",
        )
    if plan.status not in CURRENT_EMPLOYMENT:
        return _after(
            plan, "medicare_primary", f"{plan.id} is {NOT_CURRENT_WORDS[plan.status]}, not current employment"
        )
    if plan.employer_size is None:
        return Missing("msp_employer_size", (fact(plan, "employer_size"),), f"MSP threshold is {min_size} employees")
    if plan.employer_size < min_size:
        return _after(
            plan,
            "medicare_primary",
            f"employer of {plan.id} has {plan.employer_size} employees (fewer than {min_size})",
        )
    return None


def working_aged(plan: Coverage, medicare: Coverage, ctx: Context) -> Placement | Missing | None:
    """Rule 8: own or spouse's current employment, employer of 20 or more."""
    if medicare.medicare_basis is not MedicareBasis.AGE:
        return None
    if plan.relationship is None:
        return Missing(
            "msp_working_aged",
            (fact(plan, "relationship"),),
            "working-aged rule covers own or spouse's employment only",
        )
    if plan.relationship not in (Relationship.SELF, Relationship.SPOUSE):
        return _after(
            plan,
            "medicare_primary",
            f"{plan.id} comes through the patient's {plan.relationship.value}'s job; the working-aged rule "
            "covers only the patient's own or spouse's current employment",
        )
    early = _employment_facts(plan, WORKING_AGED_MIN_EMPLOYEES)
    if early is not None:
        return early
    whose = "own" if plan.relationship is Relationship.SELF else "spouse's"
    return _before(
        plan,
        MspType.WORKING_AGED,
        "msp_working_aged",
        f"working aged: {plan.id} is from the patient's {whose} current employment with "
        f"{plan.employer_size} employees (20 or more)",
    )


def disabled_large_plan(plan: Coverage, medicare: Coverage, ctx: Context) -> Placement | Missing | None:
    """Rule 9: own or any family member's current employment, employer of 100 or more."""
    if medicare.medicare_basis is not MedicareBasis.DISABILITY:
        return None
    early = _employment_facts(plan, DISABLED_LGHP_MIN_EMPLOYEES)
    if early is not None:
        return early
    return _before(
        plan,
        MspType.DISABLED_LGHP,
        "msp_disability",
        f"disabled under 65: {plan.id} is a large group health plan from current employment with "
        f"{plan.employer_size} employees (100 or more)",
    )


MEDICARE_RULES: tuple[MedicareRule, ...] = (
    not_a_group_plan,
    basis_known,
    esrd_coordination,  # 7
    working_aged,  # 8
    disabled_large_plan,  # 9
)


def place(plan: Coverage, medicare: Coverage, ctx: Context) -> Placement | Missing:
    """Rule 10 is the fall-through: nothing made the plan primary, so Medicare is."""
    for rule in MEDICARE_RULES:
        outcome = rule(plan, medicare, ctx)
        if outcome is not None:
            return outcome
    return _after(plan, "medicare_primary", f"no MSP rule makes {plan.id} primary")  # pragma: no cover - defensive
