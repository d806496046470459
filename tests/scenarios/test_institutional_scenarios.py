"""Secondary and tertiary 837I claims (005010X223A2) built by the one pipeline from the primary's 835 and
the original 837I: hand-written scenarios, every expected figure worked out by hand in the comments.

Every output must pass `cob validate` and pyx12 (its X223A2 map); `run` checks both for every file written.

Payer ids: 11111 primary plan, SECPAY / 22222 secondary, 33333 tertiary, MCRA1 Medicare Part A.
"""

from __future__ import annotations

import json
from decimal import Decimal as D
from pathlib import Path

from cob.edi.reader import read_claims
from cob.edi.validate import validate_file
from cob.schemas.institutional import InstitutionalClaim

from conftest import DATA
from scenario_helpers import NOW, Run, amt, assert_valid_x12, cas, destination, dtp, summary_2320
from cob.billing.nightly import COUNTER_NAME
from cob.billing.secondary import SecondaryOptions, run_secondary

INST = DATA / "institutional"

# ---------------------------------------------------------------------------------------------- inputs

_837_HEAD = [
    "ISA*00*          *00*          *ZZ*SUBMITTERID    *ZZ*RECEIVERID     *260310*1200*^*00501*000000{n}*0*P*:",
    "GS*HC*SUBMITTERID*RECEIVERID*20260310*1200*{n}*X*005010X223A2",
    "ST*837*0001*005010X223A2",
    "BHT*0019*00*BATCH{n}*20260310*1200*CH",
    "NM1*41*2*NORTHWIND BILLING*****46*SUBMIT01",
    "PER*IC*BILLING DESK*TE*5555550100",
    "NM1*40*2*PRIMARY PLAN*****46*11111",
    "HL*1**20*1",
    "NM1*85*2*NORTHWIND HOSPITAL*****XX*1234567893",
    "N3*100 MAIN ST",
    "N4*SPRINGFIELD*IL*627010001",
    "REF*EI*123456789",
    "HL*2*1*22*0",
]
_835_HEAD = [
    "ISA*00*          *00*          *ZZ*PAYER          *ZZ*HOSPITAL       *260320*1200*^*00501*000000{n}*0*P*:",
    "GS*HP*PAYER*HOSPITAL*20260320*1200*{n}*X*005010X221A1",
    "ST*835*0001",
    "BPR*I*{paid}*C*CHK************{date}",
    "TRN*1*T{n}*1999999999",
    "N1*PR*{payer}",
    "N3*1 MAIN ST",
    "N4*CITY*IL*60601",
    "PER*BL*EDI*TE*5555550100",
    "N1*PE*NORTHWIND HOSPITAL*XX*1234567893",
    "LX*1",
]


def x12(head: list[str], body: list[str], n: int, **fields) -> str:
    """An interchange around hand-written body segments (the envelope counts are the only arithmetic)."""
    segs = [h.format(n=f"{n:03d}" if h.startswith("ISA") else n, **fields) for h in head] + body
    count = len(segs) - 2 + 1  # ST..SE
    segs += [f"SE*{count}*0001", f"GE*1*{n}", f"IEA*1*000000{n:03d}"]
    return "~\n".join(segs) + "~\n"


def write(tmp: Path, name: str, text: str) -> Path:
    path = tmp / name
    path.write_text(text)
    return path


def bill(tmp_path: Path, claims: list[Path], remits: list[Path], coverage: Path | None = None) -> Run:
    """`run_secondary` and the checks every output must pass: cob validate and pyx12's X223A2 map."""
    out = tmp_path / "out"
    report = run_secondary(claims, remits, SecondaryOptions(out_dir=out, now=NOW), coverage=coverage)
    assert all(i.status == "ok" for i in report.inputs), report.inputs
    if out.exists():
        for path in out.iterdir():
            if path.name == COUNTER_NAME:  # cob secondary's control numbers across runs, not an output
                continue
            result = validate_file(path)
            assert not result.errors and not result.warnings, [f.message for f in result.findings][:5]
            assert_valid_x12(path)
    return Run(report, out)


