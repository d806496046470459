"""Triage of one original claim: hold it, skip it, reject it, or bill it to the next payer.

The decision is policy alone: a function of the claim, what its payers decided (its consolidated
remittances), the coverage roster's entries for it and the order-of-benefits facts for it. It reads no file
and writes no output, so `cob secondary` (which feeds it from the 835 files of one run) and `cob run`
(which feeds it from its state database, weeks after the claim arrived) decide the same claim the same way.

In order: remittances that settle nothing yet (none, a pending reversal, CLP02 4 / 23 / 25); the payer
chain (`build.payer_chain`) with each adjudication put on the payer at the level its CLP02 states; gaps in
the adjudications; conditions that stop billing (another payer named primary, a charge that does not match,
a different patient, a crossover to the next payer); no next payer; lines that do not match the payers'
services (`match.py`); order-of-benefits conflicts (`expected.check_order`); nothing left to bill; then the
next payer's claim is built (`build.build_next_claim`) and checked before it may be written (`checks.py`).
A billed claim carries its expected payment when the roster gives the destination's terms.
"""

from __future__ import annotations

from decimal import Decimal
from typing import NamedTuple

from cob.schemas.claim import Claim
from cob.schemas.codes import ClaimStatus
from cob.schemas.coverage import RosterCoverage
from cob.schemas.order import OrderRequest
from cob.schemas.remit import ClaimPayment
from cob.schemas.report import ClaimOutcome

from .build import (CannotBuild, PayerChain, PayerInfo, build_next_claim, patient_responsibility, payer_chain,
                    tell_msp)
from .checks import BALANCING_CODES, check_claim, errors
from .consolidate import ClaimRemits
from .expected import check_order, expected_payment, terms_for
from .identity import header_facts, party_key, same_payer
from .match import LineMatch, check_coverage, match_lines

FORWARDED = {ClaimStatus.PRIMARY_FORWARDED, ClaimStatus.SECONDARY_FORWARDED, ClaimStatus.TERTIARY_FORWARDED}
LEVEL_NAMES = {1: "primary", 2: "secondary", 3: "tertiary"}
STATUS_WORDS = {
    ClaimStatus.PRIMARY: "processed as primary", ClaimStatus.SECONDARY: "processed as secondary",
    ClaimStatus.TERTIARY: "processed as tertiary", ClaimStatus.PRIMARY_FORWARDED: "processed as primary, forwarded",
    ClaimStatus.SECONDARY_FORWARDED: "processed as secondary, forwarded",
    ClaimStatus.TERTIARY_FORWARDED: "processed as tertiary, forwarded",
}
OTHER_PAYER_REASONS = {"22", "109"}
BILLED_REASON = {2: "secondary_billed"}


class Decision(NamedTuple):
    """What triage decided: the outcome, and for a billed claim the claim built for the next payer and that
    payer (the destination is also named for claims held or rejected on the way to it)."""

    outcome: ClaimOutcome
    built: Claim | None
    destination: PayerInfo | None


