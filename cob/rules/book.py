"""The COB rule book: every rule a coordination-of-benefits 837P or 837I claim must satisfy, written once.

Two programs judge COB claims and must never disagree: `cob validate` (SNIP 3 and 4 over the raw
segments of any 837P) and `cob secondary` (the pre-write check on every claim it builds, before the
claim is written). Both fill a `ClaimView` (`cob.rules.view`) with their adapter
(`cob.edi.validate.claim_view` from raw segments, `cob.billing.checks` from pydantic models) and call
`check(view)` here. `tests/test_rule_parity.py` runs one table of claims through both and requires
the same findings.

`RULES` is the one table of what can be found: per code its severity, its WEDI SNIP type and its
meaning, decided here and nowhere else. The balancing equations (reference §1.9; each prior payer X,
a 2320 with AMT*D, is balanced on its own, payers are never summed together):

- `clm02_sum`            CLM02 == sum(SV102)
- `cob_line_balance`     per line L and payer X: SV102(L) == sum(SVD02 of X's 2430s on L) + sum(their CAS)
- `cob_claim_vs_lines`   per X with 2430s: AMT*D == sum(SVD02 of X) - sum(CAS in X's 2320)
- `cob_claim_balance`    per X: CLM02 == AMT*D + sum(CAS in X's 2320) + sum(CAS in X's 2430s)
                         (no 2430s for X: CLM02 == AMT*D + 2320 CAS; its message names the lines that
                         lack a 2430 of a payer that reported others: that is why it fails then)

Every CAS amount counts, whether or not its reason is there (a stray amount is still money). An amount
the view marks `UNREADABLE`, or a required one that is absent, is the SNIP 1-2 engine's to report: an
equation that needs it is skipped without a finding. A payer id carried by two adjudicated 2320s and
named by 2430s is `duplicate_payer_id` (an error: those 2430s cannot be attributed), and the line
equations of that id are skipped rather than reported a second time in other words.

The situational rules (reference §1.5-1.8, §3.6, §3.8) are in `RULES` below with their meanings.
`too_many` is SNIP 2: the repeat limits are the implementation guide's own (`repeat_limit`, read from
the IG tables). The validator's IG walk reports the same fact for every loop as `loop_repeat` (with
its 999 codes), so `cob validate` does not ask for SNIP 2 rules here; `Rule.ig_code` records the twin.

Messages name codes, payer ids, line numbers and amounts, never a subscriber or member id.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from functools import lru_cache
from typing import Any, NamedTuple

from .view import UNREADABLE, CasView, ClaimView, LineAdjudicationView, Locator, OtherPayerView

ERROR = "error"
WARNING = "warning"

#: the implementation guide the limits come from
IG_837P = "005010X222A1"


class Rule(NamedTuple):
    """One rule: what a finding with this code means and how bad it is, decided once."""

    severity: str  # "error" or "warning"
    snip: int  # WEDI SNIP type: 2 IG structure, 3 balancing, 4 situational
    meaning: str
    #: when the validator's IG walk (SNIP 1-2) reports the same fact itself: its code there
    ig_code: str | None = None


#: Every code the book can report, in the order `check` reports them. Scripts, `cob validate --format
#: json` and the `cob secondary` report key on these strings.
RULES: dict[str, Rule] = {
    # SNIP 2: structure the implementation guide sets
    "too_many": Rule(ERROR, 2, "more 2320 loops, 2400 loops or 2430 loops on a line than the implementation "
                     "guide repeats (read from the IG tables)", ig_code="loop_repeat"),
    # SNIP 3: balancing (reference §1.9)
    "clm02_sum": Rule(ERROR, 3, "CLM02 differs from the sum of the line charges (SV102)"),
    "cob_line_balance": Rule(ERROR, 3, "a line charge differs from a prior payer's SVD02 plus its CAS on that line"),
    "cob_claim_vs_lines": Rule(ERROR, 3, "a prior payer's AMT*D differs from its SVD02 total minus its 2320 CAS"),
    "cob_claim_balance": Rule(ERROR, 3, "CLM02 differs from a prior payer's AMT*D plus all its CAS (2320 and 2430)"),
    # SNIP 4: situational rules
    "ref_f8_frequency": Rule(ERROR, 4, "2300 REF*F8 present with CLM05-3 other than 7/8, or missing with 7/8"),
    "destination_in_2320": Rule(ERROR, 4, "a 2320 lists the payer being billed again: the destination's payer id "
                                "with the destination's member id (or an unknown one)"),
    "payer_sequence_duplicate": Rule(ERROR, 4, "an SBR01 code repeated across 2000B and the 2320s (U may repeat on "
                                     "2320s)"),
    "payer_sequence_order": Rule(WARNING, 4, "2320 SBR01 codes not in P, S, T, A..H order"),
    "payer_sequence_after_destination": Rule(ERROR, 4, "a 2320 that adjudicated (AMT*D) is not ranked before the "
                                             "destination's SBR01"),
    "payer_sequence_unadjudicated": Rule(ERROR, 4, "a 2320 ranked before the destination has neither AMT*D nor "
                                         "AMT*A8 (nor anything else of an adjudication)"),
    "payer_sequence_gap": Rule(ERROR, 4, "the destination's SBR01 skips a level: no 2320 holds some level before it"),
    "duplicate_payer_id": Rule(ERROR, 4, "two adjudicated 2320s carry the payer id that 2430s name, so those 2430s "
                               "cannot be attributed"),
    "svd_payer_id": Rule(ERROR, 4, "a 2430 SVD01 names no 2320's 2330B payer id (NM109)"),
    "negative_svd": Rule(ERROR, 4, "a 2430 reports a negative paid amount (SVD02)"),
    "cas_reason_amount": Rule(ERROR, 4, "a CAS reason without an amount, or an amount or quantity without a reason"),
    "duplicate_cas_group": Rule(ERROR, 4, "the same CAS group code twice in one 2320 or one 2430"),
    "payer_paid_missing": Rule(ERROR, 4, "a 2320 without AMT*D although its payer adjudicated the claim (2320 CAS, "
                               "2330B DTP*573 or 2430s naming it)"),
    "adjudication_date_missing": Rule(ERROR, 4, "an adjudicated payer (AMT*D) with no 2430s and no 2330B DTP*573"),
    "amt_a8_with_paid": Rule(WARNING, 4, "AMT*A8 (cost avoided) in a 2320 that also has AMT*D"),
    "adjudication_date_level": Rule(ERROR, 4, "2330B DTP*573 for a payer that reports 2430s: the date belongs in "
                                    "the 2430s only"),
    "eaf_level": Rule(ERROR, 4, "AMT*EAF in a 2320 and in a 2430 of the same payer"),
}

#: the balancing codes (SNIP 3): `cob secondary` reports a claim failing one as "balancing_failed"
BALANCING: frozenset[str] = frozenset(code for code, rule in RULES.items() if rule.snip == 3)
ALL_SNIP: frozenset[int] = frozenset({2, 3, 4})

#: payer responsibility sequence ranks (SBR01); U (unknown) has none
SEQUENCE_RANK = {code: rank for rank, code in enumerate("PSTABCDEFGH", 1)}
SEQUENCES = "PSTABCDEFGH"
REPLACEMENT_FREQUENCIES = ("7", "8")
ZERO = Decimal(0)


class Violation:
    """One rule broken on one claim. `at` is the locator of the element at fault (from the view; the
    adapter turns it back into a segment or a model); `element` names the element there when the rule
    is about one (e.g. "SVD02", position 2). `payer` and `line` are the payer id and LX01 of the loop
    the locator is in (None on claim-level elements), so the model adapter can say where without
    locators of its own."""

    __slots__ = ("code", "message", "at", "element", "element_pos", "component_pos", "payer", "line")

    def __init__(self, code: str, message: str, at: Locator, element: str | None = None,
                 element_pos: int | None = None, component_pos: int | None = None,
                 payer: str | None = None, line: str | None = None):
        self.code = code
        self.message = message
        self.at = at
        self.element = element
        self.element_pos = element_pos
        self.component_pos = component_pos
        self.payer = payer or None
        self.line = line or None

    @property
    def rule(self) -> Rule:
        return RULES[self.code]

    def __repr__(self) -> str:
        return f"Violation({self.code!r}, payer={self.payer!r}, line={self.line!r}, {self.message!r})"


@lru_cache(maxsize=None)
def repeat_limit(loop_id: str, guide: str = IG_837P) -> int | None:
    """How many times the implementation guide (the 837P's unless named) lets loop `loop_id` repeat
    (None: unbounded), from the compiled IG tables: 2320 (other payers per claim), 2400 (lines per claim:
    50 in the 837P, 999 in the 837I), 2430 (per line)."""
    from cob.edi.ig.tables import load_table

    return load_table(guide).loop(loop_id).repeat


def money(d: Decimal) -> str:
    """An amount for a message: plain notation, as precise as the data."""
    return f"{d:f}"


def check(view: ClaimView, snip: Iterable[int] = ALL_SNIP) -> list[Violation]:
    """Every rule of the SNIP types `snip` over one claim, in the order of `RULES` within each type
    (per line and per payer in file order)."""
    out: list[Violation] = []
    facts = _Facts(view)
    if 2 in snip:
        _repeat_limits(view, out)
    if 3 in snip:
        _balancing(view, facts, out)
    if 4 in snip:
        _situational(view, facts, out)
    return out


# ------------------------------------------------------------------------------------------ shared facts


class _Facts:
    """What several rules ask of a claim, worked out once: its 2430s grouped by SVD01 (in file order),
    the 2320 payer ids, and the ambiguous ids (carried by more than one adjudicated 2320 and named by a
    2430)."""

    __slots__ = ("by_payer", "known", "ambiguous")

    def __init__(self, view: ClaimView):
        by_payer: dict[str, list[LineAdjudicationView]] = {}
        for line in view.lines:
            for a in line.adjudications:
                group = by_payer.get(a.payer_id)
                if group is None:
                    by_payer[a.payer_id] = [a]
                else:
                    group.append(a)
        self.by_payer = by_payer
        payers = view.payers
        known = {p.payer_id for p in payers}
        known.discard("")
        self.known = known
        self.ambiguous = _NONE
        if len(payers) > 1:
            adjudicated: list[str] = [p.payer_id for p in payers if p.paid_at is not None and p.payer_id]
            if len(set(adjudicated)) < len(adjudicated):
                self.ambiguous = {pid for pid in adjudicated if adjudicated.count(pid) > 1 and pid in by_payer}

    def of(self, payer_id: str) -> list[LineAdjudicationView]:
        """The 2430s whose SVD01 is `payer_id`, in file order (none for an empty id)."""
        return self.by_payer.get(payer_id, _NO_2430) if payer_id else _NO_2430


_NONE: frozenset[str] = frozenset()
_NO_2430: list[LineAdjudicationView] = []  # (never changed)


def _cas_total(cas_list: list[CasView]) -> Decimal | None:
    """Every amount of these CAS segments added in order; None when one is unreadable."""
    total = ZERO
    for cas in cas_list:
        for a in cas.amounts:
            if a is None:
                continue
            if a is UNREADABLE:
                return None
            total += a
    return total


def _money_of(adjudications: list[LineAdjudicationView]) -> tuple[Decimal | None, Decimal | None]:
    """What these 2430s say together: the sum of their SVD02 (None when one is absent or unreadable) and
    of every amount of their CAS (None when one is unreadable), each added in file order."""
    paid: Decimal | None = ZERO
    adjusted: Decimal | None = ZERO
    for a in adjudications:
        if paid is not None:
            value = a.paid
            paid = None if value is None or value is UNREADABLE else paid + value
        if adjusted is not None and a.cas:
            for cas in a.cas:
                for value in cas.amounts:
                    if value is None:
                        continue
                    if value is UNREADABLE:
                        adjusted = None
                        break
                    adjusted += value
                if adjusted is None:
                    break
    return paid, adjusted


# ------------------------------------------------------------------------------------------ SNIP 2


def _repeat_limits(view: ClaimView, out: list[Violation]) -> None:
    """`too_many`: one violation per loop beyond the IG's repeat, where it is (as the IG walk reports)."""
    limit = repeat_limit("2320", view.guide)
    n = len(view.payers)
    for k, p in _beyond(limit, view.payers):
        out.append(Violation("too_many", f"2320 loop {k} of {n}: the implementation guide allows {limit}",
                             p.at, payer=p.payer_id))
    limit = repeat_limit("2400", view.guide)
    n = len(view.lines)
    for k, line in _beyond(limit, view.lines):
        out.append(Violation("too_many", f"service line {k} of {n}: the implementation guide allows {limit}",
                             line.at, line=line.number))
    limit = repeat_limit("2430", view.guide)
    for line in view.lines:
        n = len(line.adjudications)
        for k, a in _beyond(limit, line.adjudications):
            out.append(Violation("too_many", f"line {line.number or '?'}: 2430 loop {k} of {n}: the implementation "
                                 f"guide allows {limit}", a.at, payer=a.payer_id, line=line.number))


def _beyond(limit: int | None, loops: list) -> Iterable[tuple[int, Any]]:
    """(its position from 1, the loop) of each loop past the IG's repeat `limit` (None: no limit)."""
    if limit is None or len(loops) <= limit:
        return ()
    return enumerate(loops[limit:], limit + 1)


# ------------------------------------------------------------------------------------------ SNIP 3


def _balancing(view: ClaimView, facts: _Facts, out: list[Violation]) -> None:
    """Reference §1.9 rules 1-5 (see the module docstring)."""
    if view.at is None:
        return
    charge = view.charge
    if charge is UNREADABLE:
        charge = None
    lines = view.lines

    # rule 1: CLM02 == sum(SV102); a claim without lines is the IG engine's (2400 is required)
    if charge is not None and lines:
        lines_total: Decimal | None = ZERO
        for line in lines:
            sv102 = line.charge
            if sv102 is None or sv102 is UNREADABLE:
                lines_total = None
                break
            lines_total += sv102
        if lines_total is not None and lines_total != charge:
            out.append(Violation("clm02_sum", f"CLM02 {money(charge)} != sum of line charges ({view.charge_element}) "
                                 f"{money(lines_total)}", view.at, "CLM02", 2))

    if not facts.by_payer and not view.payers:
        return
    ambiguous = facts.ambiguous

    # rule 2: per line, per SVD01
    for line in lines:
        adjudications = line.adjudications
        if not adjudications:
            continue
        sv102 = line.charge
        if sv102 is None or sv102 is UNREADABLE:
            continue
        if len(adjudications) == 1:  # (one payer's 2430 on the line: the usual case)
            groups: Iterable[tuple[str, list[LineAdjudicationView]]] = ((adjudications[0].payer_id, adjudications),)
        else:
            by_id: dict[str, list[LineAdjudicationView]] = {}
            for a in adjudications:
                by_id.setdefault(a.payer_id, []).append(a)
            groups = by_id.items()
        for payer_id, adjs in groups:
            if payer_id in ambiguous:
                continue
            paid, adjusted = _money_of(adjs)
            if paid is None or adjusted is None:
                continue
            if paid + adjusted != sv102:
                out.append(Violation(
                    "cob_line_balance",
                    f"line {line.number or '?'}: charge ({view.charge_element}) {money(sv102)} != "
                    f"payer {payer_id or '(no id)'} "
                    f"paid (SVD02) {money(paid)} + line adjustments (CAS) {money(adjusted)} "
                    f"= {money(paid + adjusted)}",
                    adjs[0].at, "SVD02", 2, payer=payer_id, line=line.number))

    # rules 3-5: per adjudicated payer
    for p in view.payers:
        if p.paid_at is None:
            continue
        amt_d = p.paid
        claim_cas = _cas_total(p.cas)
        if amt_d is None or amt_d is UNREADABLE or claim_cas is None:
            continue
        pid = p.payer_id
        adjs = facts.of(pid)
        if adjs and pid in ambiguous:
            continue  # two adjudicated 2320s share the id: these 2430s cannot be attributed
        paid, line_cas = _money_of(adjs)
        if line_cas is None:
            continue
        if adjs and paid is not None and amt_d != paid - claim_cas:
            out.append(Violation(
                "cob_claim_vs_lines",
                f"{p.label()}: AMT*D {money(amt_d)} != line paid (sum of SVD02) {money(paid)} "
                f"- claim adjustments (2320 CAS) {money(claim_cas)} = {money(paid - claim_cas)}",
                p.paid_at, "AMT02", 2, payer=pid))
        if charge is None:
            continue
        total = amt_d + claim_cas + line_cas
        if total != charge:
            hint = ""
            if adjs:
                missing = [ln.number or "?" for ln in lines
                           if not any(a.payer_id == pid for a in ln.adjudications)]
                if missing:
                    hint = f"; line(s) {','.join(missing)} have no 2430 for this payer"
            out.append(Violation(
                "cob_claim_balance",
                f"{p.label()}: CLM02 {money(charge)} != AMT*D {money(amt_d)} + claim adjustments "
                f"(2320 CAS) {money(claim_cas)} + line adjustments (2430 CAS) {money(line_cas)} "
                f"= {money(total)}{hint}",
                p.paid_at, "AMT02", 2, payer=pid))


# ------------------------------------------------------------------------------------------ SNIP 4


def _situational(view: ClaimView, facts: _Facts, out: list[Violation]) -> None:
    _ref_f8_frequency(view, out)
    _payer_sequence(view, facts, out)
    ambiguous = facts.ambiguous
    if ambiguous:
        for pid in sorted(ambiguous):
            second = [p for p in view.payers if p.paid_at is not None and p.payer_id == pid][1]
            out.append(Violation("duplicate_payer_id",
                                 f"two adjudicated 2320s name payer {pid}; their 2430s cannot be told apart",
                                 second.name_at or second.at, "NM109", 9, payer=pid))

    known = facts.known
    for line in view.lines:
        for a in line.adjudications:
            pid = a.payer_id
            if pid not in known:
                out.append(Violation("svd_payer_id",
                                     f"line {a.line or '?'}: SVD01 {pid or '(empty)'} names no other payer "
                                     "(no 2320's 2330B NM109 carries it)", a.at, "SVD01", 1, payer=pid, line=a.line))
            paid = a.paid
            if paid is not None and paid is not UNREADABLE and paid < ZERO:
                out.append(Violation("negative_svd",
                                     f"line {a.line or '?'}: payer {pid or '(no id)'} SVD02 {money(paid)} is negative",
                                     a.at, "SVD02", 2, payer=pid, line=a.line))
            if a.cas:
                _cas_rules(a.cas, a, None, out)

    for p in view.payers:
        pid = p.payer_id
        adjs = facts.of(pid)
        if p.paid_at is None:
            if adjs or p.cas or p.date is not None:
                why = "reports 2430 line adjudication" if adjs else (
                    "has claim-level CAS" if p.cas else "has an adjudication date (2330B DTP*573)")
                out.append(Violation("payer_paid_missing",
                                     f"{p.label()} {why} but its 2320 has no AMT*D (payer paid amount)",
                                     p.at, payer=pid))
        else:
            if p.date is None and not adjs:
                out.append(Violation("adjudication_date_missing",
                                     f"{p.label()} adjudicated the claim (AMT*D) without 2430s, so 2330B DTP*573 "
                                     "(adjudication date) is required", p.name_at or p.paid_at, payer=pid))
            if p.a8 is not None:
                out.append(Violation("amt_a8_with_paid",
                                     f"{p.label()} has AMT*A8 alongside AMT*D; A8 is only for a payer the provider "
                                     "did not bill (cost avoidance)", p.a8, payer=pid))
        if p.date is not None and adjs and pid not in ambiguous:
            out.append(Violation("adjudication_date_level",
                                 f"{p.label()} reports 2430 line adjudication, so its adjudication date belongs in "
                                 "the 2430s (DTP*573), not in 2330B", p.date, payer=pid))
        if p.eaf is not None and pid not in ambiguous:
            lines = [a.line or "?" for a in adjs if a.eaf is not None]
            if lines:
                out.append(Violation("eaf_level",
                                     f"{p.label()} has AMT*EAF in 2320 and in 2430 on line(s) {','.join(lines)}; "
                                     "remaining patient liability goes at one level only", p.eaf, payer=pid))
        if p.cas:
            _cas_rules(p.cas, None, p, out)


def _ref_f8_frequency(view: ClaimView, out: list[Violation]) -> None:
    """2300 REF*F8 is the destination's own claim number, for a replacement (7) or void (8) only."""
    if view.at is None:
        return
    frequency = view.frequency
    if view.ref_f8 is not None and frequency not in REPLACEMENT_FREQUENCIES:
        out.append(Violation("ref_f8_frequency",
                             f"2300 REF*F8 (payer claim control number) with claim frequency (CLM05-3) "
                             f"{frequency or '(none)'}; only a replacement (7) or void (8) carries it", view.ref_f8))
    elif view.ref_f8 is None and frequency in REPLACEMENT_FREQUENCIES:
        out.append(Violation("ref_f8_frequency",
                             f"claim frequency (CLM05-3) {frequency} requires 2300 REF*F8, the payer's claim control "
                             "number of the claim being replaced or voided", view.at, "CLM05-03", 5, 3))


def _is_destination(view: ClaimView, p: OtherPayerView) -> bool:
    """Whether a 2320 lists the payer being billed: the destination's payer id with the destination's
    member id, or with a member id unknown on either side. The same payer under another member id is
    another coverage (a second policy with the same payer), not the destination."""
    if not view.payer_id or p.payer_id != view.payer_id:
        return False
    member, other = view.member_id, p.member_id
    return not member or not other or member == other


def _payer_sequence(view: ClaimView, facts: _Facts, out: list[Violation]) -> None:
    """SBR01 codes (reference §3.6): unique across 2000B and the 2320s (U may repeat on 2320s), 2320s in
    P, S, T, A..H order, the destination not listed as a 2320, and the destination's level the next
    after the payers ranked before it, each of which adjudicated or was cost-avoided (AMT*A8)."""
    dest = view.sequence
    dest_rank = SEQUENCE_RANK.get(dest)  # None: U, absent or not a code; the level rules need one
    seen: set[str] = {dest} if dest else set()
    last_rank = 0
    last_code = ""
    levels: set[int] = set()
    for p in view.payers:
        seq = p.sequence
        pid = p.payer_id
        if _is_destination(view, p):
            out.append(Violation("destination_in_2320",
                                 f"2320 SBR01 {seq or '(none)'} names the destination payer {view.payer_id} "
                                 f"(2000B SBR01 {dest or '(none)'}); the payer being billed must not be listed as "
                                 "an other payer", p.at, "SBR01", 1, payer=pid))
            listed_again = True
        else:
            listed_again = False
            if seq and seq in seen and not (seq == "U" and seq != dest):
                where = "the destination (2000B)" if seq == dest else "another 2320"
                out.append(Violation("payer_sequence_duplicate",
                                     f"2320 SBR01 {seq} repeats the payer responsibility sequence of {where}",
                                     p.at, "SBR01", 1, payer=pid))
        if not seq:
            continue  # SBR01 is required: the IG engine reports it
        seen.add(seq)
        rank = SEQUENCE_RANK.get(seq)
        if rank is not None:
            if rank < last_rank:
                out.append(Violation("payer_sequence_order",
                                     f"2320 SBR01 {seq} follows a 2320 with SBR01 {last_code}; other payers are "
                                     "expected in P, S, T, A..H order", p.at, "SBR01", 1, payer=pid))
            else:
                last_rank, last_code = rank, seq
        if dest_rank is None or listed_again:
            continue
        before = rank is not None and rank < dest_rank
        if before:
            levels.add(rank)
        if p.paid_at is not None:
            if not before:
                out.append(Violation("payer_sequence_after_destination",
                                     f"{p.label()} adjudicated (AMT*D) but is not ranked before the destination "
                                     f"(SBR01 {dest})", p.at, "SBR01", 1, payer=pid))
        elif before and p.a8 is None and not (p.cas or p.date is not None or facts.of(pid)):
            # (with CAS, a date or 2430s it did adjudicate: `payer_paid_missing` says so)
            out.append(Violation("payer_sequence_unadjudicated",
                                 f"{p.label()} is ranked before the destination (SBR01 {dest}) but has neither "
                                 "AMT*D nor AMT*A8", p.at, "SBR01", 1, payer=pid))
    if dest_rank is not None and len(levels) < dest_rank - 1:
        missing = [SEQUENCES[r - 1] for r in range(1, dest_rank) if r not in levels]
        held = ",".join(SEQUENCES[r - 1] for r in sorted(levels)) or "none"
        hint = f"; expected {SEQUENCES[len(levels)]}" if levels == set(range(1, len(levels) + 1)) else ""
        out.append(Violation("payer_sequence_gap",
                             f"destination SBR01 {dest} but no 2320 holds level(s) {','.join(missing)} "
                             f"(prior payers: {held}){hint}", view.sequence_at, "SBR01", 1))


def _cas_rules(cas_list: list[CasView], adj: LineAdjudicationView | None, payer: OtherPayerView | None,
               out: list[Violation]) -> None:
    """Reference §1.8: one CAS per group code in a loop; every reason with an amount, and no amount or
    quantity without a reason. `adj` (a 2430) or `payer` (a 2320) is the loop they are in."""
    groups: set[str] | None = set() if len(cas_list) > 1 else None
    for cas in cas_list:
        group = cas.group
        if groups is not None:
            if group in groups:
                out.append(_cas_violation("duplicate_cas_group", f"CAS group {group} appears more than once; one "
                                          "CAS per group code", cas, 1, adj, payer))
            groups.add(group)
        amounts = cas.amounts
        quantities = cas.quantities
        n_amounts = len(amounts)
        for i, reason in enumerate(cas.reasons):
            has_amount = i < n_amounts and amounts[i] is not None
            if reason:
                if not has_amount:
                    out.append(_cas_violation("cas_reason_amount", f"CAS {group} reason {reason} (CAS{2 + 3 * i:02d}) "
                                              "has no amount", cas, 3 + 3 * i, adj, payer))
            elif has_amount or (i < len(quantities) and quantities[i]):
                out.append(_cas_violation("cas_reason_amount", f"CAS {group} adjustment {i + 1} has an amount or "
                                          "quantity but no reason", cas, 2 + 3 * i, adj, payer))


def _cas_violation(code: str, text: str, cas: CasView, pos: int, adj: LineAdjudicationView | None,
                   payer: OtherPayerView | None) -> Violation:
    """A CAS finding at element `pos` (CAS01 the group, CAS02, 05, ... a reason, CAS03, 06, ... its amount),
    its message starting with the loop it is in."""
    if adj is not None:
        where = f"line {adj.line or '?'} 2430 of payer {adj.payer_id or '(no id)'}"
        pid, line = adj.payer_id, adj.line
    else:
        where = f"2320 of {payer.label()}"
        pid, line = payer.payer_id, None
    return Violation(code, f"{where}: {text}", cas.at, f"CAS{pos:02d}", pos, payer=pid, line=line)