def institutional(r: Run, claim_id: str) -> InstitutionalClaim:
    claim = r.claim(claim_id)
    assert isinstance(claim, InstitutionalClaim)
    return claim


def svd(line) -> list[tuple]:
    """Each 2430 of a line as (SVD01, SVD02, SVD03 code or None, SVD04, SVD05, CAS, DTP*573, AMT*EAF)."""
    return [(a.svd.payer_id, a.svd.paid, a.svd.procedure.code if a.svd.procedure else None, a.svd.revenue_code,
             a.svd.paid_units, cas(a.adjustments), dtp(a.dates, "573"), amt(a.amounts, "EAF"))
            for a in line.adjudications]


# ------------------------------------------------------------------------------------------------ 1


def test_inpatient_drg_paid_at_claim_level_with_deductible_and_mia(tmp_path):
    """835: CLP INP100 charge 12000, paid 8400 by DRG 280 (weight 1.2345), CO-45 2000, PR-1 (deductible)
    1600, MIA*4*150**8250*MA01, no SVC. 12000 - 2000 - 1600 = 8400."""
    r = bill(tmp_path, [INST / "inpatient.837i"], [INST / "inpatient-primary.835"])
    assert r.status("INP100") == ("billed", "secondary_billed")
    claim = institutional(r, "INP100")
    assert [p.name for p in r.outputs()] == ["SECPAY-000000001.837i"]
    assert destination(claim) == {
        "sbr01": "S", "sbr02": "18", "sbr03": "GRP200", "sbr05": None, "sbr09": "CI",
        "payer_id": "SECPAY", "payer_name": "SECOND PAYER INC",
        "subscriber_id": "SEC123", "subscriber_name": ("TESTER", "ALEX")}
    # the institutional claim data go out as billed: type of bill 111, CL1, statement dates, HI codes
    assert claim.bill_type == "111" and claim.drg == "280" and claim.value_codes == {"80": D("4")}
    assert (claim.cl1.admission_type, claim.cl1.admission_source, claim.cl1.patient_status) == ("1", "1", "01")
    [primary] = claim.other_payers
    # claim level only: AMT*D 8400 = 12000 - (2000 + 1600); AMT*EAF = PR 1600; DTP*573 = BPR16 in 2330B
    assert summary_2320(primary) == {
        "sbr01": "P", "sbr02": "18", "amt_d": D("8400"), "amt_eaf": D("1600"),
        "cas": [("CO", "45", D("2000"), None), ("PR", "1", D("1600"), None)],
        "payer_id": "11111", "subscriber_id": "PRIM123", "ref_f8": "PRIMICN1", "dtp573": "D8:20260320"}
    # MIA copied from the 835 without MIA02 (not used in the 837I 2320): covered days 4, DRG amount 8250
    assert (primary.mia.covered_days, primary.mia.pps_operating_outlier, primary.mia.drg_amount,
            primary.mia.remark1) == (D("4"), None, D("8250"), "MA01")
    assert primary.moa is None and primary.sbr.insurance_type is None
    assert primary.oi.patient_signature_source is None  # OI04 is not used in the 837I
    # no 2430 on any line; the lines as billed
    assert [(ln.revenue_code, ln.charge, ln.adjudications) for ln in claim.lines] == [
        ("0120", D("8000"), []), ("0250", D("1500"), []), ("0360", D("2500"), [])]


# ------------------------------------------------------------------------------------------------ 2

