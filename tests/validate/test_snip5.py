"""SNIP 5 rules over hand-built claims: each rule has a failing and a passing case."""

from cob.edi.validate.context import ClaimContext
from cob.edi.validate.snip5 import check_claim, check_segment


def _ctx(transaction, loops_and_segments, payment_date=None):
    """[(loop id, "SEG*a*b"), ...] -> ClaimContext; segment numbers count from 10."""
    segs = [(loop, text.rstrip("~").split("*"), 10 + i, 3 + i) for i, (loop, text) in enumerate(loops_and_segments)]
    claim_id = next((s[1][1] for s in segs if s[1][0] in ("CLM", "CLP")), None)
    ctx = ClaimContext(file="t.x12", transaction=transaction, claim_id=claim_id, segments=segs,
                       payment_date=payment_date)
    check_claim(ctx)
    return ctx


def _codes(ctx):
    return sorted((f.code, f.severity) for f in ctx.findings)


# ------------------------------------------------------------------------------------------------ 835

CLP = ("2100", "CLP*C1*1*100*80**12*ICN1")


def _835(*segs, payment_date="20240115", clp=CLP):
    return _ctx("835", [clp, *segs], payment_date)


def test_835_clean_claim_has_no_findings():
    ctx = _835(("2100", "CAS*PR*1*10*1*2*10"), ("2100", "MOA***MA15*N479"), ("2100", "DTM*232*20240102"),
               ("2110", "SVC*HC:99213*100*80"), ("2110", "DTM*472*20240102"), ("2110", "CAS*CO*45*10*1*253*2"),
               ("2110", "LQ*HE*M15"), ("2100", "NM1*82*1*DOE*JOHN****XX*1234567893"))
    assert ctx.findings == []


def test_835_retired_carc_is_an_error_against_the_payment_date():
    # CARC 17 stopped 2009-07-01; an 835 dated 2024 cannot use it in an original adjudication
    ctx = _835(("2110", "SVC*HC:99213*100*80"), ("2110", "CAS*CO*17*20"))
    [f] = ctx.findings
    assert (f.code, f.severity, f.element_pos, f.ik4, f.ik3) == ("carc_retired", "error", 2, "7", "8")
    assert f.segment_id == "CAS" and f.loop == "2110" and f.claim_id == "C1" and f.snip == 5
    assert "17" in f.message and "2009-07-01" in f.message


def test_835_retired_carc_allowed_in_a_reversal():
    ctx = _835(("2110", "SVC*HC:99213*100*80"), ("2110", "CAS*CO*17*-20"),
               clp=("2100", "CLP*C1*22*-100*-80**12*ICN1"))
    assert ctx.findings == []


def test_835_without_payment_date_uses_service_date_as_lower_bound():
    retired = _835(("2110", "SVC*HC:99213*100*80"), ("2110", "DTM*472*20100101"), ("2110", "CAS*CO*17*20"),
                   payment_date=None)
    assert _codes(retired) == [("carc_retired", "error")]
    # service before 253's start date: the 835 may be later, so no "not effective" claim can be made
    early = _835(("2110", "SVC*HC:99213*100*80"), ("2110", "DTM*472*20130101"), ("2110", "CAS*CO*253*2"),
                 payment_date=None)
    assert early.findings == []
    # claim-level date 2100 DTM*232 as the fallback
    claim_level = _835(("2100", "CAS*CO*17*20"), ("2100", "DTM*232*20100101"), payment_date=None)
    assert _codes(claim_level) == [("carc_retired", "error")]


def test_835_not_yet_effective_carc():
    ctx = _835(("2100", "CAS*CO*253*2"), payment_date="20130101")
    assert _codes(ctx) == [("carc_not_effective", "error")]


def test_835_unknown_carc_is_an_error_when_the_list_is_newer():
    # paid 2024-01-15, the CARC list is of 2026-10-01: 9999 did not exist then (issue 15 clause 1)
    ctx = _835(("2100", "CAS*CO*9999*2*1*45*3"))
    [f] = ctx.findings
    assert (f.code, f.severity, f.element_pos, f.ik4) == ("carc_unknown", "error", 2, "7")


def test_835_unknown_carc_is_a_warning_when_the_remittance_is_newer():
    ctx = _835(("2100", "CAS*CO*9999*2*1*45*3"), payment_date="20270301")
    [f] = ctx.findings
    assert (f.code, f.severity, f.element_pos, f.ik4) == ("carc_unknown", "warning", 2, None)


def test_835_cas_group_code():
    assert _codes(_835(("2100", "CAS*CR*45*2"))) == [("cas_group_invalid", "error")]
    assert _codes(_835(("2100", "CAS*XX*45*2"))) == [("cas_group_invalid", "error")]
    assert _835(("2100", "CAS*OA*23*2")).findings == []


