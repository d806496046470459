"""The TR3's own COB example (X222A1 example 3, via stupidedi's fixtures in ../shared/samples):
`...-to-payer-a.edi` is the original claim to the primary (Key Insurance, 999996666), `...-to-payer-b.edi`
is the provider's claim to the secondary (Great Prairies Health, 567890) after Key Insurance paid.

The samples hold no 835, so `data/tr3_cob_payer_a_primary.835` was written by hand from what payer-b's
2320/2330/2430 say Key Insurance decided:
  - claim level: CAS*PR*1*21.89**2*15 (deductible 21.89, coinsurance 15), paid AMT*D 39.15;
  - line 1 99213 43.00: paid 40.00, CAS*CO*42*3; line 2 90782 15.00 and line 3 J3301 21.04 paid in full;
  - adjudication date 2005-10-15 (every 2430 DTP*573) as BPR16;
  - payer-b's 2330A member id JS00111223333 differs from the original's 111223333, which is what an
    835 NM1*74 correction does, so the 835 carries NM1*74 ... C*JS00111223333;
  - payer-b has no 2330B REF*F8, but CLP07 is required in an 835: KEY26407789.
  835 balance: 79.04 - (21.89 + 15) - 3 = 39.15 = CLP04 = BPR02.

Running `run_secondary` on payer-a + that 835 should reproduce payer-b's COB content. Where the output
legitimately differs from payer-b, the test asserts what we do and says why.
"""

from __future__ import annotations

from pathlib import Path


from conftest import sample
from cob.edi.reader import read_claims
from cob.billing.checks import check_claim
from scenario_helpers import D, data, destination, lines, other_payer, run, summary_2320

PAYER_A = "kputnam__stupidedi__X222A1_COB-claim-from-billing-provider-to-payer-a.edi"
PAYER_B = "kputnam__stupidedi__X222A1_COB-claim-from-billing-provider-to-payer-b.edi"
REMIT = "tr3_cob_payer_a_primary.835"
CLAIM_ID = "26407789"

#: payer-a's 2320 names KEY INSURANCE COMPANY / 999996666 (the primary again) as the other payer, while
#: payer-b is addressed to GREAT PRAIRIES HEALTH / 567890. The published pair disagrees; this is the
#: 2330B text of payer-a and the replacement that makes it agree with payer-b.
PAYER_A_2330B = "MI*T55TY666~N3*236 N MAIN ST~N4*MIAMI*FL*33111~NM1*PR*2*KEY INSURANCE COMPANY*****PI*999996666~"
PAYER_B_2330B = "MI*T55TY666~N3*236 N MAIN ST~N4*MIAMI*FL*33111~NM1*PR*2*GREAT PRAIRIES HEALTH*****PI*567890~"

#: the sample's NPIs -> the same first nine digits with a valid check digit
NPI_FIXES = {"1581234567": "1581234568", "1999996666": "1999996667"}

KEY = "999996666"  # Key Insurance, the primary: 2010BB of payer-a, 2330B/SVD01 of payer-b


def _payer_b():
    (claim,) = read_claims(sample(PAYER_B))
    return claim


def _with_valid_npis(path: Path, tmp_path: Path) -> Path:
    """The example's NPIs fail the NPI check digit, which our validator (SNIP 5) stops before a claim
    leaves; the copy gets the same numbers with a valid check digit."""
    text = path.read_text()
    for bad, good in NPI_FIXES.items():
        text = text.replace(f"XX*{bad}", f"XX*{good}")
    out = tmp_path / f"npi-fixed-{path.name}"
    out.write_text(text)
    return out


def _payer_a_with_payer_bs_secondary(tmp_path: Path) -> Path:
    text = sample(PAYER_A).read_text()
    assert text.count(PAYER_A_2330B) == 1
    # The example's NPIs fail the NPI check digit, which our validator (SNIP 5) stops before a claim
    # leaves; the copy gets the same numbers with a valid check digit.
    for bad, good in NPI_FIXES.items():
        text = text.replace(f"XX*{bad}", f"XX*{good}")
    path = tmp_path / "payer-a-to-great-prairies.837"
    path.write_text(text.replace(PAYER_A_2330B, PAYER_B_2330B))
    return path


def test_payer_b_sample_passes_our_checks():
    """Cross-check of checks.py against the TR3's example: balanced, dates/EAF at one level each; only
    the REF*F8 warning (the example has no prior payer claim number)."""
    findings = check_claim(_payer_b())
    assert [(f.code, f.severity) for f in findings] == [("missing_payer_claim_number", "warning")]


