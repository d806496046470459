"""Order between two private plans (reference section 6 D): NAIC model rules and the CLHIA guideline.

Each rule is a function ``(a, b, ctx) -> Decided | Missing | None`` (see ``outcome``); ``NAIC_RULES`` and
``CLHIA_RULES`` list them in the order the rule sets apply them, and ``compare`` walks a list until a
rule speaks. Rules are symmetric: each one looks at both orders of the pair itself.

``order_plans`` turns pairwise answers into an order for any number of plans: a plan's place is the
number of plans it beats. That is only consistent when the pairwise answers are transitive, which is
checked; a cycle is reported as undetermined rather than broken arbitrarily.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations

from cob.schemas.order import (
    Coverage,
    CoverageKind,
    EmploymentStatus,
    ParentRole,
    ParentsStatus,
    Relationship,
    RuleSet,
)

from .outcome import Context, Decided, Missing, Outcome, PairRule, fact, label, month_day

CHILD_LIKE = frozenset({Relationship.CHILD, Relationship.OTHER})
PARENTS_TOGETHER = frozenset({ParentsStatus.MARRIED, ParentsStatus.LIVING_TOGETHER})
ACTIVE = frozenset({EmploymentStatus.ACTIVE, EmploymentStatus.PART_TIME})
INACTIVE = frozenset({EmploymentStatus.RETIRED, EmploymentStatus.LAID_OFF})

# Custody order without a decree (6 D 19c): custodial parent, its spouse, the other parent, its spouse.
CUSTODY_RANK = {
    ParentRole.CUSTODIAL: 0,
    ParentRole.CUSTODIAL_SPOUSE: 1,
    ParentRole.NONCUSTODIAL: 2,
    ParentRole.NONCUSTODIAL_SPOUSE: 3,
}
CUSTODY_WORDS = {
    ParentRole.CUSTODIAL: "the custodial parent",
    ParentRole.CUSTODIAL_SPOUSE: "the custodial parent's spouse",
    ParentRole.NONCUSTODIAL: "the non-custodial parent",
    ParentRole.NONCUSTODIAL_SPOUSE: "the non-custodial parent's spouse",
}
STEP_PARENT_ROLES = frozenset({ParentRole.CUSTODIAL_SPOUSE, ParentRole.NONCUSTODIAL_SPOUSE})

# CLHIA: full-time before part-time before retiree (laid-off and COBRA have no Canadian counterpart).
CLHIA_EMPLOYMENT_RANK = {
    EmploymentStatus.ACTIVE: 0,
    EmploymentStatus.PART_TIME: 1,
    EmploymentStatus.RETIRED: 2,
}
STATUS_WORDS = {
    EmploymentStatus.ACTIVE: "full-time active",
    EmploymentStatus.PART_TIME: "part-time",
    EmploymentStatus.RETIRED: "retiree",
    EmploymentStatus.COBRA: "COBRA continuation",
    EmploymentStatus.LAID_OFF: "laid-off",
}


def _decide(first: Coverage, second: Coverage, rule: str, reason: str) -> Decided:
    return Decided(first, second, rule, f"{reason}, so {label(first)} pays before {label(second)}")


def _status_unknown(cov: Coverage) -> bool:
    """An employer plan without a status is an unknown fact; other kinds simply are not employment-based."""
    return cov.kind is CoverageKind.EMPLOYER_GROUP and cov.status is None


# --- rule 16: a plan without a COB provision pays first -------------------------------------------


def no_cob_provision(a: Coverage, b: Coverage, ctx: Context) -> Outcome:
    if a.has_cob_provision == b.has_cob_provision:
        return None
    first, second = (b, a) if a.has_cob_provision else (a, b)
    return _decide(first, second, "no_cob_provision", f"{first.id} has no COB provision")


# --- CLHIA: a student's own plan pays before a parent's -------------------------------------------


def student_own_plan(a: Coverage, b: Coverage, ctx: Context) -> Outcome:
    for own, parent in ((a, b), (b, a)):
        if (
            own.kind is CoverageKind.STUDENT
            and own.relationship is Relationship.SELF
            and parent.relationship in CHILD_LIKE
        ):
            return _decide(own, parent, "student_plan", "student rule: the student's own plan comes before a parent's")
    return None


# --- rule 17: own coverage before dependent coverage ----------------------------------------------


def non_dependent_first(a: Coverage, b: Coverage, ctx: Context) -> Outcome:
    unknown = tuple(fact(c, "relationship") for c in (a, b) if c.relationship is None)
    if unknown:
        return Missing("non_dependent", unknown, "own-versus-dependent rule needs each plan's relationship")
    if (a.relationship is Relationship.SELF) == (b.relationship is Relationship.SELF):
        return None
    own, dep = (a, b) if a.relationship is Relationship.SELF else (b, a)
    return _decide(
        own,
        dep,
        "non_dependent",
        f"own plan before dependent plan: {own.id} covers the patient as subscriber, "
        f"{dep.id} as the subscriber's {dep.relationship.value}",
    )


# --- rules 18/19: dependent child -----------------------------------------------------------------


def birthday(a: Coverage, b: Coverage, ctx: Context, rule: str = "birthday") -> Outcome:
    """Earlier month/day in the calendar year first (the year is ignored); ties per rule set."""
    unknown = tuple(
        fact(c, "subscriber.birth_date") for c in (a, b) if c.subscriber is None or c.subscriber.birth_date is None
    )
    if unknown:
        return Missing(rule, unknown, "birthday rule needs both subscribers' birth dates")
    bd_a, bd_b = a.subscriber.birth_date, b.subscriber.birth_date  # type: ignore[union-attr]
    key_a, key_b = (bd_a.month, bd_a.day), (bd_b.month, bd_b.day)
    if key_a != key_b:
        first, second = (a, b) if key_a < key_b else (b, a)
        d1 = first.subscriber.birth_date  # type: ignore[union-attr]
        d2 = second.subscriber.birth_date  # type: ignore[union-attr]
        return _decide(first, second, rule, f"birthday rule: {month_day(d1)} before {month_day(d2)}")
    if ctx.rule_set is RuleSet.CLHIA:
        return _same_birthday_first_name(a, b, rule, month_day(bd_a))
    return _same_birthday_longer_coverage(a, b, rule, month_day(bd_a))


def _same_birthday_first_name(a: Coverage, b: Coverage, rule: str, day: str) -> Outcome:
    unknown = tuple(
        fact(c, "subscriber.first_name") for c in (a, b) if c.subscriber is None or not c.subscriber.first_name
    )
    if unknown:
        return Missing(rule, unknown, f"same birthday ({day}): CLHIA orders by first name, which is unknown")
    name_a, name_b = a.subscriber.first_name, b.subscriber.first_name  # type: ignore[union-attr]
    if name_a.casefold() == name_b.casefold():  # type: ignore[union-attr]
        return None
    first, second = (a, b) if name_a.casefold() < name_b.casefold() else (b, a)  # type: ignore[union-attr]
    return _decide(
        first,
        second,
        rule,
        f"same birthday ({day}): first names alphabetically, "
        f"{first.subscriber.first_name} before {second.subscriber.first_name}",  # type: ignore[union-attr]
    )


def _earlier_start_wins(a: Coverage, b: Coverage, rule: str, missing: str, reason) -> Outcome:
    """The plan that started first is primary (same-birthday tie-break, rule 22); `reason(first,
    second)` explains a decision, `missing` a lack of start dates; equal dates decide nothing."""
    unknown = tuple(fact(c, "start_date") for c in (a, b) if c.start_date is None)
    if unknown:
        return Missing(rule, unknown, missing)
    if a.start_date == b.start_date:
        return None
    first, second = (a, b) if a.start_date < b.start_date else (b, a)  # type: ignore[operator]
    return _decide(first, second, rule, reason(first, second))


def _same_birthday_longer_coverage(a: Coverage, b: Coverage, rule: str, day: str) -> Outcome:
    return _earlier_start_wins(
        a, b, rule, f"same birthday ({day}): the plan covering the parent longer wins; start dates unknown",
        lambda first, second: f"same birthday ({day}): {first.id} has covered the parent longer "
                              f"(since {first.start_date} versus {second.start_date})",
    )


def dependent_child(a: Coverage, b: Coverage, ctx: Context) -> Outcome:
    """Rules 18 and 19: both plans cover the patient as a child (or ward, 19d)."""
    if a.relationship not in CHILD_LIKE or b.relationship not in CHILD_LIKE:
        return None
    parents = ctx.patient.parents
    if parents is None:
        return Missing(
            "dependent_child", ("patient.parents",), "a child's plans are ordered by whether the parents live together"
        )
    if parents in PARENTS_TOGETHER:
        return birthday(a, b, ctx)
    return _parents_apart(a, b, ctx)


def _parents_apart(a: Coverage, b: Coverage, ctx: Context) -> Outcome:
    if a.court_decree != b.court_decree:
        first, second = (a, b) if a.court_decree else (b, a)
        return _decide(
            first,
            second,
            "court_decree",
            f"court decree: it makes {first.id}'s subscriber responsible for the child's health care",
        )
    if a.court_decree and b.court_decree:
        return _joint_custody(a, b, ctx, "court decree makes both parents responsible")
    if ctx.patient.joint_custody:
        return _joint_custody(a, b, ctx, "joint custody without a decree assigning responsibility")
    return _custody_order(a, b)


def _joint_custody(a: Coverage, b: Coverage, ctx: Context, why: str) -> Outcome:
    """Parents by the birthday rule, parents before step-parents (19b; CLHIA joint-custody order)."""
    step_a, step_b = a.parent_role in STEP_PARENT_ROLES, b.parent_role in STEP_PARENT_ROLES
    if step_a != step_b:
        first, second = (b, a) if step_a else (a, b)
        return _decide(first, second, "joint_custody", f"{why}: a parent's plan before a step-parent's")
    if step_a and step_b:
        low, high = sorted((a.id, b.id))
        return Missing(
            "joint_custody",
            (f"which parent the step-parents on {low} and {high} are married to",),
            f"{why}: step-parents follow the order of the parents they are married to",
        )
    outcome = birthday(a, b, ctx)
    if isinstance(outcome, Decided):
        return Decided(outcome.first, outcome.second, outcome.rule, f"{why}: {outcome.explanation}")
    return outcome


def _custody_order(a: Coverage, b: Coverage) -> Outcome:
    unknown = tuple(fact(c, "parent_role") for c in (a, b) if c.parent_role is None)
    if unknown:
        return Missing(
            "custody", unknown, "parents live apart without a decree: custody decides, and a role is unknown"
        )
    # equal ranks (e.g. two plans of the same parent): later rules decide
    return _decide_by_rank(
        a, b, CUSTODY_RANK[a.parent_role], CUSTODY_RANK[b.parent_role], "custody",  # type: ignore[index]
        lambda first, second: f"custody rule (no court decree): {CUSTODY_WORDS[first.parent_role]} before "
                              f"{CUSTODY_WORDS[second.parent_role]}",
    )


def child_and_spouse(a: Coverage, b: Coverage, ctx: Context) -> Outcome:
    """19e: a child covered by a parent's plan and by their own spouse's plan: longer coverage, then birthday."""
    pair = {a.relationship, b.relationship}
    if Relationship.SPOUSE not in pair or not pair & CHILD_LIKE:
        return None
    outcome = longer_coverage(a, b, ctx)
    if outcome is None:
        return birthday(a, b, ctx, rule="child_and_spouse")
    if isinstance(outcome, Decided):
        return Decided(
            outcome.first,
            outcome.second,
            "child_and_spouse",
            f"parent's plan versus own spouse's plan: {outcome.explanation}",
        )
    return outcome


# --- rules 20/21 (NAIC) and the CLHIA employment ranking ------------------------------------------


def _decide_by_rank(a: Coverage, b: Coverage, rank_a: int | None, rank_b: int | None, rule: str,
                    explain) -> Outcome:
    """The lower rank pays first; equal or unranked plans are left to later rules."""
    if rank_a is None or rank_b is None or rank_a == rank_b:
        return None
    first, second = (a, b) if rank_a < rank_b else (b, a)
    return _decide(first, second, rule, explain(first, second))


def _both_employment_based(a: Coverage, b: Coverage) -> bool:
    """Both plans cover the person through employment (status given, or known to be missing)."""
    return all(c.status is not None or _status_unknown(c) for c in (a, b))


def _missing_status(a: Coverage, b: Coverage, rule: str, why: str) -> Missing | None:
    unknown = tuple(fact(c, "status") for c in (a, b) if _status_unknown(c))
    return Missing(rule, unknown, why) if unknown else None


def active_before_inactive(a: Coverage, b: Coverage, ctx: Context) -> Outcome:
    """Rule 20: active employee (or dependent of one) before retired or laid-off."""
    if not _both_employment_based(a, b):
        return None  # one plan is not employment-based: the rule has nothing to compare
    missing = _missing_status(a, b, "active_vs_inactive", "active-versus-retired rule needs the employment status")
    if missing:
        return missing
    for first, second in ((a, b), (b, a)):
        if first.status in ACTIVE and second.status in INACTIVE:
            return _decide(
                first,
                second,
                "active_vs_inactive",
                f"active before retired/laid-off: {first.id} is {STATUS_WORDS[first.status]} coverage, "  # type: ignore[index]
                f"{second.id} is {STATUS_WORDS[second.status]}",  # type: ignore[index]
            )
    return None


def cobra_last(a: Coverage, b: Coverage, ctx: Context) -> Outcome:
    """Rule 21: coverage as employee/member/retiree before COBRA or state continuation."""
    missing = _missing_status(a, b, "cobra", "COBRA rule needs the employment status")
    if missing:
        return missing
    cobra_a, cobra_b = a.status is EmploymentStatus.COBRA, b.status is EmploymentStatus.COBRA
    if cobra_a == cobra_b:
        return None
    first, second = (b, a) if cobra_a else (a, b)
    return _decide(first, second, "cobra", f"COBRA last: {second.id} is continuation coverage")


def clhia_employment(a: Coverage, b: Coverage, ctx: Context) -> Outcome:
    """CLHIA: full-time before part-time before retiree."""
    if not _both_employment_based(a, b):
        return None
    missing = _missing_status(a, b, "employment_status",
                              "full-time/part-time/retiree rule needs the employment status")
    if missing:
        return missing
    return _decide_by_rank(
        a, b, CLHIA_EMPLOYMENT_RANK.get(a.status), CLHIA_EMPLOYMENT_RANK.get(b.status),  # type: ignore[arg-type]
        "employment_status",
        lambda first, second: f"full-time before part-time before retiree: {first.id} is "
                              f"{STATUS_WORDS[first.status]}, {second.id} is {STATUS_WORDS[second.status]}",
    )


# --- rule 22: longer coverage ---------------------------------------------------------------------


def longer_coverage(a: Coverage, b: Coverage, ctx: Context) -> Outcome:
    return _earlier_start_wins(
        a, b, "longer_coverage", "length-of-coverage rule needs both start dates",
        lambda first, second: f"longer coverage: {first.id} since {first.start_date}, "
                              f"{second.id} since {second.start_date}",
    )


NAIC_RULES: tuple[PairRule, ...] = (
    no_cob_provision,  # 16
    non_dependent_first,  # 17
    dependent_child,  # 18, 19a-d
    child_and_spouse,  # 19e
    active_before_inactive,  # 20
    cobra_last,  # 21
    longer_coverage,  # 22
)

CLHIA_RULES: tuple[PairRule, ...] = (
    no_cob_provision,
    student_own_plan,
    non_dependent_first,
    dependent_child,  # same-birthday tie broken by first name under CLHIA
    child_and_spouse,
    clhia_employment,
    longer_coverage,
)

RULES_BY_SET: dict[RuleSet, tuple[PairRule, ...]] = {RuleSet.NAIC: NAIC_RULES, RuleSet.CLHIA: CLHIA_RULES}


def compare(a: Coverage, b: Coverage, ctx: Context) -> Decided | Missing:
    """First rule of the context's rule set that speaks; when none does, the order is undetermined (23)."""
    for rule in RULES_BY_SET[ctx.rule_set]:
        outcome = rule(a, b, ctx)
        if outcome is not None:
            return outcome
    x, y = sorted((a.id, b.id))
    return Missing(
        "no_rule_decides",
        (f"a rule that orders {x} and {y} (none applies: the plans share allowable expenses equally)",),
        f"no order rule separates {x} and {y}",
    )


def order_plans(plans: Sequence[Coverage], ctx: Context) -> tuple[list[Coverage] | None, list[Decided], list[Missing]]:
    """Order private plans pairwise. Returns (order or None, decisions in final order, missing facts)."""
    if len(plans) < 2:
        return list(plans), [], []
    outcomes = {frozenset((a.id, b.id)): compare(a, b, ctx) for a, b in combinations(plans, 2)}
    missing = [o for o in outcomes.values() if isinstance(o, Missing)]
    if missing:
        return None, [], missing
    wins = {p.id: 0 for p in plans}
    for o in outcomes.values():
        wins[o.first.id] += 1  # type: ignore[union-attr]
    if sorted(wins.values()) != list(range(len(plans))):
        cycle = ", ".join(sorted(p.id for p in plans))
        return (
            None,
            [],
            [Missing("no_rule_decides", (f"a consistent order of {cycle} (pairwise rules form a cycle)",), "cycle")],
        )
    ordered = sorted(plans, key=lambda p: -wins[p.id])
    decisions = [outcomes[frozenset((x.id, y.id))] for x, y in combinations(ordered, 2)]
    return ordered, decisions, []  # type: ignore[return-value]