OUTPATIENT_837I = [
    "SBR*P*18*GRP1******CI",
    "NM1*IL*1*TESTER*ALEX****MI*PRIM123",
    "N3*1 ELM ST",
    "N4*SPRINGFIELD*IL*62701",
    "DMG*D8*19500101*F",
    "NM1*PR*2*PRIMARY PLAN*****PI*11111",
    "CLM*OUT200*800***13:A:1**A*Y*Y",
    "DTP*434*RD8*20260310-20260310",
    "CL1***01",
    "HI*ABK:R079",
    "HI*APR:R079",
    "NM1*71*1*HEART*PAT****XX*1234567893",
    "SBR*S*18*GRP200******CI",
    "OI***Y***Y",
    "NM1*IL*1*TESTER*ALEX****MI*SEC123",
    "NM1*PR*2*SECOND PAYER INC*****PI*SECPAY",
    "LX*1", "SV2*0305*HC:85025*100*UN*1", "DTP*472*D8*20260310", "REF*6R*O1",
    "LX*2", "SV2*0450**500*UN*1", "DTP*472*D8*20260310", "REF*6R*O2",
    "LX*3", "SV2*0320*HC:71046*200*UN*1", "DTP*472*D8*20260310", "REF*6R*O3",
]


def test_outpatient_line_adjudication_with_a_denied_revenue_line(tmp_path):
    """835 (outpatient-primary.835): OUT200 charge 800, paid 340, MOA***MA130, three services:
    HC:85025 (SVC04 0305) 100 paid 80, CO-45 20; NU:0450 500 paid 260, CO-45 180, PR-2 60;
    HC:71046 (SVC04 0320) 200 paid 0, CO-50 200 (denied: not medically necessary)."""
    claims = write(tmp_path, "outpatient.837i", x12(_837_HEAD, OUTPATIENT_837I, 220))
    r = bill(tmp_path, [claims], [INST / "outpatient-primary.835"])
    assert r.status("OUT200") == ("billed", "secondary_billed")
    claim = institutional(r, "OUT200")
    assert claim.bill_type == "131" and not claim.inpatient
    [primary] = claim.other_payers
    # line level: AMT*D 340 = (80 + 260 + 0) - 0 claim CAS; no claim-level EAF or DTP*573; MOA copied
    assert summary_2320(primary) == {
        "sbr01": "P", "sbr02": "18", "amt_d": D("340"), "amt_eaf": None, "cas": [],
        "payer_id": "11111", "subscriber_id": "PRIM123", "ref_f8": "PRIMICN2", "dtp573": None}
    assert primary.moa.remark1 == "MA130" and primary.mia is None
    lines = {ln.lx.number: svd(ln) for ln in claim.lines}
    assert lines == {
        # 100 = 80 + 20; SVD03 the HCPCS, SVD04 the revenue code
        1: [("11111", D("80"), "85025", "0305", D("1"), [("CO", "45", D("20"), None)], "D8:20260325", D("0"))],
        # 500 = 260 + 180 + 60; paid by revenue code alone: SVD03 empty, SVD04 0450; EAF = PR 60
        2: [("11111", D("260"), None, "0450", D("1"),
             [("CO", "45", D("180"), None), ("PR", "2", D("60"), None)], "D8:20260325", D("60"))],
        # the denied line: 200 = 0 + 200 (CO-50)
        3: [("11111", D("0"), "71046", "0320", D("1"), [("CO", "50", D("200"), None)], "D8:20260325", D("0"))],
    }
    # CLM02 800 = AMT*D 340 + CAS 20 + 180 + 60 + 200
    assert claim.charge == D("340") + D("20") + D("180") + D("60") + D("200")


# ------------------------------------------------------------------------------------------------ 3

MSP_837I = [
    "SBR*P*18*EGHP1******CI",
    "NM1*IL*1*TESTER*ALEX****MI*EMP777",
    "N3*1 ELM ST",
    "N4*SPRINGFIELD*IL*62701",
    "DMG*D8*19550101*F",
    "NM1*PR*2*EMPLOYER PLAN*****PI*11111",
    "CLM*MSP300*10000***11:A:1**A*Y*Y",
    "DTP*434*RD8*20260302-20260304",
    "DTP*435*D8*20260302",
    "CL1*2*1*01",
    "HI*ABK:K3580",
    "HI*BE:80:::2",
    "NM1*71*1*HEART*PAT****XX*1234567893",
    "SBR*S*18*******MA",
    "OI***Y***Y",
    "NM1*IL*1*TESTER*ALEX****MI*1EG4TE5MK72",
    "NM1*PR*2*MEDICARE PART A*****PI*MCRA1",
    "LX*1", "SV2*0120**6000*DA*2", "REF*6R*M1",
    "LX*2", "SV2*0360**4000*UN*1", "REF*6R*M2",
]
MSP_835 = [
    "CLP*MSP300*1*10000*6000*1000*12*EGHPICN9*11*1",
    "CAS*CO*45*3000",
    "CAS*PR*1*1000",
    "NM1*QC*1*TESTER*ALEX****MI*EMP777",
    "MIA*2***5800",
    "DTM*232*20260302",
    "DTM*233*20260304",
]


