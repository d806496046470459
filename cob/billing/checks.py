"""Pre-submission checks on a built secondary/tertiary 837P claim (reference §1.9 and §3.8).

pyx12 validates syntax and IG usage (SNIP 1-2); it does not know that a secondary payer rejects a claim
whose prior-payer money does not add up, whose adjudication dates sit at two levels, or whose SBR01
sequence skips a payer. These checks run on the claim the builder produced, before it is written, so a
claim the destination would reject is held back with a reason instead of going out.

`check_claim(claim)` returns a list of `Finding`s; an empty list means the claim passed. Each finding has
a stable `code` (see `CODES`), a plain message, and where it applies the prior payer id and the LX01
line number. Messages never carry names or member ids: only the claim id (CLM01), payer ids, line
numbers, codes and amounts, so they can go into logs and reports as they are.

Money is compared as `Decimal`, exactly: the balancing rules are equalities, and a payer rejects a claim
that is off by one cent.

A "prior payer" is a 2320 that has AMT*D (it adjudicated the claim); its id is its 2330B NM109, which
every 2430 SVD01 reporting that payer's line decisions must repeat. Each prior payer is balanced on its
own; payers are never summed together (§1.9).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from cob.schemas.base import format_amount
from cob.schemas.claim import Claim, LineAdjudication, OtherPayer, ServiceLine
from cob.schemas.codes import PayerSequence
from cob.schemas.segments import CAS

Severity = Literal["error", "warning"]

#: Stable finding codes and what each means. Scripts and reports key on these strings.
CODES: dict[str, str] = {
    "claim_charge": "CLM02 differs from the sum of the line charges (SV102)",
    "line_balance": "a line charge differs from a prior payer's SVD02 plus its CAS on that line",
    "claim_vs_lines": "a prior payer's AMT*D differs from its SVD02 total minus its claim-level CAS",
    "claim_balance": "CLM02 differs from a prior payer's AMT*D plus all its CAS (2320 and 2430)",
    "missing_line_adjudication": "a prior payer reported some lines in 2430 but not this one",
    "missing_payer_id": "an adjudicated 2320 has no 2330B payer id (NM109)",
    "duplicate_payer_id": "two adjudicated 2320s name the same payer id, so their 2430s cannot be told apart",
    "svd_payer_id": "a 2430 SVD01 names no adjudicated 2320's 2330B payer id",
    "negative_svd": "a 2430 reports a negative paid amount (SVD02)",
    "duplicate_cas_group": "the same CAS group code appears twice in one 2320 or 2430",
    "cas_reason_amount": "a CAS reason without an amount, or an amount/quantity without a reason",
    "adjudication_date_level": "DTP*573 is not at exactly one level (every 2430, or else 2330B) for a payer",
    "eaf_level": "AMT*EAF is reported at both claim (2320) and line (2430) level for a payer",
    "payer_sequence": "SBR01 sequences are repeated, skip a level, or put a prior payer after the destination",
    "destination_in_2320": "a 2320 describes the destination payer itself",
    "too_many": "more 2320, 2430 or 2400 loops than the IG allows",
    "ref_f8_frequency": "2300 REF*F8 present without CLM05-3 7/8, or missing with 7/8",
    "amt_a8": "AMT*A8 (cost-avoided non-covered amount) in a 2320 that has AMT*D",
    "missing_payer_claim_number": "an adjudicated payer's 2330B has no REF*F8 (its claim control number)",
}

#: Codes that describe a risk rather than a certain rejection: many payers (Medicaid especially)
#: require the prior payer's claim number, but the TR3 trigger wording is uncertain (§1.5).
WARNINGS: frozenset[str] = frozenset({"missing_payer_claim_number"})

MAX_OTHER_PAYERS = 10  # 2320 repeat
MAX_LINE_ADJUDICATIONS = 15  # 2430 repeat per 2400
MAX_LINES = 50  # 2400 repeat
REPLACEMENT_FREQUENCIES = frozenset({"7", "8"})
ZERO = Decimal(0)


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
    """Every finding on a built claim, in a stable order (claim-wide first, then per payer)."""
    findings: list[Finding] = []
    for check in CHECKS:
        findings.extend(check(claim))
    return findings


def errors(findings: Iterable[Finding]) -> list[Finding]:
    """The findings that should stop the claim (warnings left out)."""
    return [f for f in findings if f.is_error]


# ---------------------------------------------------------------------------------------- helpers


def _finding(claim: Claim, code: str, text: str, payer_id: str | None = None, line: int | None = None) -> Finding:
    """A finding whose message starts with the claim id, so a log line stands on its own."""
    severity: Severity = "warning" if code in WARNINGS else "error"
    return Finding(code, f"claim {claim.claim_id}: {text}", payer_id, line, severity)


def _m(amount: Decimal) -> str:
    return format_amount(amount)


def _cas_total(adjustments: Iterable[CAS]) -> Decimal:
    """Every amount of the CAS segments, whether or not its reason is present (a stray amount is still money)."""
    return sum([a for cas in adjustments for a in cas.amounts()], ZERO)


def _line_no(line: ServiceLine) -> int:
    return line.lx.number


def _prior_payers(claim: Claim) -> list[OtherPayer]:
    """2320s that adjudicated the claim (have AMT*D)."""
    return [op for op in claim.other_payers if op.paid_amount is not None]


def _payer_label(op: OtherPayer) -> str:
    """How a message names a 2320: its payer id and SBR01, never the subscriber."""
    return f"payer {op.payer_id or '(no id)'} (SBR01 {op.sbr.payer_sequence.value})"


def _adjudications_for(line: ServiceLine, payer_id: str | None) -> list[LineAdjudication]:
    return [a for a in line.adjudications if payer_id is not None and a.svd.payer_id == payer_id]


# ---------------------------------------------------------------------------------------- claim-wide


def check_claim_charge(claim: Claim) -> Iterator[Finding]:
    """§1.9 rule 1: CLM02 == sum of SV102 (SNIP 3; every payer checks it)."""
    lines_total = sum([line.sv1.charge for line in claim.lines], ZERO)
    if claim.charge != lines_total:
        yield _finding(claim, "claim_charge",
                       f"CLM02 {_m(claim.charge)} != sum of line charges {_m(lines_total)}")


def check_too_many(claim: Claim) -> Iterator[Finding]:
    """IG repeat limits: a claim beyond them cannot be sent as one claim (§3.4, §3.6)."""
    if len(claim.other_payers) > MAX_OTHER_PAYERS:
        yield _finding(claim, "too_many",
                       f"{len(claim.other_payers)} 2320 loops (at most {MAX_OTHER_PAYERS})")
    if len(claim.lines) > MAX_LINES:
        yield _finding(claim, "too_many", f"{len(claim.lines)} service lines (at most {MAX_LINES})")
    for line in claim.lines:
        if len(line.adjudications) > MAX_LINE_ADJUDICATIONS:
            yield _finding(claim, "too_many",
                           f"line {_line_no(line)}: {len(line.adjudications)} 2430 loops "
                           f"(at most {MAX_LINE_ADJUDICATIONS})", line=_line_no(line))


def check_ref_f8_frequency(claim: Claim) -> Iterator[Finding]:
    """2300 REF*F8 is the DESTINATION payer's claim number, for replacements/voids only [RFI 2110].

    Copying the primary's ICN here instead of into 2330B is a common mistake; the destination would
    read the claim as a replacement of a claim it never saw.
    """
    has_f8 = claim.ref("F8") is not None
    frequency = claim.frequency
    if has_f8 and frequency not in REPLACEMENT_FREQUENCIES:
        yield _finding(claim, "ref_f8_frequency",
                       f"2300 REF*F8 present with claim frequency {frequency or '(none)'}; "
                       "only a replacement (7) or void (8) carries it")
    elif not has_f8 and frequency in REPLACEMENT_FREQUENCIES:
        yield _finding(claim, "ref_f8_frequency",
                       f"claim frequency {frequency} requires 2300 REF*F8 (the destination's claim number)")


def check_cas_segments(claim: Claim) -> Iterator[Finding]:
    """§1.8: one CAS per group code per loop, and every reason paired with an amount.

    Covers every 2320 and every 2430, adjudicated or not. The CAS model already holds at most six
    trios, so "more than six" cannot occur on a parsed or built segment.
    """
    for op in claim.other_payers:
        if not _cas_sound(op.adjustments):
            yield from _cas_findings(claim, op.adjustments, f"2320 of {_payer_label(op)}", op.payer_id, None)
    for line in claim.lines:
        for adj in line.adjudications:
            if not _cas_sound(adj.adjustments):
                where = f"line {_line_no(line)}: 2430 of payer {adj.svd.payer_id}"
                yield from _cas_findings(claim, adj.adjustments, where, adj.svd.payer_id, _line_no(line))


def _cas_sound(adjustments: list[CAS]) -> bool:
    """No group twice, every reason with an amount, no amount or quantity without its reason: the usual
    case, told cheaply, so only the rest pays for `_cas_findings` and its messages."""
    if len(adjustments) > 1 and len({cas.group for cas in adjustments}) < len(adjustments):
        return False
    for cas in adjustments:
        values = cas.element_values()  # the group, then six (reason, amount, quantity) trios
        reasons = values[1::3]
        n = 6 - reasons.count(None)
        if values[1 + 3 * n:].count(None) == 18 - 3 * n and all(reasons[:n]) and None not in values[2:3 * n:3]:
            continue  # trios packed from the first, each with its reason and amount
        for reason, amount, quantity in cas.slots():
            if reason:
                if amount is None:
                    return False
            elif amount is not None or quantity is not None:
                return False
    return True


def _cas_findings(claim: Claim, adjustments: list[CAS], where: str, payer_id: str | None,
                  line: int | None) -> Iterator[Finding]:
    if len(adjustments) > 1:
        counts = Counter(cas.group.value for cas in adjustments)
        for group, n in sorted(counts.items()):
            if n > 1:
                yield _finding(claim, "duplicate_cas_group", f"{where}: CAS group {group} appears {n} times",
                               payer_id, line)
    for cas in adjustments:
        for i, (reason, amount, quantity) in enumerate(cas.slots(), start=1):
            if reason and amount is None:
                yield _finding(claim, "cas_reason_amount",
                               f"{where}: CAS {cas.group.value} reason {reason} (trio {i}) has no amount",
                               payer_id, line)
            elif not reason and (amount is not None or quantity is not None):
                yield _finding(claim, "cas_reason_amount",
                               f"{where}: CAS {cas.group.value} trio {i} has an amount or quantity but no reason",
                               payer_id, line)


def check_negative_svd(claim: Claim) -> Iterator[Finding]:
    """§3.3: SVD02 < 0 means a reversal slipped into the line data; no payer accepts it."""
    for line in claim.lines:
        for adj in line.adjudications:
            if adj.svd.paid < 0:
                yield _finding(claim, "negative_svd",
                               f"line {_line_no(line)}: payer {adj.svd.payer_id} SVD02 {_m(adj.svd.paid)} is negative",
                               adj.svd.payer_id, _line_no(line))


# ---------------------------------------------------------------------------------------- payer ids


def check_payer_ids(claim: Claim) -> Iterator[Finding]:
    """Each adjudicated 2320 needs a distinct 2330B id, and every SVD01 must name one of them (§1.5).

    A 2430 whose SVD01 matches no adjudicated payer is money the destination cannot attribute: it
    either drops the line data or rejects the claim.
    """
    ids = []
    for op in _prior_payers(claim):
        payer_id = op.payer_id
        if payer_id:
            ids.append(payer_id)
        else:
            yield _finding(claim, "missing_payer_id",
                           f"adjudicated 2320 (SBR01 {op.sbr.payer_sequence.value}) has no 2330B NM109")
    if len(ids) > 1:  # (one prior payer is the usual case: nothing to count)
        for payer_id, n in sorted(Counter(ids).items()):
            if n > 1:
                yield _finding(claim, "duplicate_payer_id", f"{n} adjudicated 2320s name payer {payer_id}", payer_id)
    known = set(ids)
    for line in claim.lines:
        for adj in line.adjudications:
            svd01 = adj.svd.payer_id
            if svd01 in known:
                continue
            unadjudicated = {op.payer_id for op in claim.other_payers if op.paid_amount is None and op.payer_id}
            why = "a 2320 without AMT*D" if svd01 in unadjudicated else "no 2320's 2330B"
            yield _finding(claim, "svd_payer_id",
                           f"line {_line_no(line)}: SVD01 {svd01} matches {why}", svd01, _line_no(line))


def check_destination_in_2320(claim: Claim) -> Iterator[Finding]:
    """§3.2: the 2320 describing the new destination is dropped when the claim is re-homed (§3.8 item 8)."""
    payer = claim.payer
    destination = payer.id if payer else None
    if not destination:
        return
    subscriber = claim.subscriber.subscriber if claim.subscriber else None  # 2010BA
    member = subscriber.name.id if subscriber else None
    for op in claim.other_payers:
        if op.payer_id != destination:
            continue
        # the same payer may cover the patient under a second policy (another member id): that is a
        # different coverage, not the destination listed twice
        other_member = op.subscriber.name.id if op.subscriber else None
        if other_member is None or member is None or other_member == member:
            yield _finding(claim, "destination_in_2320",
                           f"2320 SBR01 {op.sbr.payer_sequence.value} names the destination payer {destination}",
                           destination)


# ---------------------------------------------------------------------------------------- sequence


def check_payer_sequence(claim: Claim) -> Iterator[Finding]:
    """§3.6: SBR01 codes unique, no level skipped, prior payers before the destination.

    The destination's level must be the next after the payers ranked before it, and every payer ranked
    before it must have adjudicated (AMT*D) or been cost-avoided (AMT*A8): otherwise we would be billing
    out of order. With only adjudicated prior payers this is "destination = next after the highest
    adjudicated" (secondary after P, tertiary after P and S). `U` (unknown) is never a valid level for
    the destination or a prior payer, and may repeat on 2320s that only name a later payer.
    """
    if claim.subscriber is None:
        yield _finding(claim, "payer_sequence", "no 2000B SBR: the destination's sequence is unknown")
        return
    dest = claim.subscriber.sbr.payer_sequence
    yield from _duplicate_sequences(claim, dest)
    if dest is PayerSequence.UNKNOWN:
        yield _finding(claim, "payer_sequence", "destination SBR01 is U (unknown); it must be a known level")
        return
    levels_before: set[int] = set()
    for op in claim.other_payers:
        seq = op.sbr.payer_sequence
        adjudicated = op.paid_amount is not None
        before = seq is not PayerSequence.UNKNOWN and seq.rank < dest.rank
        if adjudicated and not before:
            yield _finding(claim, "payer_sequence",
                           f"{_payer_label(op)} adjudicated but is not ranked before the destination "
                           f"(SBR01 {dest.value})", op.payer_id)
        if before:
            levels_before.add(seq.rank)
            if not adjudicated and not _has_amount(op, "A8"):
                yield _finding(claim, "payer_sequence",
                               f"{_payer_label(op)} is ranked before the destination (SBR01 {dest.value}) "
                               "but has neither AMT*D nor AMT*A8", op.payer_id)
    missing = set(range(1, dest.rank)) - levels_before
    if missing:
        hint = ""
        if levels_before == set(range(1, len(levels_before) + 1)):
            hint = f"; expected {PayerSequence.for_rank(len(levels_before) + 1).value}"
        yield _finding(claim, "payer_sequence",
                       f"destination SBR01 {dest.value} but no 2320 holds level(s) {_sequence_list(missing)} "
                       f"(prior payers: {_sequence_list(levels_before) or 'none'}){hint}")


def _duplicate_sequences(claim: Claim, dest: PayerSequence) -> Iterator[Finding]:
    sequences = [dest] + [op.sbr.payer_sequence for op in claim.other_payers]
    if len(set(sequences)) == len(sequences):
        return  # (the usual case: nothing to count)
    counts = Counter(sequences)
    for seq, n in counts.items():
        if n > 1 and (seq is not PayerSequence.UNKNOWN or seq is dest):
            yield _finding(claim, "payer_sequence", f"SBR01 {seq.value} is used {n} times (2000B and 2320s)")


def _sequence_list(ranks: Iterable[int]) -> str:
    return ",".join(PayerSequence.for_rank(r).value for r in sorted(set(ranks)))


def _has_amount(op: OtherPayer, qualifier: str) -> bool:
    return any(a.qualifier == qualifier for a in op.amounts)


# ---------------------------------------------------------------------------------------- per prior payer


def check_prior_payers(claim: Claim) -> Iterator[Finding]:
    """§1.9 rules 2-5 and the one-level rules of §3.8 item 5, for each adjudicated 2320 on its own."""
    for op in claim.other_payers:
        paid = op.paid_amount
        if paid is not None:
            yield from _check_payer(claim, _PriorPayer.of(claim, op, paid))


@dataclass(slots=True)
class _PriorPayer:
    """An adjudicated 2320 with its 2430s and their sums, found once for all the rules below."""

    op: OtherPayer
    payer_id: str | None
    paid_amount: Decimal  # AMT*D
    by_line: list[tuple[ServiceLine, list[LineAdjudication]]]  # every line, with this payer's 2430s on it
    adjudications: list[tuple[ServiceLine, LineAdjudication]]  # this payer's 2430s in line order
    line_sums: list[tuple[ServiceLine, Decimal, Decimal]]  # each line it reported: its SVD02s, its CAS amounts
    claim_cas: Decimal  # every amount of its 2320 CAS
    line_paid: Decimal  # all its SVD02s
    line_cas: Decimal  # every amount of its 2430 CAS

    @classmethod
    def of(cls, claim: Claim, op: OtherPayer, paid_amount: Decimal) -> "_PriorPayer":
        payer_id = op.payer_id
        by_line = [(line, _adjudications_for(line, payer_id)) for line in claim.lines]
        line_sums = [(line, sum([a.svd.paid for a in adjs], ZERO),
                      _cas_total([cas for a in adjs for cas in a.adjustments])) for line, adjs in by_line if adjs]
        return cls(op, payer_id, paid_amount, by_line, [(line, a) for line, adjs in by_line for a in adjs],
                   line_sums, _cas_total(op.adjustments), sum([paid for _line, paid, _cas in line_sums], ZERO),
                   sum([cas for _line, _paid, cas in line_sums], ZERO))


def _check_payer(claim: Claim, payer: _PriorPayer) -> Iterator[Finding]:
    op = payer.op
    yield from _line_balance(claim, payer)
    if payer.line_sums:
        yield from _claim_vs_lines(claim, payer)
        yield from _missing_lines(claim, payer)
    yield from _claim_balance(claim, payer)
    yield from _adjudication_date_level(claim, payer, bool(payer.line_sums))
    yield from _eaf_level(claim, payer)
    yield from _payer_claim_number(claim, op)
    if _has_amount(op, "A8"):
        yield _finding(claim, "amt_a8",
                       f"{_payer_label(op)} has AMT*D and AMT*A8; A8 is only for a cost-avoided payer",
                       payer.payer_id)


def _line_balance(claim: Claim, payer: _PriorPayer) -> Iterator[Finding]:
    """Rule 2: SV102(L) == sum(SVD02) + sum(CAS) over X's 2430s on L."""
    for line, paid, adjusted in payer.line_sums:
        if line.sv1.charge != paid + adjusted:
            yield _finding(claim, "line_balance",
                           f"line {_line_no(line)}: charge {_m(line.sv1.charge)} != payer {payer.payer_id} "
                           f"paid {_m(paid)} + adjustments {_m(adjusted)} = {_m(paid + adjusted)}",
                           payer.payer_id, _line_no(line))


