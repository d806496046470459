"""Matching a payer's service payments (835 2110) to the billed service lines (837P / 837I 2400).

REF*6R is the key when the payer echoes it. Without it a service is matched by procedure (the submitted
code SVC06 when present, else SVC01), modifiers (order does not matter, and a modifier the payer
dropped is tolerated), service date, charge and units, then original line order. Every service must
land on exactly one line; split, unbundled and bundled services land on their own submitted line.
An institutional line is its HCPCS (SV202) and revenue code (SV201): a service paid by revenue code alone
(`NU`) matches the revenue code, and a service's SVC04 must be the line's revenue code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from cob.schemas.claim import Claim, ServiceLineBase
from cob.schemas.remit import ClaimPayment, ServicePayment


@dataclass
class LineMatch:
    """Services per line index (0-based, in claim order), or the reason matching failed."""

    services: dict[int, list[ServicePayment]] = field(default_factory=dict)
    problem: str | None = None  # a triage reason code
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.problem is None


def _line_date(line: ServiceLineBase):
    dtp = line.service_date
    return dtp.start if dtp is not None else None


def _service_dates(service: ServicePayment):
    """(start, end) of an SVC's DTM*472, or DTM*150/151, or (None, None)."""
    start = end = None
    for d in service.dates:
        if d.qualifier == "472":
            return d.date, d.date
        if d.qualifier == "150":
            start = d.date
        elif d.qualifier == "151":
            end = d.date
    return start, end or start


def _score(line: ServiceLineBase, service: ServicePayment) -> int | None:
    """How well a service fits a line; None when it cannot be that line."""
    submitted = service.svc.submitted_procedure or service.svc.procedure
    proc = line.procedure
    revenue = line.revenue_code
    if revenue is not None and service.svc.revenue_code and service.svc.revenue_code != revenue:
        return None
    if submitted.qualifier == "NU":  # paid by revenue code alone
        if submitted.code != revenue:
            return None
        line_mods = svc_mods = set()
    elif proc is None or submitted.code != proc.code:
        return None
    else:
        line_mods, svc_mods = set(proc.modifiers), set(submitted.modifiers)
    if not svc_mods <= line_mods:
        return None
    score = 4 if svc_mods == line_mods else 2  # a dropped modifier is tolerated
    start, end = _service_dates(service)
    line_date = _line_date(line)
    if start is not None and line_date is not None:
        if not (start <= line_date <= (end or start)):
            return None
        score += 2
    if service.svc.charge == line.charge:
        score += 2
    units = service.svc.submitted_units if service.svc.submitted_units is not None else service.svc.paid_units
    if units is not None and line.units is not None and units == line.units:
        score += 1
    return score


def _same_line(a: ServiceLineBase, b: ServiceLineBase) -> bool:
    """Two billed lines no service could tell apart (then line order decides, harmlessly)."""
    return (a.procedure == b.procedure and a.revenue_code == b.revenue_code and a.charge == b.charge
            and a.units == b.units and _line_date(a) == _line_date(b))


def match_lines(claim: Claim, payment: ClaimPayment) -> LineMatch:
    result = LineMatch()
    lines = claim.lines
    by_control = {control: i for i, control in enumerate([line.control_number for line in lines]) if control}
    by_number: dict[int, int] | None = None
    used: set[int] = set()
    for n, service in enumerate(payment.services, start=1):
        control = service.control_number
        index = None
        if control:
            index = by_control.get(control)
            if index is None and not by_control and control.isdigit():
                if by_number is None:
                    by_number = {line.lx.number: i for i, line in enumerate(lines)}
                index = by_number.get(int(control))  # payers may echo LX01 when no 6R was sent
        if index is None:
            scored = [(s, i) for i, line in enumerate(lines) if (s := _score(line, service)) is not None]
            if not scored:
                result.problem = "ambiguous_line_match"
                result.detail = f"service payment {n} ({service.svc.procedure.code}) matches no billed line"
                return result
            best = max(s for s, _ in scored)
            top = [i for s, i in scored if s == best]
            fresh = [i for i in top if i not in used] or top
            if len(fresh) > 1 and not all(_same_line(lines[fresh[0]], lines[i]) for i in fresh[1:]):
                result.problem = "ambiguous_line_match"
                result.detail = (f"service payment {n} ({service.svc.procedure.code}) fits lines "
                                 f"{', '.join(str(lines[i].lx.number) for i in fresh)} equally")
                return result
            index = fresh[0]
        used.add(index)
        result.services.setdefault(index, []).append(service)
    return result


def check_coverage(claim: Claim, match: LineMatch) -> LineMatch:
    """Every line adjudicated, and each line's services account for exactly its charge."""
    if not match.ok or not match.services:
        return match
    for i, line in enumerate(claim.lines):
        services = match.services.get(i)
        if not services:
            match.problem = "adjudication_incomplete"
            match.detail = f"line {line.lx.number} has no service payment in the remittance"
            return match
        charged = sum([s.svc.charge for s in services], Decimal(0))
        if charged != line.charge:
            match.problem = "line_charge_mismatch"
            match.detail = (f"line {line.lx.number}: the payer adjudicated a charge of {charged}, "
                            f"billed {line.charge}")
            return match
    return match