def test_medicare_secondary_payer_facility_claim(tmp_path):
    """The employer plan (EGHP) is primary for a working-aged Medicare beneficiary; the roster says so
    (MSP type 12). Medicare Part A is told through value code 12 = the EGHP's payment, not SBR05.
    835: 10000 charged, 6000 paid, CO-45 3000, PR-1 1000 (10000 - 3000 - 1000 = 6000)."""
    claims = write(tmp_path, "msp.837i", x12(_837_HEAD, MSP_837I, 230))
    remit = write(tmp_path, "msp.835", x12(_835_HEAD, MSP_835, 231, paid="6000", date="20260320",
                                          payer="EMPLOYER PLAN"))
    roster = write(tmp_path, "roster.json", json.dumps({"coverages": [
        {"claim_id": "MSP300", "sequence": "S", "payer_name": "MEDICARE PART A", "payer_id": "MCRA1",
         "subscriber_last_name": "TESTER", "subscriber_id": "1EG4TE5MK72", "relationship": "18",
         "filing_indicator": "MA", "medicare_secondary_type": "12"}]}))
    r = bill(tmp_path, [claims], [remit], coverage=roster)
    assert r.status("MSP300") == ("billed", "secondary_billed")
    claim = institutional(r, "MSP300")
    assert [p.name for p in r.outputs()] == ["MCRA1-000000001.837i"]
    # SBR05 is not used in the 837I, at 2000B and in 2320
    assert destination(claim)["sbr05"] is None and destination(claim)["sbr09"] == "MA"
    assert all(op.sbr.insurance_type is None for op in claim.other_payers)
    # the value codes: the original's 80 (covered days 2) and the MSP type 12 with the EGHP's 6000
    assert claim.value_codes == {"80": D("2"), "12": D("6000")}
    [eghp] = claim.other_payers
    assert summary_2320(eghp) == {
        "sbr01": "P", "sbr02": "18", "amt_d": D("6000"), "amt_eaf": D("1000"),
        "cas": [("CO", "45", D("3000"), None), ("PR", "1", D("1000"), None)],
        "payer_id": "11111", "subscriber_id": "EMP777", "ref_f8": "EGHPICN9", "dtp573": "D8:20260320"}
    assert eghp.mia.covered_days == D("2") and eghp.mia.drg_amount == D("5800")


# ------------------------------------------------------------------------------------------------ 4

