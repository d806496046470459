"""The raw-segment adapter of the COB rule book: an 837P claim's located segments -> `ClaimView`.

SNIP 3 and 4 of an 837P claim are the rule book's (`cob.rules.book`); this module reads the claim's
segments once (`parse_837`) into the book's view and turns the book's violations back into findings at
their segment and element (`check_claim`). The same pass collects what SNIP 5 reads (`Claim837`), so a
claim's segments are walked once for all three.

The view's locators are the validator's located segments `(loop id, elements, segment no, ST
position)`: a violation's `at` is the segment the finding names, its `element` the element in it.
Amounts go into the view as `Decimal`, `None` when the element is empty and `UNREADABLE` when it is not
a number (the SNIP 1-2 engine reports that); composites (CLM05) are split here with the file's
component separator, so the book reads no delimiters.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from cob.rules import book
from cob.rules.view import (
    UNREADABLE,
    Amount,
    CasView,
    ClaimView,
    LineAdjudicationView,
    LineView,
    OtherPayerView,
)

from .context import ClaimContext, LocatedSegment

#: parsed amounts by their text ("" is absent); files repeat the same few amounts over and over
_AMOUNTS: dict[str, Amount] = {"": None}


def amount_of(value: str) -> Amount:
    """An amount element as the view holds it: `Decimal`, None when empty, `UNREADABLE` when it is
    not a finite number. Memoized (bounded)."""
    try:
        return _AMOUNTS[value]
    except KeyError:
        pass
    try:
        d: Amount = Decimal(value)
    except (InvalidOperation, ValueError):
        d = UNREADABLE
    else:
        if not d.is_finite():
            d = UNREADABLE
    if len(_AMOUNTS) > 100_000:
        _AMOUNTS.clear()
        _AMOUNTS[""] = None
    _AMOUNTS[value] = d
    return d


_amount_known = _AMOUNTS.__getitem__
_new_cas = tuple.__new__


def _cas(seg: LocatedSegment) -> CasView:
    """A CAS segment's group and the trios its elements reach (CAS02-19)."""
    elements = seg[1]
    if len(elements) == 4:  # one reason and its amount: nine CAS in ten
        try:
            amount = _AMOUNTS[elements[3]]
        except KeyError:
            amount = amount_of(elements[3])
        return _new_cas(CasView, (elements[1], (elements[2],), (amount,), (), seg))
    texts = elements[3:20:3]
    try:
        amounts = list(map(_amount_known, texts))  # (amounts seen before: nearly all)
    except KeyError:
        amounts = list(map(amount_of, texts))
    return _new_cas(CasView, (elements[1] if len(elements) > 1 else "", elements[2:20:3], amounts,
                              elements[4:20:3], seg))


class SvdBlock:
    """What SNIP 5 reads of one SVD and the segments after it: its CAS and DTP*573, and the service line
    it belongs to (an index into `Claim837.service_dates`; -1 before any LX). SNIP 5 opens one on every
    SVD, where the view's 2430 needs an open 2400, so the two are kept apart."""

    __slots__ = ("cas", "dtp573", "line")

    def __init__(self, line: int):
        self.cas: list[LocatedSegment] = []
        self.dtp573: LocatedSegment | None = None
        self.line = line


class Claim837:
    """The one reading of an 837P claim that SNIP 3, 4 and 5 share (see `parse_837`): the rule book's
    view, and the segments SNIP 5 checks codes in."""

    __slots__ = ("view", "coded", "svd_blocks", "service_dates", "moa", "statement")

    def __init__(self) -> None:
        self.view = ClaimView()
        #: SNIP 5: the segments with code checks of their own (SBR, SV1, HI, CLM, NM1, N1, N4), in order
        self.coded: list[LocatedSegment] = []
        #: SNIP 5: one per SVD, in file order
        self.svd_blocks: list[SvdBlock] = []
        #: SNIP 5: per LX, its last 2400 DTP*472 (the line's service date), or None
        self.service_dates: list[LocatedSegment | None] = []
        #: SNIP 5: each 2320 MOA (a prior payer's remark codes) with the index of its 2320 in `view.payers`
        self.moa: list[tuple[LocatedSegment, int]] = []
        #: SNIP 5: the 837I's 2300 DTP*434 (statement period): the service date of a stay whose lines have none
        self.statement: LocatedSegment | None = None


#: the segments `parse_837` reads; a claim's others (N3, DMG, PRV, OI, ...) are passed over at once
_PARSED = frozenset({"CAS", "DTP", "AMT", "SVD", "LX", "SV1", "SBR", "NM1", "CLM", "REF", "HI", "N1", "N4",
                     "SV2", "CL1", "MOA"})
#: the 837I's guide: its claims are told by content (CL1, required in its 2300, or an SV2 line)
_X223 = "005010X223A2"


