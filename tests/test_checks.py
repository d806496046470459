"""Pre-submission checks (the COB rule book over models, plus cob's policy): the §1.9 worked example
passes; each rule fails on a copy broken on purpose. The same rules over raw X12 are tested in
tests/validate/test_snip3.py and test_snip4.py, and both ways over one table in tests/test_rule_parity.py.

Every expected amount is worked out by hand in the comments from tests/data/cob-claim.837:
CLM02 250; line 1 charge 200 = SVD 100 + CO45 80 + PR3 20; line 2 charge 50 = SVD 16 + CO45 20 + PR1 10 + PR2 4;
payer 11111 (SBR01 P) AMT*D 116 = 100 + 16; destination SECPAY (SBR01 S).
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from cob.edi.reader import read_claims
from cob.billing.checks import CODES, Finding, check_claim, errors
from cob.schemas.claim import Claim, LineAdjudication, OtherPayer
from cob.schemas.codes import PayerSequence
from cob.schemas.common import Party
from cob.schemas.segments import AMT, CAS, DTP, LX, NM1, OI, REF, SBR, SVD, ProcedureCode

from conftest import DATA

D = Decimal
PRIMARY = "11111"


@pytest.fixture(scope="module")
def base() -> Claim:
    (claim,) = read_claims(DATA / "cob-claim.837")
    return claim


@pytest.fixture
def claim(base: Claim) -> Claim:
    """A deep copy of the worked example, free to break."""
    return base.model_copy(deep=True)


# ------------------------------------------------------------------------------------------- builders


def cas(group: str, *trios: tuple) -> CAS:
    return CAS.build(group, [(r, D(a), *rest) for r, a, *rest in trios])


def dtp573(value: str = "20260301") -> DTP:
    return DTP(qualifier="573", format="D8", value=value)


def amt(qualifier: str, amount: str) -> AMT:
    return AMT(qualifier=qualifier, amount=D(amount))


def adjudication(payer_id: str, paid: str, code: str, *adjustments: CAS, date: bool = True) -> LineAdjudication:
    return LineAdjudication(
        svd=SVD(payer_id=payer_id, paid=D(paid), procedure=ProcedureCode(qualifier="HC", code=code), paid_units=D(1)),
        adjustments=list(adjustments), dates=[dtp573()] if date else [])


def other_payer(seq: str, payer_id: str, *amounts: AMT, icn: str | None = "ICN2") -> OtherPayer:
    payer = Party(loop="2330B", name=NM1(entity_id="PR", entity_type="2", last_or_org_name="OTHER PLAN",
                                         id_qualifier="PI", id=payer_id),
                  refs=[REF(qualifier="F8", value=icn)] if icn else [])
    subscriber = Party(loop="2330A", name=NM1(entity_id="IL", entity_type="1", last_or_org_name="TESTER",
                                              first_name="ALEX", id_qualifier="MI", id="OTHER999"))
    return OtherPayer(sbr=SBR(payer_sequence=PayerSequence(seq), relationship="18"), amounts=list(amounts),
                      oi=OI(benefits_assignment="Y", release_of_information="Y"), parties=[subscriber, payer])


def primary(claim: Claim) -> OtherPayer:
    return claim.other_payers[0]


def line_adj(claim: Claim, line: int) -> LineAdjudication:
    """The primary's single 2430 on line `line` (1-based)."""
    return claim.lines[line - 1].adjudications[0]


def set_amount(op: OtherPayer, qualifier: str, amount: str) -> None:
    op.amounts = [a for a in op.amounts if a.qualifier != qualifier] + [amt(qualifier, amount)]


def set_paid(adj: LineAdjudication, paid: str) -> None:
    adj.svd = adj.svd.model_copy(update={"paid": D(paid)})


def set_destination(claim: Claim, seq: str) -> None:
    claim.subscriber.sbr = claim.subscriber.sbr.model_copy(update={"payer_sequence": PayerSequence(seq)})


def set_frequency(claim: Claim, frequency: str) -> None:
    location = claim.clm.location.model_copy(update={"frequency": frequency})
    claim.clm = claim.clm.model_copy(update={"location": location})