def triage(claim: Claim, remits: ClaimRemits | None, coverages: list[RosterCoverage] | None = None,
           order: OrderRequest | None = None) -> Decision:
    """Decide what to do with one original claim; build the next claim when it is to be billed.

    `remits`: the claim's consolidated remittances (None: no 835 answers it). `coverages`: the roster's
    entries for the claim (None: no roster was given). `order`: the order-of-benefits facts for it.
    """
    claim_id = claim.claim_id

    def result(status: str, reason: str, detail: str, destination: PayerInfo | None = None) -> Decision:
        return Decision(ClaimOutcome(claim_id=claim_id, status=status, reason=reason, detail=detail,
                                     destination_payer=destination.payer_id if destination else None), None, None)

    if remits is None:
        first = claim.payer.name.id if claim.payer is not None and claim.payer.name.id else "its payer"
        return result("held", "awaiting_remittance",
                      f"received: no 835 payment with CLP01 {claim_id}; missing: the remittance of payer {first}, "
                      f"to which the claim was sent")
    early = _before_adjudication(remits)
    if early is not None:
        return result(*early)
    chain = payer_chain(claim, coverages)
    if not chain.payers:
        return result("held", "claim_mismatch", "received: the payers' 835s for the claim, but the claim itself "
                      "names no subscriber or payer level (2000B SBR, 2010BB); missing: the claim's payers, in order")
    if chain.conflicts:
        return result("held", "coverage_conflict", f"{chain.conflicts[0]}; received: the claim and the coverage "
                      "roster; missing: one order of payers both agree on (correct the one that is wrong)")
    problem = _wrong_level(chain, remits) or _assign(chain, remits)
    if problem is not None:
        return result("held", *problem)
    adjudicated = [p for p in chain.payers if p.adjudication is not None or p.existing]
    highest = max(p.level for p in adjudicated)
    missing = [p for p in chain.payers if p.level < highest and p not in adjudicated]
    if missing:
        later = next(p for p in chain.payers if p.level == highest)
        return result("held", "adjudication_incomplete",
                      f"received: payer {later.payer_id}'s answer at level {highest} "
                      f"({_level_name(highest)}); missing: the remittance of payer {missing[0].payer_id} "
                      f"(level {missing[0].level}, {_level_name(missing[0].level)}), which pays before it")
    fresh = [p for p in chain.payers if p.adjudication is not None]
    if not fresh:
        nxt = chain.at(highest + 1)
        waited = f"the remittance of payer {nxt.payer_id} (level {highest + 1})" if nxt is not None else \
            "a remittance from a payer that has not answered yet"
        return result("held", "awaiting_remittance", "received: only adjudications the claim already carries "
                      f"(its 2320/2430 loops); missing: {waited}")
    top = chain.at(highest)
    destination = chain.at(highest + 1)
    stop = _stop_conditions(claim, fresh, top, chain, destination)
    if stop is not None:
        return result(*stop)
    if destination is None:
        return result("skipped", "no_further_coverage",
                      f"no payer after level {highest} is known for this claim")
    matches: dict[int, LineMatch] = {}
    for payer in fresh:
        match = check_coverage(claim, match_lines(claim, payer.adjudication.payment))
        if not match.ok:
            return result("held", match.problem, _line_problem(payer, match), destination)
        matches[payer.level] = match
    msp_type = None
    if order is not None:
        conflict, msp_type = check_order(order, [p.payer_id for p in chain.payers])
        if conflict is not None:
            return result("held", "order_of_benefits", f"{conflict}; received: the earlier payers' 835s and the "
                          "order-of-benefits facts; missing: a claim that bills the payers in the rules' order",
                          destination)
    if top.adjudication is not None and patient_responsibility(top.adjudication.payment) == 0:
        return result("skipped", "nothing_left_to_bill",
                      f"payer {top.payer_id} left no patient responsibility to bill on", destination)
    try:
        built = build_next_claim(claim, chain, destination, matches)
    except CannotBuild as exc:
        status = "rejected" if exc.reason == "balancing_failed" else "held"
        detail = exc.detail if status == "rejected" else f"{exc.detail}; {_CANNOT_BUILD_MISSING.get(exc.reason, '')}"
        return result(status, exc.reason, detail.rstrip("; "), destination)
    try:
        tell_msp(built, destination, chain, msp_type, coverages)  # why Medicare is not first, if it is next
    except CannotBuild as exc:
        return result("held", exc.reason, f"{exc.detail}; {_CANNOT_BUILD_MISSING.get(exc.reason, '')}".rstrip("; "),
                      destination)
    findings = errors(check_claim(built))
    if findings:
        reason = "balancing_failed" if any(f.code in BALANCING_CODES for f in findings) else "cob_check_failed"
        return result("rejected", reason, "; ".join(f.message for f in findings[:3]), destination)
    reason = BILLED_REASON.get(destination.level, "tertiary_billed")
    detail = f"billed to payer {destination.payer_id} as {destination.sequence.name.lower()} payer"
    prior_paid = sum((op.paid_amount for op in built.other_payers if op.paid_amount is not None), Decimal(0))
    outcome = ClaimOutcome(claim_id=claim_id, status="billed", reason=reason, detail=detail,
                           destination_payer=destination.payer_id, source_payer=top.payer_id,
                           payer_sequence=destination.sequence.value, charge=built.charge, prior_paid=prior_paid,
                           balance_billed=built.charge - prior_paid)
    for payer_id, claim_pr in _claim_level_pr(fresh, matches):
        outcome.warnings.append(
            f"payer {payer_id}'s claim-level patient responsibility {claim_pr} (2320 CAS PR) could not be carried "
            "on a line: with line data the remaining liability is reported per line (2430 AMT*EAF, RFIs 1391/1517, "
            "never at both levels), so no AMT*EAF includes it")
    terms = terms_for(coverages or [], destination.payer_id)
    if terms is not None and top.adjudication is not None:
        estimate = expected_payment(top.adjudication.payment, terms)
        if estimate is not None:
            outcome.expected_payment = estimate.secondary_pays
            outcome.patient_balance = estimate.patient_balance
    return Decision(outcome, built, destination)


def member_id(claim: Claim) -> str | None:
    """The subscriber's member id (2010BA NM109): the roster and the order facts key entries by it."""
    sub = claim.subscriber.subscriber if claim.subscriber is not None else None
    return sub.name.id if sub is not None else None


