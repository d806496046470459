"""Final patient responsibility of a claim once its last payer has answered (issue 17 clause 1).

Step 7 of the billing workflow: bill the patient only what every payer left. Per claim and per line:
the charge, each payer's payment, each payer's contractual write-off (CO and PI: the provider's, by
contract or regulation), what each left as patient responsibility (PR), and what the patient owes =
what the LAST payer left as PR. A CO amount never reaches the patient: the patient's figure is read
only from group PR. What is neither paid nor owed by the patient is the provider's write-off.

A Medicaid last payer leaves no patient balance for covered services: the provider accepted Medicaid
as payment in full, so only the Medicaid copay (PR 3) may be collected; everything else it left is
written off (`medicaid_write_off`).

The balance is *final* when the payer at the last level known for the claim (its 2320s and the roster)
has a standing adjudication that is not a COB denial, or when an earlier payer left nothing for later
payers (no PR). It is *reopened* when that adjudication is reversed without a correction, or paid
negative (a recoupment). Pure: the models in, a `Balance` out; `posting` records it.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass, field
from decimal import Decimal

from cob.billing.build import PayerChain
from cob.billing.consolidate import ClaimRemits
from cob.billing.match import match_lines
from cob.schemas.claim import Claim
from cob.schemas.codes import CasGroup, ClaimFilingIndicator
from cob.schemas.institutional import InstitutionalClaim
from cob.schemas.remit import ClaimPayment

ZERO = Decimal("0")
CONTRACTUAL = (CasGroup.CONTRACTUAL, CasGroup.PAYER_INITIATED)


@dataclass
class PayerAmounts:
    """One payer's answer on a claim or a line: paid, contractual (CO/PI), PR, other (OA)."""

    payer: str
    level: int
    paid: Decimal = ZERO
    contractual: Decimal = ZERO
    patient_responsibility: Decimal = ZERO
    other: Decimal = ZERO
    payer_claim_number: str = ""  # CLP07 (claim level only)

    def add_cas(self, cas) -> None:
        total = cas.total
        if cas.group in CONTRACTUAL:
            self.contractual += total
        elif cas.group is CasGroup.PATIENT:
            self.patient_responsibility += total
        else:
            self.other += total


@dataclass
class LineBalance:
    line: int  # LX, 1-based
    procedure: str
    service_date: str
    charge: Decimal
    payers: list[PayerAmounts] = field(default_factory=list)
    patient_owes: Decimal = ZERO
    write_off: Decimal = ZERO


@dataclass
class Balance:
    """A claim's patient balance (see module doc). `status`: final or reopened."""

    claim_id: str
    status: str
    last_payer: str
    last_level: int
    charge: Decimal
    service_from: str
    service_to: str
    payers: list[PayerAmounts] = field(default_factory=list)
    patient_owes: Decimal = ZERO
    write_off: Decimal = ZERO
    medicaid_write_off: Decimal = ZERO
    lines: list[LineBalance] = field(default_factory=list)
    note: str = ""
    patient_name: str | None = None  # only with [report] include_patient_names = true

    def to_json(self) -> dict:
        return json.loads(json.dumps(asdict(self), default=str))


def is_medicaid(chain: PayerChain, level: int) -> bool:
    """The payer at `level` is Medicaid (SBR09 MC): what it leaves beyond its copay is written off."""
    payer = chain.at(level)
    return payer is not None and payer.sbr.filing_indicator == ClaimFilingIndicator.MEDICAID


def _amounts(payment: ClaimPayment, payer: str, level: int) -> PayerAmounts:
    out = PayerAmounts(payer, level, paid=payment.clp.paid,
                       payer_claim_number=payment.clp.payer_claim_control_number or "")
    for cas in payment.adjustments:
        out.add_cas(cas)
    for service in payment.services:
        for cas in service.adjustments:
            out.add_cas(cas)
    return out


def _medicaid_split(payment: ClaimPayment, cas_list) -> tuple[Decimal, Decimal]:
    """(copay the patient may owe, the rest of PR written off) for a Medicaid last payer."""
    copay = other = ZERO
    for cas in cas_list:
        if cas.group is not CasGroup.PATIENT:
            continue
        for reason, amount, _q in cas.trios():
            if reason == "3":
                copay += amount
            else:
                other += amount
    return copay, other


