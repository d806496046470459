"""Timely filing: by when each claim must reach the payer cob files it with (issue 17 clause 4).

Payers refuse claims filed late (CARC 29), and a secondary claim waiting on something (an 835 that has
not come, a held claim, a claim an acknowledgment rejected) quietly runs out of time. `cob.toml` says
how long each payer allows, counted from the date of service or from the prior payer's adjudication
(its 835's payment date)::

    [deadlines]
    warn_days = 14                              # cob status warns this many days before
    medicare = "12 months from service"         # payers billed with SBR09 MA / MB (default)
    default = "90 days from prior_payment"      # every other payer (default: a common commercial limit)
    [deadlines.payers]
    22222 = "60 days from prior_payment"        # by payer id, before the two above

For every claim the billing step decides whose next payer is known, `deadline_for` works out the
payer, the rule and the date; `posting` records it, with `filed` set once the claim is sent to that
payer (and cleared again when an acknowledgment rejects it). `cob status` warns about unfiled claims
due within `warn_days` (or `--deadline-within N`, which also makes it exit 1) and says which are past.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BASES = ("service", "prior_payment")
_RULE = re.compile(r"^\s*(\d+)\s+(day|days|month|months)\s+from\s+(service|prior_payment)\s*$")


class DeadlineConfigError(ValueError):
    pass


@dataclass(frozen=True)
class FilingRule:
    amount: int
    unit: str  # days | months
    basis: str  # service | prior_payment

    def __str__(self) -> str:
        return f"{self.amount} {self.unit} from {self.basis}"

    def due(self, start: dt.date) -> dt.date:
        if self.unit == "days":
            return start + dt.timedelta(days=self.amount)
        months = start.month - 1 + self.amount
        year, month = start.year + months // 12, months % 12 + 1
        return dt.date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def parse_rule(text: Any, where: str) -> FilingRule:
    match = _RULE.match(text) if isinstance(text, str) else None
    if match is None:
        raise DeadlineConfigError(f"{where} must read like \"90 days from prior_payment\" or "
                                  "\"12 months from service\"")
    amount, unit, basis = match.groups()
    return FilingRule(int(amount), unit if unit.endswith("s") else unit + "s", basis)


MEDICARE_DEFAULT = FilingRule(12, "months", "service")
COMMERCIAL_DEFAULT = FilingRule(90, "days", "prior_payment")


@dataclass
class DeadlineRules:
    medicare: FilingRule = MEDICARE_DEFAULT
    default: FilingRule = COMMERCIAL_DEFAULT
    payers: dict[str, FilingRule] = field(default_factory=dict)
    warn_days: int = 14

    def for_payer(self, payer_id: str, filing_indicator: str | None) -> FilingRule:
        if payer_id in self.payers:
            return self.payers[payer_id]
        return self.medicare if filing_indicator in ("MA", "MB") else self.default


def rules_from_toml(path: Path, section: dict[str, Any]) -> DeadlineRules:
    """`[deadlines]` of a cob.toml; raises DeadlineConfigError naming the key."""
    out = DeadlineRules()
    for key, value in section.items():
        where = f"{path}: deadlines.{key}"
        if key == "warn_days":
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise DeadlineConfigError(f"{where} must be a whole number of days, not negative")
            out.warn_days = value
        elif key in ("medicare", "default"):
            setattr(out, key, parse_rule(value, where))
        elif key == "payers":
            if not isinstance(value, dict):
                raise DeadlineConfigError(f"{where} must be a table: payer id = \"N days from service\"")
            out.payers = {str(p): parse_rule(v, f"{where}.{p}") for p, v in value.items()}
        else:
            raise DeadlineConfigError(f"{path}: unknown key deadlines.{key}")
    return out


@dataclass
class Deadline:
    claim_id: str
    payer: str
    rule: str
    start: dt.date
    due: dt.date


def deadline_for(claim, chain, remits, rules: DeadlineRules) -> Deadline | None:
    """The filing deadline of the claim's next payer (the level after the highest that adjudicated), or
    None when no next payer is known or the rule counts from a prior payment that has not come."""
    standing = {a.level: a for a in (remits.adjudications if remits is not None else [])}
    if not standing:
        return None
    top = max(standing)
    payer = chain.at(top + 1)
    if payer is None or not payer.payer_id:
        return None
    indicator = getattr(payer.sbr.filing_indicator, "value", payer.sbr.filing_indicator)
    rule = rules.for_payer(payer.payer_id, indicator)
    if rule.basis == "service":
        dates = [line.service_date.start for line in claim.lines if line.service_date is not None]
        start = min(dates) if dates else None
    else:
        start = standing[top].payment_date
    if start is None:
        return None
    return Deadline(claim.claim_id, payer.payer_id, str(rule), start, rule.due(start))
