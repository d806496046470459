"""UB-04 (NUBC) code lists the 837I carries, as far as they are public, and the formats of the others.

The NUBC Official UB-04 Data Specifications Manual is licensed; these lists are the codes published in
public payer and Medicare contractor material (CMS Claims Processing Manual ch. 25, MAC UB-04 guides),
written out by hand. A code missing from a list may be newer than the list: the validator reports it as
a warning, like an unknown CARC. Value, occurrence and condition codes (hundreds, revised quarterly) are
checked for their format only.
"""

from __future__ import annotations

import re

#: CL101 / UB-04 FL 14 priority (type) of admission or visit
ADMISSION_TYPES = frozenset({"1", "2", "3", "4", "5", "9"})  # emergency, urgent, elective, newborn, trauma, n/a

#: CL102 / FL 15 point of origin for admission or visit. 7 (emergency room) was retired in 2010, A (transfer
#: from a critical access hospital) and C (readmission to the same home health agency) earlier: not listed.
ADMISSION_SOURCES = frozenset({"1", "2", "4", "5", "6", "8", "9", "B", "D", "E", "F", "G"})

#: CL103 / FL 17 patient discharge status
PATIENT_STATUSES = frozenset({
    "01", "02", "03", "04", "05", "06", "07", "09", "20", "21", "30", "40", "41", "42", "43", "50", "51",
    "61", "62", "63", "64", "65", "66", "69", "70",
    *(str(n) for n in range(81, 96)),  # 81-95: discharged with a planned acute care readmission
})

#: CLM05-1 / FL 4 digits 2-3: the kind of facility (1 hospital, 2 skilled nursing, 3 home health,
#: 4 religious non-medical hospital, 6 intermediate care, 7 clinic, 8 special facility; 5 was retired)
FACILITY_KINDS = frozenset("1234678")

#: CLM05-3 / FL 4 digit 4: frequency of the bill (0 non-payment, 1 admit through discharge, 2-4 interim,
#: 5 late charges, 7 replacement, 8 void, 9 final home health PPS claim, A-Q notices and adjustments)
FREQUENCIES = frozenset("012345789ABCDEFGHIJKMPQ")

_TWO = re.compile(r"[0-9A-Z]{2}\Z")
_PCS = re.compile(r"[0-9A-HJ-NP-Z]{7}\Z")  # ICD-10-PCS: seven characters, no I or O


def facility_type_ok(code: str) -> bool:
    """Two digits: the kind of facility and a bill classification (1-9)."""
    return len(code) == 2 and code[0] in FACILITY_KINDS and code[1] in "123456789"


def revenue_code_ok(code: str) -> bool:
    """A service line revenue code (FL 42): four digits, 0100-1009, or the SNF/home health PPS codes
    0022-0024. 0001 (total charges) is a paper-form line the 837I carries in CLM02, not in a 2400."""
    if len(code) != 4 or not code.isdigit():
        return False
    return code in ("0022", "0023", "0024") or 100 <= int(code) <= 1009


def two_character_code_ok(code: str) -> bool:
    """Value (FL 39-41), occurrence (FL 31-34), occurrence span (FL 35-36) and condition (FL 18-28) codes:
    two characters, digits or capital letters."""
    return bool(_TWO.match(code))


def icd10_pcs_ok(code: str) -> bool:
    return bool(_PCS.match(code))


def drg_ok(code: str) -> bool:
    """An MS-DRG: three digits."""
    return len(code) == 3 and code.isdigit()