def _before_adjudication(remits: ClaimRemits) -> tuple[str, str, str] | None:
    """Outcomes decided before any standing adjudication is looked at."""
    if remits.adjudications:
        if remits.conflicts:
            return "held", "coverage_conflict", (f"{remits.conflicts[0]}; received: both answers; missing: which "
                                             "payer is at that level (the order of payers on the claim)")
        return None
    if remits.reversal_pending:
        return "held", "reversal_pending", ("received: the payer's reversal (CLP02=22) of its payment; missing: "
                                            "the corrected adjudication that should follow it")
    by_status = {r.status: r for r in remits.denied}
    if ClaimStatus.DENIED in by_status:
        r = by_status[ClaimStatus.DENIED]
        return "held", "patient_not_identified", (
            f"received: payer {r.payer}'s CLP02=4 in {r.where} (patient not identified, not adjudicated); "
            "missing: an adjudication: check eligibility and the member id, then rebill that payer")
    if ClaimStatus.NOT_OUR_CLAIM in by_status:
        r = by_status[ClaimStatus.NOT_OUR_CLAIM]
        return "held", "not_payer_claim", (f"received: payer {r.payer}'s CLP02=23 in {r.where} (not its claim); "
                                           "missing: the adjudication of the payer that covers the claim")
    if remits.predeterminations:
        return "skipped", "predetermination_only", "only a predetermination (CLP02=25) was received"
    return "held", "awaiting_remittance", "received: no standing adjudication among the inputs; missing: the payer's remittance"


#: what a claim `build.CannotBuild` holds still misses, by reason (the exception says what was received)
_CANNOT_BUILD_MISSING = {
    "cannot_represent": ("missing: nothing from the payers; the claim's transaction (837P or 837I) cannot carry "
                         "what they sent, so a person bills it"),
    "adjudication_incomplete": "missing: the payer's complete, standing adjudication (a corrected 835)",
}

#: what a line-matching problem misses, by reason
_LINE_MISSING = {
    "ambiguous_line_match": "missing: which billed line each service payment answers (a person posts it)",
    "adjudication_incomplete": "missing: that line's adjudication (a split part, or a corrected 835)",
    "line_charge_mismatch": "missing: an adjudication of each line's billed charge",
}


def _files(payer: PayerInfo) -> str:
    files = payer.adjudication.files if payer.adjudication is not None else []
    return ", ".join(dict.fromkeys(files)) or "an 835"


def _line_problem(payer: PayerInfo, match: LineMatch) -> str:
    """A line-matching hold: the remittance received, what in it does not fit, and what is missing."""
    return (f"received: payer {payer.payer_id}'s remittance ({_files(payer)}): {match.detail}; "
            f"{_LINE_MISSING.get(match.problem or '', 'missing: a remittance that fits the billed lines')}")


def _level_name(level: int) -> str:
    return LEVEL_NAMES.get(level, f"payer {level}")


def _wrong_level(chain: PayerChain, remits: ClaimRemits) -> tuple[str, str] | None:
    """A payer the claim lists (by id or name) answering at another level than the one it was billed at:
    CLP02 2/3 from the payer billed as primary, CLP02 1 from the payer billed as secondary, ...
    (`order_of_benefits_answer`). A payer the claim does not name is placed by its CLP02, as before."""
    for adj in remits.adjudications:
        facts = header_facts(adj.payment.header)
        if not facts.payer_ids and not facts.payer_name:
            continue
        billed = [p for p in chain.payers if same_payer(facts, party_key(p.payer))]
        if billed and all(p.level != adj.level for p in billed):
            payer = billed[0]
            code = adj.status.value
            where = ", ".join(dict.fromkeys(adj.files)) or "an 835"
            return "order_of_benefits_answer", (
                f"payer {payer.payer_id} was billed as {_level_name(payer.level)} (level {payer.level}) and "
                f"answered CLP02={code} ({STATUS_WORDS.get(adj.status, code)}) in {where}; received: its "
                f"answer as {_level_name(adj.level)}; missing: its answer as {_level_name(payer.level)}, or a "
                "corrected order of payers on the claim")
    return None


def _assign(chain: PayerChain, remits: ClaimRemits) -> tuple[str, str] | None:
    """Put each payer's adjudication on the payer at the level its CLP02 says it paid at."""
    for adj in remits.adjudications:
        payer = chain.at(adj.level)
        if payer is None:
            return "coverage_conflict", (f"received: payer {adj.payer}'s adjudication at level {adj.level} "
                                         f"(CLP02={adj.status.value}); missing: a payer at level {adj.level} on the "
                                         "claim (the claim does not list one)")
        if payer.existing:
            continue  # the original claim already carries this adjudication
        payer.adjudication = adj
    return None


