"""Matching payments to claims (835 2100 CLP to 837P / 837I 2300 CLM) and services to lines (2110 to 2400).

Claims (`match_claims`): CLP01 = CLM01 starts it; the payment must then be confirmed by the patient, the
service dates, the charge, the payer and the provider it pays (`identity.compare`: nothing may disagree).
When several claims with that CLM01 remain, the one whose lines the payment's services match exactly wins;
if still several, every candidate is held (`ambiguous_claim_match`, naming the payment's file and segment):
a claim is only ever billed with an adjudication that matched it. A payment equal in payer, CLP01, CLP07
and amounts to one already read is a duplicate (the same ERA again, renamed, or regenerated with a new
envelope): reported and ignored, never summed.

Lines (837P SV1 and 837I SV2 alike):

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
from itertools import groupby

from typing import Callable, Sequence

from cob.schemas.claim import Claim, ServiceLineBase
from cob.schemas.codes import ClaimStatus
from cob.schemas.remit import ClaimPayment, ServicePayment

from .consolidate import RemitRecord, _reversed
from .identity import ClaimFacts, Verdict, claim_facts, compare


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


# --------------------------------------------------------------------------------------------- claims

@dataclass
class Duplicate:
    """A payment read again (`record`) and the one it repeats (`original`)."""

    record: RemitRecord
    original: RemitRecord

    @property
    def note(self) -> str:
        return (f"duplicate payment ignored: {self.record.where} repeats {self.original.where} "
                f"(payer {self.record.payer}, CLP07 {self.record.payer_claim_number or '-'}, same amounts)")


@dataclass
class ClaimPayments:
    """What matching gave one claim: its payments, or why it is held before triage looks at it."""

    records: list[RemitRecord] = field(default_factory=list)
    hold: tuple[str, str] | None = None  # (reason, detail)
    duplicates: list[Duplicate] = field(default_factory=list)
    others: int = 0  # payments with this CLP01 that matched another claim
    #: payments matched although they give no service date (no other claim could take them): enough to hold
    #: the claim with what they say, never to bill it (the visit they pay is not confirmed)
    undated: list[RemitRecord] = field(default_factory=list)


@dataclass
class GroupMatch:
    """The claims sharing one CLM01 and the payments sharing it as CLP01, matched."""

    claims: list[ClaimPayments]
    unmatched: list[tuple[RemitRecord, str]] = field(default_factory=list)  # (payment, why no claim took it)
    duplicates: list[Duplicate] = field(default_factory=list)

    @property
    def orphans(self) -> list[tuple[RemitRecord, str]]:
        """Unmatched payments no claim's hold explains: payments for a visit whose original was not given."""
        if any(c.hold is not None and c.hold[0] == "claim_mismatch" for c in self.claims):
            return []
        return self.unmatched


def drop_duplicates(records: Sequence[RemitRecord]) -> tuple[list[RemitRecord], list[Duplicate]]:
    """Records in arrival order without repeats of one payment (same payer and amounts digest).

    A payment read again after a reversal of it is a re-issue, not a duplicate (payers reverse and pay
    again, sometimes with the very same claim number and amounts): a reversal that is not itself a repeat
    frees the payment it cancels (`consolidate._reversed`, the one rule for which payment a reversal
    cancels). Within one file reversals are taken first, as consolidation nets them whatever their order."""
    first: dict[tuple[str, bytes], RemitRecord] = {}
    live: list[RemitRecord] = []  # kept payments no reversal has cancelled yet
    kept: list[RemitRecord] = []
    dups: list[Duplicate] = []
    ordered = sorted(records, key=lambda r: r.sequence)
    ordered = [r for _file, group in groupby(ordered, key=lambda r: r.file)
               for r in sorted(group, key=lambda r: r.status is not ClaimStatus.REVERSAL)]
    for record in ordered:
        key = (record.payer, record.digest)
        original = first.get(key) if record.digest else None
        if original is not None:
            dups.append(Duplicate(record, original))
            continue
        kept.append(record)
        if record.digest:
            first[key] = record
        if record.status is ClaimStatus.REVERSAL:
            target = _reversed(record, live)
            if target is not None:
                live.remove(target)
                if first.get((target.payer, target.digest)) is target:
                    del first[(target.payer, target.digest)]
        else:
            live.append(record)
    return kept, dups