def _claim_vs_lines(claim: Claim, payer: _PriorPayer) -> Iterator[Finding]:
    """Rule 3: AMT*D == sum(SVD02 of X) - sum(CAS in X's 2320); only with line-level data."""
    op = payer.op
    line_paid, claim_cas = payer.line_paid, payer.claim_cas
    expected = line_paid - claim_cas
    if payer.paid_amount != expected:
        yield _finding(claim, "claim_vs_lines",
                       f"{_payer_label(op)}: AMT*D {_m(payer.paid_amount)} != line paid {_m(line_paid)} "
                       f"- claim adjustments {_m(claim_cas)} = {_m(expected)}", payer.payer_id)


def _claim_balance(claim: Claim, payer: _PriorPayer) -> Iterator[Finding]:
    """Rules 4/5: CLM02 == AMT*D + CAS in X's 2320 + CAS in X's 2430s (the check payers run)."""
    op = payer.op
    claim_cas, line_cas = payer.claim_cas, payer.line_cas
    total = payer.paid_amount + claim_cas + line_cas
    if claim.charge != total:
        yield _finding(claim, "claim_balance",
                       f"{_payer_label(op)}: CLM02 {_m(claim.charge)} != AMT*D {_m(payer.paid_amount)} "
                       f"+ claim adjustments {_m(claim_cas)} + line adjustments {_m(line_cas)} = {_m(total)}",
                       payer.payer_id)