def to_claim_level(claim: Claim) -> Claim:
    """The same primary adjudication reported at claim level only (rule 5): the line CAS move to 2320,
    DTP*573 to 2330B, AMT*EAF 20 + 14 = 34 to 2320. 250 = 116 + (CO 100 + PR 20 + 10 + 4)."""
    for line in claim.lines:
        line.adjudications = []
    op = primary(claim)
    op.adjustments = [cas("CO", ("45", "100")), cas("PR", ("3", "20"), ("1", "10"), ("2", "4"))]
    op.payer.dates.append(dtp573())
    set_amount(op, "EAF", "34")
    return claim


def tertiary(claim: Claim) -> Claim:
    """Destination T after P (11111) and S (22222). The secondary paid 20 on line 1 (200 = 20 + OA23 180)
    and 10 on line 2 (50 = 10 + OA23 40): AMT*D 30 = 20 + 10; CLM02 250 = 30 + 0 + 220."""
    set_destination(claim, "T")
    claim.other_payers.append(other_payer("S", "22222", amt("D", "30")))
    claim.lines[0].adjudications.append(adjudication("22222", "20", "99214", cas("OA", ("23", "180"))))
    claim.lines[1].adjudications.append(adjudication("22222", "10", "87880", cas("OA", ("23", "40"))))
    return claim


def found(claim: Claim) -> list[tuple[str, str | None, int | None]]:
    return [(f.code, f.payer_id, f.line) for f in check_claim(claim)]


def messages(claim: Claim, code: str) -> list[str]:
    return [f.message for f in check_claim(claim) if f.code == code]


# ------------------------------------------------------------------------------------------- passing


def test_worked_example_has_no_findings(base: Claim):
    assert check_claim(base) == []


def test_claim_level_only_adjudication_passes(claim: Claim):
    assert check_claim(to_claim_level(claim)) == []


def test_tertiary_with_two_prior_payers_passes(claim: Claim):
    assert check_claim(tertiary(claim)) == []


def test_every_code_is_documented(claim: Claim):
    broken = tertiary(claim)
    broken.clm = broken.clm.model_copy(update={"total_charge": D("1")})
    broken.refs.append(REF(qualifier="F8", value="X"))
    assert {f.code for f in check_claim(broken)} <= set(CODES)


# ------------------------------------------------------------------------------------------- balancing


def test_claim_charge(claim: Claim):
    claim.clm = claim.clm.model_copy(update={"total_charge": D("260")})
    assert found(claim) == [("clm02_sum", None, None), ("cob_claim_balance", PRIMARY, None)]
    assert messages(claim, "clm02_sum") == ["claim PCN123: CLM02 260 != sum of line charges (SV102) 250"]
    assert messages(claim, "cob_claim_balance") == [
        "claim PCN123: payer 11111 (SBR01 P): CLM02 260 != AMT*D 116 + claim adjustments (2320 CAS) 0 "
        "+ line adjustments (2430 CAS) 134 = 250"]


def test_line_balance_caught_when_claim_totals_still_agree(claim: Claim):
    # 2 moved from line 1 to line 2: line 1 200 != 98 + 100; line 2 50 != 18 + 34; AMT*D 116 = 98 + 18 still.
    set_paid(line_adj(claim, 1), "98")
    set_paid(line_adj(claim, 2), "18")
    assert found(claim) == [("cob_line_balance", PRIMARY, 1), ("cob_line_balance", PRIMARY, 2)]
    assert messages(claim, "cob_line_balance") == [
        "claim PCN123: line 1: charge (SV102) 200 != payer 11111 paid (SVD02) 98 + line adjustments (CAS) 100 = 198",
        "claim PCN123: line 2: charge (SV102) 50 != payer 11111 paid (SVD02) 18 + line adjustments (CAS) 34 = 52",
    ]


def test_claim_vs_lines(claim: Claim):
    set_amount(primary(claim), "D", "110")  # lines paid 100 + 16 = 116; 250 != 110 + 134 = 244
    assert found(claim) == [("cob_claim_vs_lines", PRIMARY, None), ("cob_claim_balance", PRIMARY, None)]
    assert messages(claim, "cob_claim_vs_lines") == [
        "claim PCN123: payer 11111 (SBR01 P): AMT*D 110 != line paid (sum of SVD02) 116 - claim adjustments "
        "(2320 CAS) 0 = 116"]