TERTIARY_837I = [
    "SBR*P*18*GRP1******CI",
    "NM1*IL*1*TESTER*ALEX****MI*PRIM123",
    "N3*1 ELM ST",
    "N4*SPRINGFIELD*IL*62701",
    "DMG*D8*19500101*F",
    "NM1*PR*2*PRIMARY PLAN*****PI*11111",
    "CLM*TER400*300***13:A:1**A*Y*Y",
    "DTP*434*RD8*20260311-20260311",
    "CL1***01",
    "HI*ABK:S8290XA",
    "NM1*71*1*HEART*PAT****XX*1234567893",
    "SBR*S*18*GRP200******CI",
    "OI***Y***Y",
    "NM1*IL*1*TESTER*ALEX****MI*SEC123",
    "NM1*PR*2*SECOND PAYER INC*****PI*22222",
    "SBR*T*18*GRP300******CI",
    "OI***Y***Y",
    "NM1*IL*1*TESTER*ALEX****MI*THIRD123",
    "NM1*PR*2*THIRD PLAN*****PI*33333",
    "LX*1", "SV2*0450*HC:99283*200*UN*1", "DTP*472*D8*20260311", "REF*6R*T1",
    "LX*2", "SV2*0320*HC:73610*100*UN*1", "DTP*472*D8*20260311", "REF*6R*T2",
]
TERTIARY_PRIMARY_835 = [
    "CLP*TER400*1*300*150*50*12*PRIMICN4*13*1",
    "NM1*QC*1*TESTER*ALEX****MI*PRIM123",
    "SVC*HC:99283*200*100*0450*1", "DTM*472*20260311", "CAS*CO*45*60", "CAS*PR*1*40", "REF*6R*T1",
    "SVC*HC:73610*100*50*0320*1", "DTM*472*20260311", "CAS*CO*45*40", "CAS*PR*2*10", "REF*6R*T2",
]
TERTIARY_SECONDARY_835 = [
    "CLP*TER400*2*300*30*20*12*SECICN4*13*1",
    "CAS*OA*23*250",
    "CAS*PR*1*20",
    "NM1*QC*1*TESTER*ALEX****MI*SEC123",
    "DTM*232*20260311",  # claim-level answer: the TR3's statement dates, which matching confirms the visit by
    "DTM*233*20260311",
]


def test_tertiary_837i(tmp_path):
    """Primary (line level): T1 200 = 100 + CO-45 60 + PR-1 40; T2 100 = 50 + CO-45 40 + PR-2 10; paid 150.
    Secondary (CLP02=2, claim level): 300 - OA-23 250 - PR-1 20 = 30 paid."""
    claims = write(tmp_path, "tertiary.837i", x12(_837_HEAD, TERTIARY_837I, 240))
    remit1 = write(tmp_path, "p.835", x12(_835_HEAD, TERTIARY_PRIMARY_835, 241, paid="150",
                                          date="20260320", payer="PRIMARY PLAN"))
    remit2 = write(tmp_path, "s.835", x12(_835_HEAD, TERTIARY_SECONDARY_835, 242, paid="30",
                                          date="20260401", payer="SECOND PAYER INC"))
    r = bill(tmp_path, [claims], [remit1, remit2])
    assert r.status("TER400") == ("billed", "tertiary_billed")
    claim = institutional(r, "TER400")
    assert [p.name for p in r.outputs()] == ["33333-000000001.837i"]
    assert destination(claim)["sbr01"] == "T" and destination(claim)["payer_id"] == "33333"
    primary, secondary = claim.other_payers
    # primary at line level: AMT*D 150 = 100 + 50; dates and EAF in its 2430s
    assert summary_2320(primary) == {
        "sbr01": "P", "sbr02": "18", "amt_d": D("150"), "amt_eaf": None, "cas": [],
        "payer_id": "11111", "subscriber_id": "PRIM123", "ref_f8": "PRIMICN4", "dtp573": None}
    # secondary at claim level: AMT*D 30 = 300 - 250 - 20; EAF 20; DTP*573 its BPR16
    assert summary_2320(secondary) == {
        "sbr01": "S", "sbr02": "18", "amt_d": D("30"), "amt_eaf": D("20"),
        "cas": [("OA", "23", D("250"), None), ("PR", "1", D("20"), None)],
        "payer_id": "22222", "subscriber_id": "SEC123", "ref_f8": "SECICN4", "dtp573": "D8:20260401"}
    assert {ln.lx.number: svd(ln) for ln in claim.lines} == {
        1: [("11111", D("100"), "99283", "0450", D("1"),
             [("CO", "45", D("60"), None), ("PR", "1", D("40"), None)], "D8:20260320", D("40"))],
        2: [("11111", D("50"), "73610", "0320", D("1"),
             [("CO", "45", D("40"), None), ("PR", "2", D("10"), None)], "D8:20260320", D("10"))],
    }


# ------------------------------------------------------------------------------------------------ 5