def _stop_conditions(claim: Claim, fresh: list[PayerInfo], top: PayerInfo, chain: PayerChain,
                     destination: PayerInfo | None) -> tuple[str, str, str] | None:
    for payer in fresh:
        payment = payer.adjudication.payment
        if payment.name("PR") is not None:
            return "held", "other_payer_primary", (
                f"received: payer {payer.payer_id}'s 835 ({_files(payer)}) naming another payer as primary "
                "(NM1*PR); missing: the remittance of that payer, billed first")
        reasons = {r for c in payment.adjustments for r in c.element_values()[1::3]}  # (and None, no reason)
        reasons.update([r for s in payment.services for c in s.adjustments for r in c.element_values()[1::3]])
        hit = reasons & OTHER_PAYER_REASONS
        if hit:
            return "held", "other_payer_primary", (f"received: payer {payer.payer_id}'s 835 ({_files(payer)}) "
                                                   f"adjusted with CARC {', '.join(sorted(hit))}: another payer "
                                                   "should pay first; missing: that payer's remittance, billed first")
        charge = payment.clp.charge
        if charge > claim.charge:
            return "held", "claim_mismatch", (f"received: payer {payer.payer_id}'s adjudication of a charge of "
                                              f"{charge} ({_files(payer)}), the claim is for {claim.charge}; "
                                              "missing: an adjudication of this claim's charge")
        if charge < claim.charge:
            parts = payer.adjudication.parts
            return "held", "adjudication_incomplete", (
                f"received: payer {payer.payer_id}'s answer{'s' if parts > 1 else ''} for {charge} of the claim's "
                f"{claim.charge} ({parts} part{'s' if parts > 1 else ''}, {', '.join(dict.fromkeys(payer.adjudication.files))}); "
                f"missing: the split part{'s' if parts > 1 else ''} for the other {claim.charge - charge}")
        if _patient_differs(claim, payment):
            return "held", "claim_mismatch", (f"received: payer {payer.payer_id}'s answer for another patient "
                                              f"(NM1*QC, {_files(payer)}); missing: its answer for this claim's patient")
    payment = top.adjudication.payment if top.adjudication is not None else None
    if payment is not None and payment.clp.status in FORWARDED:
        carrier = payment.name("TT")
        crossed = _crossed_to(carrier, chain, destination) if carrier is not None else None
        if crossed == "next":
            return "skipped", "crossover_done", (f"payer {top.payer_id} forwarded the claim to "
                                                 f"{carrier.id or 'another payer'} (crossover)")
        if crossed == "unlisted":
            code = payment.clp.status.value
            return "held", "order_of_benefits_answer", (
                f"payer {top.payer_id} answered CLP02={code} ({STATUS_WORDS.get(payment.clp.status, code)}) and "
                f"forwarded the claim to payer {carrier.id or '(no id)'} (NM1*TT), which the claim does not list; "
                f"received: the crossover notice; missing: whether that payer is the next one "
                f"({destination.payer_id if destination is not None else 'none listed'}): correct the claim's "
                "payers, or wait for the crossover payer's 835")
    return None


def _crossed_to(carrier, chain: PayerChain, destination: PayerInfo | None) -> str:
    """Where the claim was forwarded: "next" (the payer we would bill next: billing it again would
    duplicate the claim), "later" (a known later payer, e.g. the tertiary: the secondary claim still
    goes), or "unlisted" (a payer the claim does not name: the order of benefits is in question)."""
    def same(payer: PayerInfo) -> bool:
        name = (payer.payer.name.last_or_org_name or "").strip().upper()
        return bool(carrier.id and carrier.id == payer.payer_id) or \
            bool(name and name == (carrier.last_or_org_name or "").strip().upper())
    if destination is not None and same(destination):
        return "next"
    return "later" if any(same(p) for p in chain.payers) else "unlisted"


def _claim_level_pr(fresh: list[PayerInfo], matches: dict[int, LineMatch]) -> list[tuple[str, object]]:
    """(payer id, amount) of the claim-level PR of each payer reported at line level: reference §3.5 says to
    flag it, since no AMT*EAF holds it (line level when line data exists, never both: RFIs 1391/1517)."""
    out = []
    for payer in fresh:
        if matches.get(payer.level) is not None and matches[payer.level].services:
            total = sum((c.total for c in payer.adjudication.payment.adjustments if c.group.value == "PR"), 0)
            if total:
                out.append((payer.payer_id, total))
    return out


def _patient_differs(claim: Claim, payment: ClaimPayment) -> bool:
    """The 835 patient's last name against the claim's patient (both present, case-insensitive)."""
    qc = payment.name("QC")
    party = claim.patient.name if claim.patient is not None else (
        claim.subscriber.subscriber if claim.subscriber is not None else None)
    if qc is None or party is None or not qc.last_or_org_name or not party.name.last_or_org_name:
        return False
    return qc.last_or_org_name.strip().upper() != party.name.last_or_org_name.strip().upper()