def test_claim_vs_lines_alone_when_clm02_also_wrong(claim: Claim):
    # CLM02 244 = 110 + 134 balances rule 4, but rule 1 (250 lines) and rule 3 (116 paid on lines) fail.
    claim.clm = claim.clm.model_copy(update={"total_charge": D("244")})
    set_amount(primary(claim), "D", "110")
    assert found(claim) == [("clm02_sum", None, None), ("cob_claim_vs_lines", PRIMARY, None)]


def test_claim_vs_lines_counts_claim_level_cas(claim: Claim):
    # A 2320 CO*45*6 with AMT*D 110: 110 = 116 - 6, and 250 = 110 + 6 + 134.
    primary(claim).adjustments = [cas("CO", ("45", "6"))]
    set_amount(primary(claim), "D", "110")
    assert check_claim(claim) == []


def test_claim_balance_claim_level_only(claim: Claim):
    to_claim_level(claim)
    set_amount(primary(claim), "D", "120")  # 250 != 120 + 134 = 254; no 2430s so no rule 3
    assert found(claim) == [("cob_claim_balance", PRIMARY, None)]
    assert messages(claim, "cob_claim_balance") == [
        "claim PCN123: payer 11111 (SBR01 P): CLM02 250 != AMT*D 120 + claim adjustments (2320 CAS) 134 "
        "+ line adjustments (2430 CAS) 0 = 254"]


def test_each_payer_balanced_on_its_own(claim: Claim):
    tertiary(claim)
    set_amount(claim.other_payers[1], "D", "25")  # secondary: 25 != 20 + 10; 250 != 25 + 220
    assert found(claim) == [("cob_claim_vs_lines", "22222", None), ("cob_claim_balance", "22222", None)]


def test_missing_line_adjudication(claim: Claim):
    # Line 2 loses its 2430: lines paid 100 (AMT*D 116), and 250 != 116 + 0 + 100 = 216. The claim balance
    # names the line that lacks the payer's 2430 (that is why it fails: a line with a charge and no 2430
    # always breaks rule 3 or 4, so it is not a rule of its own).
    claim.lines[1].adjudications = []
    assert found(claim) == [("cob_claim_vs_lines", PRIMARY, None), ("cob_claim_balance", PRIMARY, None)]
    assert messages(claim, "cob_claim_balance") == [
        "claim PCN123: payer 11111 (SBR01 P): CLM02 250 != AMT*D 116 + claim adjustments (2320 CAS) 0 "
        "+ line adjustments (2430 CAS) 100 = 216; line(s) 2 have no 2430 for this payer"]


# ------------------------------------------------------------------------------------------- payer ids


def test_svd_payer_id_unknown_payer(claim: Claim):
    claim.lines[0].adjudications.append(adjudication("22222", "0", "99214", cas("OA", ("23", "200"))))
    assert found(claim) == [("svd_payer_id", "22222", 1)]
    assert messages(claim, "svd_payer_id") == [
        "claim PCN123: line 1: SVD01 22222 names no other payer (no 2320's 2330B NM109 carries it)"]


def test_svd_payer_id_payer_without_amt_d(claim: Claim):
    # SVD01 names a 2320, but one without AMT*D: the 2320 is at fault (its payer adjudicated), not the 2430
    claim.other_payers.append(other_payer("T", "22222"))  # a later payer: no AMT*D
    claim.lines[0].adjudications.append(adjudication("22222", "0", "99214", cas("OA", ("23", "200"))))
    assert found(claim) == [("payer_paid_missing", "22222", None)]
    assert messages(claim, "payer_paid_missing") == [
        "claim PCN123: payer 22222 (SBR01 T) reports 2430 line adjudication but its 2320 has no AMT*D "
        "(payer paid amount)"]


