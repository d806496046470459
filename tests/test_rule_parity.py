"""The parity test of the COB rule book: one table of claims, both adapters, the same findings.

Each case below is one 837P claim written out as X12 text, with the findings it must raise worked out by
hand: (code, severity, payer id, line number). The text is written once into a file, then

- validated by `cob validate` (the raw adapter: segments -> view -> book -> findings at segments), and
- read into models by the reader and checked by `cob secondary`'s pre-write check (the model adapter),

and both must give exactly the hand-written list. The validator's findings name segments, not payers:
the test finds each finding's payer id (2330B NM109 of its 2320, or SVD01 of its 2430) and line (LX01)
from the segment it names. Rules the IG walk already reports (`Rule.ig_code`: the repeat limits as
`loop_repeat`) are taken from the walk's findings; everything else the validator says (SNIP 1, 2, 5) is
not the book's and is left aside, as are the pre-write check's policy codes.

The base claim is the reference §1.9 worked example: a secondary claim to SECPAY (2000B SBR01 S, member
SEC123456); the primary 11111 (member PRIM123) paid AMT*D 116 at line level:
    line 1: SV102 200 = SVD02 100 + CO-45 80 + PR-3 20
    line 2: SV102  50 = SVD02  16 + CO-45 20 + PR-1 10 + PR-2 4
    AMT*D 116 = (100 + 16) - 0;  CLM02 250 = 116 + 0 + 134
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from cob.billing.checks import check_claim
from cob.edi.reader import X12Reader
from cob.edi.validate import validate_file
from cob.edi.walk import WalkPolicy
from cob.rules import book

from validate.claim_contexts import claims_of, x12_text

P = "11111"
E, W = "error", "warning"

SUB = "HL*2*1*22*0~SBR*{dest}*18*GRP200******CI~NM1*IL*1*TESTER*ALEX****MI*SEC123456~" \
      "NM1*PR*2*SECOND PAYER INC*****PI*SECPAY~"
CLM = "CLM*PCN123*{clm02}***11:B:{freq}*Y*A*Y*Y~{ref}HI*ABK:J069~"
P2320 = ("SBR*{seq}*18*GRP1******BL~{cas}{amts}OI***Y***Y~NM1*IL*1*TESTER*ALEX****MI*PRIM123~"
         "NM1*PR*2*PRIMARY PLAN*****PI*{pid}~{dtp}REF*F8*ICN987~")
LINE1 = "LX*1~SV1*HC:99214*200*UN*1***1~DTP*472*D8*20260215~REF*6R*L1~"
LINE2 = "LX*2~SV1*HC:87880*50*UN*1***1~DTP*472*D8*20260215~REF*6R*L2~"
ADJ1 = "SVD*{svd1}*{paid1}*HC:99214**1~{cas1}DTP*573*D8*20260301~{eaf1}"
ADJ2 = "SVD*11111*{paid2}*HC:87880**1~{cas2}DTP*573*D8*20260301~AMT*EAF*14~"
LEVEL_2320 = "DTP*573*D8*20260301~"  # the 2330B adjudication date of a claim-level payer


def claim(*, dest="S", clm02="250", freq="1", ref="", seq="P", cas="", amts="AMT*D*116~", pid=P, dtp="",
          svd1=P, paid1="100", cas1="CAS*CO*45*80~CAS*PR*3*20~", eaf1="AMT*EAF*20~", paid2="16",
          cas2="CAS*CO*45*20~CAS*PR*1*10**2*4~", extra_2320="", line1_extra="", line2=True, lines=None) -> str:
    """The worked example with the given parts replaced (each keyword names what it replaces)."""
    body = SUB.format(dest=dest) + CLM.format(clm02=clm02, freq=freq, ref=ref)
    body += P2320.format(seq=seq, cas=cas, amts=amts, pid=pid, dtp=dtp) + extra_2320
    if lines is not None:
        return body + lines
    body += LINE1 + ADJ1.format(svd1=svd1, paid1=paid1, cas1=cas1, eaf1=eaf1) + line1_extra + LINE2
    if line2:
        body += ADJ2.format(paid2=paid2, cas2=cas2)
    return body


#: both lines without 2430s: the primary's adjudication at claim level (rule 5)
NO_LINE_ADJ = LINE1 + LINE2
#: the primary at claim level only: its line CAS moved to 2320, its date to 2330B. 250 = 116 + (100 + 34)
CLAIM_LEVEL = dict(cas="CAS*CO*45*100~CAS*PR*3*20**1*10**2*4~", dtp=LEVEL_2320, lines=NO_LINE_ADJ)


def later(seq: str, pid: str, member: str = "X9", amts: str = "", dtp: str = "") -> str:
    """A further 2320 (by default a later payer: no AMT*D, no CAS, no date)."""
    return (f"SBR*{seq}*18*GRP9******CI~{amts}OI***Y***Y~NM1*IL*1*TESTER*ALEX****MI*{member}~"
            f"NM1*PR*2*OTHER PLAN*****PI*{pid}~{dtp}")


#: the secondary 22222 of a tertiary claim: it paid 20 on line 1 (200 = 20 + OA-23 180) and 10 on line 2
#: (50 = 10 + OA-23 40): AMT*D 30 = 20 + 10, CLM02 250 = 30 + 0 + 220
SECONDARY_2320 = later("S", "22222", member="SEC456", amts="AMT*D*30~")
SECONDARY_LINE1 = "SVD*{pid}*20*HC:99214**1~CAS*OA*23*180~DTP*573*D8*20260310~"
SECONDARY_LINE2 = "SVD*{pid}*10*HC:87880**1~CAS*OA*23*40~DTP*573*D8*20260310~"


def tertiary(pid: str = "22222") -> str:
    return (SUB.format(dest="T") + CLM.format(clm02="250", freq="1", ref="")
            + P2320.format(seq="P", cas="", amts="AMT*D*116~", pid=P, dtp="")
            + later("S", pid, member="SEC456", amts="AMT*D*30~")
            + LINE1 + ADJ1.format(svd1=P, paid1="100", cas1="CAS*CO*45*80~CAS*PR*3*20~", eaf1="AMT*EAF*20~")
            + SECONDARY_LINE1.format(pid=pid)
            + LINE2 + ADJ2.format(paid2="16", cas2="CAS*CO*45*20~CAS*PR*1*10**2*4~")
            + SECONDARY_LINE2.format(pid=pid))


def many_lines(n: int) -> str:
    """An original claim to the primary (no 2320) with `n` lines of 1.00: CLM02 = n."""
    lines = "".join(f"LX*{i}~SV1*HC:99213*1*UN*1***1~DTP*472*D8*20260215~" for i in range(1, n + 1))
    return ("HL*2*1*22*0~SBR*P*18*GRP100******CI~NM1*IL*1*TESTER*ALEX****MI*PRIM123~"
            "NM1*PR*2*PRIMARY PLAN*****PI*11111~" + CLM.format(clm02=str(n), freq="1", ref="") + lines)


ZERO_2430 = "SVD*11111*0*HC:99214**1~DTP*573*D8*20260301~"  # a 2430 of the primary that moves no money

#: (name, claim text, the book's findings worked out by hand)
CASES: list[tuple[str, str, list[tuple[str, str, str | None, int | None]]]] = [
    # ---------------------------------------------------------------- balanced
    ("balanced_line_level", claim(), []),
    ("balanced_claim_level_only", claim(**CLAIM_LEVEL), []),
    # claim-level PR-1 10 on top of line data: AMT*D 106 = 116 - 10; 250 = 106 + 10 + 134
    ("balanced_claim_cas_with_lines", claim(amts="AMT*D*106~", cas="CAS*PR*1*10~"), []),
    # bundling: line 1 200 = 150 + OA-94 -50 + CO-45 80 + PR-3 20; line 2 50 = 0 + CO-97 50;
    # AMT*D 150 = 150 + 0; CLM02 250 = 150 + (-50 + 80 + 20 + 50)
    ("balanced_bundling_negative_oa94",
     claim(amts="AMT*D*150~", paid1="150", cas1="CAS*OA*94*-50~CAS*CO*45*80~CAS*PR*3*20~", paid2="0",
           cas2="CAS*CO*97*50*1~"), []),
    # zero pay at claim level: 250 = 0 + CO-45 200 + PR-1 50
    ("balanced_zero_pay", claim(amts="AMT*D*0~", cas="CAS*CO*45*200~CAS*PR*1*50~", dtp=LEVEL_2320,
                                lines=NO_LINE_ADJ), []),
    # two prior payers, each balanced on its own (P: 250 = 116 + 134; S: 250 = 30 + 220)
    ("balanced_tertiary", tertiary(), []),
    # ---------------------------------------------------------------- balancing failures
    # lines 200 + 50 = 250 != CLM02 260; and 260 != 116 + 0 + 134 = 250
    ("clm02_sum", claim(clm02="260"), [("clm02_sum", E, None, None), ("cob_claim_balance", E, P, None)]),
    # 2 moved from line 1 to line 2: 200 != 98 + 100 = 198, 50 != 18 + 34 = 52; AMT*D 116 = 98 + 18 still
    ("line_balance", claim(paid1="98", paid2="18"),
     [("cob_line_balance", E, P, 1), ("cob_line_balance", E, P, 2)]),
    # AMT*D 110 != (100 + 16) - 0 = 116; 250 != 110 + 134 = 244
    ("claim_vs_lines", claim(amts="AMT*D*110~"),
     [("cob_claim_vs_lines", E, P, None), ("cob_claim_balance", E, P, None)]),
    # a 2320 PR-1 10 ignored by AMT*D: 116 != 116 - 10 = 106; 250 != 116 + 10 + 134 = 260
    ("claim_vs_lines_claim_cas", claim(cas="CAS*PR*1*10~"),
     [("cob_claim_vs_lines", E, P, None), ("cob_claim_balance", E, P, None)]),
    # claim level only: 250 != 116 + 100 + 30 = 246
    ("claim_balance_claim_level", claim(cas="CAS*CO*45*100~CAS*PR*3*30~", dtp=LEVEL_2320, lines=NO_LINE_ADJ),
     [("cob_claim_balance", E, P, None)]),
    # line 2 without the primary's 2430: AMT*D 116 != 100 - 0; 250 != 116 + 0 + 100 = 216
    ("line_without_2430", claim(line2=False),
     [("cob_claim_vs_lines", E, P, None), ("cob_claim_balance", E, P, None)]),
    # the secondary 22222 off by 4 on line 1 (200 != 20 + 184) and so on the claim (250 != 30 + 224)
    ("one_payer_of_two_unbalanced",
     tertiary().replace("CAS*OA*23*180~", "CAS*OA*23*184~"),
     [("cob_line_balance", E, "22222", 1), ("cob_claim_balance", E, "22222", None)]),
    # ---------------------------------------------------------------- payer ids
    # line 1 names 99999 (balanced on its own: 200 = 100 + 100); the primary then reported line 2 only:
    # 116 != 16 - 0, and 250 != 116 + 0 + 34 = 150
    ("svd01_names_no_payer", claim(svd1="99999"),
     [("cob_claim_vs_lines", E, P, None), ("cob_claim_balance", E, P, None), ("svd_payer_id", E, "99999", 1)]),
    # the secondary's 2320 and 2430s carry 11111 too: those 2430s cannot be attributed (no equations run)
    ("duplicate_payer_id", tertiary(pid=P), [("duplicate_payer_id", E, P, None)]),
    # the same payer id on two adjudicated 2320s, claim level only: nothing to attribute, each balances
    # (250 = 116 + 134; 250 = 0 + OA-23 250)
    ("duplicate_payer_id_claim_level",
     claim(**CLAIM_LEVEL, dest="T",
           extra_2320=later("S", P, member="SEC456", amts="CAS*OA*23*250~AMT*D*0~", dtp=LEVEL_2320)), []),
    # a 2430 naming a 2320 without AMT*D: its payer adjudicated, the 2320 lacks AMT*D
    ("payer_paid_missing", claim(amts=""), [("payer_paid_missing", E, P, None)]),
    # ---------------------------------------------------------------- one level per payer
    ("dtp573_both_levels", claim(dtp=LEVEL_2320), [("adjudication_date_level", E, P, None)]),
    ("dtp573_missing_claim_level", claim(cas="CAS*CO*45*100~CAS*PR*3*34~", lines=NO_LINE_ADJ),
     [("adjudication_date_missing", E, P, None)]),
    ("eaf_both_levels", claim(amts="AMT*D*116~AMT*EAF*34~"), [("eaf_level", E, P, None)]),
    ("eaf_claim_level_only", claim(amts="AMT*D*116~AMT*EAF*34~", **CLAIM_LEVEL), []),
    # ---------------------------------------------------------------- SBR01
    # a second P (44444) that neither adjudicated nor was cost-avoided, before the destination S
    ("sbr01_duplicated", claim(extra_2320=later("P", "44444")),
     [("payer_sequence_duplicate", E, "44444", None), ("payer_sequence_unadjudicated", E, "44444", None)]),
    # the primary marked S like the destination: repeated, not ranked before it, and no P
    ("sbr01_same_as_destination", claim(seq="S"),
     [("payer_sequence_duplicate", E, P, None), ("payer_sequence_after_destination", E, P, None),
      ("payer_sequence_gap", E, None, None)]),
    # a later payer T listed before the primary P
    ("sbr01_out_of_order", claim().replace("SBR*P*18*GRP1", later("T", "44444") + "SBR*P*18*GRP1", 1),
     [("payer_sequence_order", W, P, None)]),
    # the destination T after P only: S skipped
    ("sbr01_skipped", claim(dest="T"), [("payer_sequence_gap", E, None, None)]),
    # a payer ranked before the destination T with neither AMT*D nor AMT*A8 ...
    ("prior_payer_unadjudicated", claim(dest="T", extra_2320=later("S", "22222")),
     [("payer_sequence_unadjudicated", E, "22222", None)]),
    # ... passes when it was cost-avoided (AMT*A8)
    ("prior_payer_cost_avoided", claim(dest="T", extra_2320=later("S", "22222", amts="AMT*A8*250~")), []),
    # a payer after the destination S that adjudicated (250 = 250 + 0)
    ("adjudicated_after_destination",
     claim(extra_2320=later("T", "33333", amts="AMT*D*250~", dtp=LEVEL_2320)),
     [("payer_sequence_after_destination", E, "33333", None)]),
    ("later_payers_share_u", claim(extra_2320=later("U", "44444") + later("U", "55555")), []),
    # ---------------------------------------------------------------- the destination as a 2320
    ("destination_in_2320", claim(extra_2320=later("T", "SECPAY", member="SEC123456")),
     [("destination_in_2320", E, "SECPAY", None)]),
    ("destination_in_2320_unknown_member",
     claim(extra_2320=later("T", "SECPAY").replace("****MI*X9", "")),
     [("destination_in_2320", E, "SECPAY", None)]),
    # the same payer under another member id: another policy (tests/scenarios s21), allowed as a later payer
    ("same_payer_other_policy", claim(extra_2320=later("T", "SECPAY")), []),
    # ---------------------------------------------------------------- 2300 REF*F8
    ("ref_f8_frequency_1", claim(ref="REF*F8*SECICN1~"), [("ref_f8_frequency", E, None, None)]),
    ("frequency_7_without_ref_f8", claim(freq="7"), [("ref_f8_frequency", E, None, None)]),
    ("frequency_7_with_ref_f8", claim(freq="7", ref="REF*F8*SECICN1~"), []),
    ("frequency_8_with_ref_f8", claim(freq="8", ref="REF*F8*SECICN1~"), []),
    # ---------------------------------------------------------------- IG repeat limits (from the IG tables)
    # 11 2320s: the primary and ten later payers sharing U; the 11th (90009) is one too many
    ("too_many_2320s", claim(extra_2320="".join(later("U", f"9{i:04}") for i in range(10))),
     [("too_many", E, "90009", None)]),
    # 16 2430s on line 1: fifteen more of the primary that move no money
    ("too_many_2430s", claim(line1_extra=ZERO_2430 * 15), [("too_many", E, P, 1)]),
    # 51 lines of 1.00 on an original claim (CLM02 51)
    ("too_many_lines", many_lines(51), [("too_many", E, None, 51)]),
    ("fifty_lines", many_lines(50), []),
    # ---------------------------------------------------------------- CAS and SVD
    # PR*3*20 on line 1 with a second reason 253 and no amount (no money moves)
    ("cas_reason_without_amount", claim(cas1="CAS*CO*45*80~CAS*PR*3*20**253~"),
     [("cas_reason_amount", E, P, 1)]),
    # an amount 5 without its reason: still money, so line 1 (200 != 100 + 105) and the claim
    # (250 != 116 + 0 + 139) no longer balance
    ("cas_amount_without_reason", claim(cas1="CAS*CO*45*80***5~CAS*PR*3*20~"),
     [("cob_line_balance", E, P, 1), ("cob_claim_balance", E, P, None), ("cas_reason_amount", E, P, 1)]),
    # PR*1*10**2*4 split into PR*1*10 and PR*2*4: the same money, two PR segments in one 2430
    ("duplicate_cas_group_2430", claim(cas2="CAS*CO*45*20~CAS*PR*1*10~CAS*PR*2*4~"),
     [("duplicate_cas_group", E, P, 2)]),
    # two OA in the primary's 2320, netting to 0
    ("duplicate_cas_group_2320", claim(cas="CAS*OA*94*5~CAS*OA*94*-5~"), [("duplicate_cas_group", E, P, None)]),
    # line 1 paid -10 with CO-45 190: 200 = -10 + 190 + 20; AMT*D 6 = -10 + 16; 250 = 6 + 244
    ("negative_svd", claim(amts="AMT*D*6~", paid1="-10", cas1="CAS*CO*45*190~CAS*PR*3*20~"),
     [("negative_svd", E, P, 1)]),
    ("amt_a8_with_amt_d", claim(amts="AMT*D*116~AMT*A8*20~"), [("amt_a8_with_paid", W, P, None)]),
]

#: the IG walk's codes for facts the book also states (too_many -> loop_repeat), and the loops they are in
IG_TWINS = {rule.ig_code: code for code, rule in book.RULES.items() if rule.ig_code}
REPEAT_LOOPS = {"2320", "2400", "2430"}


def _places(path: Path) -> dict[int, tuple[str | None, int | None]]:
    """Segment number -> (payer id, line) of the loop the segment is in: a 2320's (and its 2330s') payer is
    its 2330B NM109, a 2430's its SVD01; 2400 and below carry LX01."""
    places: dict[int, tuple[str | None, int | None]] = {}
    [ctx] = claims_of(path)
    groups: list[tuple[list[int], list[str | None]]] = []  # 2320 segments and the payer id found for them
    line: int | None = None
    svd01: str | None = None
    for loop, elements, seg_no, _st in ctx.segments:
        sid = elements[0]
        if loop == "2320" and sid == "SBR":
            groups.append(([], [None]))
        if loop.startswith("23") and loop[2] in "23" and groups and loop != "2300":
            groups[-1][0].append(seg_no)
            if loop == "2330B" and sid == "NM1" and len(elements) > 9:
                groups[-1][1][0] = elements[9]
            continue
        if sid == "LX" and loop == "2400":
            line, svd01 = int(elements[1]), None
        if loop == "2430":
            if sid == "SVD":
                svd01 = elements[1]
            places[seg_no] = (svd01, line)
        elif loop.startswith("24"):
            places[seg_no] = (None, line)
        else:
            places[seg_no] = (None, None)
    for numbers, payer in groups:
        for seg_no in numbers:
            places[seg_no] = (payer[0], None)
    return places


