"""SNIP 3 balancing rules (edi/validate/snip3.py): every rule with a passing and a failing claim.

Claims are written out as X12 text; every expected number in an assertion is worked out by hand in
the comment next to it. The base claim is the reference §1.9 worked example (tests/data/cob-claim.837):

    CLM02 250; primary 11111 AMT*D 116, no 2320 CAS
    line 1: SV102 200 = SVD02 100 + CO-45 80 + PR-3 20
    line 2: SV102  50 = SVD02  16 + CO-45 20 + PR-1 10 + PR-2 4
    AMT*D 116 = (100 + 16) - 0;  CLM02 250 = 116 + 0 + (80 + 20 + 20 + 10 + 4)
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from claim_contexts import claim_835, claim_837, claims_of, transaction_835, transactions_of

from cob.edi.validate import snip3
from cob.edi.validate.context import ClaimContext, TransactionContext

DATA = Path(__file__).parent.parent / "data"
D = Decimal

CLM = "CLM*PCN123*250***11:B:1*Y*A*Y*Y~HI*ABK:J069~"
PRIMARY_2320 = ("SBR*P*18*GRP1******BL~{cas}AMT*D*{amt_d}~OI***Y***Y~NM1*IL*1*TESTER*ALEX****MI*PRIM123~"
                "NM1*PR*2*PRIMARY PLAN*****PI*11111~{dtp}REF*F8*ICN987~")
LINE1 = "LX*1~SV1*HC:99214*200*UN*1***1~DTP*472*D8*20260215~REF*6R*L1~"
LINE2 = "LX*2~SV1*HC:87880*50*UN*1***1~DTP*472*D8*20260215~REF*6R*L2~"
ADJ1 = "SVD*11111*{paid}*HC:99214**1~CAS*CO*45*80~CAS*PR*3*20~DTP*573*D8*20260301~"
ADJ2 = "SVD*11111*16*HC:87880**1~CAS*CO*45*20~CAS*PR*1*10**2*4~DTP*573*D8*20260301~"


def worked_example(clm: str = CLM, amt_d: str = "116", cas: str = "", paid1: str = "100",
                   line2_adj: str | None = ADJ2) -> str:
    body = clm + PRIMARY_2320.format(cas=cas, amt_d=amt_d, dtp="")
    body += LINE1 + ADJ1.format(paid=paid1) + LINE2 + (line2_adj or "")
    return body


def run(ctx: ClaimContext) -> list[tuple[str, str, str, str]]:
    snip3.check_claim(ctx)
    assert all(f.snip == 3 for f in ctx.findings)
    return [(f.code, f.severity, f.segment_id, f.message) for f in ctx.findings]


def codes(ctx: ClaimContext) -> list[str]:
    return [f[0] for f in run(ctx)]


# ------------------------------------------------------------------------------------------ 837 files


def test_worked_example_file_balances():
    [ctx] = claims_of(DATA / "cob-claim.837")
    assert ctx.claim_id == "PCN123"
    assert run(ctx) == []


def test_worked_example_text_balances():
    assert run(claim_837(worked_example())) == []


# ------------------------------------------------------------------------------------------ clm02_sum


def test_clm02_sum_fails():
    # lines 200 + 50 = 250, CLM02 says 260; the COB equation CLM02 = AMT*D + CAS fails too:
    # 116 + 0 + 134 = 250 != 260
    ctx = claim_837(worked_example(clm="CLM*PCN123*260***11:B:1*Y*A*Y*Y~HI*ABK:J069~"))
    found = run(ctx)
    assert [f[0] for f in found] == ["clm02_sum", "cob_claim_balance"]
    code, severity, seg_id, message = found[0]
    assert (severity, seg_id) == ("error", "CLM")
    assert message == "CLM02 260 != sum of line charges (SV102) 250"
    f = ctx.findings[0]
    assert (f.element, f.element_pos, f.loop, f.claim_id) == ("CLM02", 2, "2300", "PCN123")
    assert f.ik3 is None and f.ik4 is None


def test_clm02_sum_passes_without_other_payers():
    # an original claim: 120.50 + 79.50 = 200
    ctx = claim_837("CLM*X1*200***11:B:1*Y*A*Y*Y~HI*ABK:J069~"
                    "LX*1~SV1*HC:99213*120.50*UN*1***1~DTP*472*D8*20260215~"
                    "LX*2~SV1*HC:81002*79.50*UN*1***1~DTP*472*D8*20260215~")
    assert run(ctx) == []


def test_clm02_sum_fails_by_one_cent():
    # 120.50 + 79.49 = 199.99 != 200
    ctx = claim_837("CLM*X1*200***11:B:1*Y*A*Y*Y~HI*ABK:J069~"
                    "LX*1~SV1*HC:99213*120.50*UN*1***1~DTP*472*D8*20260215~"
                    "LX*2~SV1*HC:81002*79.49*UN*1***1~DTP*472*D8*20260215~")
    assert [f[3] for f in run(ctx)] == ["CLM02 200 != sum of line charges (SV102) 199.99"]


def test_malformed_amount_is_skipped_quietly():
    # SV102 "12X" does not parse: the engine reports it; rule 1 is not evaluated
    ctx = claim_837("CLM*X1*200***11:B:1*Y*A*Y*Y~HI*ABK:J069~"
                    "LX*1~SV1*HC:99213*12X*UN*1***1~DTP*472*D8*20260215~")
    assert run(ctx) == []


# ------------------------------------------------------------------------------------------ cob_line_balance


def test_line_balance_fails():
    # line 1: SVD02 90 + CAS 80 + 20 = 190 != 200; then AMT*D 116 != (90 + 16) - 0 = 106;
    # CLM02 = AMT*D + all CAS still holds: 116 + 134 = 250
    ctx = claim_837(worked_example(paid1="90"))
    found = run(ctx)
    assert [f[0] for f in found] == ["cob_line_balance", "cob_claim_vs_lines"]
    assert found[0][2] == "SVD"
    assert found[0][3] == ("line 1: charge (SV102) 200 != payer 11111 paid (SVD02) 90 + line adjustments (CAS) 100 "
                           "= 190")
    assert found[1][3] == ("payer 11111 (SBR01 P): AMT*D 116 != line paid (sum of SVD02) 106 - claim adjustments "
                           "(2320 CAS) 0 = 106")
    assert ctx.findings[0].loop == "2430" and ctx.findings[0].element == "SVD02"


def test_line_balance_passes_with_split_line():
    # line 1 reported as two 2430s of the same payer: (60 + CO 48 + PR 12) + (40 + CO 32 + PR 8) = 200
    adj1 = ("SVD*11111*60*HC:99214**1~CAS*CO*45*48~CAS*PR*3*12~DTP*573*D8*20260301~"
            "SVD*11111*40*HC:99214**1~CAS*CO*45*32~CAS*PR*3*8~DTP*573*D8*20260301~")
    body = CLM + PRIMARY_2320.format(cas="", amt_d="116", dtp="") + LINE1 + adj1 + LINE2 + ADJ2
    assert run(claim_837(body)) == []


def test_line_balance_negative_bundling_adjustment():
    # keeper line: 200 = 150 + OA-94 (-50) + CO-45 80 + PR-3 20; absorbed line 2: 50 = 0 + CO-97 50
    # AMT*D 150 = 150 + 0 - 0; CLM02 250 = 150 + (-50 + 80 + 20 + 50) = 150 + 100
    adj1 = "SVD*11111*150*HC:99214**1~CAS*OA*94*-50~CAS*CO*45*80~CAS*PR*3*20~DTP*573*D8*20260301~"
    adj2 = "SVD*11111*0*HC:99214**0*1~CAS*CO*97*50**1~DTP*573*D8*20260301~"
    body = CLM + PRIMARY_2320.format(cas="", amt_d="150", dtp="") + LINE1 + adj1 + LINE2 + adj2
    assert run(claim_837(body)) == []


# ------------------------------------------------------------------------------------------ cob_claim_vs_lines


def test_claim_vs_lines_fails():
    # AMT*D 120 != (100 + 16) - 0 = 116; and CLM02 250 != 120 + 0 + 134 = 254
    found = run(claim_837(worked_example(amt_d="120")))
    assert [f[0] for f in found] == ["cob_claim_vs_lines", "cob_claim_balance"]
    assert all(f[2] == "AMT" for f in found)
    assert found[1][3] == ("payer 11111 (SBR01 P): CLM02 250 != AMT*D 120 + claim adjustments (2320 CAS) 0 "
                           "+ line adjustments (2430 CAS) 134 = 254")


def test_claim_vs_lines_passes_with_claim_level_cas():
    # 2320 PR-1 10 (claim deductible) on top of line data: AMT*D 106 = (100 + 16) - 10;
    # CLM02 250 = 106 + 10 + 134
    assert run(claim_837(worked_example(amt_d="106", cas="CAS*PR*1*10~"))) == []


def test_claim_vs_lines_fails_with_claim_level_cas_ignored():
    # AMT*D 116 with a 2320 PR-1 10: 116 != 116 - 10 = 106; CLM02 250 != 116 + 10 + 134 = 260
    found = run(claim_837(worked_example(amt_d="116", cas="CAS*PR*1*10~")))
    assert [f[0] for f in found] == ["cob_claim_vs_lines", "cob_claim_balance"]


# ------------------------------------------------------------------------------------------ cob_claim_balance


def test_claim_balance_fails_when_a_line_has_no_2430():
    # line 2 has no 2430 for 11111: line 1 balances (200 = 100 + 100), AMT*D 100 = 100 - 0,
    # but CLM02 250 != 100 + 0 + 100 = 200
    found = run(claim_837(worked_example(amt_d="100", line2_adj=None)))
    assert [f[0] for f in found] == ["cob_claim_balance"]
    assert found[0][3] == ("payer 11111 (SBR01 P): CLM02 250 != AMT*D 100 + claim adjustments (2320 CAS) 0 "
                           "+ line adjustments (2430 CAS) 100 = 200; line(s) 2 have no 2430 for this payer")


CLAIM_LEVEL = (CLM + PRIMARY_2320.format(cas="CAS*CO*45*100~CAS*PR*3*{pr}~", amt_d="116",
                                         dtp="DTP*573*D8*20260301~") + LINE1 + LINE2)


def test_claim_balance_claim_level_only_passes():
    # rule 5: no 2430s; CLM02 250 = AMT*D 116 + CO 100 + PR 34
    assert run(claim_837(CLAIM_LEVEL.format(pr="34"))) == []


def test_claim_balance_claim_level_only_fails():
    # 116 + 100 + 30 = 246 != 250
    found = run(claim_837(CLAIM_LEVEL.format(pr="30")))
    assert [f[0] for f in found] == ["cob_claim_balance"]
    assert "= 246" in found[0][3]


def test_claim_balance_zero_and_negative_paid_still_balance():
    # zero pay: 250 = 0 + CO-45 200 + PR-1 50
    body = (CLM + PRIMARY_2320.format(cas="CAS*CO*45*200~CAS*PR*1*50~", amt_d="0", dtp="DTP*573*D8*20260301~")
            + LINE1 + LINE2)
    assert run(claim_837(body)) == []
    # negative paid (recoupment): 250 = -10 + CO-45 260; and 250 != -10 + 250 = 240 when it does not add up
    body = CLM + PRIMARY_2320.format(cas="CAS*CO*45*260~", amt_d="-10", dtp="DTP*573*D8*20260301~") + LINE1 + LINE2
    assert run(claim_837(body)) == []
    body = CLM + PRIMARY_2320.format(cas="CAS*CO*45*250~", amt_d="-10", dtp="DTP*573*D8*20260301~") + LINE1 + LINE2
    assert codes(claim_837(body)) == ["cob_claim_balance"]


TERTIARY = (
    "CLM*T1*200***11:B:1*Y*A*Y*Y~HI*ABK:J069~"
    "SBR*P*18*GRP1******CI~AMT*D*120~OI***Y***Y~NM1*IL*1*TESTER*ALEX****MI*PRIM123~"
    "NM1*PR*2*PRIMARY PLAN*****PI*11111~"
    "SBR*S*18*GRP2******CI~AMT*D*{s_paid}~OI***Y***Y~NM1*IL*1*TESTER*ALEX****MI*SEC456~"
    "NM1*PR*2*SECOND PAYER INC*****PI*22222~"
    "LX*1~SV1*HC:99214*200*UN*1***1~DTP*472*D8*20260215~"
    "SVD*11111*120*HC:99214**1~CAS*CO*45*50~CAS*PR*2*30~DTP*573*D8*20260301~"
    "SVD*22222*{s_paid}*HC:99214**1~CAS*OA*23*170~CAS*PR*2*{s_pr}~DTP*573*D8*20260320~"
)
TERTIARY_SUB = "HL*2*1*22*0~SBR*T*18*******MC~NM1*IL*1*TESTER*ALEX****MI*MCD111~NM1*PR*2*STATE MEDICAID*****PI*33333"


def test_each_payer_balances_on_its_own():
    # primary 11111: 200 = 120 + 50 + 30; secondary 22222: 200 = 24 + OA-23 170 + PR-2 6
    assert run(claim_837(TERTIARY.format(s_paid="24", s_pr="6"), TERTIARY_SUB)) == []


def test_only_the_unbalanced_payer_is_reported():
    # secondary 22222: 24 + 170 + 10 = 204 != 200 (line and claim); primary 11111 still balances
    found = run(claim_837(TERTIARY.format(s_paid="24", s_pr="10"), TERTIARY_SUB))
    assert [f[0] for f in found] == ["cob_line_balance", "cob_claim_balance"]
    assert "payer 22222" in found[0][3] and "payer 22222 (SBR01 S)" in found[1][3]
    assert "= 204" in found[0][3] and "= 204" in found[1][3]


def test_ambiguous_payer_id_skips_line_level_equations():
    # two adjudicated 2320s both named 11111: their 2430s cannot be attributed (SNIP 4 warns), so the
    # line and claim-vs-lines equations for 11111 are not evaluated
    body = TERTIARY.format(s_paid="24", s_pr="6").replace("PI*22222", "PI*11111").replace("SVD*22222", "SVD*11111")
    assert run(claim_837(body, TERTIARY_SUB)) == []


def test_unadjudicated_later_payer_is_not_balanced():
    # an original claim listing a later payer (2320 without AMT*D): nothing to balance for it
    [ctx] = claims_of(Path(__file__).parent.parent / "scenarios" / "data" / "s01_line_level.837")
    assert run(ctx) == []


# ------------------------------------------------------------------------------------------ 835 claims

REMIT = ("CLP*PCN123*1*250*116*34*12*ICN987~NM1*QC*1*TESTER*ALEX****MI*PRIM123~"
         "SVC*HC:99214*200*{svc03}**1~CAS*CO*45*80~CAS*PR*3*20~REF*6R*L1~"
         "SVC*HC:87880*50*16**1~CAS*CO*45*20~CAS*PR*1*10**2*4~REF*6R*L2~")


def test_835_file_balances():
    [ctx] = claims_of(DATA / "primary-remit.835")
    assert run(ctx) == []
    [tctx] = transactions_of(DATA / "primary-remit.835")
    snip3.check_transaction(tctx)
    assert tctx.findings == []


def test_svc_balance_passes():
    # 200 - (80 + 20) = 100; 50 - (20 + 10 + 4) = 16; CLP: 250 - 0 - 134 = 116
    assert run(claim_835(REMIT.format(svc03="100"))) == []


def test_svc_balance_fails():
    # line 1: 200 - 100 = 100 != 110; the claim equation does not use SVC03 and still holds
    ctx = claim_835(REMIT.format(svc03="110"))
    found = run(ctx)
    assert found == [("svc_balance", "error", "SVC",
                      "service line 1: SVC03 110 != charge (SVC02) 200 - line adjustments (CAS) 100 = 100")]
    assert (ctx.findings[0].loop, ctx.findings[0].element, ctx.findings[0].claim_id) == ("2110", "SVC03", "PCN123")


def test_clp_balance_fails():
    # 250 - 0 - 134 = 116 != 120
    ctx = claim_835(REMIT.format(svc03="100").replace("*250*116*", "*250*120*"))
    found = run(ctx)
    assert found == [("clp_balance", "error", "CLP",
                      "CLP04 120 != charge (CLP03) 250 - claim adjustments (2100 CAS) 0 - line adjustments "
                      "(2110 CAS) 134 = 116")]
    assert ctx.findings[0].element_pos == 4 and ctx.findings[0].loop == "2100"


def test_clp_balance_claim_level_cas_without_lines():
    # 100 - PR-1 30 = 70 passes; with CLP04 75 it fails
    ok = "CLP*C2*1*100*70*30*12*ICN2~CAS*PR*1*30~NM1*QC*1*TESTER*ALEX****MI*PRIM123~"
    assert run(claim_835(ok)) == []
    assert codes(claim_835(ok.replace("*100*70*", "*100*75*"))) == ["clp_balance"]


def test_clp_balance_claim_and_line_cas():
    # claim PR-1 10 plus the lines: 250 - 10 - 134 = 106
    body = REMIT.format(svc03="100").replace("*250*116*34*12*ICN987~", "*250*106*44*12*ICN987~CAS*PR*1*10~")
    assert run(claim_835(body)) == []


REVERSAL = ("CLP*PCN123*22*-250*-116*-34*12*ICN987~NM1*QC*1*TESTER*ALEX****MI*PRIM123~"
            "SVC*HC:99214*-200*-100**-1~CAS*CO*45*-80~CAS*PR*3*-20~REF*6R*L1~"
            "SVC*HC:87880*-50*{svc03}**-1~CAS*CO*45*-20~CAS*PR*1*-10**2*-4~REF*6R*L2~")


def test_reversal_balances():
    # every amount negated: -200 - (-100) = -100; -50 - (-34) = -16; -250 - 0 - (-134) = -116
    assert run(claim_835(REVERSAL.format(svc03="-16"))) == []


def test_reversal_unbalanced():
    # line 2: -50 - (-34) = -16 != 16 (a sign slipped)
    found = run(claim_835(REVERSAL.format(svc03="16")))
    assert [f[0] for f in found] == ["svc_balance"]
    assert found[0][3] == "service line 2: SVC03 16 != charge (SVC02) -50 - line adjustments (CAS) -34 = -16"


# ------------------------------------------------------------------------------------------ bpr_balance

TWO_CLAIMS = (REMIT.format(svc03="100")
              + "CLP*C2*1*100*70*30*12*ICN2~CAS*PR*1*30~NM1*QC*1*TESTER*ALEX****MI*PRIM123~")
PLB = "PLB*1234567893*20261231*L6:ICN2*-1.53*WO:ICN0001*10~"


def test_bpr_balance_passes_with_plb():
    # claims 116 + 70 = 186; PLB -1.53 + 10 = 8.47; BPR02 = 186 - 8.47 = 177.53
    tctx = transaction_835(TWO_CLAIMS + PLB, bpr="BPR*I*177.53*C*CHK************20260301")
    assert tctx.claim_payment_total == D("186")
    snip3.check_transaction(tctx)
    assert tctx.findings == []


def test_bpr_balance_fails():
    # BPR02 186 ignores the PLB: 186 != 186 - 8.47 = 177.53
    tctx = transaction_835(TWO_CLAIMS + PLB, bpr="BPR*I*186*C*CHK************20260301")
    snip3.check_transaction(tctx)
    [f] = tctx.findings
    assert (f.snip, f.code, f.severity, f.segment_id, f.element, f.element_pos) == \
        (3, "bpr_balance", "error", "BPR", "BPR02", 2)
    assert f.message == ("BPR02 186 != claim payments (sum of CLP04) 186 - provider adjustments (PLB) 8.47 "
                         "= 177.53")
    assert f.st_control == "0001" and f.segment_no == 4  # ISA, GS, ST, BPR


def test_bpr_balance_without_plb():
    # 116 + 70 = 186
    tctx = transaction_835(TWO_CLAIMS, bpr="BPR*I*186*C*CHK************20260301")
    snip3.check_transaction(tctx)
    assert tctx.findings == []


def test_bpr_balance_reversal_and_correction():
    # reversal -116, correction 106, PLB WO 0: BPR02 = -116 + 106 = -10 ... a negative check is not sent;
    # the payer recoups through PLB instead: PLB WO -10 raises it to 0: 0 = (-116 + 106) - (-10)
    body = (REVERSAL.format(svc03="-16")
            + REMIT.format(svc03="100").replace("*250*116*34*12*ICN987~", "*250*106*44*12*ICN987~CAS*PR*1*10~")
            + "PLB*1234567893*20261231*WO:ICN987*-10~")
    tctx = transaction_835(body, bpr="BPR*H*0*C*NON************20260301")
    assert tctx.claim_payment_total == D("-10")
    snip3.check_transaction(tctx)
    assert tctx.findings == []


def test_bpr_balance_skipped_when_total_unknown():
    tctx = TransactionContext(file="x", transaction="835", header=[("HEADER", ["BPR", "I", "5"], 4, 2)],
                              trailer=[], claim_payment_total=None)
    snip3.check_transaction(tctx)
    assert tctx.findings == []
    # a malformed PLB amount: the engine reports it, the equation is skipped
    tctx = TransactionContext(file="x", transaction="835", header=[("HEADER", ["BPR", "I", "5"], 4, 2)],
                              trailer=[("FOOTER", ["PLB", "1", "20261231", "WO:1", "1X"], 30, 28)],
                              claim_payment_total=D("7"))
    snip3.check_transaction(tctx)
    assert tctx.findings == []