def test_missing_and_duplicate_payer_id(claim: Claim):
    # Remove the primary's NM109 (an IG-required element: SNIP 2, see test_ig_requirements_are_the_output_
    # validation_s): its 2430s no longer match it, and as a claim-level payer 250 != 116 + 0 + 0.
    payer = primary(claim).payer
    payer.name = payer.name.model_copy(update={"id": None})
    assert found(claim) == [("cob_claim_balance", None, None), ("svd_payer_id", PRIMARY, 1),
                            ("svd_payer_id", PRIMARY, 2), ("adjudication_date_missing", None, None)]

    fresh = tertiary(claim.model_copy(deep=True))
    fresh.other_payers[0].payer.name = fresh.other_payers[0].payer.name.model_copy(update={"id": "22222"})
    # the secondary's 2430s name 22222, now carried by both adjudicated 2320s: they cannot be attributed
    # (so their line equations are not evaluated); the primary's 2430s still name 11111, now nobody's id
    assert found(fresh) == [("duplicate_payer_id", "22222", None), ("svd_payer_id", PRIMARY, 1),
                            ("svd_payer_id", PRIMARY, 2)]


def test_destination_in_2320(claim: Claim):
    # the destination policy itself (payer SECPAY, member SEC123456 as in 2010BA) listed again as a 2320
    listed_again = other_payer("T", "SECPAY")
    listed_again.subscriber.name = listed_again.subscriber.name.model_copy(update={"id": "SEC123456"})
    claim.other_payers.append(listed_again)
    assert found(claim) == [("destination_in_2320", "SECPAY", None)]


def test_second_policy_with_the_destination_payer_is_not_the_destination(claim: Claim):
    # same payer SECPAY, another member id (OTHER999): a different policy, allowed as a later payer
    claim.other_payers.append(other_payer("T", "SECPAY"))
    assert "destination_in_2320" not in [f.code for f in check_claim(claim)]


# ------------------------------------------------------------------------------------------- CAS and SVD


def test_negative_svd(claim: Claim):
    # Line 1 paid -10, CO45 raised to 190 (PR3 20 kept): 200 = -10 + 190 + 20.
    # AMT*D 6 = -10 + 16; CLM02 250 = 6 + 0 + (190 + 20 + 34). Everything balances; only the sign is wrong.
    adj = line_adj(claim, 1)
    set_paid(adj, "-10")
    adj.adjustments[0] = cas("CO", ("45", "190"))
    set_amount(primary(claim), "D", "6")
    assert found(claim) == [("negative_svd", PRIMARY, 1)]
    assert messages(claim, "negative_svd") == ["claim PCN123: line 1: payer 11111 SVD02 -10 is negative"]


def test_duplicate_cas_group_in_2430(claim: Claim):
    # PR*1*10**2*4 split into PR*1*10 and PR*2*4: same money, two PR segments.
    line_adj(claim, 2).adjustments = [cas("CO", ("45", "20")), cas("PR", ("1", "10")), cas("PR", ("2", "4"))]
    assert found(claim) == [("duplicate_cas_group", PRIMARY, 2)]
    assert messages(claim, "duplicate_cas_group") == [
        "claim PCN123: line 2 2430 of payer 11111: CAS group PR appears more than once; one CAS per group code"]


def test_duplicate_cas_group_in_2320(claim: Claim):
    primary(claim).adjustments = [cas("OA", ("94", "5")), cas("OA", ("94", "-5"))]  # nets to 0
    assert found(claim) == [("duplicate_cas_group", PRIMARY, None)]


def test_cas_reason_without_amount(claim: Claim):
    adj = line_adj(claim, 1)
    adj.adjustments[1] = adj.adjustments[1].model_copy(update={"reason2": "2"})  # PR*3*20**2 (no amount)
    assert found(claim) == [("cas_reason_amount", PRIMARY, 1)]
    assert messages(claim, "cas_reason_amount") == [
        "claim PCN123: line 1 2430 of payer 11111: CAS PR reason 2 (CAS05) has no amount"]


def test_cas_amount_or_quantity_without_reason(claim: Claim):
    op = primary(claim)
    op.adjustments = [cas("CO", ("45", "0")).model_copy(update={"amount2": D("0"), "quantity3": D("1")})]
    assert found(claim) == [("cas_reason_amount", PRIMARY, None), ("cas_reason_amount", PRIMARY, None)]


# ------------------------------------------------------------------------------------------- one level


def test_adjudication_date_at_both_levels(claim: Claim):
    primary(claim).payer.dates.append(dtp573())
    assert found(claim) == [("adjudication_date_level", PRIMARY, None)]
    assert messages(claim, "adjudication_date_level") == [
        "claim PCN123: payer 11111 (SBR01 P) reports 2430 line adjudication, so its adjudication date belongs in "
        "the 2430s (DTP*573), not in 2330B"]