CROSSOVER_835 = [
    "CLP*OUT200*19*800*340*60*MA*MCRICN5*13*1",
    "NM1*QC*1*TESTER*ALEX****MI*PRIM123",
    "NM1*TT*2*SECOND PAYER INC*****PI*SECPAY",
    "SVC*HC:85025*100*80*0305*1", "DTM*472*20260310", "CAS*CO*45*20", "REF*6R*O1",
    "SVC*NU:0450*500*260**1", "DTM*472*20260310", "CAS*CO*45*180", "CAS*PR*2*60", "REF*6R*O2",
    "SVC*HC:71046*200*0*0320*1", "DTM*472*20260310", "CAS*CO*50*200", "REF*6R*O3",
]


def test_crossover_837i_is_not_billed_again(tmp_path):
    """CLP02=19 with NM1*TT naming the secondary: the primary forwarded the claim; billing it again would
    duplicate it. Nothing is written."""
    claims = write(tmp_path, "outpatient.837i", x12(_837_HEAD, OUTPATIENT_837I, 250))
    remit = write(tmp_path, "x.835", x12(_835_HEAD, CROSSOVER_835, 251, paid="340", date="20260325",
                                         payer="PRIMARY PLAN"))
    r = bill(tmp_path, [claims], [remit])
    assert r.status("OUT200") == ("skipped", "crossover_done")
    assert r.outcome("OUT200").detail == "payer 11111 forwarded the claim to SECPAY (crossover)"
    assert r.outputs() == []


# ------------------------------------------------------------------------------------------------ mixed


def test_837p_and_837i_in_one_drop_give_one_file_per_payer_and_type(tmp_path):
    """One folder of claims holding an 837P and an 837I bound for the same secondary payer: told apart by
    content, billed by the same run, written to two files (one per transaction type)."""
    drop = tmp_path / "claims"
    drop.mkdir()
    (drop / "a.x12").write_bytes((DATA / "original-claim.837").read_bytes())
    (drop / "b.x12").write_bytes((INST / "inpatient.837i").read_bytes())
    remits = tmp_path / "remits"
    remits.mkdir()
    (remits / "p.835").write_bytes((DATA / "primary-remit.835").read_bytes())
    (remits / "i.835").write_bytes((INST / "inpatient-primary.835").read_bytes())
    from cob.billing.secondary import bill_paths
    result = bill_paths([drop], [remits], SecondaryOptions(out_dir=tmp_path / "out", now=NOW))
    outcomes = {c.claim_id: (c.status.value, c.output and Path(c.output).name) for c in result.report.claims}
    assert outcomes == {"PCN123": ("billed", "SECPAY-000000001.837"), "INP100": ("billed", "SECPAY-000000002.837i")}
    p_claims = list(read_claims(tmp_path / "out" / "SECPAY-000000001.837"))
    i_claims = list(read_claims(tmp_path / "out" / "SECPAY-000000002.837i"))
    assert [type(c).__name__ for c in p_claims + i_claims] == ["Claim", "InstitutionalClaim"]
    for path in (tmp_path / "out").glob("*.837*"):
        assert not validate_file(path).errors
        assert_valid_x12(path)


def test_msp_type_from_the_order_facts_becomes_the_value_code(tmp_path):
    """No roster: the order-of-benefits facts say the EGHP (50 employees, active) pays before Medicare
    (entitled by age), so the MSP type is 12 working aged: HI BE 12 with the EGHP's 6000."""
    claims = write(tmp_path, "msp.837i", x12(_837_HEAD, MSP_837I, 260))
    remit = write(tmp_path, "msp.835", x12(_835_HEAD, MSP_835, 261, paid="6000", date="20260320",
                                          payer="EMPLOYER PLAN"))
    facts = write(tmp_path, "facts.json", json.dumps({"patients": [{"claim_id": "MSP300", "request": {
        "claim": {"service_date": "2026-03-02", "work_related": False, "auto_accident": False, "liability": False},
        "patient": {"first_name": "ALEX", "birth_date": "1955-01-01"},
        "coverages": [
            {"id": "11111", "kind": "employer_group", "relationship": "self", "status": "active",
             "employer_size": 50, "start_date": "2015-01-01"},
            {"id": "MCRA1", "kind": "medicare", "relationship": "self", "medicare_basis": "age",
             "start_date": "2020-01-01"}]}}]}))
    out = tmp_path / "out"
    report = run_secondary([claims], [remit], SecondaryOptions(out_dir=out, now=NOW), order_facts=facts)
    r = Run(report, out)
    assert r.status("MSP300") == ("billed", "secondary_billed")
    claim = institutional(r, "MSP300")
    assert claim.value_codes == {"80": D("2"), "12": D("6000")}
    assert claim.subscriber.sbr.insurance_type is None
    for path in r.outputs():
        assert not validate_file(path).errors
        assert_valid_x12(path)