def test_payer_b_rebuilt_from_payer_a_and_the_primary_835(tmp_path: Path):
    original = _payer_a_with_payer_bs_secondary(tmp_path)
    r = run(tmp_path, [original], [data(REMIT)])
    assert r.status(CLAIM_ID) == ("billed", "secondary_billed")
    ours, theirs = r.claim(CLAIM_ID), _payer_b()

    # ---- what must agree with payer-b
    assert ours.clm.total_charge == theirs.clm.total_charge == D("79.04")
    assert ours.clm.location.frequency == theirs.clm.location.frequency == "1"
    dest, dest_b = destination(ours), destination(theirs)
    for key in ("sbr01", "sbr02", "sbr03", "sbr05", "sbr09", "payer_id", "payer_name"):
        assert dest[key] == dest_b[key], key
    assert (dest["sbr01"], dest["sbr02"], dest["sbr09"], dest["payer_id"]) == ("S", None, "CI", "567890")
    assert [op.sbr.payer_sequence.value for op in ours.other_payers] == ["P"]

    p, p_b = summary_2320(other_payer(ours, "P")), summary_2320(other_payer(theirs, "P"))
    # AMT*D 39.15 = (40 + 15 + 21.04) - (21.89 + 15)
    assert p["amt_d"] == p_b["amt_d"] == D("39.15")
    assert p["cas"] == p_b["cas"] == [("PR", "1", D("21.89"), None), ("PR", "2", D("15"), None)]
    assert p["payer_id"] == p_b["payer_id"] == KEY
    assert p["dtp573"] is p_b["dtp573"] is None  # dates are on the 2430s
    # 2330A: the NM1*74 correction gives payer-b's member id
    assert p["subscriber_id"] == p_b["subscriber_id"] == "JS00111223333"
    sub, sub_b = other_payer(ours, "P").subscriber.name, other_payer(theirs, "P").subscriber.name
    assert (sub.last_or_org_name, sub.first_name) == (sub_b.last_or_org_name, sub_b.first_name) == ("SMITH", "JANE")

    ours_lines, theirs_lines = lines(ours), lines(theirs)
    expected = {  # (SVD01, SVD02, SVD03, SVD05, SVD06), CAS, DTP*573, by hand from payer-b
        1: ((KEY, D("40"), "HC:99213", D("1"), None), [("CO", "42", D("3"), None)], "D8:20051015"),
        2: ((KEY, D("15"), "HC:90782", D("1"), None), [], "D8:20051015"),
        3: ((KEY, D("21.04"), "HC:J3301", D("1"), None), [], "D8:20051015"),
    }
    for lx, (svd, cas, date) in expected.items():
        assert len(ours_lines[lx]) == len(theirs_lines[lx]) == 1
        (mine,), (tr3,) = ours_lines[lx], theirs_lines[lx]
        assert mine["svd"] == tr3["svd"] == svd, lx
        assert mine["cas"] == tr3["cas"] == cas, lx
        assert mine["dtp573"] == tr3["dtp573"] == date, lx
    assert [(line.sv1.procedure.code, line.sv1.charge) for line in ours.lines] == \
        [(line.sv1.procedure.code, line.sv1.charge) for line in theirs.lines]

    # ---- where we legitimately differ from payer-b (asserting what we do)
    # AMT*EAF: payer-b reports the remaining patient liability once, at claim level (36.89 = the
    # claim-level PR), with no line EAF. We report EAF at line level whenever 2430s exist (never at
    # both levels, RFI 1391/1517): each line's own PR, 0 here since all PR is at claim level.
    assert p_b["amt_eaf"] == D("36.89") and all(t[0]["eaf"] is None for t in theirs_lines.values())
    assert p["amt_eaf"] is None and [ours_lines[lx][0]["eaf"] for lx in (1, 2, 3)] == [D("0")] * 3
    # 2330B REF*F8: an 835 always has CLP07, so we always send it; the example has none.
    assert p_b["ref_f8"] is None and p["ref_f8"] == "KEY26407789"
    # Relationships: payer-a says Ted is Jane's child (PAT*19) and Jack's spouse (2320 SBR02=01);
    # payer-b says the opposite (2000C PAT*19 under Jack, 2320 SBR02=01 for Jane). The published pair
    # is inconsistent; we follow the original claim.
    assert (ours.patient.pat.relationship, p["sbr02"]) == ("01", "19")
    assert (theirs.patient.pat.relationship, p_b["sbr02"]) == ("19", "01")
    # 2010BA: Jack as payer-a's 2330A knows him (T55TY666, with N3/N4, no DMG since he is not the
    # patient); payer-b has another member id and a DMG the original never had.
    assert (dest["subscriber_name"], dest["subscriber_id"]) == (("SMITH", "JACK"), "T55TY666")
    assert dest_b["subscriber_id"] == "222334444"
    assert ours.subscriber.subscriber.demographics is None
    # 2010BB: payer-b adds the payer's address and REF*G2, which payer-a's 2330B does not carry.
    assert ours.payer.address is None and theirs.payer.address is not None
    # OI06 comes from the original CLM09 (I); payer-b has Y. CLM10 (P) is kept as billed.
    assert other_payer(ours, "P").oi.release_of_information == "I"
    assert other_payer(theirs, "P").oi.release_of_information == "Y"
    assert ours.clm.patient_signature_source == "P"
    # 1000B: payer-a's receiver is a repricer (not the payer it billed), so it stays; payer-b names
    # Great Prairies there.
    assert ours.header.receiver.name.last_or_org_name == "XYZ REPRICER"
    assert theirs.header.receiver.name.last_or_org_name == "GREAT PRAIRIES HEALTH"


def test_payer_a_as_published_same_payer_on_both_policies(tmp_path: Path):
    """As published, payer-a's 2320 names Key Insurance (999996666) again, for Jack's policy T55TY666:
    two policies with one payer. The secondary claim then goes to 999996666 with the same COB data."""
    r = run(tmp_path, [_with_valid_npis(sample(PAYER_A), tmp_path)], [data(REMIT)])
    assert r.status(CLAIM_ID) == ("billed", "secondary_billed")
    ours = r.claim(CLAIM_ID)
    assert (destination(ours)["payer_id"], destination(ours)["subscriber_id"]) == (KEY, "T55TY666")
    p = summary_2320(other_payer(ours, "P"))
    assert (p["payer_id"], p["subscriber_id"], p["amt_d"]) == (KEY, "JS00111223333", D("39.15"))
    assert [adj["svd"][1] for adjs in lines(ours).values() for adj in adjs] == [D("40"), D("15"), D("21.04")]
