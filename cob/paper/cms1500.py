"""The CMS-1500 (02/12) claim form: which value goes in which box, and where the box is.

What goes in each box follows the NUCC "1500 Health Insurance Claim Form Reference Instruction Manual"
for form version 02/12 (items 1-33), read from the claim cob built for the destination payer (the same
`cob.schemas.claim.Claim` the 837P writer writes: 2000B/2010BA/2010BB are the destination's policy, each
2320/2330A/2330B an other payer). The rules that matter for a secondary claim:

- item 11d "Is there another health benefit plan?" is YES (an earlier payer adjudicated), so items 9,
  9a and 9d are completed: "the name of the insured" of the other plan, its policy or group number and
  its plan or program name. The other plan is the payer immediately before the destination (the
  primary on a secondary claim, the secondary on a tertiary claim); the manual's boxes hold one other
  plan, and every earlier payer's decision is on the EOB pages printed after the form.
- item 29 "Amount paid": "Enter total amount the patient and/or other payers paid on the covered
  services only": every earlier payer's paid amount (2320 AMT*D) plus what the patient paid (2300
  AMT*F5).
- item 21: the ICD indicator (0 = ICD-10-CM, 9 = ICD-9-CM, from the HI qualifier ABK/ABF or BK/BF) and up
  to twelve codes A-L; item 24E refers to them by letter.
- item 24: six service lines a form. More lines continue on further forms; items 28 and 29 (the claim's
  totals) are printed on the last form only, as the manual asks for a claim that takes several forms.
- money: "right justified in the left-hand area of the field", cents in the right-hand area, no dollar
  sign, comma or decimal point (the form's vertical rule separates dollars and cents); dates 24A as
  MM DD YY, birth dates (3, 11a) as MM DD YYYY; names "LAST, FIRST, M" (item 2, 4, 9).

Where: the form is built for data printed in Courier 10 pitch at 6 lines per inch, so its 8.5 x 11 inch
page is a grid of character cells 0.1 in wide and 1/6 in high: 66 lines counted from 1 at the top edge (top
of form), and the 80 columns of the form's 8 inch wide printed area counted from 1 at 0.25 in from the left
edge (the form's margin; 85 columns with both margins).
The (line, column) of each field below is the standard print alignment of the 02/12 form, the one
billing systems that print on the red form use (OpenEMR's `src/Billing/Hcfa1500.php`, 02/12 layout):
e.g. item 1 line 8, items 9/11 line 18, 9a/11a line 20, 9d/11d line 26 (11d YES col 52, NO col 57),
21 lines 38-40 (ICD indicator line 37 col 42), 24 lines 44, 46, ..., 54 (the shaded supplemental rows
above them 43-53), 25-29 line 56, 32/33 lines 58-61 (33a col 50 line 61). `PROOF_BOXES` outlines the
boxes on the same grid for a plain-paper proof copy. A printer that feeds the form a little off is
aligned at the printer (top-of-form and left margin), not here.

Sources (searched for this module): the NUCC manual's item texts as quoted by billing vendors' help pages
(e.g. item 29: "Enter total amount the patient and/or other payers paid on the covered services only.
Enter the amount right justified in the left-hand area of the field... Enter 00 in the right-hand area if
the amount is a whole number"); the (line, column) of every field from OpenEMR's 02/12 print layout
(`putHcfa(line, col, width, data)` calls in src/Billing/Hcfa1500.php), whose text output is printed at 10
cpi and 6 lpi from top of form. The manual itself publishes no character grid; a test print on the red
form is the final check of an alignment.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Iterable

from cob.schemas.claim import Claim, OtherPayer, ServiceLine
from cob.schemas.codes import PayerSequence
from cob.schemas.common import Party

COLUMNS = 80  # the form's 8 in wide printed area at 10 characters per inch (0.25 in margins)
LINES = 66  # 11 in at 6 lines per inch
LINES_PER_FORM = 6  # item 24 holds six service lines


@dataclass(frozen=True)
class Cell:
    """Where a field starts (1-based line and column on the 85 x 66 grid) and how many characters it holds."""

    line: int
    col: int
    width: int = 1


#: field -> its first character cell, for the 02/12 form (see the module docstring for the source)
FIELDS: dict[str, Cell] = {
    # carrier block (top right): the payer this form is mailed to
    "carrier_name": Cell(2, 41, 31), "carrier_address1": Cell(3, 41, 31), "carrier_address2": Cell(4, 41, 31),
    "carrier_city": Cell(5, 41, 31),
    # 1: type of coverage (one X) and 1a
    "1_medicare": Cell(8, 1), "1_medicaid": Cell(8, 8), "1_tricare": Cell(8, 15), "1_champva": Cell(8, 24),
    "1_group": Cell(8, 31), "1_feca": Cell(8, 39), "1_other": Cell(8, 45), "1a": Cell(8, 50, 29),
    # 2, 3, 4
    "2": Cell(10, 1, 28), "3_mm": Cell(10, 31, 2), "3_dd": Cell(10, 34, 2), "3_yyyy": Cell(10, 37, 4),
    "3_m": Cell(10, 42), "3_f": Cell(10, 47), "4": Cell(10, 50, 29),
    # 5, 6, 7
    "5_street": Cell(12, 1, 28), "6_self": Cell(12, 33), "6_spouse": Cell(12, 38), "6_child": Cell(12, 42),
    "6_other": Cell(12, 47), "7_street": Cell(12, 50, 29),
    "5_city": Cell(14, 1, 24), "5_state": Cell(14, 26, 3), "7_city": Cell(14, 50, 23), "7_state": Cell(14, 74, 3),
    "5_zip": Cell(16, 1, 12), "5_phone": Cell(16, 15, 13), "7_zip": Cell(16, 50, 12), "7_phone": Cell(16, 65, 14),
    # 9, 10, 11
    "9": Cell(18, 1, 28), "11": Cell(18, 50, 29),
    "9a": Cell(20, 1, 28), "10a_yes": Cell(20, 35), "10a_no": Cell(20, 41),
    "11a_mm": Cell(20, 53, 2), "11a_dd": Cell(20, 56, 2), "11a_yyyy": Cell(20, 59, 4), "11a_m": Cell(20, 68),
    "11a_f": Cell(20, 75),
    "10b_yes": Cell(22, 35), "10b_no": Cell(22, 41), "10b_state": Cell(22, 45, 2),
    "10c_yes": Cell(24, 35), "10c_no": Cell(24, 41), "11c": Cell(24, 50, 29),
    "9d": Cell(26, 1, 28), "11d_yes": Cell(26, 52), "11d_no": Cell(26, 57),
    # 12, 13 (signatures), 14, 17
    "12": Cell(29, 7, 17), "13": Cell(29, 55, 17),
    "14_mm": Cell(32, 2, 2), "14_dd": Cell(32, 5, 2), "14_yyyy": Cell(32, 8, 4), "14_qual": Cell(32, 16, 3),
    "17_qual": Cell(34, 1, 2), "17": Cell(34, 4, 25), "17b": Cell(34, 33, 15),
    # 21, 22, 23 (21 A-L at 38/39/40, columns 3, 16, 29, 42)
    "21_ind": Cell(37, 42), "22_code": Cell(38, 50, 10), "22_ref": Cell(38, 62, 15), "23": Cell(40, 50, 28),
    # 25-29
    "25": Cell(56, 1, 15), "25_ssn": Cell(56, 17), "25_ein": Cell(56, 19), "26": Cell(56, 23, 14),
    "27_yes": Cell(56, 38), "27_no": Cell(56, 43), "28": Cell(56, 50, 10), "29": Cell(56, 61, 9),
    # 31, 32, 33
    "33_phone": Cell(57, 66, 14),
    "32_name": Cell(58, 23, 25), "33_name": Cell(58, 50, 29),
    "32_street": Cell(59, 23, 25), "33_street": Cell(59, 50, 29),
    "31": Cell(60, 1, 20), "32_city": Cell(60, 23, 26), "33_city": Cell(60, 50, 29),
    "32a": Cell(61, 23, 10), "33a": Cell(61, 50, 10), "33b": Cell(61, 63, 16),
}
for _n, _letter in enumerate("ABCDEFGHIJKL"):
    FIELDS[f"21_{_letter}"] = Cell(38 + _n // 4, 3 + 13 * (_n % 4), 8)

#: item 24 columns of a service line (its unshaded line; 24I and the 24J other id sit on the shaded line above)
LINE_FIELDS: dict[str, Cell] = {
    "24a_from_mm": Cell(0, 1, 2), "24a_from_dd": Cell(0, 4, 2), "24a_from_yy": Cell(0, 7, 2),
    "24a_to_mm": Cell(0, 10, 2), "24a_to_dd": Cell(0, 13, 2), "24a_to_yy": Cell(0, 16, 2),
    "24b": Cell(0, 19, 2), "24c": Cell(0, 22, 1), "24d_code": Cell(0, 25, 6),
    "24d_mod1": Cell(0, 33, 2), "24d_mod2": Cell(0, 36, 2), "24d_mod3": Cell(0, 39, 2), "24d_mod4": Cell(0, 42, 2),
    "24e": Cell(0, 45, 4), "24f": Cell(0, 50, 8), "24g": Cell(0, 59, 3), "24h": Cell(0, 63, 2),
    "24j": Cell(0, 68, 11),
}


def service_line_row(n: int) -> int:
    """Grid line of the n-th (1-6) service line of a form: 44, 46, ..., 54."""
    return 42 + 2 * n


#: outlines for the plain-paper proof copy: (caption, first line, first column, last line, last column)
PROOF_BOXES: list[tuple[str, int, int, int, int]] = [
    ("CARRIER", 1, 40, 5, 80),
    ("1. MEDICARE MEDICAID TRICARE CHAMPVA GROUP FECA OTHER", 7, 1, 8, 48), ("1a. INSURED'S I.D. NUMBER", 7, 49, 8, 80),
    ("2. PATIENT'S NAME", 9, 1, 10, 29), ("3. BIRTH DATE / SEX", 9, 30, 10, 48), ("4. INSURED'S NAME", 9, 49, 10, 80),
    ("5. PATIENT'S ADDRESS", 11, 1, 16, 29), ("6. RELATIONSHIP SELF SPOUSE CHILD OTHER", 11, 30, 12, 48),
    ("8. RESERVED", 13, 30, 16, 48), ("7. INSURED'S ADDRESS", 11, 49, 16, 80),
    ("9. OTHER INSURED'S NAME", 17, 1, 18, 29), ("10. CONDITION RELATED TO", 17, 30, 26, 48),
    ("11. INSURED'S POLICY GROUP", 17, 49, 18, 80),
    ("9a. OTHER INSURED'S POLICY OR GROUP", 19, 1, 20, 29), ("11a. INSURED'S BIRTH DATE / SEX", 19, 49, 20, 80),
    ("9b. RESERVED", 21, 1, 22, 29), ("11b. OTHER CLAIM ID", 21, 49, 22, 80),
    ("9c. RESERVED", 23, 1, 24, 29), ("11c. INSURANCE PLAN NAME", 23, 49, 24, 80),
    ("9d. INSURANCE PLAN NAME", 25, 1, 26, 29), ("11d. ANOTHER PLAN? YES NO", 25, 49, 26, 80),
    ("12. PATIENT'S SIGNATURE", 27, 1, 29, 48), ("13. INSURED'S SIGNATURE", 27, 49, 29, 80),
    ("14. DATE OF CURRENT ILLNESS", 31, 1, 32, 29), ("15. OTHER DATE", 31, 30, 32, 48),
    ("16. UNABLE TO WORK", 31, 49, 32, 80), ("17. REFERRING PROVIDER", 33, 1, 34, 48),
    ("18. HOSPITALIZATION DATES", 33, 49, 34, 80), ("19. ADDITIONAL CLAIM INFORMATION", 35, 1, 36, 48),
    ("20. OUTSIDE LAB", 35, 49, 36, 80), ("21. DIAGNOSIS (ICD IND.)", 37, 1, 40, 48),
    ("22. RESUBMISSION", 37, 49, 38, 80), ("23. PRIOR AUTHORIZATION", 39, 49, 40, 80),
    ("24. A DATES  B POS C EMG  D PROCEDURE  E PTR  F CHARGES  G UNITS H  I  J RENDERING NPI", 41, 1, 54, 80),
    ("25. FEDERAL TAX I.D. SSN EIN", 55, 1, 56, 21), ("26. PATIENT'S ACCOUNT NO.", 55, 22, 56, 36),
    ("27. ACCEPT ASSIGNMENT", 55, 37, 56, 48), ("28. TOTAL CHARGE", 55, 49, 56, 60),
    ("29. AMOUNT PAID", 55, 61, 56, 71), ("30. RSVD", 55, 72, 56, 80),
    ("31. SIGNATURE OF PHYSICIAN", 57, 1, 61, 21), ("32. SERVICE FACILITY", 57, 22, 61, 48),
    ("33. BILLING PROVIDER INFO & PH #", 57, 49, 61, 80),
]


@dataclass(frozen=True)
class Placed:
    """One field's text at its first character cell."""

    field: str
    line: int
    col: int
    text: str


