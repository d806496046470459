"""SNIP 4 situational rules (edi/validate/snip4.py): every rule with a passing and a failing claim, plus a
sweep of every committed sample, scenario and pipeline-built secondary claim through SNIP 3 and 4.

The base claim is the reference §1.9 worked example: secondary claim to SECPAY (2000B SBR01 S), primary
11111 (2320 SBR01 P) adjudicated at line level, DTP*573 and AMT*EAF in the 2430s.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from claim_contexts import claim_835, claim_837, claims_of, walk_file

from cob.edi.validate import snip3, snip4
from cob.edi.validate.context import ClaimContext

TESTS = Path(__file__).parent.parent
ROOT = TESTS.parent

CLM = "CLM*PCN123*250***11:B:{freq}*Y*A*Y*Y~{ref}HI*ABK:J069~"
P2320 = ("SBR*{seq}*18*GRP1******BL~{cas}{amts}OI***Y***Y~NM1*IL*1*TESTER*ALEX****MI*PRIM123~"
         "NM1*PR*2*PRIMARY PLAN*****PI*{pid}~{dtp}REF*F8*ICN987~")
LINES = ("LX*1~SV1*HC:99214*200*UN*1***1~DTP*472*D8*20260215~REF*6R*L1~"
         "SVD*{svd1}*{paid1}*HC:99214**1~{cas1}DTP*573*D8*20260301~{eaf1}"
         "LX*2~SV1*HC:87880*50*UN*1***1~DTP*472*D8*20260215~REF*6R*L2~"
         "SVD*11111*16*HC:87880**1~CAS*CO*45*20~CAS*PR*1*10**2*4~DTP*573*D8*20260301~AMT*EAF*14~")
NO_LINE_ADJ = ("LX*1~SV1*HC:99214*200*UN*1***1~DTP*472*D8*20260215~"
               "LX*2~SV1*HC:87880*50*UN*1***1~DTP*472*D8*20260215~")


def claim(freq="1", ref="", seq="P", cas="", amts="AMT*D*116~", pid="11111", dtp="", svd1="11111", paid1="100",
          cas1="CAS*CO*45*80~CAS*PR*3*20~", eaf1="AMT*EAF*20~", lines=None, extra_2320="") -> str:
    body = CLM.format(freq=freq, ref=ref) + P2320.format(seq=seq, cas=cas, amts=amts, pid=pid, dtp=dtp)
    body += extra_2320
    body += LINES.format(svd1=svd1, paid1=paid1, cas1=cas1, eaf1=eaf1) if lines is None else lines
    return body


def run(ctx: ClaimContext) -> list[tuple[str, str, str]]:
    snip4.check_claim(ctx)
    assert all(f.snip == 4 for f in ctx.findings)
    return [(f.code, f.severity, f.segment_id) for f in ctx.findings]


def messages(ctx: ClaimContext) -> list[str]:
    return [f.message for f in ctx.findings]


def test_worked_example_passes():
    assert run(claim_837(claim())) == []
    [ctx] = claims_of(TESTS / "data" / "cob-claim.837")
    assert run(ctx) == []


# ------------------------------------------------------------------------------------------ payer ids


def test_svd_payer_id_fails():
    ctx = claim_837(claim(svd1="99999"))
    assert run(ctx) == [("svd_payer_id", "error", "SVD")]
    f = ctx.findings[0]
    assert (f.loop, f.element, f.element_pos) == ("2430", "SVD01", 1)
    assert f.message == "line 1: SVD01 99999 names no other payer (no 2320's 2330B NM109 carries it)"


def test_svd_payer_id_passes_for_a_second_payer():
    # a 2430 of payer 22222 names the second 2320's 2330B id
    second = ("SBR*S*18*GRP2******CI~AMT*D*0~OI***Y***Y~NM1*IL*1*TESTER*ALEX****MI*SEC456~"
              "NM1*PR*2*SECOND PAYER INC*****PI*22222~")
    lines = ("LX*1~SV1*HC:99214*200*UN*1***1~DTP*472*D8*20260215~"
             "SVD*11111*200*HC:99214**1~DTP*573*D8*20260301~SVD*22222*0*HC:99214**1~CAS*OA*23*200~"
             "DTP*573*D8*20260310~")
    sub = "HL*2*1*22*0~SBR*T*18*******MC~NM1*IL*1*TESTER*ALEX****MI*MCD111~NM1*PR*2*STATE MEDICAID*****PI*33333"
    body = CLM.format(freq="1", ref="").replace("*250*", "*200*") + P2320.format(
        seq="P", cas="", amts="AMT*D*200~", pid="11111", dtp="") + second + lines
    assert run(claim_837(body, sub)) == []


def test_duplicate_payer_id_fails_when_2430s_name_it():
    # an error: the 2430s naming 11111 cannot be attributed to either adjudicated 2320 (and SNIP 3 skips
    # their line equations rather than report them a second time)
    second = ("SBR*S*18*GRP2******CI~AMT*D*0~OI***Y***Y~NM1*IL*1*TESTER*ALEX****MI*SEC456~"
              "NM1*PR*2*PRIMARY PLAN*****PI*11111~")
    sub = "HL*2*1*22*0~SBR*T*18*******MC~NM1*IL*1*TESTER*ALEX****MI*MCD111~NM1*PR*2*STATE MEDICAID*****PI*33333"
    ctx = claim_837(claim(extra_2320=second), sub)
    assert run(ctx) == [("duplicate_payer_id", "error", "NM1")]
    assert ctx.findings[0].loop == "2330B" and ctx.findings[0].segment_no == 29  # the second 2320's NM1*PR
    assert messages(ctx) == ["two adjudicated 2320s name payer 11111; their 2430s cannot be told apart"]


def test_duplicate_payer_id_at_claim_level_passes():
    # the same payer adjudicated two policies at claim level only: nothing to attribute, each 2320 balances
    # on its own (250 = 116 + 134 and 250 = 0 + 250) and has its 2330B DTP*573
    second = ("SBR*S*18*GRP2******CI~CAS*OA*23*250~AMT*D*0~OI***Y***Y~NM1*IL*1*TESTER*ALEX****MI*SEC456~"
              "NM1*PR*2*PRIMARY PLAN*****PI*11111~DTP*573*D8*20260310~")
    sub = "HL*2*1*22*0~SBR*T*18*******MC~NM1*IL*1*TESTER*ALEX****MI*MCD111~NM1*PR*2*STATE MEDICAID*****PI*33333"
    ctx = claim_837(claim(cas="CAS*CO*45*100~CAS*PR*3*34~", dtp="DTP*573*D8*20260301~", lines=NO_LINE_ADJ,
                          extra_2320=second), sub)
    assert run(ctx) == []


# ------------------------------------------------------------------------------------------ payer_paid_missing


def test_payer_paid_missing_with_2430s():
    ctx = claim_837(claim(amts=""))
    assert run(ctx) == [("payer_paid_missing", "error", "SBR")]
    assert messages(ctx) == ["payer 11111 (SBR01 P) reports 2430 line adjudication but its 2320 has no AMT*D "
                             "(payer paid amount)"]


def test_payer_paid_missing_with_claim_cas():
    ctx = claim_837(claim(amts="", cas="CAS*CO*45*134~", dtp="DTP*573*D8*20260301~", lines=NO_LINE_ADJ))
    assert run(ctx) == [("payer_paid_missing", "error", "SBR")]


def test_later_payer_without_adjudication_passes():
    # an original claim: the 2320 names the secondary, no AMT*D, no CAS, no 2430
    [ctx] = claims_of(TESTS / "scenarios" / "data" / "s13_tertiary.837")[:1]
    assert run(ctx) == []


# ------------------------------------------------------------------------------------------ DTP*573 level


def test_adjudication_date_at_both_levels_fails():
    ctx = claim_837(claim(dtp="DTP*573*D8*20260301~"))
    assert run(ctx) == [("adjudication_date_level", "error", "DTP")]
    assert ctx.findings[0].loop == "2330B"


def test_adjudication_date_claim_level_only_passes():
    # no 2430s: the date is in 2330B (CLM02 250 = 116 + 100 + 34 for SNIP 3)
    ctx = claim_837(claim(cas="CAS*CO*45*100~CAS*PR*3*34~", dtp="DTP*573*D8*20260301~", lines=NO_LINE_ADJ))
    assert run(ctx) == []


def test_adjudication_date_missing_claim_level_only():
    ctx = claim_837(claim(cas="CAS*CO*45*100~CAS*PR*3*34~", lines=NO_LINE_ADJ))
    assert run(ctx) == [("adjudication_date_missing", "error", "NM1")]
    assert ctx.findings[0].loop == "2330B"


# ------------------------------------------------------------------------------------------ AMT*EAF level


def test_eaf_at_both_levels_fails():
    ctx = claim_837(claim(amts="AMT*D*116~AMT*EAF*34~"))
    assert run(ctx) == [("eaf_level", "error", "AMT")]
    assert messages(ctx) == ["payer 11111 (SBR01 P) has AMT*EAF in 2320 and in 2430 on line(s) 1,2; remaining "
                             "patient liability goes at one level only"]


def test_eaf_claim_level_only_passes():
    ctx = claim_837(claim(amts="AMT*D*116~AMT*EAF*34~", cas="CAS*CO*45*100~CAS*PR*3*34~",
                          dtp="DTP*573*D8*20260301~", lines=NO_LINE_ADJ))
    assert run(ctx) == []


# ------------------------------------------------------------------------------------------ AMT*A8


def test_amt_a8_with_paid_warns():
    ctx = claim_837(claim(amts="AMT*D*116~AMT*A8*15~"))
    assert run(ctx) == [("amt_a8_with_paid", "warning", "AMT")]


def test_amt_a8_cost_avoided_payer_passes():
    # the primary was cost-avoided: AMT*A8 only, no AMT*D, no CAS, no 2430, no date
    ctx = claim_837(claim(amts="AMT*A8*250~", lines=NO_LINE_ADJ))
    assert run(ctx) == []


# ------------------------------------------------------------------------------------------ SBR01 sequence


def test_payer_sequence_duplicate_of_destination():
    # 2320 SBR01 S for payer 11111 while the destination SECPAY is S: the level is repeated, the payer that
    # adjudicated is not ranked before the destination, and no 2320 holds P
    ctx = claim_837(claim(seq="S"))
    assert run(ctx) == [("payer_sequence_duplicate", "error", "SBR"),
                        ("payer_sequence_after_destination", "error", "SBR"),
                        ("payer_sequence_gap", "error", "SBR")]
    assert messages(ctx) == ["2320 SBR01 S repeats the payer responsibility sequence of the destination (2000B)",
                             "payer 11111 (SBR01 S) adjudicated (AMT*D) but is not ranked before the destination "
                             "(SBR01 S)",
                             "destination SBR01 S but no 2320 holds level(s) P (prior payers: none); expected P"]
    assert [f.loop for f in ctx.findings] == ["2320", "2320", "2000B"]


def test_payer_sequence_duplicate_between_2320s():
    # a second P (44444) that neither adjudicated nor was cost-avoided, ranked before the destination S
    later = "SBR*P*18*GRP9******CI~OI***Y***Y~NM1*IL*1*TESTER*ALEX****MI*X9~NM1*PR*2*OTHER*****PI*44444~"
    ctx = claim_837(claim(extra_2320=later))
    assert run(ctx) == [("payer_sequence_duplicate", "error", "SBR"), ("payer_sequence_unadjudicated", "error", "SBR")]
    assert messages(ctx) == ["2320 SBR01 P repeats the payer responsibility sequence of another 2320",
                             "payer 44444 (SBR01 P) is ranked before the destination (SBR01 S) but has neither "
                             "AMT*D nor AMT*A8"]


def test_payer_sequence_unknown_may_repeat():
    later = ("SBR*U*18*GRP8******CI~OI***Y***Y~NM1*IL*1*TESTER*ALEX****MI*X8~NM1*PR*2*OTHER*****PI*55555~"
             "SBR*U*18*GRP9******CI~OI***Y***Y~NM1*IL*1*TESTER*ALEX****MI*X9~NM1*PR*2*OTHER*****PI*44444~")
    assert run(claim_837(claim(extra_2320=later))) == []


def test_destination_in_2320_fails():
    # the 2320 names SECPAY for member SEC123456, as 2010BB and 2010BA do: the destination listed again
    later = ("SBR*S*18*GRP200******CI~OI***Y***Y~NM1*IL*1*TESTER*ALEX****MI*SEC123456~"
             "NM1*PR*2*SECOND*****PI*SECPAY~")
    ctx = claim_837(claim(extra_2320=later))
    assert run(ctx) == [("destination_in_2320", "error", "SBR")]
    assert messages(ctx)[0].startswith("2320 SBR01 S names the destination payer SECPAY (2000B SBR01 S)")
    assert "SEC123456" not in messages(ctx)[0]


def test_destination_in_2320_at_another_level_fails():
    # the same policy (SECPAY, SEC123456) listed again as a later payer T: still the destination
    later = ("SBR*T*18*GRP200******CI~OI***Y***Y~NM1*IL*1*TESTER*ALEX****MI*SEC123456~"
             "NM1*PR*2*SECOND*****PI*SECPAY~")
    assert run(claim_837(claim(extra_2320=later))) == [("destination_in_2320", "error", "SBR")]


def test_destination_in_2320_with_unknown_member_fails():
    # 2330A without NM109 (unknown member id): the payer being billed cannot be told from the destination
    later = "SBR*T*18*GRP200******CI~OI***Y***Y~NM1*IL*1*TESTER*ALEX~NM1*PR*2*SECOND*****PI*SECPAY~"
    assert [f[0] for f in run(claim_837(claim(extra_2320=later)))] == ["destination_in_2320"]


def test_same_payer_other_member_at_the_destination_level_is_a_duplicate_level():
    # SECPAY under member X9 is another coverage, but SBR01 S is the destination's own level
    later = "SBR*S*18*GRP200******CI~OI***Y***Y~NM1*IL*1*TESTER*ALEX****MI*X9~NM1*PR*2*SECOND*****PI*SECPAY~"
    ctx = claim_837(claim(extra_2320=later))
    assert run(ctx) == [("payer_sequence_duplicate", "error", "SBR")]


def test_same_payer_other_policy_passes():
    # the destination's payer id in a 2320 at another level (the same payer covers both policies)
    later = "SBR*T*18*GRP9******CI~OI***Y***Y~NM1*IL*1*TESTER*ALEX****MI*X9~NM1*PR*2*SECOND*****PI*SECPAY~"
    assert run(claim_837(claim(extra_2320=later))) == []
    [ctx] = claims_of(TESTS / "scenarios" / "data" / "s21_same_payer_both_policies.837")
    assert run(ctx) == []


def test_payer_sequence_order_warns():
    # destination S; 2320s T then P
    first = "SBR*T*18*GRP9******CI~OI***Y***Y~NM1*IL*1*TESTER*ALEX****MI*X9~NM1*PR*2*OTHER*****PI*44444~"
    body = claim().replace("SBR*P*18*GRP1", first + "SBR*P*18*GRP1", 1)
    ctx = claim_837(body)
    assert run(ctx) == [("payer_sequence_order", "warning", "SBR")]
    assert messages(ctx) == ["2320 SBR01 P follows a 2320 with SBR01 T; other payers are expected in P, S, T, "
                             "A..H order"]


def test_payer_sequence_order_passes():
    later = "SBR*T*18*GRP9******CI~OI***Y***Y~NM1*IL*1*TESTER*ALEX****MI*X9~NM1*PR*2*OTHER*****PI*44444~"
    assert run(claim_837(claim(extra_2320=later))) == []


# ------------------------------------------------------------------------------------------ 2300 REF*F8


def test_ref_f8_without_replacement_fails():
    ctx = claim_837(claim(ref="REF*F8*SECICN1~"))
    assert run(ctx) == [("ref_f8_frequency", "error", "REF")]
    assert ctx.findings[0].loop == "2300"
    assert "SECICN1" not in ctx.findings[0].message


def test_replacement_without_ref_f8_fails():
    ctx = claim_837(claim(freq="7"))
    assert run(ctx) == [("ref_f8_frequency", "error", "CLM")]
    f = ctx.findings[0]
    assert (f.element, f.element_pos, f.component_pos) == ("CLM05-03", 5, 3)


@pytest.mark.parametrize("freq", ["7", "8"])
def test_replacement_and_void_with_ref_f8_pass(freq):
    assert run(claim_837(claim(freq=freq, ref="REF*F8*SECICN1~"))) == []


# ------------------------------------------------------------------------------------------ SVD02


def test_negative_svd_fails():
    # line 1: -10 + 80 + 20 ... the money is SNIP 3's concern; SNIP 4 reports the sign
    ctx = claim_837(claim(paid1="-10"))
    assert run(ctx) == [("negative_svd", "error", "SVD")]
    assert messages(ctx) == ["line 1: payer 11111 SVD02 -10 is negative"]
    assert ctx.findings[0].element == "SVD02"


def test_zero_svd_passes():
    assert run(claim_837(claim(paid1="0", cas1="CAS*CO*45*180~CAS*PR*3*20~"))) == []


# ------------------------------------------------------------------------------------------ CAS


def test_cas_reason_without_amount_fails():
    ctx = claim_837(claim(cas1="CAS*CO*45*80**253~CAS*PR*3*20~"))
    assert run(ctx) == [("cas_reason_amount", "error", "CAS")]
    f = ctx.findings[0]
    assert (f.element, f.element_pos, f.loop) == ("CAS06", 6, "2430")
    assert f.message == "line 1 2430 of payer 11111: CAS CO reason 253 (CAS05) has no amount"


def test_cas_reason_with_only_quantity_fails():
    # X12 syntax (L050607) accepts a quantity instead of the amount; the rule does not
    ctx = claim_837(claim(cas1="CAS*CO*45*80**253**1~CAS*PR*3*20~"))
    assert run(ctx) == [("cas_reason_amount", "error", "CAS")]


def test_cas_amount_without_reason_fails():
    ctx = claim_837(claim(cas1="CAS*CO*45*80***5~CAS*PR*3*20~"))
    assert run(ctx) == [("cas_reason_amount", "error", "CAS")]
    f = ctx.findings[0]
    assert (f.element, f.element_pos) == ("CAS05", 5)
    assert f.message == "line 1 2430 of payer 11111: CAS CO adjustment 2 has an amount or quantity but no reason"


def test_cas_in_2320_checked():
    ctx = claim_837(claim(cas="CAS*PR*1~", lines=NO_LINE_ADJ, dtp="DTP*573*D8*20260301~"))
    assert run(ctx) == [("cas_reason_amount", "error", "CAS")]
    assert ctx.findings[0].loop == "2320"


def test_cas_full_trios_pass():
    # six trios, quantities on some
    cas1 = "CAS*CO*45*10*1*42*10**59*10**94*10**97*10**A1*30~CAS*PR*3*20~"
    assert run(claim_837(claim(cas1=cas1))) == []


def test_duplicate_cas_group_in_2430_fails():
    ctx = claim_837(claim(cas1="CAS*CO*45*40~CAS*CO*45*40~CAS*PR*3*20~"))
    assert run(ctx) == [("duplicate_cas_group", "error", "CAS")]
    assert ctx.findings[0].message == ("line 1 2430 of payer 11111: CAS group CO appears more than once; one CAS "
                                       "per group code")


def test_duplicate_cas_group_in_2320_fails():
    ctx = claim_837(claim(cas="CAS*PR*1*10~CAS*PR*2*24~", lines=NO_LINE_ADJ, dtp="DTP*573*D8*20260301~"))
    assert run(ctx) == [("duplicate_cas_group", "error", "CAS")]
    assert ctx.findings[0].loop == "2320"


def test_same_group_in_different_loops_passes():
    # CO in the 2320 and CO in each 2430 is one per loop
    assert run(claim_837(claim(cas="CAS*CO*45*0.01~"))) == []


# ------------------------------------------------------------------------------------------ 835


REVERSAL = ("CLP*PCN123*22*{clp03}*{clp04}**12*ICN987~NM1*QC*1*TESTER*ALEX****MI*PRIM123~"
            "SVC*HC:99214*-200*-100**-1~CAS*CO*45*-80~CAS*PR*3*-20~")


def test_reversal_with_negated_amounts_passes():
    assert run(claim_835(REVERSAL.format(clp03="-200", clp04="-100"))) == []
    # a zero-paid claim reversed: CLP04 0
    assert run(claim_835(REVERSAL.format(clp03="-200", clp04="0"))) == []


def test_reversal_with_positive_amounts_warns():
    ctx = claim_835(REVERSAL.format(clp03="200", clp04="100"))
    assert run(ctx) == [("reversal_sign", "warning", "CLP"), ("reversal_sign", "warning", "CLP")]
    assert [f.element for f in ctx.findings] == ["CLP03", "CLP04"]


def test_835_cas_reason_amount():
    ok = "CLP*C2*1*100*70*30*12*ICN2~CAS*PR*1*30~NM1*QC*1*TESTER*ALEX****MI*PRIM123~"
    assert run(claim_835(ok)) == []
    ctx = claim_835(ok.replace("CAS*PR*1*30", "CAS*PR*1*30*1*2"))
    assert run(ctx) == [("cas_reason_amount", "error", "CAS")]
    assert ctx.findings[0].message == "claim: CAS PR reason 2 (CAS05) has no amount"


# ------------------------------------------------------------------------------------------ no PHI


PHI = ("TESTER", "ALEX", "PRIM123", "SEC123456", "SEC456", "MCD111", "X9")


def test_messages_carry_no_phi():
    bad = [
        claim(svd1="99999"), claim(amts=""), claim(dtp="DTP*573*D8*20260301~"),
        claim(amts="AMT*D*116~AMT*EAF*34~AMT*A8*1~"), claim(seq="S"), claim(ref="REF*F8*X~"), claim(freq="7"),
        claim(paid1="-10", cas1="CAS*CO*45*80**253~CAS*CO*3*20***7~"),
    ]
    for body in bad:
        ctx = claim_837(body)
        snip3.check_claim(ctx)
        snip4.check_claim(ctx)
        assert ctx.findings
        for f in ctx.findings:
            assert not any(p in f.message for p in PHI), f.message


# ------------------------------------------------------------------------------------------ sweep


def _inputs() -> list[Path]:
    files = sorted((ROOT / "cob" / "fixtures" / "sample").glob("*.83[57]"))
    files += sorted((TESTS / "scenarios" / "data").glob("*.83[57]"))
    files += sorted((TESTS / "data").glob("*.83[57]"))
    return files


#: files meant to be bad, and the SNIP 3/4 codes they are expected to raise (none so far: the scenario
#: "bad" remit is broken in its envelope, which is SNIP 1)
EXPECTED: dict[str, list[str]] = {}


@pytest.mark.parametrize("path", _inputs(), ids=lambda p: p.name)
def test_committed_inputs_have_no_findings(path):
    found = []
    claims = 0
    for ctx in walk_file(path):
        if isinstance(ctx, ClaimContext):
            claims += 1
            snip3.check_claim(ctx)
            snip4.check_claim(ctx)
        else:
            snip3.check_transaction(ctx)
        found += [f.code for f in ctx.findings]
    assert claims
    assert found == EXPECTED.get(path.name, [])


def test_pipeline_built_secondary_claims_have_no_findings(tmp_path):
    """Secondary and tertiary claims built by `cob secondary` from the committed sample run: 2320/2430
    loops at line and claim level, bundling, splits, reversals, three payers."""
    from cob.billing.secondary import SecondaryOptions, run_secondary

    sample = ROOT / "cob" / "fixtures" / "sample"
    run_secondary(sorted(sample.glob("*.837")), sorted(sample.glob("*.835")),
                  SecondaryOptions(out_dir=tmp_path, validate=False))
    outputs = sorted(tmp_path.glob("*.837"))
    assert outputs
    claims = adjudicated = 0
    for path in outputs:
        for ctx in walk_file(path):
            claims += 1
            adjudicated += any(s[1][0] == "AMT" and s[1][1] == "D" for s in ctx.segments)
            snip3.check_claim(ctx)
            snip4.check_claim(ctx)
            assert [(f.code, f.message) for f in ctx.findings] == []
    assert claims >= 10 and adjudicated == claims
