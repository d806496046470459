"""Issue 15 clause 2: ICD-10-CM codes checked against the list, not just their shape; ICD-9 by date.

Values stated by hand from the CMS FY2026 tabular list (simple-icd-10-cm 1.5.0, April 1, 2026 update):
J069 (acute upper respiratory infection, unspecified) and R051 (acute cough) are billable; J06 and R05
are header codes (categories with codes under them); U071 (COVID-19) is billable; Z9999 is no code.
FY2026 runs 2025-10-01 .. 2026-09-30.
"""

from __future__ import annotations

import sys
from datetime import date

from cob.edi import codesets as cs
from cob.edi.validate.context import ClaimContext
from cob.edi.validate.snip5 import check_claim


def test_the_list_and_its_year():
    icd = cs.icd10cm()
    assert (icd.fiscal_year, icd.valid_from, icd.valid_to) == (2026, date(2025, 10, 1), date(2026, 9, 30))
    assert icd.source.startswith("simple-icd-10-cm 1.5.0 (PyPI, MIT)")
    assert icd.status("J069") == cs.OK and icd.status("R051") == cs.OK and icd.status("U071") == cs.OK
    assert icd.status("S72001A") == cs.OK  # a 7-character code with its extension
    assert icd.status("J06") == cs.HEADER and icd.status("R05") == cs.HEADER and icd.status("S72001") == cs.HEADER
    assert icd.status("Z9999") == cs.UNKNOWN
    # A00 is stored as " .! 0 1 9 ": text that spans two entries, or marks, is no code
    assert icd.status("A000") == cs.OK and icd.status("A00") == cs.HEADER
    assert icd.status("A000 1") == icd.status("A00!") == icd.status("A00.") == icd.status("") == cs.UNKNOWN
    assert (icd.billable, icd.headers) == (74719, 23467)


def _claim(hi: str, service: str | None = "20260215") -> ClaimContext:
    segs = [("2300", ["CLM", "A1", "100", "", "", "11:B:1", "Y", "A", "Y", "Y"], 10, 3),
            ("2300", hi.split("*"), 11, 4),
            ("2400", ["LX", "1"], 12, 5),
            ("2400", ["SV1", "HC:99213", "100", "UN", "1", "", "", "1"], 13, 6)]
    if service is not None:
        segs.append(("2400", ["DTP", "472", "D8", service], 14, 7))
    ctx = ClaimContext(file="t.837", transaction="837", claim_id="A1", segments=segs)
    check_claim(ctx)
    return ctx


def _found(ctx) -> list[tuple[str, str, str]]:
    return [(f.code, f.severity, f.message) for f in ctx.findings]


def test_billable_codes_pass():
    assert _claim("HI*ABK:J069*ABF:R051*ABF:U071").findings == []


def test_unknown_code_in_the_lists_year_is_an_error():
    [(code, severity, message)] = _found(_claim("HI*ABK:J069*ABF:Z9999"))
    assert (code, severity) == ("icd10_unknown", "error")
    assert message == "HI02-02 Z9999 is not an ICD-10-CM code of ICD-10-CM FY2026, the year of the service (2026-02-15)"
    assert _claim("HI*ABK:J069*ABF:Z9999").findings[0].ik4 == "7"


def test_unknown_code_before_the_lists_year_is_a_warning():
    [(code, severity, message)] = _found(_claim("HI*ABK:Z9999", service="20240301"))
    assert (code, severity) == ("icd10_unknown", "warning")
    assert "older than the list: the code may have been deleted since" in message


def test_unknown_code_after_the_lists_year_is_a_warning():
    # FY2027 began 2026-10-01: its new codes cannot be in the FY2026 list
    [(code, severity, message)] = _found(_claim("HI*ABK:Z9999", service="20261105"))
    assert (code, severity) == ("icd10_unknown", "warning")
    assert "newer than the list: the code may be new" in message


def test_header_code_is_an_error():
    assert _found(_claim("HI*ABK:J06")) == [
        ("icd10_header", "error", "HI01-02 J06 is a header code in ICD-10-CM FY2026 (a category with codes "
                                  "under it), not billable: report the code under it")]
    # a claim from before the list's year: the code may have been billable then
    assert [(c, s) for c, s, _ in _found(_claim("HI*ABK:R05", service="20200101"))] == [("icd10_header", "warning")]


def test_icd9_after_2015_10_01_is_an_error():
    assert _found(_claim("HI*BK:4659", service="20250301")) == [
        ("icd9_qualifier", "error", "HI01-1 qualifier BK is ICD-9-CM, which may not be used for services from "
                                    "2015-10-01 on (latest service date 2025-03-01)")]
    assert [(c, s) for c, s, _ in _found(_claim("HI*BK:4659*BF:7862", service="20151001"))] == [
        ("icd9_qualifier", "error"), ("icd9_qualifier", "error")]


def test_icd9_before_2015_10_01_is_fine():
    assert _claim("HI*BK:4659*BF:7862", service="20150930").findings == []
    assert _claim("HI*BK:4659", service="19980115").findings == []


def test_icd9_without_a_service_date_is_a_warning():
    assert [(c, s) for c, s, _ in _found(_claim("HI*BK:4659", service=None))] == [("icd9_qualifier", "warning")]


def test_list_is_not_loaded_without_hi():
    cs.icd10cm.cache_clear()
    ctx = ClaimContext(file="t.837", transaction="837", claim_id="A1", segments=[
        ("2300", ["CLM", "A1", "100", "", "", "11:B:1", "Y", "A", "Y", "Y"], 10, 3)])
    check_claim(ctx)
    assert cs.icd10cm.cache_info().currsize == 0
    _claim("HI*ABK:J069")
    assert cs.icd10cm.cache_info().currsize == 1
    assert "simple_icd_10_cm" not in sys.modules  # the source package is never imported at run time