def test_835_rarcs_in_moa_mia_and_lq():
    ctx = _835(("2100", "MIA*0***0*ZZ99"), ("2100", "MOA***M72"), ("2110", "SVC*HC:99213*100*80"),
               ("2110", "LQ*HE*ZZ98"), ("2110", "LQ*RX*ZZ97"))
    assert _codes(ctx) == [("rarc_retired", "error"), ("rarc_unknown", "error"), ("rarc_unknown", "error")]
    by_seg = {f.segment_id: f for f in ctx.findings}
    assert by_seg["MOA"].element_pos == 3 and by_seg["MIA"].element_pos == 5 and by_seg["LQ"].element_pos == 2


def test_835_claim_status_and_filing_indicator():
    ctx = _ctx("835", [("2100", "CLP*C1*5*100*80**CI*ICN1")], "20240115")
    assert _codes(ctx) == [("claim_status_invalid", "error"), ("filing_indicator_invalid", "error")]
    assert {f.element_pos for f in ctx.findings} == {2, 6}
    assert _ctx("835", [("2100", "CLP*C1*19*100*80**MB*ICN1")], "20240115").findings == []


def test_835_npi_in_claim():
    ctx = _835(("2100", "NM1*82*1*DOE*JOHN****XX*1234567890"))
    [f] = ctx.findings
    assert (f.code, f.element_pos, f.ik4) == ("npi_check_digit", 9, "I12")
    assert "1234567890" not in f.message


# ------------------------------------------------------------------------------------------------ 837P

def _837(*segs, clm="CLM*A1*100***11:B:1*Y*A*Y*Y", sbr="SBR*P*18*******CI"):
    return _ctx("837", [("2000B", sbr), ("2010BA", "N4*TOWN*NY*10001"), ("2300", clm), *segs])


def test_837_clean_claim_has_no_findings():
    ctx = _837(("2300", "HI*ABK:E119*ABF:U071"), ("2310B", "NM1*82*1*DOE*JANE****XX*1234567893"),
               ("2320", "SBR*S*18*******MB"), ("2320", "CAS*PR*1*20*1*2*5"), ("2330B", "NM1*PR*2*PAYER*****PI*P1"),
               ("2400", "LX*1"), ("2400", "SV1*HC:99213*100*UN*1*11**1"), ("2400", "DTP*472*D8*20240102"),
               ("2430", "SVD*P1*75*HC:99213**1"), ("2430", "CAS*CO*45*25"), ("2430", "DTP*573*D8*20240115"))
    assert ctx.findings == []


def test_837_place_of_service():
    ctx = _837(("2400", "LX*1"), ("2400", "SV1*HC:99213*100*UN*1*28**1"), clm="CLM*A1*100***28:B:1*Y*A*Y*Y")
    assert [(f.code, f.segment_id, f.element_pos, f.component_pos) for f in ctx.findings] == [
        ("pos_invalid", "CLM", 5, 1), ("pos_invalid", "SV1", 5, None)]


def test_837_procedure_code_format():
    ctx = _837(("2400", "LX*1"), ("2400", "SV1*HC:9921*100*UN*1***1"))
    assert [(f.code, f.element_pos, f.component_pos, f.ik4) for f in ctx.findings] == [
        ("procedure_code_format", 1, 2, "I12")]


def test_837_state_codes():
    ctx = _837(("2310C", "N4*TOWN*XX*10001"), ("2330A", "N4*CITY*ZZ*K1A0B1*CA"), ("2330A", "N4*CITY*ON*K1A0B1*CA"),
               ("2330A", "N4*CITY*BY*80331*DE"))
    assert [(f.code, f.loop) for f in ctx.findings] == [("state_invalid", "2310C"), ("state_invalid", "2330A")]


def test_837_npi_check_digit():
    ctx = _837(("2310B", "NM1*82*1*DOE*JANE****XX*1234567890"), ("2310B", "NM1*82*1*DOE*JANE****XX*1234567893"))
    [f] = ctx.findings
    assert (f.code, f.element, f.element_pos) == ("npi_check_digit", "NM109", 9)


def test_837_icd10_format_and_icd9_qualifier():
    ctx = _837(("2300", "HI*ABK:E11.9*ABF:e119*BF:25000*ABF:S72001A"))
    assert [(f.code, f.severity, f.element_pos, f.component_pos) for f in ctx.findings] == [
        ("icd10_format", "error", 1, 2), ("icd10_format", "error", 2, 2), ("icd9_qualifier", "warning", 3, 1)]