def test_ig_requirements_are_the_output_validation_s(claim: Claim, tmp_path):
    """A 2430 without DTP*573 and a 2330B without NM109 break the implementation guide itself (both are
    required): not rules of the book, but SNIP 2 findings of the validation every output goes through."""
    from cob.edi.validate import validate_file
    from cob.edi.writer import InterchangeInfo, write_837
    from cob.edi.envelope import Party as EnvParty
    from cob.edi.envelope import CounterControlNumbers

    line_adj(claim, 2).dates = []
    assert check_claim(claim) == []
    path = tmp_path / "out.837"
    write_837(path, [claim], InterchangeInfo(EnvParty("ZZ", "SUBMITTER"), EnvParty("ZZ", "RECEIVER")),
              CounterControlNumbers(start=1))
    result = validate_file(path)
    assert [(f.snip, f.code, f.loop, f.segment_id) for f in result.findings] == [
        (2, "segment_missing", "2430", "DTP")]


def test_adjudication_date_missing_at_claim_level(claim: Claim):
    to_claim_level(claim)
    primary(claim).payer.dates = []
    assert found(claim) == [("adjudication_date_missing", PRIMARY, None)]
    assert messages(claim, "adjudication_date_missing") == [
        "claim PCN123: payer 11111 (SBR01 P) adjudicated the claim (AMT*D) without 2430s, so 2330B DTP*573 "
        "(adjudication date) is required"]


def test_eaf_at_both_levels(claim: Claim):
    set_amount(primary(claim), "EAF", "34")
    assert found(claim) == [("eaf_level", PRIMARY, None)]
    assert messages(claim, "eaf_level") == [
        "claim PCN123: payer 11111 (SBR01 P) has AMT*EAF in 2320 and in 2430 on line(s) 1,2; remaining patient "
        "liability goes at one level only"]


# ------------------------------------------------------------------------------------------- sequence


def test_destination_skips_a_level(claim: Claim):
    set_destination(claim, "T")  # only P adjudicated: T skips S
    assert found(claim) == [("payer_sequence_gap", None, None)]
    assert messages(claim, "payer_sequence_gap") == [
        "claim PCN123: destination SBR01 T but no 2320 holds level(s) S (prior payers: P); expected S"]


def test_sequence_repeated(claim: Claim):
    primary(claim).sbr = primary(claim).sbr.model_copy(update={"payer_sequence": PayerSequence.SECONDARY})
    assert [f.message for f in check_claim(claim)] == [
        "claim PCN123: 2320 SBR01 S repeats the payer responsibility sequence of the destination (2000B)",
        "claim PCN123: payer 11111 (SBR01 S) adjudicated (AMT*D) but is not ranked before the destination (SBR01 S)",
        "claim PCN123: destination SBR01 S but no 2320 holds level(s) P (prior payers: none); expected P",
    ]
    assert found(claim) == [("payer_sequence_duplicate", PRIMARY, None),
                            ("payer_sequence_after_destination", PRIMARY, None), ("payer_sequence_gap", None, None)]


def test_adjudicated_payer_after_destination(claim: Claim):
    # A third payer T that "adjudicated" although the claim goes to S.
    claim.other_payers.append(other_payer("T", "33333", amt("D", "250")))  # 250 = 250 + 0 + 0 balances
    claim.other_payers[1].payer.dates.append(dtp573())
    assert found(claim) == [("payer_sequence_after_destination", "33333", None)]


def test_payer_before_destination_must_have_adjudicated_or_been_cost_avoided(claim: Claim):
    set_destination(claim, "T")
    claim.other_payers.append(other_payer("S", "22222"))  # neither AMT*D nor AMT*A8
    assert found(claim) == [("payer_sequence_unadjudicated", "22222", None)]
    claim.other_payers[1].amounts.append(amt("A8", "50"))  # cost-avoided: the destination's policy allows it
    assert check_claim(claim) == []


def test_unknown_destination(claim: Claim):
    # the IG allows U (the book then skips the level rules); billing a known level is cob's own policy
    set_destination(claim, "U")
    assert found(claim) == [("destination_sequence_unknown", None, None)]
    assert messages(claim, "destination_sequence_unknown") == [
        "claim PCN123: destination SBR01 is U (unknown); cob bills a known level"]