def match_claims(claims: Sequence[Claim], records: Sequence[RemitRecord],
                 payment: Callable[[RemitRecord], ClaimPayment], labels: Sequence[str] | None = None) -> GroupMatch:
    """Give each payment (`records`, all with the claims' CLM01 as CLP01) to the one claim it confirms; see
    the module doc. `payment` turns a record back into its model (only for the exact-lines tie-break);
    `labels` name the claims in messages (their file and segment)."""
    kept, dups = drop_duplicates(records)
    out = GroupMatch([ClaimPayments() for _ in claims], duplicates=dups)
    facts: list[ClaimFacts] = [claim_facts(c) for c in claims]
    names = list(labels) if labels is not None else [f"claim {n + 1}" for n in range(len(claims))]
    owner: dict[int, int] = {}  # id(record) -> claim index
    for record in kept:
        if record.facts is None:
            hits = list(range(len(claims)))
            why = ""
            found = []
        else:
            found = [compare(f, record.facts) for f in facts]
            hits = [i for i, c in enumerate(found) if c.candidate]
            why = "; ".join(dict.fromkeys(d for c in found for d in c.differences))
        dated = record.facts is None or any(found[i].dates is Verdict.YES for i in hits)
        if len(hits) > 1:
            model = payment(record)
            exact = [i for i in hits if lines_exact(claims[i], model)]
            if len(exact) == 1:
                hits = exact
        if not hits:
            out.unmatched.append((record, why))
        elif len(hits) == 1:
            out.claims[hits[0]].records.append(record)
            owner[id(record)] = hits[0]
            if not dated:
                out.claims[hits[0]].undated.append(record)
        else:
            detail = (f"the payment in {record.where} (payer {record.payer}, CLP07 "
                      f"{record.payer_claim_number or '-'}) fits the claims at {', '.join(names[i] for i in hits)} "
                      "equally (patient, dates, charge, payer and lines); which visit it pays must be decided by a person")
            for i in hits:
                if out.claims[i].hold is None:
                    out.claims[i].hold = ("ambiguous_claim_match", detail)
    for dup in dups:
        i = owner.get(id(dup.original))
        if i is not None:
            out.claims[i].duplicates.append(dup)
    for i, mine in enumerate(out.claims):
        mine.others = sum(1 for r in kept if owner.get(id(r), i) != i)
        if mine.hold is None and not mine.records and out.unmatched:
            received = "; ".join(f"{r.where} (payer {r.payer}, CLP07 {r.payer_claim_number or '-'}, charge {r.charge})"
                                 for r, _why in out.unmatched[:3])
            reasons = "; ".join(dict.fromkeys(w for _r, w in out.unmatched if w)) or "it does not match"
            mine.hold = ("claim_mismatch",
                         f"received an 835 payment with this CLP01 that does not match the claim: {received}: "
                         f"{reasons}; missing: a payment for this claim's visit")
    return out


def lines_exact(claim: Claim, payment: ClaimPayment) -> bool:
    """Do the payment's services match the claim's lines exactly: each on one line by REF*6R or by code,
    date (present and equal), charge and units, and every line's charge accounted for?"""
    match = check_coverage(claim, match_lines(claim, payment))
    if not match.ok or not match.services:
        return False
    for i, services in match.services.items():
        line = claim.lines[i]
        for service in services:
            if service.control_number and service.control_number == line.control_number:
                continue
            score = _score(line, service)
            if score is None or score < 8:  # code and modifiers (4) + date (2) + charge (2)
                return False
    return True
