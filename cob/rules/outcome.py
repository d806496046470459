"""What a single order rule can say about two coverages, and small helpers the rules share.

Every rule is a small function returning one of three things, so the engine can walk an ordered list of
rules and stop at the first that speaks:

* ``Decided``  - the rule puts one coverage before the other, with its name and a plain-words reason;
* ``Missing``  - the rule would apply but a fact it needs is unknown: the order is undetermined (we stop
  here rather than skip to a later rule, because skipping would be a guess);
* ``None``     - the rule does not apply to this pair; try the next one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from cob.schemas.order import ClaimFacts, Coverage, Patient, RuleSet


@dataclass(frozen=True)
class Context:
    """Claim-wide facts a rule may read besides the two coverages."""

    claim: ClaimFacts
    patient: Patient
    rule_set: RuleSet


@dataclass(frozen=True)
class Decided:
    """``first`` pays before ``second`` because of ``rule``."""

    first: Coverage
    second: Coverage
    rule: str
    explanation: str


@dataclass(frozen=True)
class Missing:
    """``rule`` cannot be applied without ``facts`` (dotted paths such as ``coverages[mom].start_date``)."""

    rule: str
    facts: tuple[str, ...]
    explanation: str


Outcome = Decided | Missing | None
PairRule = Callable[[Coverage, Coverage, Context], Outcome]


def fact(cov: Coverage, path: str) -> str:
    """Name a coverage's fact by coverage id (ids are stable, list positions are not)."""
    return f"coverages[{cov.id}].{path}"


def month_day(d: date) -> str:
    """'March 15': the birthday rule compares only month and day, so print only those."""
    return f"{d:%B} {d.day}"


def first_of_month(d: date) -> date:
    return d.replace(day=1)


def add_months(d: date, months: int) -> date:
    """First day of the month ``months`` after ``d``'s month."""
    index = d.year * 12 + (d.month - 1) + months
    return date(index // 12, index % 12 + 1, 1)


def label(cov: Coverage) -> str:
    """How a coverage is named in explanations: its id, plus the subscriber's first name when known."""
    name = cov.subscriber.first_name if cov.subscriber and cov.subscriber.first_name else None
    return f"{cov.id} ({name})" if name else cov.id