def test_later_payers_may_share_u(claim: Claim):
    claim.other_payers += [other_payer("U", "44444"), other_payer("U", "55555")]
    assert check_claim(claim) == []


# ------------------------------------------------------------------------------------------- limits and refs


def test_too_many_other_payers(claim: Claim):
    # the limit is the IG's 2320 repeat (10), read from the IG tables; one finding per loop beyond it
    claim.other_payers += [other_payer("U", f"9{i:04}") for i in range(10)]  # 11 in all
    assert found(claim) == [("too_many", "90009", None)]
    assert messages(claim, "too_many") == ["claim PCN123: 2320 loop 11 of 11: the implementation guide allows 10"]


def test_too_many_adjudications_on_a_line(claim: Claim):
    # 15 more 2430s on line 1 (16 in all); their money is zero, so only the count is wrong.
    claim.lines[0].adjudications += [adjudication(PRIMARY, "0", "99214") for _ in range(15)]
    assert found(claim) == [("too_many", PRIMARY, 1)]
    assert messages(claim, "too_many") == [
        "claim PCN123: line 1: 2430 loop 16 of 16: the implementation guide allows 15"]


def test_too_many_lines(claim: Claim):
    template = claim.lines[1]
    claim.lines += [template.model_copy(update={"lx": LX(number=n)}, deep=True) for n in range(3, 52)]
    assert [f for f in found(claim) if f[0] == "too_many"] == [("too_many", None, 51)]
    assert messages(claim, "too_many") == ["claim PCN123: service line 51 of 51: the implementation guide allows 50"]


def test_at_the_limits_no_too_many(claim: Claim):
    claim.other_payers += [other_payer("U", f"9{i:04}") for i in range(9)]  # exactly 10
    assert "too_many" not in {f.code for f in check_claim(claim)}


def test_ref_f8_on_an_original_claim(claim: Claim):
    claim.refs.append(REF(qualifier="F8", value="DEST1"))
    assert found(claim) == [("ref_f8_frequency", None, None)]
    assert messages(claim, "ref_f8_frequency") == [
        "claim PCN123: 2300 REF*F8 (payer claim control number) with claim frequency (CLM05-3) 1; only a "
        "replacement (7) or void (8) carries it"]


def test_ref_f8_with_replacement(claim: Claim):
    set_frequency(claim, "7")
    assert found(claim) == [("ref_f8_frequency", None, None)]  # 7 without REF*F8
    claim.refs.append(REF(qualifier="F8", value="DEST1"))
    assert check_claim(claim) == []


def test_amt_a8_with_amt_d(claim: Claim):
    # a warning: suspicious (reference §9.3), yet public TR3-derived examples carry both
    primary(claim).amounts.append(amt("A8", "20"))
    findings = check_claim(claim)
    assert [(f.code, f.payer_id, f.severity) for f in findings] == [("amt_a8_with_paid", PRIMARY, "warning")]
    assert errors(findings) == []


def test_missing_payer_claim_number_is_a_warning(claim: Claim):
    primary(claim).payer.refs = []
    findings = check_claim(claim)
    assert [(f.code, f.severity) for f in findings] == [("missing_payer_claim_number", "warning")]
    assert errors(findings) == []


# ------------------------------------------------------------------------------------------- PHI


def test_messages_carry_no_names_or_member_ids(claim: Claim):
    """Break many rules at once and look for any subscriber name or member id in the messages."""
    tertiary(claim)
    claim.clm = claim.clm.model_copy(update={"total_charge": D("999")})
    set_paid(line_adj(claim, 1), "-1")
    primary(claim).payer.refs = []
    primary(claim).payer.dates.append(dtp573())
    claim.lines[1].adjudications[0].adjustments.append(cas("PR", ("2", "1")))
    claim.other_payers.append(other_payer("T", "SECPAY"))
    findings = check_claim(claim)
    assert len(findings) >= 8
    text = " ".join(f.message for f in findings)
    for phi in ("TESTER", "ALEX", "PRIM123", "SEC123456", "OTHER999", "ELM", "19800101"):
        assert phi not in text
    assert all(isinstance(f, Finding) for f in findings)
