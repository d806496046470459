"""Pre-write check of a built secondary/tertiary 837P claim: the COB rule book over the claim's models.

pyx12-style validation (SNIP 1-2) knows the implementation guide; it does not know that a secondary
payer rejects a claim whose prior-payer money does not add up, whose adjudication dates sit at two
levels, or whose SBR01 sequence skips a payer. Those rules are written once, in `cob.rules.book`, and
`cob validate` runs the same book over raw segments. This module is the book's adapter for pydantic
models (`claim_view`) plus cob's own output policy, so a claim the destination would reject is held
back with a reason before it is written.

`check_claim(claim)` returns a list of `Finding`s; an empty list means the claim passed. Each finding has
a stable `code` (a key of `CODES`: the book's codes, the same as `cob validate` reports, and the two
policy codes below), a plain message, and where it applies the payer id and the LX01 line number of the
loop at fault. Messages never carry names or member ids: only the claim id (CLM01), payer ids, line
numbers, codes and amounts, so they can go into logs and reports as they are.

cob's output policy, on top of the book (what cob writes, not what every valid 837P must be):

- `destination_sequence_unknown` (error): the claim's 2000B SBR01 is U or missing. The IG allows U, and
  the book then skips the level rules; cob always knows the level it bills, so it must say it.
- `missing_payer_claim_number` (warning): an adjudicated payer's 2330B has no REF*F8. cob copies the
  prior payer's CLP07 there (reference §3.8 item 10) and many payers (Medicaid especially) ask for it,
  but the TR3 trigger is uncertain (§1.5) and valid public claims go without it, so it is not in the book.

What the book leaves to the IG itself (2330B NM109 and 2430 DTP*573 are required elements and
segments) is not repeated here: `cob secondary` validates every output file with SNIP 1-5 and takes
out a claim that breaks the IG (`ig_invalid`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from cob.rules import book
from cob.rules.view import CasView, ClaimView, LineAdjudicationView, LineView, OtherPayerView
from cob.schemas.claim import Claim
from cob.schemas.codes import PayerSequence
from cob.schemas.segments import CAS

Severity = Literal["error", "warning"]

#: cob's own output policy: code -> (severity, meaning); see the module docstring for why each is here
POLICY: dict[str, tuple[Severity, str]] = {
    "destination_sequence_unknown": ("error", "the destination's 2000B SBR01 is U (unknown) or missing"),
    "missing_payer_claim_number": ("warning", "an adjudicated payer's 2330B has no REF*F8 (its claim control "
                                   "number)"),
}

#: Stable finding codes and what each means. Scripts and reports key on these strings.
CODES: dict[str, str] = {code: rule.meaning for code, rule in book.RULES.items()}
CODES.update((code, meaning) for code, (_severity, meaning) in POLICY.items())

#: the balancing codes (SNIP 3): a claim failing one is reported as "balancing_failed"
BALANCING_CODES: frozenset[str] = book.BALANCING

_SEVERITY: dict[str, Severity] = {code: rule.severity for code, rule in book.RULES.items()}  # type: ignore[misc]
_SEVERITY.update((code, severity) for code, (severity, _meaning) in POLICY.items())


@dataclass(frozen=True)
class Finding:
    """One problem found on a claim. `code` is stable (a key of `CODES`); `message` is for people."""

    code: str
    message: str
    payer_id: str | None = None
    line: int | None = None
    severity: Severity = "error"

    @property
    def is_error(self) -> bool:
        return self.severity == "error"


def check_claim(claim: Claim) -> list[Finding]:
    """Every finding on a built claim: the rule book's (in its order), then cob's policy."""
    prefix = f"claim {claim.claim_id}: "
    findings = [Finding(v.code, prefix + v.message, v.payer, _line_number(v.line), _SEVERITY[v.code])
                for v in book.check(claim_view(claim))]
    findings += _policy(claim, prefix)
    return findings


def errors(findings: Iterable[Finding]) -> list[Finding]:
    """The findings that should stop the claim (warnings left out)."""
    return [f for f in findings if f.is_error]


def _line_number(line: str | None) -> int | None:
    return int(line) if line is not None and line.isdigit() else None


# ---------------------------------------------------------------------------------------- policy


def _policy(claim: Claim, prefix: str) -> list[Finding]:
    found: list[Finding] = []
    subscriber = claim.subscriber
    if subscriber is None:
        found.append(Finding("destination_sequence_unknown", prefix + "no 2000B SBR: the destination's sequence "
                             "is unknown", severity="error"))
    elif subscriber.sbr.payer_sequence is PayerSequence.UNKNOWN:
        found.append(Finding("destination_sequence_unknown", prefix + "destination SBR01 is U (unknown); cob bills "
                             "a known level", severity="error"))
    for op in claim.other_payers:
        if op.paid_amount is None:
            continue
        party = op.payer
        if party is None or party.ref("F8") is None:
            found.append(Finding("missing_payer_claim_number",
                                 prefix + f"payer {op.payer_id or '(no id)'} (SBR01 {op.sbr.payer_sequence.value}) "
                                 "has no 2330B REF*F8 (prior payer claim number)", op.payer_id, severity="warning"))
    return found


# ---------------------------------------------------------------------------------------- the view


def claim_view(claim: Claim) -> ClaimView:
    """The rule book's view of a claim model. Locators are the models themselves (the book only hands
    them back); where a finding is, for `cob secondary`, is its payer id and line number."""
    clm = claim.clm
    view = ClaimView(clm, type(claim).GUIDE)
    view.charge = clm.total_charge
    location = clm.location
    view.frequency = (location.frequency or "") if location is not None else ""
    for ref in claim.refs:
        if ref.qualifier == "F8":
            view.ref_f8 = ref
            break
    subscriber = claim.subscriber
    if subscriber is not None:
        view.sequence = subscriber.sbr.payer_sequence.value
        view.sequence_at = subscriber.sbr
        for party in subscriber.parties:
            if party.loop == "2010BA":
                view.member_id = party.name.id or None
            elif party.loop == "2010BB":
                view.payer_id = party.name.id or ""
    view.payers = [_other_payer(op) for op in claim.other_payers]
    view.lines = [_line(line) for line in claim.lines]
    return view


def _other_payer(op) -> OtherPayerView:
    p = OtherPayerView(op.sbr.payer_sequence.value, op.sbr)
    for amt in op.amounts:
        q = amt.qualifier
        if q == "D":
            if p.paid_at is None:
                p.paid, p.paid_at = amt.amount, amt
        elif q == "EAF":
            p.eaf = p.eaf or amt
        elif q == "A8":
            p.a8 = p.a8 or amt
    p.cas = [_cas(cas) for cas in op.adjustments]
    for party in op.parties:
        if party.loop == "2330B":
            name = party.name
            p.payer_id = name.id or ""
            p.name_at = name
            p.date = party.date("573")
            for ref in party.refs:
                if ref.qualifier == "F8":
                    p.ref_f8 = ref
                    break
        elif party.loop == "2330A":
            p.member_id = party.name.id or None
    return p


def _line(line) -> LineView:
    number = str(line.lx.number)
    view = LineView(number, line.lx)
    view.charge_at = service = line.service  # SV1 / SV2
    view.charge = service.charge
    for adj in line.adjudications:
        svd = adj.svd
        a = LineAdjudicationView(svd.payer_id, svd.paid, number, svd)
        a.cas = [_cas(cas) for cas in adj.adjustments]
        for dtp in adj.dates:
            if dtp.qualifier == "573":
                a.date = dtp
                break
        for amt in adj.amounts:
            if amt.qualifier == "EAF":
                a.eaf = amt
                break
        view.adjudications.append(a)
    return view


def _cas(cas: CAS) -> CasView:
    """A CAS model's trios up to the last one used (a CAS model holds six)."""
    values = cas.element_values()  # the group, then six (reason, amount, quantity) trios
    if values[4:].count(None) == 15:  # only the first trio: the usual case
        n = 1
    else:
        n = 6
        while n > 1 and values[3 * n - 2] is None and values[3 * n - 1] is None and values[3 * n] is None:
            n -= 1
    reasons = values[1:3 * n:3]
    if None in reasons:
        reasons = tuple(r or "" for r in reasons)
    return CasView(values[0].value, reasons, values[2:3 * n + 1:3],
                   tuple(q is not None for q in values[3:3 * n + 1:3]), cas)