def _raw(path: Path) -> list[tuple]:
    places = _places(path)
    found = []
    for f in validate_file(path).findings:
        code = f.code
        if code in IG_TWINS and f.loop in REPEAT_LOOPS:
            code = IG_TWINS[code]
        elif code not in book.RULES or f.snip not in (3, 4):
            continue
        assert f.severity == book.RULES[code].severity
        payer, line = places[f.segment_no]
        found.append((code, f.severity, payer, line))
    return found


#: the repeat cases hold more loops than the IG allows: the reader takes them with those walk problems as
#: warnings, so that the pre-write check sees the claim the builder would have made
_REPEATS_READ = WalkPolicy(warnings=frozenset({"loop_repeat", "segment_repeat"}))


def _models(path: Path) -> list[tuple]:
    [model] = list(X12Reader(path, only="837", policy=_REPEATS_READ))
    return [(f.code, f.severity, f.payer_id, f.line) for f in check_claim(model) if f.code in book.RULES]


@pytest.mark.parametrize("name,text,expected", CASES, ids=[c[0] for c in CASES])
def test_both_adapters_find_what_the_table_says(name, text, expected, tmp_path):
    path = tmp_path / f"{name}.837"
    path.write_text(x12_text("837", text))
    raw, models = _raw(path), _models(path)
    assert Counter(raw) == Counter(expected), "cob validate"
    assert Counter(models) == Counter(expected), "pre-write check"


def test_the_table_covers_every_rule():
    """Every code of the book is raised by some case, and passes in others."""
    raised = {code for _name, _text, expected in CASES for code, *_rest in expected}
    assert raised == set(book.RULES)
    assert sum(1 for _name, _text, expected in CASES if not expected) >= 10


def test_the_book_and_the_validator_import_no_models():
    """The book reads a view, not models: importing it (and the validator that runs it) must not bring in
    pydantic or the claim models, which only `cob secondary`'s adapter needs."""
    import subprocess
    import sys

    code = ("import sys, cob.rules.book, cob.edi.validate.claims\n"
            "print(sorted(m for m in sys.modules if m == 'pydantic' or m.startswith('cob.schemas')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
