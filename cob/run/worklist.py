"""The COB denial worklist: what a person must do when a later payer denies or reduces for COB reasons.

A secondary's (or tertiary's) 835 that adjusts with a CARC saying "another payer", "send the primary's
EOB", "injury: bill the carrier", "coverage lapsed" is not a payment to post but a job: rebill in the
corrected order, send the primary's EOB, check eligibility, appeal. `cob_denials` turns one claim's
payments into `WorkItem`s with the next action in plain words and the evidence cob holds (payer, CLP02,
the payer's claim number, the CARC/RARC codes and amounts, the file): ids and codes only, no PHI.

Recognised too:

- *both payers deny as secondary*: two payers' 835s each say another payer is primary (CARC 22 or
  NM1*PR): neither will pay until the patient's coordination record is fixed with both;
- *recoupment*: the last payer reversed its payment (CLP02=22) with no correction standing, or a payment
  is negative: the money is taken back and the patient balance reopened (`balances`);
- *underpaid*: the payer paid less than its own method says (`posting` compares with the estimate);
- *CARC 23 as a denial* (`prior_payer_impact`): a later payer paid nothing for the prior payer's payment
  yet left the patient something, and no estimate check can tell whether its method agrees.

This module is pure (payments in, items out); `posting` records the items and closes those whose cause
is gone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Iterable

from cob.billing.consolidate import LEVEL, payer_key
from cob.schemas.codes import CasGroup, ClaimStatus
from cob.schemas.remit import ClaimPayment

#: CARC -> (what it says, the next action). 16 counts only with RARC MA04 (or N4 / N479 / MA92).
COB_CARCS: dict[str, tuple[str, str]] = {
    "22": ("the payer says another payer is primary (CARC 22)",
           "rebill with the corrected order: bill the primary payer first, then this payer with its 835; "
           "check the patient's other coverage"),
    "24": ("charges are covered under a capitation / managed care agreement (CARC 24)",
           "bill the managed-care plan that holds the capitation; check which plan manages the patient"),
    "109": ("the payer says the claim is not covered by it (CARC 109)",
            "check eligibility and send the claim to the correct payer"),
    "19": ("work-related injury: the workers' compensation carrier is liable (CARC 19)",
           "bill the workers' compensation carrier first; ask the patient for the WC claim number"),
    "20": ("injury covered by a liability carrier (CARC 20)",
           "bill the liability carrier first; ask the patient for the carrier and claim number"),
    "21": ("injury covered by no-fault / auto insurance (CARC 21)",
           "bill the no-fault (auto) carrier first; ask the patient for the policy"),
    "200": ("expenses incurred during a lapse in coverage (CARC 200)",
            "check eligibility dates; bill the payer that covered the date of service"),
    "26": ("expenses incurred before coverage began (CARC 26)", "check eligibility dates with the payer"),
    "27": ("expenses incurred after coverage ended (CARC 27)", "check eligibility dates with the payer"),
    "129": ("the prior payer's processing information appears incorrect (CARC 129)",
            "correct the prior payer's adjudication in the claim (2320/2430) and rebill"),
    "B1": ("non-covered visits (CARC B1)",
           "check the plan's visit limits; appeal with documentation, or bill the patient if the plan "
           "allows it"),
}
#: RARCs that mean "we need the primary's payment information"
EOB_RARCS = {"MA04", "N4", "N479", "MA92"}
SEND_EOB = ("the payer needs the primary payer's payment information (CARC 16 with {rarc})",
            "send the primary's EOB / rebill with the primary's adjudication (2320/2430) attached")
BOTH_DENY = ("both payers say another payer is primary",
             "call both payers (and the patient) to correct the coordination-of-benefits record, then rebill "
             "the payer that confirms it is primary")
RECOUPED = ("the payer took its payment back (reversal CLP02=22 or a negative payment)",
            "review the recoupment; the patient balance is reopened until a corrected payment arrives or "
            "the recoupment is appealed")


@dataclass
class WorkItem:
    """One job on the worklist: `kind` (carc_<CARC>, 'both_deny_as_secondary', 'recoupment', 'underpaid';
    `acks` adds ack_rejected_999 / ack_rejected_277CA),
    the payer it concerns, what the 835 says, the next action and the evidence."""

    claim_id: str
    kind: str
    payer: str
    says: str
    action: str
    evidence: dict[str, Any] = field(default_factory=dict)


def evidence(payment: ClaimPayment, file: str | None = None) -> dict[str, Any]:
    """What cob holds about one claim payment, without PHI: payer, CLP02, claim number, codes, amounts."""
    cas = [{"group": c.group.value, "reason": r, "amount": str(a)}
           for c in _all_cas(payment) for r, a, _q in c.trios()]
    return {"payer": payer_key(payment.header), "clp02": payment.clp.status.value,
            "payer_claim_number": payment.clp.payer_claim_control_number or "",
            "charge": str(payment.clp.charge), "paid": str(payment.clp.paid), "cas": cas,
            "rarcs": sorted(rarcs(payment)), "file": file or "",
            "paid_on": str(payment.header.payment_date) if payment.header and payment.header.payment_date else ""}


def _all_cas(payment: ClaimPayment):
    yield from payment.adjustments
    for service in payment.services:
        yield from service.adjustments


def carcs(payment: ClaimPayment) -> set[str]:
    return {r for c in _all_cas(payment) for r, _a, _q in c.trios()}


def rarcs(payment: ClaimPayment) -> set[str]:
    out = set()
    if payment.moa is not None:
        moa = payment.moa
        out.update(r for r in (moa.remark1, moa.remark2, moa.remark3, moa.remark4, moa.remark5) if r)
    for service in payment.services:
        out.update(lq.code for lq in service.remarks if lq.qualifier == "HE")
    return out


def says_other_primary(payment: ClaimPayment) -> bool:
    """The payer says another payer is primary: CARC 22 (or 109 'not ours') or a corrected priority payer."""
    return payment.name("PR") is not None or bool(carcs(payment) & {"22"})


def cob_denials(claim_id: str, payments: Iterable[tuple[ClaimPayment, str]], min_level: int = 2) -> list[WorkItem]:
    """Worklist items from a claim's claim payments (each with its file), in arrival order.

    CARC items come from standing-level payers at `min_level` and later (the secondary's and tertiary's
    835s; the primary's COB denials hold the claim before it is billed, `triage`). 'both payers deny as
    secondary' looks at every payer.
    """
    items: list[WorkItem] = []
    deniers: dict[str, ClaimPayment] = {}
    seen: set[tuple[str, str]] = set()
    for payment, file in payments:
        status = payment.clp.status
        if status is ClaimStatus.REVERSAL:
            continue
        payer = payer_key(payment.header)
        codes = carcs(payment)
        if "22" in codes or payment.name("PR") is not None:  # says another payer is primary
            deniers[payer] = payment
        if LEVEL.get(status, 0) < min_level:
            continue
        remarks = rarcs(payment)
        for carc in sorted(codes & set(COB_CARCS)):
            if (carc, payer) not in seen:
                seen.add((carc, payer))
                says, action = COB_CARCS[carc]
                items.append(WorkItem(claim_id, f"carc_{carc}", payer, says, action, evidence(payment, file)))
        eob = remarks & EOB_RARCS
        if "16" in codes and eob and ("16", payer) not in seen:
            seen.add(("16", payer))
            items.append(WorkItem(claim_id, "carc_16", payer, SEND_EOB[0].format(rarc=", ".join(sorted(eob))),
                                  SEND_EOB[1], evidence(payment, file)))
    if len(deniers) >= 2:
        payers = sorted(deniers)
        items = [i for i in items if i.kind != "carc_22"]
        items.insert(0, WorkItem(claim_id, "both_deny_as_secondary", ",".join(payers), BOTH_DENY[0], BOTH_DENY[1],
                                 {"payers": [evidence(deniers[p]) for p in payers]}))
    return items


PRIOR_IMPACT = ("the payer paid nothing, citing the prior payer's payment (CARC 23), and left {pr} to the patient",
                "check the payer's COB method (give its benefit_terms in the roster and cob checks it): if it pays "
                "less than its own benefit allows, appeal with the primary's 835; if not, bill the patient what it "
                "left as PR")


def prior_payer_impact(claim_id: str, payment: ClaimPayment, file: str | None = None) -> WorkItem | None:
    """CARC 23 as a denial: a later payer paid nothing because of the prior payer's payment, yet left the
    patient something. CARC 23 is on nearly every secondary remittance (it carries the primary's share),
    so only a zero payment counts, and `posting` asks this only when no estimate check could confirm or
    refute the payer's figure (an unflagged check means the payer's own method gives nothing either)."""
    if payment.clp.status is ClaimStatus.REVERSAL or payment.clp.paid != 0 or "23" not in carcs(payment):
        return None
    left = sum((t for c in _all_cas(payment) if c.group is CasGroup.PATIENT for _r, t, _q in c.trios()), Decimal(0))
    if left <= 0:
        return None
    return WorkItem(claim_id, "carc_23", payer_key(payment.header), PRIOR_IMPACT[0].format(pr=left), PRIOR_IMPACT[1],
                    evidence(payment, file))


def recoupment(claim_id: str, payer: str, payment: ClaimPayment, file: str | None = None) -> WorkItem:
    return WorkItem(claim_id, "recoupment", payer, RECOUPED[0], RECOUPED[1], evidence(payment, file))


def underpaid(claim_id: str, payer: str, method: str, expected: Decimal, paid: Decimal,
              payment: ClaimPayment, file: str | None = None) -> WorkItem:
    return WorkItem(claim_id, "underpaid", payer,
                    f"the payer paid {paid}, its own method ({method}) says {expected}",
                    f"appeal the underpayment of {expected - paid} with the payer's COB method and the primary's "
                    "835", {**evidence(payment, file), "expected": str(expected), "method": method})
