"""cob.edi.codesets: shipped code lists and the pure checks over them (values stated by hand from the sources)."""

from datetime import date

import pytest

from cob.edi import codesets as cs


def test_carc_dates_from_the_published_list():
    # CARC 17: Start 01/01/1995, Stop 07/01/2009 (X12/WPC list)
    assert cs.carc_status("17", date(2009, 7, 2)) == cs.RETIRED
    assert cs.carc_status("17", date(2009, 7, 1)) == cs.OK  # usable on its stop date
    assert cs.carc_status("17") == cs.OK
    # CARC 253 (sequestration) starts 06/02/2013
    assert cs.carc_status("253", date(2013, 6, 1)) == cs.NOT_YET_EFFECTIVE
    assert cs.carc_status("253", date(2024, 1, 1)) == cs.OK
    # CARC 38 stopped 01/01/2013 (replaced by 242/243)
    assert cs.carc_status("38", date(2014, 1, 1)) == cs.RETIRED
    assert cs.carc_status("9999", date(2024, 1, 1)) == cs.UNKNOWN


@pytest.mark.parametrize("code", ["1", "2", "3", "4", "16", "18", "22", "23", "24", "26", "27", "29", "31", "45",
                                  "50", "59", "66", "94", "96", "97", "100", "109", "119", "129", "131", "151",
                                  "187", "192", "197", "204", "242", "243", "253", "A1"])
def test_reference_carcs_are_current(code):
    assert cs.carc_status(code, date(2025, 1, 1)) == cs.OK


def test_rarc_list():
    assert cs.rarc_status("MA15", date(2025, 1, 1)) == cs.OK
    assert cs.rarc_status("N479") == cs.OK
    # M72: Start 01/01/1997, Stop 10/16/2003
    assert cs.rarc_status("M72", date(2004, 1, 1)) == cs.RETIRED
    assert cs.rarc_status("ZZ99") == cs.UNKNOWN


def test_small_lists():
    assert cs.is_group_code("CO") and cs.is_group_code("PI")
    assert not cs.is_group_code("CR")  # 5010 835
    assert cs.is_group_code("CR", "837")
    assert cs.claim_status_code_ok("22") and not cs.claim_status_code_ok("5")
    assert cs.filing_indicator_ok("CI") and not cs.filing_indicator_ok("CI", "835")
    assert cs.filing_indicator_ok("MB", "835") and not cs.filing_indicator_ok("XX")
    assert cs.is_place_of_service("11") and cs.is_place_of_service("02") and cs.is_place_of_service("27")
    assert not cs.is_place_of_service("28") and not cs.is_place_of_service("1")
    assert cs.place_of_service_names()["11"] == "Office"
    assert cs.is_state("NY") and cs.is_state("PR") and cs.is_state("AE")
    assert not cs.is_state("XX") and not cs.is_state("ON")
    assert cs.is_province("ON")


def test_npi_check_digit():
    assert cs.npi_check_digit_ok("1234567893")  # CMS example
    assert not cs.npi_check_digit_ok("1234567890")
    assert not cs.npi_check_digit_ok("123456789")
    assert not cs.npi_check_digit_ok("12345678A3")


def test_icd10cm_format():
    for ok in ("E119", "U071", "S72001A", "Z3A01", "M1A0710", "C4A0", "A00"):
        assert cs.icd10cm_format_ok(ok), ok
    for bad in ("E11.9", "e119", "1234", "E1", "EE19", "S72001AA", ""):
        assert not cs.icd10cm_format_ok(bad), bad


def test_procedure_code_format():
    for ok in ("99213", "J1100", "0001F", "0042T", "0001U", "G0008"):
        assert cs.procedure_code_format_ok(ok), ok
    for bad in ("9921", "992133", "J11A0", "0001X", "AB123"):
        assert not cs.procedure_code_format_ok(bad), bad


def test_parse_date():
    assert cs.parse_date("20240131") == date(2024, 1, 31)
    assert cs.parse_date("20240231") is None
    assert cs.parse_date("") is None


def test_counts_shipped():
    assert len(cs.carc_table()) >= 370
    assert len(cs.rarc_table()) >= 999
    assert len(cs.place_of_service_names()) == 52