@dataclass
class FormPage:
    """One CMS-1500 form of a claim (a claim of more than six lines takes several)."""

    claim_id: str
    number: int
    of: int
    fields: list[Placed]

    def value(self, field: str) -> str | None:
        return next((p.text for p in self.fields if p.field == field), None)


# --------------------------------------------------------------------------------------------- codes

#: SBR09 claim filing indicator -> item 1 box. "Other indicates health insurance including HMOs, commercial
#: insurance, automobile accident, liability, or workers' compensation" (the form's own note).
COVERAGE_BOX = {"MA": "1_medicare", "MB": "1_medicare", "MC": "1_medicaid", "CH": "1_tricare", "VA": "1_champva",
                "BL": "1_group", "FI": "1_group"}
#: patient's relationship to the insured (SBR02 / PAT01) -> item 6 box
RELATIONSHIP_BOX = {"18": "6_self", "01": "6_spouse", "19": "6_child"}
#: HI qualifiers of principal and other diagnoses -> item 21 ICD indicator
ICD_INDICATOR = {"ABK": "0", "ABF": "0", "BK": "9", "BF": "9"}
LETTERS = "ABCDEFGHIJKL"


class DoesNotFit(ValueError):
    """A value the form has no room for (an amount wider than its box); the claim cannot go on paper."""