def _missing_lines(claim: Claim, payer: _PriorPayer) -> Iterator[Finding]:
    """§3.4: a line without X's 2430 on a line-level claim breaks rule 4; every line needs one."""
    for line, adjs in payer.by_line:
        if not adjs:
            yield _finding(claim, "missing_line_adjudication",
                           f"line {_line_no(line)} has no 2430 for {_payer_label(payer.op)}, "
                           "which reported other lines",
                           payer.payer_id, _line_no(line))


def _adjudication_date_level(claim: Claim, payer: _PriorPayer, line_level: bool) -> Iterator[Finding]:
    """DTP*573 on every one of X's 2430s and not in 2330B, or (claim level only) in 2330B (§1.5, §3.5)."""
    op = payer.op
    party = op.payer
    payer_date = party.date("573") if party else None
    if not line_level:
        if payer_date is None:
            yield _finding(claim, "adjudication_date_level",
                           f"{_payer_label(op)} has no 2430s and no 2330B DTP*573", payer.payer_id)
        return
    if payer_date is not None:
        yield _finding(claim, "adjudication_date_level",
                       f"{_payer_label(op)} has 2430s, so 2330B must not carry DTP*573", payer.payer_id)
    for line, adj in payer.adjudications:
        if adj.adjudication_date is None:
            yield _finding(claim, "adjudication_date_level",
                           f"line {_line_no(line)}: 2430 of payer {payer.payer_id} has no DTP*573",
                           payer.payer_id, _line_no(line))


