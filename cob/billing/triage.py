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
from .match import LineMatch, check_coverage, match_lines

FORWARDED = {ClaimStatus.PRIMARY_FORWARDED, ClaimStatus.SECONDARY_FORWARDED, ClaimStatus.TERTIARY_FORWARDED}
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
        return result("held", "awaiting_remittance", "no 835 for this claim among the inputs yet")
    early = _before_adjudication(remits)
    if early is not None:
        return result(*early)
    chain = payer_chain(claim, coverages)
    if not chain.payers:
        return result("held", "claim_mismatch", "the claim has no subscriber or payer level")
    if chain.conflicts:
        return result("held", "coverage_conflict", chain.conflicts[0])
    problem = _assign(chain, remits)
    if problem is not None:
        return result("held", *problem)
    adjudicated = [p for p in chain.payers if p.adjudication is not None or p.existing]
    highest = max(p.level for p in adjudicated)
    missing = [p.level for p in chain.payers if p.level < highest and p not in adjudicated]
    if missing:
        return result("held", "adjudication_incomplete",
                      f"the payer at level {missing[0]} has not adjudicated, a later payer has")
    fresh = [p for p in chain.payers if p.adjudication is not None]
    if not fresh:
        return result("held", "awaiting_remittance",
                      "the remittances only repeat adjudications the claim already carries")
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
            return result("held", match.problem, f"payer {payer.payer_id}: {match.detail}", destination)
        matches[payer.level] = match
    msp_type = None
    if order is not None:
        conflict, msp_type = check_order(order, [p.payer_id for p in chain.payers])
        if conflict is not None:
            return result("held", "order_of_benefits", conflict, destination)
    if top.adjudication is not None and patient_responsibility(top.adjudication.payment) == 0:
        return result("skipped", "nothing_left_to_bill",
                      f"payer {top.payer_id} left no patient responsibility to bill on", destination)
    try:
        built = build_next_claim(claim, chain, destination, matches)
    except CannotBuild as exc:
        status = "rejected" if exc.reason == "balancing_failed" else "held"
        return result(status, exc.reason, exc.detail, destination)
    try:
        tell_msp(built, destination, chain, msp_type, coverages)  # why Medicare is not first, if it is next
    except CannotBuild as exc:
        return result("held", exc.reason, exc.detail, destination)
    findings = errors(check_claim(built))
    if findings:
        reason = "balancing_failed" if any(f.code in BALANCING_CODES for f in findings) else "cob_check_failed"
        return result("rejected", reason, "; ".join(f.message for f in findings[:3]), destination)
    reason = BILLED_REASON.get(destination.level, "tertiary_billed")
    detail = f"billed to payer {destination.payer_id} as {destination.sequence.name.lower()} payer"
    claim_pr = _claim_level_pr(fresh, matches)
    if claim_pr:
        detail += (f"; note: claim-level patient responsibility {claim_pr} is in the 2320 CAS but no "
                   "line's AMT*EAF (line-level reporting)")
    outcome = ClaimOutcome(claim_id=claim_id, status="billed", reason=reason, detail=detail,
                           destination_payer=destination.payer_id, source_payer=top.payer_id,
                           payer_sequence=destination.sequence.value)
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
            return "held", "coverage_conflict", remits.conflicts[0]
        return None
    if remits.reversal_pending:
        return "held", "reversal_pending", "the payment was reversed and no corrected adjudication has arrived"
    statuses = {r.status for r in remits.denied}
    if ClaimStatus.DENIED in statuses:
        return "held", "patient_not_identified", "the payer could not identify the patient (CLP02=4); check eligibility"
    if ClaimStatus.NOT_OUR_CLAIM in statuses:
        return "held", "not_payer_claim", "the payer says the claim is not theirs (CLP02=23)"
    if remits.predeterminations:
        return "skipped", "predetermination_only", "only a predetermination (CLP02=25) was received"
    return "held", "awaiting_remittance", "no standing adjudication among the inputs"


