"""Issue 16 x issue 14: the 837I goes through claim matching exactly as the 837P does (one pipeline).

An inpatient 837I's lines carry no DTP*472, so its visit is its statement period (DTP*434); the 835 answers a
claim-level stay with DTM*232/233. Two stays billed under one CLM01 (a patient account number reused) at one
charge are two claims: a payment confirms only the stay whose dates it gives, a regenerated ERA repeating it
is a duplicate (ignored, named on the billed claim), and the other stay waits for its own payment. Outputs
are `.837i` files whose ISA13 continues across runs into one folder; nothing is overwritten.
"""

from __future__ import annotations

from pathlib import Path

from cob.billing.nightly import COUNTER_NAME
from cob.billing.secondary import SecondaryOptions, bill_paths
from cob.edi.reader import read_claims
from cob.schemas.institutional import InstitutionalClaim

from scenario_helpers import NOW, assert_valid_x12
from test_institutional_scenarios import _835_HEAD, _837_HEAD, bill, write, x12


def stay(start: str, end: str) -> list[str]:
    """One inpatient stay (type of bill 111) billed as STAY1 for 5000: room 3000 + operating room 2000."""
    return [
        "SBR*P*18*GRP1******CI",
        "NM1*IL*1*TESTER*ALEX****MI*PRIM123",
        "N3*1 ELM ST",
        "N4*SPRINGFIELD*IL*62701",
        "DMG*D8*19500101*F",
        "NM1*PR*2*PRIMARY PLAN*****PI*11111",
        "CLM*STAY1*5000***11:A:1**A*Y*Y",
        f"DTP*434*RD8*{start}-{end}",
        f"DTP*435*D8*{start}",
        "CL1*2*1*01",
        "HI*ABK:K3580",
        "NM1*71*1*HEART*PAT****XX*1234567893",
        "SBR*S*18*GRP200******CI",
        "OI***Y***Y",
        "NM1*IL*1*TESTER*ALEX****MI*SEC123",
        "NM1*PR*2*SECOND PAYER INC*****PI*SECPAY",
        "LX*1", "SV2*0120**3000*DA*2",
        "LX*2", "SV2*0360**2000*UN*1",
    ]


TWO_STAYS = stay("20260301", "20260303") + ["HL*3*1*22*0"] + stay("20260410", "20260412")

#: the primary pays the April stay at claim level: 5000 - CO-45 1000 - PR-1 500 = 3500
APRIL_835 = [
    "CLP*STAY1*1*5000*3500*500*12*ICNAPRIL*11*1",
    "CAS*CO*45*1000",
    "CAS*PR*1*500",
    "NM1*QC*1*TESTER*ALEX****MI*PRIM123",
    "MIA*2***3400",
    "DTM*232*20260410",
    "DTM*233*20260412",
]


def _outcomes(report) -> list[tuple[str, str, str | None]]:
    return sorted((c.status.value, c.reason, c.original) for c in report.claims)


def test_two_837i_stays_with_one_clm01_are_matched_by_their_statement_dates(tmp_path):
    claims = write(tmp_path, "stays.837i", x12(_837_HEAD, TWO_STAYS, 250))
    remit = write(tmp_path, "april.835", x12(_835_HEAD, APRIL_835, 251, paid="3500", date="20260420",
                                             payer="PRIMARY PLAN"))
    # the clearinghouse regenerated the ERA: a new envelope (ISA13, GS06, TRN02), the same payment
    again = write(tmp_path, "april-resent.835", x12(_835_HEAD, APRIL_835, 252, paid="3500", date="20260420",
                                                    payer="PRIMARY PLAN"))
    r = bill(tmp_path, [claims], [remit, again])
    march, april = sorted(r.report.claims, key=lambda c: c.original or "")
    # the CLM of the first stay is segment 20 of the file, the second's segment 41
    assert (march.original, april.original) == (f"{claims} segment 20", f"{claims} segment 41")
    assert (april.status.value, april.reason, april.destination_payer) == ("billed", "secondary_billed", "SECPAY")
    assert Path(april.output).name == "SECPAY-000000001.837i"
    assert april.warnings == [
        f"duplicate payment ignored: {again} segment 12 repeats {remit} segment 12 "
        "(payer 1999999999, CLP07 ICNAPRIL, same amounts)"]
    assert (march.status.value, march.reason) == ("held", "awaiting_remittance")
    assert march.detail == ("received 1 835 payment(s) with this CLP01, each for another claim with this CLM01 "
                            "(other visit, patient or provider); missing: the payment for this claim")
    [billed] = list(read_claims(Path(april.output)))
    assert isinstance(billed, InstitutionalClaim)
    assert [d.value for d in billed.dates if d.qualifier == "434"] == ["20260410-20260412"]
    [primary] = billed.other_payers
    assert (primary.paid_amount, primary.remaining_patient_liability) == (3500, 500)


def test_a_payment_for_another_stay_bills_no_837i(tmp_path):
    """The 835 pays a May stay; neither billed stay has those dates: nothing is billed from it."""
    may = [s.replace("20260410", "20260510").replace("20260412", "20260512") for s in APRIL_835]
    claims = write(tmp_path, "stays.837i", x12(_837_HEAD, TWO_STAYS, 260))
    remit = write(tmp_path, "may.835", x12(_835_HEAD, may, 261, paid="3500", date="20260520",
                                           payer="PRIMARY PLAN"))
    r = bill(tmp_path, [claims], [remit])
    assert [(c.status.value, c.reason) for c in r.report.claims] == [("held", "claim_mismatch")] * 2
    assert all("DTP*434" in c.detail for c in r.report.claims)
    assert r.outputs() == []


def test_837i_outputs_run_twice_into_one_folder_take_new_control_numbers(tmp_path):
    """`cob secondary` nightly with 837I claims: the second run's .837i takes the next ISA13 from the counter
    file; the first night's file is never overwritten."""
    drop, remits, out = tmp_path / "claims", tmp_path / "remits", tmp_path / "out"
    drop.mkdir(), remits.mkdir()
    write(drop, "stays.837i", x12(_837_HEAD, TWO_STAYS, 270))
    write(remits, "april.835", x12(_835_HEAD, APRIL_835, 271, paid="3500", date="20260420", payer="PRIMARY PLAN"))
    first = bill_paths([drop], [remits], SecondaryOptions(out_dir=out, now=NOW))
    night1 = (out / "SECPAY-000000001.837i").read_bytes()
    second = bill_paths([drop], [remits], SecondaryOptions(out_dir=out, now=NOW))
    assert sorted(p.name for p in out.iterdir()) == [COUNTER_NAME, "SECPAY-000000001.837i",
                                                     "SECPAY-000000002.837i"]
    assert (out / "SECPAY-000000001.837i").read_bytes() == night1
    for result, name in ((first, "SECPAY-000000001.837i"), (second, "SECPAY-000000002.837i")):
        [billed] = [c for c in result.report.claims if c.status.value == "billed"]
        assert Path(billed.output).name == name
    night2 = out / "SECPAY-000000002.837i"
    assert night2.read_text().startswith("ISA") and "*000000002*" in night2.read_text().split("~")[0]
    assert_valid_x12(night2)