def _eaf_level(claim: Claim, payer: _PriorPayer) -> Iterator[Finding]:
    """AMT*EAF never at both 2320 and 2430 for one payer [RFI 1391, 1517]: it would count twice."""
    op = payer.op
    if op.remaining_patient_liability is None:
        return
    lines = sorted({_line_no(line) for line, adj in payer.adjudications
                    if adj.remaining_patient_liability is not None})
    if lines:
        yield _finding(claim, "eaf_level",
                       f"{_payer_label(op)} has AMT*EAF in 2320 and in 2430 on line(s) "
                       f"{','.join(map(str, lines))}", payer.payer_id)


def _payer_claim_number(claim: Claim, op: OtherPayer) -> Iterator[Finding]:
    """§3.8 item 10: the prior payer's ICN (835 CLP07) belongs in 2330B REF*F8."""
    party = op.payer
    if party is None or party.ref("F8") is None:
        yield _finding(claim, "missing_payer_claim_number",
                       f"{_payer_label(op)} has no 2330B REF*F8 (prior payer claim number)", op.payer_id)


CHECKS = (
    check_claim_charge,
    check_too_many,
    check_ref_f8_frequency,
    check_payer_sequence,
    check_destination_in_2320,
    check_payer_ids,
    check_negative_svd,
    check_cas_segments,
    check_prior_payers,
)