def _assign(chain: PayerChain, remits: ClaimRemits) -> tuple[str, str] | None:
    """Put each payer's adjudication on the payer at the level its CLP02 says it paid at."""
    for adj in remits.adjudications:
        payer = chain.at(adj.level)
        if payer is None:
            return "coverage_conflict", f"payer {adj.payer} adjudicated at level {adj.level}, which the claim does not list"
        if payer.existing:
            continue  # the original claim already carries this adjudication
        payer.adjudication = adj
    return None


def _stop_conditions(claim: Claim, fresh: list[PayerInfo], top: PayerInfo, chain: PayerChain,
                     destination: PayerInfo | None) -> tuple[str, str, str] | None:
    for payer in fresh:
        payment = payer.adjudication.payment
        if payment.name("PR") is not None:
            return "held", "other_payer_primary", f"payer {payer.payer_id} names another payer as primary (NM1*PR)"
        reasons = {r for c in payment.adjustments for r in c.element_values()[1::3]}  # (and None, no reason)
        reasons.update([r for s in payment.services for c in s.adjustments for r in c.element_values()[1::3]])
        hit = reasons & OTHER_PAYER_REASONS
        if hit:
            return "held", "other_payer_primary", (f"payer {payer.payer_id} adjusted with CARC "
                                                   f"{', '.join(sorted(hit))}: another payer should pay first")
        charge = payment.clp.charge
        if charge > claim.charge:
            return "held", "claim_mismatch", (f"payer {payer.payer_id} adjudicated a charge of {charge}, "
                                              f"the claim is for {claim.charge}")
        if charge < claim.charge:
            return "held", "adjudication_incomplete", (f"payer {payer.payer_id} adjudicated {charge} of "
                                                       f"{claim.charge}: a split part is missing")
        if _patient_differs(claim, payment):
            return "held", "claim_mismatch", f"payer {payer.payer_id} answered for a different patient"
    payment = top.adjudication.payment if top.adjudication is not None else None
    if payment is not None and payment.clp.status in FORWARDED:
        carrier = payment.name("TT")
        if carrier is not None and _crossed_to_next(carrier, chain, destination):
            return "skipped", "crossover_done", (f"payer {top.payer_id} forwarded the claim to "
                                                 f"{carrier.id or 'another payer'} (crossover)")
    return None


def _crossed_to_next(carrier, chain: PayerChain, destination: PayerInfo | None) -> bool:
    """Was the claim forwarded to the payer we would bill next? Crossover ids (COBA ids) often match no
    payer we know; then we assume it was, since billing it again would duplicate the claim. A carrier
    that is a known *later* payer (e.g. the tertiary) does not stop the secondary claim."""
    def same(payer: PayerInfo) -> bool:
        name = (payer.payer.name.last_or_org_name or "").strip().upper()
        return bool(carrier.id and carrier.id == payer.payer_id) or \
            bool(name and name == (carrier.last_or_org_name or "").strip().upper())
    if destination is not None and same(destination):
        return True
    return not any(same(p) for p in chain.payers)


def _claim_level_pr(fresh: list[PayerInfo], matches: dict[int, LineMatch]):
    """Claim-level PR of payers reported at line level: reference §3.5 says to flag it (no EAF holds it)."""
    total = 0
    for payer in fresh:
        if matches.get(payer.level) is not None and matches[payer.level].services:
            total += sum((c.total for c in payer.adjudication.payment.adjustments if c.group.value == "PR"), 0)
    return total


def _patient_differs(claim: Claim, payment: ClaimPayment) -> bool:
    """The 835 patient's last name against the claim's patient (both present, case-insensitive)."""
    qc = payment.name("QC")
    party = claim.patient.name if claim.patient is not None else (
        claim.subscriber.subscriber if claim.subscriber is not None else None)
    if qc is None or party is None or not qc.last_or_org_name or not party.name.last_or_org_name:
        return False
    return qc.last_or_org_name.strip().upper() != party.name.last_or_org_name.strip().upper()
