"""Property (issue 14): over generated households whose practice reuses claim ids, no billed claim carries an
adjudication of another visit. Visits differ by patient, date or charge or not at all; the 835 pays some of
them (with or without service dates, sometimes twice, sometimes reversed and paid again with the same
claim number and amounts, sometimes for a visit whose claim was not sent)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cob.billing.secondary import SecondaryOptions, run_secondary
from cob.edi.reader import read_claims
from scenario_helpers import NOW
from x12_text import Payment, Visit, claim_file, remit_file

PATIENTS = [("TESTER", "ALEX", "PRIM123"), ("TESTER", "BEA", "PRIM124"), ("OTHER", "SAM", "PRIM999")]
DATES = ["20260302", "20260309", "20260316"]
CHARGES = ["100", "120"]
IDS = ["ACCT1", "ACCT2"]

visit = st.tuples(st.sampled_from(IDS), st.sampled_from(range(len(PATIENTS))), st.sampled_from(DATES),
                  st.sampled_from(CHARGES))
household = st.tuples(
    st.lists(visit, min_size=1, max_size=5),
    # paid, dated, twice, reversed and re-issued
    st.lists(st.tuples(st.booleans(), st.booleans(), st.booleans(), st.booleans()), min_size=5, max_size=5),
    st.lists(visit, max_size=2),  # payments for visits whose claim was not sent
)


def _key(claim_id: str, patient: int, date: str, charge: str) -> tuple:
    return claim_id, PATIENTS[patient][0], PATIENTS[patient][1], date, charge


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(household)
def test_no_billed_claim_uses_another_visits_adjudication(case):
    visits, plans, unsent = case
    folder = Path(tempfile.mkdtemp(prefix="cob-prop-"))
    try:
        claims = folder / "claims.837"
        claims.write_text(claim_file([Visit(cid, date, charge, last=PATIENTS[p][0], first=PATIENTS[p][1],
                                            member=PATIENTS[p][2]) for cid, p, date, charge in visits]))
        payments: list[Payment] = []
        icn_visit: dict[str, tuple] = {}  # the payment's ICN -> the facts of the visit it pays
        reissued: list[Payment] = []
        twice: list[Payment] = []
        for n, ((cid, p, date, charge), (paid, dated, resend, again)) in enumerate(zip(visits + unsent, plans[:len(visits)] + [
                (True, True, False, False)] * len(unsent))):
            if not paid:
                continue
            icn = f"ICN{n}"
            icn_visit[icn] = _key(cid, p, date, charge)
            payments.append(Payment(cid, icn, date if dated else None, charge, str(int(charge) - 30), "10", "20",
                                    last=PATIENTS[p][0], first=PATIENTS[p][1]))
            if resend:
                twice.append(payments[-1])
            if again:  # the payer reverses the payment and issues it again, same ICN and amounts
                reissued += [Payment(cid, icn, date if dated else None, f"-{charge}", f"-{int(charge) - 30}", "-10",
                                     "-20", last=PATIENTS[p][0], first=PATIENTS[p][1], status="22"), payments[-1]]
        remits = [folder / "era.835"]
        remits[0].write_text(remit_file(payments) if payments else remit_file(
            [Payment("NONE", "ICNX", DATES[0], "100", "70", "10", "20")]))
        if twice:
            remits.append(folder / "era-resent.835")
            remits[1].write_text(remit_file(twice, isa13="000000299", check="CHK0299", paid_on="20260410"))
        if reissued:
            remits.append(folder / "era-reissue.835")
            remits[-1].write_text(remit_file(reissued, isa13="000000399", check="CHK0399", paid_on="20260420"))
        report = run_secondary([claims], remits, SecondaryOptions(out_dir=folder / "out", now=NOW, validate=False))
        keys = [_key(*v) for v in visits]
        billed_keys = []
        for output in sorted({c.output for c in report.claims if c.output}):
            for claim in read_claims(Path(output)):
                sub = claim.subscriber.subscriber.name
                key = (claim.claim_id, sub.last_or_org_name, sub.first_name, claim.lines[0].service_date.value,
                       format(claim.charge, "f"))
                icn = claim.other_payers[0].payer.ref("F8")
                # the adjudication billed is one the payer gave for a visit with exactly these facts
                assert icn_visit[icn] == key, (key, icn, icn_visit[icn])
                # and the payment paid that amount (never summed with a duplicate or another visit's)
                assert claim.other_payers[0].paid_amount == int(key[4]) - 30
                billed_keys.append(key)
        # a visit indistinguishable from another (same id, patient, date, charge) is never billed
        for key in billed_keys:
            assert keys.count(key) == 1 and billed_keys.count(key) == 1
        assert report.summary.billed == len(billed_keys)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