def test_an_837i_for_a_paper_payer_is_billed_as_837i_and_the_report_says_so(tmp_path):
    """SECPAY is named for paper. Its 837P claim (PCN123) is printed on a CMS-1500; the 837I (INP100) is not
    put on the professional form: it is written as an 837I like any other payer's, and its outcome says so."""
    drop = tmp_path / "claims"
    drop.mkdir()
    (drop / "a.x12").write_bytes((DATA / "original-claim.837").read_bytes())
    (drop / "b.x12").write_bytes((INST / "inpatient.837i").read_bytes())
    remits = [DATA / "primary-remit.835", INST / "inpatient-primary.835"]
    from cob.billing.secondary import PAPER_837I_NOTE, bill_paths
    out = tmp_path / "out"
    result = bill_paths([drop], remits, SecondaryOptions(out_dir=out, now=NOW, paper_payers=frozenset({"SECPAY"})))
    outcomes = {c.claim_id: c for c in result.report.claims}
    pcn, inp = outcomes["PCN123"], outcomes["INP100"]
    assert (pcn.status.value, Path(pcn.output).relative_to(out).as_posix()) == ("billed", "paper/SECPAY-000000001.pdf")
    assert (inp.status.value, Path(inp.output).relative_to(out).as_posix()) == ("billed", "SECPAY-000000002.837i")
    assert inp.detail.endswith(PAPER_837I_NOTE.format(payer="SECPAY"))
    assert "paper" not in pcn.detail
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == [
        COUNTER_NAME, "SECPAY-000000002.837i", "paper/SECPAY-000000001.pdf"]
    [claim] = list(read_claims(out / "SECPAY-000000002.837i"))
    assert isinstance(claim, InstitutionalClaim) and claim.claim_id == "INP100"
    assert not validate_file(out / "SECPAY-000000002.837i").errors
    assert_valid_x12(out / "SECPAY-000000002.837i")


def test_msp_esrd_value_code_replaces_the_claims_own(tmp_path):
    """ESRD coordination period (roster MSP type 13). The original already carries value code 13 with a
    figure of its own (500); the secondary states the EGHP's actual payment instead: 13 = 6000, once."""
    body = [s.replace("HI*BE:80:::2", "HI*BE:80:::2*BE:13:::500") for s in MSP_837I]
    claims = write(tmp_path, "esrd.837i", x12(_837_HEAD, body, 270))
    remit = write(tmp_path, "esrd.835", x12(_835_HEAD, MSP_835, 271, paid="6000", date="20260320",
                                           payer="EMPLOYER PLAN"))
    roster = write(tmp_path, "roster.json", json.dumps({"coverages": [
        {"claim_id": "MSP300", "sequence": "S", "payer_name": "MEDICARE PART A", "payer_id": "MCRA1",
         "subscriber_last_name": "TESTER", "subscriber_id": "1EG4TE5MK72", "relationship": "18",
         "filing_indicator": "MA", "medicare_secondary_type": "13"}]}))
    r = bill(tmp_path, [claims], [remit], coverage=roster)
    assert r.status("MSP300") == ("billed", "secondary_billed")
    claim = institutional(r, "MSP300")
    assert [(c.code, c.amount) for c in claim.codes("BE")] == [("80", "2"), ("13", "6000")]
    assert destination(claim)["sbr05"] is None