def parse_837(ctx: ClaimContext) -> Claim837:
    """One pass over the claim's segments, grouped by loop instance, for SNIP 3, 4 and 5: the rules run
    on every claim of a file, and walking its segments once (not once per module) is most of what keeps
    them cheap. Kept on the context, so the first module to ask builds it."""
    if isinstance(ctx.parsed, Claim837):
        return ctx.parsed
    c = ctx.parsed = Claim837()
    view = c.view
    coded = c.coded
    dates = c.service_dates
    memo = _AMOUNTS
    payer: OtherPayerView | None = None
    line: LineView | None = None
    adj: LineAdjudicationView | None = None
    block: SvdBlock | None = None
    for seg in ctx.segments:
        elements = seg[1]
        sid = elements[0]
        if sid not in _PARSED:
            continue
        loop = seg[0]
        if sid == "CAS":
            if loop == "2430":
                if adj is not None:
                    adj.cas.append(_cas(seg))
                if block is not None:
                    block.cas.append(seg)
            elif loop == "2320" and payer is not None:
                payer.cas.append(_cas(seg))
        elif sid == "DTP":
            q = elements[1] if len(elements) > 1 else ""
            if q == "573":
                if loop == "2430":
                    if adj is not None:
                        adj.date = seg
                    if block is not None:
                        block.dtp573 = seg
                elif loop == "2330B" and payer is not None:
                    payer.date = seg
            elif q == "472" and loop == "2400" and dates:
                dates[-1] = seg
            elif q == "434" and loop == "2300":
                c.statement = seg
        elif sid == "AMT":
            q = elements[1] if len(elements) > 1 else ""
            if loop == "2430":
                if adj is not None and q == "EAF":
                    adj.eaf = seg
            elif loop == "2320" and payer is not None:
                if q == "D":
                    v = elements[2] if len(elements) > 2 else ""
                    payer.paid = memo[v] if v in memo else amount_of(v)
                    payer.paid_at = seg
                elif q == "EAF":
                    payer.eaf = seg
                elif q == "A8":
                    payer.a8 = seg
        elif sid == "MOA":
            if loop == "2320" and payer is not None:
                c.moa.append((seg, len(view.payers) - 1))
        elif sid == "SVD":
            if loop == "2430" and line is not None:
                n = len(elements)
                v = elements[2] if n > 2 else ""
                adj = LineAdjudicationView(elements[1] if n > 1 else "", memo[v] if v in memo else amount_of(v),
                                           line.number, seg)
                line.adjudications.append(adj)
            block = SvdBlock(len(dates) - 1)
            c.svd_blocks.append(block)
            if view.guide == _X223:
                coded.append(seg)  # SVD04: an 837I revenue code
        elif sid == "LX":
            if loop == "2400":
                line = LineView(elements[1] if len(elements) > 1 else "", seg)
                view.lines.append(line)
                adj = None
            dates.append(None)
        elif sid == "SV1":
            if loop == "2400" and line is not None:
                v = elements[2] if len(elements) > 2 else ""
                line.charge = memo[v] if v in memo else amount_of(v)
                line.charge_at = seg
            coded.append(seg)
        elif sid == "SV2" or sid == "CL1":  # an 837I claim: SV203 is the line charge
            if view.guide != _X223:
                view.guide, view.charge_element = _X223, "SV203"
            if sid == "SV2" and loop == "2400" and line is not None:
                v = elements[3] if len(elements) > 3 else ""
                line.charge = memo[v] if v in memo else amount_of(v)
                line.charge_at = seg
            coded.append(seg)
        elif sid == "SBR":
            if loop == "2320":
                payer = OtherPayerView(elements[1] if len(elements) > 1 else "", seg)
                view.payers.append(payer)
            elif loop == "2000B":
                view.sequence = elements[1] if len(elements) > 1 else ""
                view.sequence_at = seg
            coded.append(seg)
        elif sid == "NM1":
            if loop == "2330B":
                if payer is not None:
                    payer.name_at = seg
                    payer.payer_id = elements[9] if len(elements) > 9 else ""
            elif loop == "2330A":
                if payer is not None:
                    payer.member_id = (elements[9] if len(elements) > 9 else "") or None
            elif loop == "2010BB":
                view.payer_id = elements[9] if len(elements) > 9 else ""
            elif loop == "2010BA":
                view.member_id = (elements[9] if len(elements) > 9 else "") or None
            coded.append(seg)
        elif sid == "CLM":
            if loop == "2300":
                view.at = seg
                n = len(elements)
                v = elements[2] if n > 2 else ""
                view.charge = memo[v] if v in memo else amount_of(v)
                composite = elements[5] if n > 5 else ""
                if composite:
                    parts = composite.split(ctx.component_sep)
                    view.frequency = parts[2] if len(parts) > 2 else ""
            coded.append(seg)
        elif sid == "REF":
            if len(elements) > 1 and elements[1] == "F8":
                if loop == "2300":
                    view.ref_f8 = seg
                elif loop == "2330B" and payer is not None:
                    payer.ref_f8 = seg
        elif sid == "HI" or sid == "N1" or sid == "N4":
            coded.append(seg)
    return c


def check_claim(ctx: ClaimContext, snip) -> None:
    """The rule book's rules of the SNIP types `snip` (3, 4) over an 837P claim, as findings."""
    finding = ctx.finding
    rules = book.RULES
    for v in book.check(parse_837(ctx).view, snip):
        rule = rules[v.code]
        finding(rule.snip, v.code, v.message, v.at, element=v.element, element_pos=v.element_pos,
                component_pos=v.component_pos, severity=rule.severity)