def test_837_filing_indicator():
    ctx = _837(("2320", "SBR*S*18*******QQ"), sbr="SBR*P*18*******XX")
    assert [(f.code, f.loop) for f in ctx.findings] == [
        ("filing_indicator_invalid", "2000B"), ("filing_indicator_invalid", "2320")]


def test_837_line_cas_judged_on_the_2430_adjudication_date():
    # CARC 38 stopped 2013-01-01; prior payer adjudicated in 2014 -> retired
    retired = _837(("2400", "LX*1"), ("2400", "DTP*472*D8*20121220"), ("2430", "SVD*P1*75*HC:99213**1"),
                   ("2430", "CAS*CO*38*25"), ("2430", "DTP*573*D8*20140115"))
    [f] = retired.findings
    assert (f.code, f.loop, f.element_pos) == ("carc_retired", "2430", 2)
    # adjudicated before the stop date: a derivative 837 may still report it
    ok = _837(("2400", "LX*1"), ("2400", "DTP*472*D8*20121220"), ("2430", "SVD*P1*75*HC:99213**1"),
              ("2430", "CAS*CO*38*25"), ("2430", "DTP*573*D8*20121231"))
    assert ok.findings == []


def test_837_line_cas_without_573_uses_the_service_date_as_lower_bound():
    ctx = _837(("2400", "LX*1"), ("2400", "DTP*472*RD8*20140101-20140105"), ("2430", "SVD*P1*75*HC:99213**1"),
               ("2430", "CAS*CO*38*25"))
    assert _codes(ctx) == [("carc_retired", "error")]


def test_837_claim_cas_uses_2330b_573_and_group_codes():
    ctx = _837(("2320", "SBR*S*18*******MB"), ("2320", "CAS*PR*17*20"), ("2320", "CAS*CR*45*1"),
               ("2320", "CAS*ZZ*45*1"), ("2320", "CAS*OA*9999*1"), ("2330B", "DTP*573*D8*20100101"))
    assert _codes(ctx) == [("carc_retired", "error"), ("carc_unknown", "error"),
                           ("cas_group_invalid", "error"), ("cas_group_invalid", "warning")]


def test_837_prior_payer_moa_remark_codes():
    # issue 15 clause 1: a COB claim's 2320 MOA carries the prior payer's RARCs; they are judged on that
    # payer's adjudication date (2330B DTP*573) like its CAS. M72 stopped 2003-10-16; N911 and MA127 are in
    # the list of 2026-10-01; N999 is not.
    def claim(moa, dtp573="DTP*573*D8*20260115"):
        segs = [("2320", "SBR*S*18*******MB"), ("2320", moa), ("2330B", "NM1*PR*2*PAYER*****PI*P1")]
        if dtp573:
            segs.append(("2330B", dtp573))
        return _837(*segs, ("2400", "LX*1"), ("2400", "DTP*472*D8*20251220"))

    assert claim("MOA***N911*MA127").findings == []
    [f] = claim("MOA***N911*N999").findings
    assert (f.code, f.severity, f.segment_id, f.loop, f.element_pos) == ("rarc_unknown", "error", "MOA", "2320", 4)
    assert f.message == ("RARC N999 is not in the RARC list of 2026-10-01, which is newer than the remittance "
                         "(2026-01-15)")
    assert _codes(claim("MOA***M72")) == [("rarc_retired", "error")]
    # no DTP*573: the service date (2025-12-20) only bounds the adjudication from below
    assert _codes(claim("MOA***N999", dtp573=None)) == [("rarc_unknown", "warning")]
    assert _codes(claim("MOA***M72", dtp573=None)) == [("rarc_retired", "error")]


# ------------------------------------------------------------------------------------------ check_segment

def test_check_segment_outside_claims():
    assert check_segment("2010AA", ["NM1", "85", "2", "CLINIC", "", "", "", "", "XX", "1234567893"]) == []
    [(code, msg, pos, comp, sev, ik4)] = check_segment("2010AA", ["NM1", "85", "2", "CLINIC", "", "", "", "", "XX",
                                                                   "1234567891"])
    assert (code, pos, comp, sev, ik4) == ("npi_check_digit", 9, None, "error", "I12")
    assert check_segment("1000B", ["N1", "PE", "CLINIC", "XX", "1234567893"]) == []
    assert [p[0:3] for p in check_segment("1000B", ["N1", "PE", "CLINIC", "XX", "1234567890"])] == [
        ("npi_check_digit", "NPI check digit is wrong in N104", 4)]
    assert check_segment("1000A", ["N4", "TOWN", "TX", "75001"]) == []
    assert [p[0] for p in check_segment("1000A", ["N4", "TOWN", "TQ", "75001"])] == ["state_invalid"]
    assert check_segment("1000A", ["PER", "BL", "X"]) == []
