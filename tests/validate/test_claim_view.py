"""The raw adapter of the COB rule book (edi/validate/claim_view.py): what the view of a claim holds.

The rule book's findings over it are tested in test_snip3.py / test_snip4.py and, beside the model
adapter, in tests/test_rule_parity.py; here, the view itself, read from the §1.9 worked example.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from claim_contexts import claim_837, claims_of

from cob.edi.validate.claim_view import _cas, amount_of, parse_837
from cob.rules.view import UNREADABLE

DATA = Path(__file__).parent.parent / "data"
D = Decimal


def test_worked_example_view():
    [ctx] = claims_of(DATA / "cob-claim.837")
    view = parse_837(ctx).view
    by_no = {seg[2]: seg for seg in ctx.segments}
    assert view.at[1][0] == "CLM" and view.at is by_no[view.at[2]]
    assert (view.charge, view.frequency, view.ref_f8) == (D("250"), "1", None)
    assert (view.sequence, view.payer_id, view.member_id) == ("S", "SECPAY", "SEC123456")
    assert view.sequence_at[0] == "2000B" and view.sequence_at[1][:2] == ["SBR", "S"]
    [p] = view.payers
    assert (p.sequence, p.payer_id, p.member_id, p.paid) == ("P", "11111", "PRIM123", D("116"))
    assert p.paid_at[1][:2] == ["AMT", "D"] and p.name_at[0] == "2330B" and p.ref_f8[1] == ["REF", "F8", "ICN987"]
    assert (p.cas, p.date, p.eaf, p.a8) == ([], None, None, None)
    assert [(ln.number, ln.charge) for ln in view.lines] == [("1", D("200")), ("2", D("50"))]
    [a1], [a2] = (ln.adjudications for ln in view.lines)
    assert (a1.payer_id, a1.paid, a1.line, a2.paid, a2.line) == ("11111", D("100"), "1", D("16"), "2")
    assert a1.at[1][0] == "SVD" and a1.date[1][:2] == ["DTP", "573"] and a1.eaf[1][:2] == ["AMT", "EAF"]
    assert [(c.group, list(c.reasons), list(c.amounts)) for c in a2.cas] == [
        ("CO", ["45"], [D("20")]), ("PR", ["1", "2"], [D("10"), D("4")])]


def test_empty_and_unreadable_amounts():
    # SV102 "12X" is not a number (the engine reports it); AMT*D empty is absent
    ctx = claim_837("CLM*X1*200***11:B:7*Y*A*Y*Y~REF*F8*DEST1~HI*ABK:J069~"
                    "SBR*P*18*GRP1******BL~AMT*D~OI***Y***Y~NM1*IL*1*TESTER*ALEX~NM1*PR*2*PRIMARY PLAN*****PI*11111~"
                    "LX*1~SV1*HC:99213*12X*UN*1***1~DTP*472*D8*20260215~")
    view = parse_837(ctx).view
    assert view.frequency == "7" and view.ref_f8[1] == ["REF", "F8", "DEST1"]
    assert view.lines[0].charge is UNREADABLE
    [p] = view.payers
    assert p.paid is None and p.paid_at is not None and p.member_id is None


def test_one_trio_cas_reads_as_the_general_case():
    """A CAS of one reason and its amount (nine in ten) is built without slicing; it must read exactly as
    the general construction reads it."""
    for elements in (["CAS", "CO", "45", "80"], ["CAS", "PR", "1", "-0.5"], ["CAS", "OA", "23", "1X"],
                     ["CAS", "CO", "45", ""]):
        seg = ("2430", elements, 7, 5)
        quick = _cas(seg)
        padded = ("2430", elements + [""], 7, 5)  # one element more: the general construction
        general = _cas(padded)
        assert (quick.group, list(quick.reasons), list(quick.amounts)) == \
            (general.group, list(general.reasons), list(general.amounts))
        assert not any(quick.quantities) and not any(general.quantities) and quick.at is seg
    assert _cas(("2430", ["CAS", "OA", "23", "1X"], 7, 5)).amounts[0] is UNREADABLE
    assert amount_of("") is None and amount_of("NaN") is UNREADABLE and amount_of("1E3") == D("1000")
