"""The prior payer's explanation of benefits, printed after the claim forms it belongs to.

Payers that take paper deny a secondary claim sent without the primary's EOB as unprocessable. cob has
the primary's 835 claim payment (`cob.schemas.remit.ClaimPayment` with its `PaymentHeader`), so it lays
out what an EOB shows: the payer, the payment date and check/EFT number (BPR16, BPR04, TRN02), the claim
(CLP01 account, CLP02 status, CLP07 the payer's claim number, charge, allowed, paid, CLP05 patient
responsibility, claim CAS, MOA remarks) and each service line (SVC procedure, date, units, charge, AMT*B6
allowed, paid, its patient responsibility = its PR adjustments, its CAS group-reason-amount trios, LQ*HE
remarks).

Codes print as codes: the texts of the CARCs and RARCs are X12's and WPC's, not ours to reprint. The
group codes are five, defined by the 835 guide itself; a one-line legend of them closes the page.

The page is plain text in a monospaced font: `eob_pages` returns its lines, already split into pages, and
`cob.paper.render` draws them.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Iterable

from cob.schemas.remit import ClaimPayment, ServicePayment
from cob.schemas.segments import CAS

WIDTH = 96  # characters a line (Courier 9 pt across 7.2 in)
LINES_PER_PAGE = 62
LEGEND = ["GROUP CODES: CO CONTRACTUAL OBLIGATION  PR PATIENT RESPONSIBILITY  OA OTHER ADJUSTMENT",
          "             PI PAYER INITIATED REDUCTION  CR CORRECTION AND REVERSAL",
          "REASON (CARC) AND REMARK (RARC) CODES ARE PRINTED AS CODES; X12 AND WPC PUBLISH THEIR TEXTS."]
PAYMENT_METHODS = {"CHK": "CHECK", "ACH": "EFT (ACH)", "FWT": "EFT (WIRE)", "BOP": "CHECK OR EFT",
                   "NON": "NO PAYMENT"}


def amount(value: Decimal | None) -> str:
    """Money as an EOB prints it: two decimals, a minus sign where the payer took money back."""
    return "" if value is None else f"{value:,.2f}"


def _date(value: dt.date | None) -> str:
    return "" if value is None else value.strftime("%m/%d/%Y")


def _adjustments(adjustments: Iterable[CAS]) -> list[str]:
    """'CO-45 80.00' for each reason of each CAS: the group, the reason code, its amount (and quantity)."""
    out = []
    for cas in adjustments:
        for reason, value, quantity in cas.trios():
            text = f"{cas.group.value}-{reason} {amount(value)}"
            if quantity is not None:
                text += f" (QTY {format(quantity.normalize(), 'f')})"
            out.append(text)
    return out


def _wrap(label: str, items: list[str], indent: int = 6) -> list[str]:
    """`label` then the items, as many to a line as fit."""
    lines: list[str] = []
    current = " " * indent + label
    for item in items:
        if len(current) + 2 + len(item) > WIDTH and current.strip() != label.strip():
            lines.append(current)
            current = " " * (indent + len(label))
        current += "  " + item
    lines.append(current)
    return lines


def _allowed(service: ServicePayment) -> Decimal | None:
    return next((a.amount for a in service.amounts if a.qualifier == "B6"), None)


def _service_dates(service: ServicePayment, payment: ClaimPayment) -> str:
    dates = {d.qualifier: d.date for d in service.dates if d.date is not None}
    if "472" in dates:
        return _date(dates["472"])
    if "150" in dates:
        end = dates.get("151")
        return _date(dates["150"]) + (f"-{_date(end)}" if end and end != dates["150"] else "")
    claim_dates = {d.qualifier: d.date for d in payment.dates if d.date is not None}
    return _date(claim_dates.get("232"))


def _remarks(payment: ClaimPayment) -> list[str]:
    codes = []
    for source in (payment.moa, payment.mia):
        if source is not None:
            codes += [getattr(source, f"remark{n}") for n in range(1, 6) if getattr(source, f"remark{n}", None)]
    return codes


def eob_lines(payment: ClaimPayment, claim_id: str, destination: str) -> list[str]:
    """The EOB of one claim payment as lines of text (not yet split into pages)."""
    header = payment.header
    clp = payment.clp
    lines = [f"EXPLANATION OF BENEFITS - PRIOR PAYER'S ADJUDICATION (FROM ITS 835 REMITTANCE)",
             f"ATTACHED TO CLAIM {claim_id} BILLED TO PAYER {destination}", ""]
    payer = header.payer if header is not None else None
    payee = header.payee if header is not None else None
    payer_id = (payer.ref("2U") or payer.n1.id) if payer is not None else None
    if payer is None and header is not None and header.trn is not None:
        payer_id = header.trn.originating_company_id
    lines.append(f"PAYER              {payer.n1.name if payer is not None and payer.n1.name else ''}"
                 + (f"  (ID {payer_id})" if payer_id else ""))
    if payee is not None:
        lines.append(f"PAYEE              {payee.n1.name or ''}" + (f"  ({payee.n1.id_qualifier} {payee.n1.id})"
                                                                    if payee.n1.id else ""))
    if header is not None:
        method = header.bpr.payment_method or ""
        lines.append(f"PAYMENT DATE       {_date(header.payment_date)}")
        lines.append(f"PAYMENT METHOD     {method} {PAYMENT_METHODS.get(method, '')}".rstrip())
        lines.append(f"CHECK/EFT NUMBER   {header.trn.trace_number if header.trn is not None else ''}")
        lines.append(f"TOTAL OF PAYMENT   {amount(header.bpr.total_payment)}")
    lines.append("")
    patient = payment.name("QC")
    allowed = [_allowed(s) for s in payment.services]
    claim_allowed = sum(allowed, Decimal(0)) if allowed and all(a is not None for a in allowed) else None
    lines += [
        f"CLAIM              PATIENT ACCOUNT (CLP01) {clp.patient_control_number}",
        f"                   PAYER CLAIM NUMBER (CLP07) {clp.payer_claim_control_number or ''}",
        f"                   CLAIM STATUS (CLP02) {clp.status.value}",
    ]
    if patient is not None:
        who = ", ".join(p for p in (patient.last_or_org_name, patient.first_name) if p)
        lines.append(f"                   PATIENT {who}" + (f"  ID {patient.id}" if patient.id else ""))
    lines += ["",
              f"{'':19}{'CHARGE':>14}{'ALLOWED':>14}{'PAID':>14}{'PATIENT RESP (CLP05)':>24}",
              f"{'CLAIM TOTAL':19}{amount(clp.charge):>14}{amount(claim_allowed):>14}{amount(clp.paid):>14}"
              f"{amount(clp.patient_responsibility):>24}"]
    claim_cas = _adjustments(payment.adjustments)
    lines += _wrap("CLAIM ADJUSTMENTS", claim_cas or ["NONE"], indent=0)
    remarks = _remarks(payment)
    if remarks:
        lines += _wrap("CLAIM REMARKS", remarks, indent=0)
    lines += ["", f"{'LN':<4}{'DATE(S)':<22}{'PROCEDURE':<16}{'UNITS':>6}{'CHARGE':>12}{'ALLOWED':>12}{'PAID':>12}"
                  f"{'PT RESP':>12}", "-" * WIDTH]
    for n, service in enumerate(payment.services, start=1):
        proc = service.svc.procedure
        code = " ".join(p for p in (proc.code, *(getattr(proc, f"modifier{i}") for i in range(1, 5))) if p)
        units = format(service.svc.paid_units.normalize(), "f") if service.svc.paid_units is not None else "1"
        patient = sum((c.total for c in service.adjustments if c.group.value == "PR"), Decimal(0))
        lines.append(f"{n:<4}{_service_dates(service, payment):<22}{code:<16}{units:>6}"
                     f"{amount(service.svc.charge):>12}{amount(_allowed(service)):>12}{amount(service.svc.paid):>12}"
                     f"{amount(patient):>12}")
        if service.control_number:
            lines.append(f"      LINE CONTROL NUMBER (REF*6R) {service.control_number}")
        lines += _wrap("ADJUSTMENTS", _adjustments(service.adjustments) or ["NONE"])
        codes = [r.code for r in service.remarks]
        if codes:
            lines += _wrap("REMARKS", codes)
    lines += ["-" * WIDTH, "", *LEGEND]
    return [line[:WIDTH] for line in lines]


def eob_pages(payment: ClaimPayment, claim_id: str, destination: str) -> list[list[str]]:
    """The EOB split into pages, each numbered ('PAGE 1 OF 2') on its last line."""
    lines = eob_lines(payment, claim_id, destination)
    body = LINES_PER_PAGE - 2
    chunks = [lines[i:i + body] for i in range(0, len(lines), body)]
    return [chunk + ["", f"EOB PAGE {n} OF {len(chunks)}"] for n, chunk in enumerate(chunks, start=1)]