def compute_balance(claim: Claim, chain: PayerChain, remits: ClaimRemits, status: str = "final") -> Balance:
    """The claim's balance from its standing adjudications (the caller decided it is final or reopened)."""
    adjudications = {a.level: a for a in remits.adjudications}
    last_level = max(adjudications) if adjudications else 0
    last = adjudications.get(last_level)
    service_from, service_to = _service_period(claim)
    out = Balance(claim_id=claim.claim_id, status=status, last_payer=last.payer if last else "",
                  last_level=last_level, charge=claim.charge, service_from=service_from, service_to=service_to)
    for level in sorted(adjudications):
        adj = adjudications[level]
        out.payers.append(_amounts(adj.payment, adj.payer, level))
    if last is None:
        return out
    medicaid = is_medicaid(chain, last_level)
    last_cas = list(last.payment.adjustments) + [c for s in last.payment.services for c in s.adjustments]
    if medicaid:
        out.patient_owes, out.medicaid_write_off = _medicaid_split(last.payment, last_cas)
    else:
        out.patient_owes = out.payers[-1].patient_responsibility
    if status != "final":
        out.patient_owes = ZERO
    out.write_off = claim.charge - sum((p.paid for p in out.payers), ZERO) - out.patient_owes
    out.lines = _lines(claim, adjudications, medicaid, status == "final")
    if not out.lines and claim.lines:
        out.note = ("lines not itemized: a payer adjudicated the claim as a whole (no SVC, e.g. a DRG stay)"
                    if _claim_level_only(adjudications) else
                    "lines not itemized: a payer's services do not match the claim's lines")
    return out


def _service_period(claim: Claim) -> tuple[str, str]:
    """The claim's service dates: an 837I's statement period (DTP*434, the whole stay; its room-and-board lines
    often carry no DTP*472), else the span of the lines' service dates."""
    period = claim.statement_period if isinstance(claim, InstitutionalClaim) else None
    if period is not None:
        return str(period[0]), str(period[1])
    dates = [line.service_date for line in claim.lines if line.service_date is not None]
    return (str(min(d.start for d in dates)), str(max(d.end for d in dates))) if dates else ("", "")


def _claim_level_only(adjudications: dict) -> bool:
    """A payer answered without service lines (SVC): its money cannot be put on the claim's lines."""
    return any(not adj.payment.services for adj in adjudications.values())


def _lines(claim: Claim, adjudications: dict, medicaid: bool, final: bool) -> list[LineBalance]:
    if _claim_level_only(adjudications):  # each line would show nothing paid and its whole charge written off
        return []
    per_payer: dict[int, dict[int, list]] = {}
    for level, adj in adjudications.items():
        match = match_lines(claim, adj.payment)
        if not match.ok:
            return []
        per_payer[level] = match.services
    out = []
    last_level = max(adjudications)
    for index, line in enumerate(claim.lines):
        date = line.service_date
        # an 837I line may carry only its revenue code (SV201) where an 837P line has its procedure (SV101)
        code = line.procedure.code if line.procedure is not None else getattr(line, "revenue_code", "")
        row = LineBalance(line=index + 1, procedure=code,
                          service_date=str(date.start) if date is not None else "", charge=line.charge)
        for level in sorted(adjudications):
            amounts = PayerAmounts(adjudications[level].payer, level)
            services = per_payer[level].get(index, [])
            for service in services:
                amounts.paid += service.svc.paid
                for cas in service.adjustments:
                    amounts.add_cas(cas)
            row.payers.append(amounts)
            if level == last_level and final:
                cas_list = [c for s in services for c in s.adjustments]
                row.patient_owes = (_medicaid_split(adjudications[level].payment, cas_list)[0] if medicaid
                                    else amounts.patient_responsibility)
        row.write_off = row.charge - sum((p.paid for p in row.payers), ZERO) - row.patient_owes
        out.append(row)
    return out


# ------------------------------------------------------------------------------------------------ files

CSV_COLUMNS = ["claim_id", "status", "line", "procedure", "service_from", "service_to", "charge", "payer", "level",
               "payer_claim_number", "paid", "contractual", "payer_patient_responsibility", "other_adjustments", "patient_owes",
               "write_off", "medicaid_write_off"]


def balances_csv(balances: list[Balance], with_names: bool = False) -> str:
    """One row per claim and payer (line ""), then per line and payer; patient_owes and write_off on the
    last payer's row of each claim / line. `with_names`: a patient_name column."""
    buf = io.StringIO()
    columns = CSV_COLUMNS + (["patient_name"] if with_names else [])
    writer = csv.DictWriter(buf, columns, lineterminator="\n")
    writer.writeheader()
    for b in balances:
        base = {"claim_id": b.claim_id, "status": b.status, "service_from": b.service_from,
                "service_to": b.service_to}
        if with_names:
            base["patient_name"] = b.patient_name or ""
        rows = [("", "", b.charge, b.payers, b.patient_owes, b.write_off, b.medicaid_write_off)]
        rows += [(ln.line, ln.procedure, ln.charge, ln.payers, ln.patient_owes, ln.write_off, "")
                 for ln in b.lines]
        for line, procedure, charge, payers, owes, write_off, mcd in rows:
            for n, p in enumerate(payers):
                last = n == len(payers) - 1
                writer.writerow({**base, "line": line, "procedure": procedure, "charge": charge, "payer": p.payer,
                                 "level": p.level, "payer_claim_number": p.payer_claim_number, "paid": p.paid, "contractual": p.contractual,
                                 "payer_patient_responsibility": p.patient_responsibility,
                                 "other_adjustments": p.other, "patient_owes": owes if last else "",
                                 "write_off": write_off if last else "", "medicaid_write_off": mcd if last else ""})
    return buf.getvalue()