def money(amount: Decimal, dollars: int = 5) -> str:
    """An amount as the form takes it: dollars right-justified in `dollars` cells, a blank (the form's rule
    between dollars and cents), 2 cents cells: 250 -> '  250 00'."""
    cents = int((amount * 100).to_integral_value())
    if cents < 0:
        raise DoesNotFit(f"amount {amount}: the 1500 form takes no negative amounts")
    if len(str(cents // 100)) > dollars:
        raise DoesNotFit(f"amount {amount} has more than {dollars} dollar digits, the room its box has")
    return f"{cents // 100:>{dollars}} {cents % 100:02d}"


def name_of(party: Party | None) -> str:
    """'LAST, FIRST, M' (item 2, 4, 9): a suffix after the last name, the middle name's initial."""
    if party is None:
        return ""
    nm1 = party.name
    last = " ".join(p for p in (nm1.last_or_org_name, nm1.suffix) if p)
    parts = [last] if last else []
    if nm1.first_name:
        parts.append(nm1.first_name)
        if nm1.middle_name:
            parts.append(nm1.middle_name[:1])
    return ", ".join(parts)


def _split_date(value: dt.date | None) -> tuple[str, str, str] | None:
    return None if value is None else (f"{value.month:02d}", f"{value.day:02d}", f"{value.year:04d}")


def _d8(text: str) -> dt.date:
    return dt.date(int(text[:4]), int(text[4:6]), int(text[6:8]))


def _rank(sequence: PayerSequence | None) -> int:
    """A payer's place in the order (P 1, S 2, T 3, ...); 0 for none or U (unknown)."""
    try:
        return sequence.rank if sequence is not None else 0
    except KeyError:
        return 0


# --------------------------------------------------------------------------------------------- the form

class _Form:
    """The fields of one form, each clipped to its box."""

    def __init__(self) -> None:
        self.fields: list[Placed] = []

    def put(self, field: str, text: str | None, cell: Cell | None = None) -> None:
        if not text:
            return
        cell = cell or FIELDS[field]
        text = text.upper()[:cell.width]
        stripped = text.lstrip()  # right-justified amounts start where their first digit is
        if stripped.strip():
            self.fields.append(Placed(field, cell.line, cell.col + len(text) - len(stripped), stripped.rstrip()))

    def mark(self, field: str) -> None:
        self.put(field, "X")


def claim_forms(claim: Claim) -> list[FormPage]:
    """The CMS-1500 forms of one built claim: six service lines a form, the totals (28, 29) on the last.
    Raises `DoesNotFit` for an amount wider than its box (24F up to 99,999.99, 28 up to 9,999,999.99)."""
    chunks = [claim.lines[i:i + LINES_PER_FORM] for i in range(0, len(claim.lines), LINES_PER_FORM)] or [[]]
    pages = []
    for number, lines in enumerate(chunks, start=1):
        form = _Form()
        _header(form, claim)
        for n, line in enumerate(lines, start=1):
            _service_line(form, claim, line, service_line_row(n))
        if number == len(chunks):
            form.put("28", money(claim.clm.total_charge, dollars=7))  # cents in columns 58-59
            form.put("29", money(amount_paid(claim), dollars=6))  # cents in columns 68-69
        pages.append(FormPage(claim.claim_id, number, len(chunks), form.fields))
    return pages


def prior_payer(claim: Claim) -> OtherPayer | None:
    """The other payer of items 9-9d: the one immediately before the destination (the latest to adjudicate)."""
    destination = _rank(claim.subscriber.sbr.payer_sequence) if claim.subscriber is not None else 99
    earlier = [op for op in claim.other_payers
               if op.paid_amount is not None and _rank(op.sbr.payer_sequence) < destination]
    return max(earlier, key=lambda op: _rank(op.sbr.payer_sequence), default=None)


def amount_paid(claim: Claim) -> Decimal:
    """Item 29: what the other payers (each adjudicated 2320's AMT*D) and the patient (AMT*F5) paid."""
    destination = _rank(claim.subscriber.sbr.payer_sequence) if claim.subscriber is not None else 99
    total = sum((op.paid_amount for op in claim.other_payers
                 if op.paid_amount is not None and _rank(op.sbr.payer_sequence) < destination), Decimal(0))
    total += sum((a.amount for a in claim.amounts if a.qualifier == "F5"), Decimal(0))
    return total


def _header(form: _Form, claim: Claim) -> None:
    """Everything but the service lines and totals: repeated on each form of a claim."""
    sub = claim.subscriber
    insured = sub.subscriber if sub is not None else None
    payer = sub.payer if sub is not None else None
    patient = claim.patient.name if claim.patient is not None else insured
    relationship = claim.patient.pat.relationship if claim.patient is not None else (
        sub.sbr.relationship if sub is not None else None)
    # carrier block: the destination payer
    if payer is not None:
        form.put("carrier_name", payer.name.last_or_org_name)
        _address(form, payer, "carrier_address1", "carrier_address2", "carrier_city")
    # 1, 1a
    filing = sub.sbr.filing_indicator.value if sub is not None and sub.sbr.filing_indicator is not None else ""
    form.mark(COVERAGE_BOX.get(filing, "1_other"))
    form.put("1a", insured.name.id if insured is not None else None)
    # 2, 3 (patient), 4 (insured), 5, 6, 7
    form.put("2", name_of(patient))
    _birth(form, patient, "3")
    form.put("4", name_of(insured))
    _street(form, patient, "5")
    form.mark(RELATIONSHIP_BOX.get(relationship or "", "6_other"))
    _street(form, insured, "7")
    # 9, 9a, 9d: the other plan; 11d YES
    other = prior_payer(claim)
    if other is not None:
        form.put("9", name_of(other.subscriber))
        form.put("9a", other.sbr.group_number or (other.subscriber.name.id if other.subscriber else None))
        form.put("9d", other.sbr.group_name or (other.payer.name.last_or_org_name if other.payer else None))
    form.mark("11d_yes" if other is not None or claim.other_payers else "11d_no")
    # 10a-c: condition related to employment, auto accident (state), other accident
    causes = claim.clm.related_causes
    codes = {c for c in (causes.cause1, causes.cause2, causes.cause3) if c} if causes is not None else set()
    form.mark("10a_yes" if "EM" in codes else "10a_no")
    form.mark("10b_yes" if "AA" in codes else "10b_no")
    if "AA" in codes:
        form.put("10b_state", causes.state)
    form.mark("10c_yes" if "OA" in codes else "10c_no")
    # 11, 11a, 11c: the destination's policy
    if sub is not None:
        form.put("11", sub.sbr.group_number)
        form.put("11c", sub.sbr.group_name or (payer.name.last_or_org_name if payer is not None else None))
    _birth(form, insured, "11a")
    # 12, 13: signatures on file (CLM09 release of information, CLM08 assignment of benefits)
    if claim.clm.release_of_information == "Y":
        form.put("12", "SIGNATURE ON FILE")
    if claim.clm.benefits_assignment == "Y":
        form.put("13", "SIGNATURE ON FILE")
    # 14: onset of current illness (DTP*431)
    onset = next((d for d in claim.dates if d.qualifier == "431" and d.format == "D8"), None)
    if onset is not None:
        mm, dd, yyyy = _split_date(_d8(onset.value))
        for field, value in (("14_mm", mm), ("14_dd", dd), ("14_yyyy", yyyy), ("14_qual", "431")):
            form.put(field, value)
    # 17, 17b: referring provider (2310A)
    referring = claim.provider("2310A")
    if referring is not None:
        form.put("17_qual", referring.name.entity_id)  # DN referring, P3 primary care
        form.put("17", name_of(referring))
        form.put("17b", referring.name.id if referring.name.id_qualifier == "XX" else None)
    # 21: ICD indicator and diagnoses A-L
    codes21 = [c for hi in claim.diagnoses for c in _hi_codes(hi) if c.qualifier in ICD_INDICATOR][:12]
    if codes21:
        form.put("21_ind", ICD_INDICATOR[codes21[0].qualifier])
        for letter, code in zip(LETTERS, codes21):
            form.put(f"21_{letter}", code.code)
    # 22: resubmission (CLM05-3 7 or 8) with the original reference (REF*F8); 23: prior authorization
    if claim.frequency in ("7", "8"):
        form.put("22_code", claim.frequency)
        form.put("22_ref", claim.ref("F8"))
    form.put("23", claim.ref("G1"))
    # 25, 26, 27
    billing = claim.billing_provider.billing if claim.billing_provider is not None else None
    if billing is not None:
        ein, ssn = billing.ref("EI"), billing.ref("SY")
        form.put("25", ein or ssn)
        if ein or ssn:
            form.mark("25_ein" if ein else "25_ssn")
    form.put("26", claim.claim_id)
    if claim.clm.assignment:
        form.mark("27_no" if claim.clm.assignment == "C" else "27_yes")
    # 31, 32, 32a, 33, 33a
    if claim.clm.provider_signature == "Y":
        form.put("31", "SIGNATURE ON FILE")
    facility = claim.provider("2310C")
    if facility is not None:
        form.put("32_name", facility.name.last_or_org_name)
        _address(form, facility, "32_street", None, "32_city")
        form.put("32a", facility.name.id if facility.name.id_qualifier == "XX" else None)
    if billing is not None:
        form.put("33_name", name_of(billing) if billing.name.entity_type == "1" else billing.name.last_or_org_name)
        _address(form, billing, "33_street", None, "33_city")
        form.put("33a", billing.name.id if billing.name.id_qualifier == "XX" else None)
        phone = next((c.number1 for c in billing.contacts if c.qualifier1 == "TE"), None)
        form.put("33_phone", _phone(phone))


def _hi_codes(hi) -> Iterable:
    for n in range(1, 13):
        code = getattr(hi, f"code{n}")
        if code is not None and code.code:
            yield code


def _street(form: _Form, party: Party | None, box: str) -> None:
    """Items 5 and 7: street, city, state, ZIP (the models hold no phone for them)."""
    if party is None:
        return
    if party.address is not None:
        form.put(f"{box}_street", party.address.address1)
    if party.location is not None:
        form.put(f"{box}_city", party.location.city)
        form.put(f"{box}_state", party.location.state)
        form.put(f"{box}_zip", party.location.postal_code)


def _address(form: _Form, party: Party, line1: str, line2: str | None, city: str) -> None:
    if party.address is not None:
        form.put(line1, party.address.address1)
        if line2 is not None:
            form.put(line2, party.address.address2)
    loc = party.location
    if loc is not None:
        form.put(city, " ".join(p for p in (f"{loc.city}," if loc.city else "", loc.state, loc.postal_code) if p))


def _birth(form: _Form, party: Party | None, box: str) -> None:
    dmg = party.demographics if party is not None else None
    if dmg is None:
        return
    parts = _split_date(dmg.birth_date)
    if parts is not None:
        for part, value in zip(("mm", "dd", "yyyy"), parts):
            form.put(f"{box}_{part}", value)
    if dmg.gender in ("M", "F"):
        form.mark(f"{box}_{dmg.gender.lower()}")


def _phone(number: str | None) -> str | None:
    digits = "".join(ch for ch in number or "" if ch.isdigit())
    return f"({digits[:3]}) {digits[3:6]}-{digits[6:10]}" if len(digits) == 10 else (digits or None)


def _service_line(form: _Form, claim: Claim, line: ServiceLine, row: int) -> None:
    def put(field: str, text: str | None) -> None:
        cell = LINE_FIELDS[field]
        form.put(field, text, Cell(row, cell.col, cell.width))

    date = line.service_date or next((d for d in claim.dates if d.qualifier == "472"), None)
    if date is not None:
        start = _d8(date.value[:8])
        end = _d8(date.value[9:17]) if date.format == "RD8" else start
        for prefix, day in (("24a_from", start), ("24a_to", end)):
            for part, value in (("mm", day.month), ("dd", day.day), ("yy", day.year % 100)):
                put(f"{prefix}_{part}", f"{value:02d}")
    sv1 = line.sv1
    put("24b", sv1.place_of_service or (claim.clm.location.place_of_service if claim.clm.location else None))
    put("24c", "Y" if sv1.emergency == "Y" else None)
    put("24d_code", sv1.procedure.code)
    for n in range(1, 5):
        put(f"24d_mod{n}", getattr(sv1.procedure, f"modifier{n}"))
    pointers = sv1.diagnosis_pointers
    if pointers is not None:
        numbers = [getattr(pointers, f"pointer{n}") for n in range(1, 5)]
        put("24e", "".join(LETTERS[int(p) - 1] for p in numbers if p and p.isdigit() and 1 <= int(p) <= 12))
    put("24f", money(sv1.charge))
    if sv1.units is not None:
        put("24g", format(sv1.units.normalize(), "f"))
    put("24h", sv1.epsdt if sv1.epsdt == "Y" else None)
    rendering = next((p for p in line.providers if p.loop == "2420A"), None) or claim.provider("2310B")
    if rendering is not None and rendering.name.id_qualifier == "XX":
        put("24j", rendering.name.id)
