"""`cob validate` on the 837I (005010X223A2): SNIP 1-2 from pyx12's X223A2 map, SNIP 3 (CLM02 = sum of
SV203, COB balancing per payer), SNIP 4 (the COB rule book), SNIP 5 (UB-04 codes: type of bill, CL1,
revenue codes, value / occurrence / condition code formats), and 999 acknowledgments.

Each case edits the hand-written valid 837I (tests/data/institutional) and names the findings expected,
by hand: code, SNIP type, segment and element.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from cob.edi.envelope import CounterControlNumbers
from cob.edi.validate import validate_file
from cob.edi.validate.ack import write_acks

from conftest import DATA
from pyx12_oracle import pyx12_validate

INST = DATA / "institutional"


def edited(tmp_path: Path, name: str, *edits: tuple[str, str]) -> Path:
    text = (INST / name).read_text()
    for old, new in edits:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    path = tmp_path / name
    path.write_text(text)
    return path


def found(path: Path) -> list[tuple]:
    result = validate_file(path, parallel=False)
    return [(f.snip, f.severity, f.code, f.segment_id, f.element) for f in result.findings]


@pytest.mark.parametrize("name", ["inpatient.837i", "cob-read.837i"])
def test_valid_837i_has_no_findings(name):
    assert found(INST / name) == []


def test_snip2_from_the_x223a2_map(tmp_path):
    # CL1 is required in the 837I 2300; SV1 has no place in an 837I (the 837P's service segment)
    path = edited(tmp_path, "inpatient.837i", ("CL1*1*1*01~\n", ""), ("SE*46*0001", "SE*45*0001"))
    assert found(path) == [(2, "error", "segment_missing", "CL1", None)]
    path = edited(tmp_path, "inpatient.837i", ("SV2*0250**1500*UN*10~", "SV1*HC:99213*1500*UN*10***1~"))
    # (and SNIP 3 does not balance a claim with a segment the walk could not place)
    assert [f[2:4] for f in found(path)] == [("segment_not_in_set", "SV1"), ("segment_missing", "SV2"),
                                             ("balance_not_checked", "CLM")]


def test_snip3_clm02_is_the_sum_of_sv203(tmp_path):
    path = edited(tmp_path, "inpatient.837i", ("SV2*0250**1500*UN*10~", "SV2*0250**1400*UN*10~"))
    result = validate_file(path, parallel=False)
    [f] = result.findings
    assert (f.snip, f.code, f.segment_id, f.element) == (3, "clm02_sum", "CLM", "CLM02")
    assert f.message == "CLM02 12000 != sum of line charges (SV203) 11900"


def test_snip3_cob_balancing_per_payer(tmp_path):
    # cob-read.837i: primary claim level 1000 = 840 + 100 + 60; secondary line level 800 = 0 + 800, 200 = 40 + 160
    path = edited(tmp_path, "cob-read.837i", ("CAS*OA*23*160~", "CAS*OA*23*150~"))
    result = validate_file(path, parallel=False)
    assert [(f.snip, f.code, f.segment_id) for f in result.findings] == [
        (3, "cob_line_balance", "SVD"), (3, "cob_claim_balance", "AMT")]
    assert result.findings[0].message == ("line 2: charge (SV203) 200 != payer 22222 paid (SVD02) 40 + line "
                                          "adjustments (CAS) 150 = 190")
    path = edited(tmp_path, "cob-read.837i", ("AMT*D*840~", "AMT*D*850~"))
    assert [(f.snip, f.code, f.segment_id) for f in validate_file(path, parallel=False).findings] == [
        (3, "cob_claim_balance", "AMT")]


def test_snip4_cob_rules(tmp_path):
    # 2330B DTP*573 with 2430 DTP*573 for the same payer: one level per payer
    path = edited(tmp_path, "cob-read.837i", ("REF*F8*SECICN3~", "DTP*573*D8*20260325~\nREF*F8*SECICN3~"),
                  ("SE*56*0001", "SE*57*0001"))
    codes = [(f.snip, f.code) for f in validate_file(path, parallel=False).findings]
    assert codes == [(4, "adjudication_date_level")]


def test_snip5_ub04_codes(tmp_path):
    path = edited(tmp_path, "inpatient.837i",
                  ("CLM*INP100*12000***11:A:1", "CLM*INP100*12000***51:A:L"),  # 5x retired; L no frequency
                  ("CL1*1*1*01", "CL1*7*7*08"),  # 7: no admission type; 7 retired source; 08 no status
                  ("SV2*0250**", "SV2*0001**"),  # total-charges line is no service line
                  ("HI*BE:80:::4", "HI*BE:8:::4*BE:81"),  # one-character value code; value code without amount
                  ("HI*BBR:02703ZZ", "HI*BBR:0270IZZ"),  # ICD-10-PCS has no I
                  ("HI*BG:39", "HI*BG:3$"))
    assert [f for f in found(path) if f[0] == 5] == [
        (5, "error", "facility_type_invalid", "CLM", "CLM05-01"),
        (5, "warning", "frequency_code_invalid", "CLM", "CLM05-03"),
        (5, "warning", "ub04_code_unknown", "CL1", "CL101"),
        (5, "warning", "ub04_code_unknown", "CL1", "CL102"),
        (5, "warning", "ub04_code_unknown", "CL1", "CL103"),
        (5, "error", "icd10_pcs_format", "HI", "HI01-02"),
        (5, "error", "ub04_code_format", "HI", "HI01-02"),
        (5, "error", "value_code_amount_missing", "HI", "HI02-05"),
        (5, "error", "ub04_code_format", "HI", "HI01-02"),
        (5, "error", "revenue_code_invalid", "SV2", "SV201"),
    ]


def test_snip5_svd04_revenue_code(tmp_path):
    path = edited(tmp_path, "cob-read.837i", ("SVD*22222*40**0250*2", "SVD*22222*40**250*2"))
    assert [f for f in found(path) if f[0] == 5] == [(5, "error", "revenue_code_invalid", "SVD", "SVD04")]


def test_999_for_an_837i_names_the_x223a2_set_and_passes_pyx12(tmp_path):
    path = edited(tmp_path, "inpatient.837i", ("SV2*0250**1500*UN*10~", "SV2*0250**1400*UN*10~"))
    result = validate_file(path, parallel=False)
    [ack] = write_acks(result, tmp_path / "acks", now=dt.datetime(2026, 4, 1, 9, 30),
                       control_numbers=CounterControlNumbers(start=500))
    segments = [s.strip() for s in ack.read_text().split("~") if s.strip()]
    assert "AK2*837*0001*005010X223A2" in segments
    assert segments[5:8] == ["IK3*CLM*19*2300", "CTX*CLM01:INP100", "IK5*R*I5"]  # the claim's segment, rejected
    assert "AK9*R*1*1*0" in segments
    ok, errors = pyx12_validate(ack)
    assert ok, errors


@pytest.mark.parametrize("edits,expected", [
    ((), []),
    # line 2: 200 != 40 + 150; AMT*D 40 = 0 + 40 - 0 holds, but CLM02 1000 != 40 + 800 + 150 = 990
    ((("CAS*OA*23*160~", "CAS*OA*23*150~"),),
     [("cob_line_balance", "error", "22222", 2), ("cob_claim_balance", "error", "22222", None)]),
    ((("AMT*D*840~", "AMT*D*850~"),), [("cob_claim_balance", "error", "11111", None)]),
    ((("REF*F8*SECICN3~", "DTP*573*D8*20260325~\nREF*F8*SECICN3~"), ("SE*56*0001", "SE*57*0001")),
     [("adjudication_date_level", "error", "22222", None)]),
], ids=["balanced", "line", "amt_d", "date_both_levels"])
def test_validator_and_pre_write_check_agree_on_an_837i(tmp_path, edits, expected):
    """The one rule book over the raw 837I (cob validate) and over its models (cob secondary's check)."""
    from test_rule_parity import _models, _raw

    path = edited(tmp_path, "cob-read.837i", *edits) if edits else INST / "cob-read.837i"
    assert sorted(_raw(path), key=str) == sorted(expected, key=str)
    assert sorted(_models(path), key=str) == sorted(expected, key=str)


def test_snip5_occurrence_and_span_codes(tmp_path):
    """procedures.837i's INP300: spans 70 (0201-0210) and 74 (0115-0118). A span whose through date comes
    before its from date, a three-character occurrence code and a one-character span code."""
    path = edited(tmp_path, "procedures.837i",
                  ("BI:74:RD8:20260115-20260118", "BI:74:RD8:20260118-20260115"),
                  ("BI:70:RD8", "BI:7:RD8"),
                  ("HI*BE:80:::3", "HI*BH:011:D8:20260301~\nHI*BE:80:::3"), ("SE*54*0001", "SE*55*0001"))
    assert found(path) == [
        (5, "error", "ub04_code_format", "HI", "HI01-02"),  # BI:7
        (5, "error", "occurrence_span_backwards", "HI", "HI02-04"),  # BI:74 0118-0115
        (5, "error", "ub04_code_format", "HI", "HI01-02"),  # BH:011
    ]  # ICD900's BK is ICD-9 rightly: its stay (DTP*434) ended 2015-09-03, before ICD-10
    result = validate_file(path, parallel=False)
    assert [f.message for f in result.findings if f.code == "occurrence_span_backwards"] == [
        "HI02-4: occurrence span 74 ends before it starts"]
