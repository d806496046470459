"""Issue 14 in `cob run`: claims keyed by CLM01, provider and visit; payments matched to their own visit across
runs; duplicate payments ignored and their file kept in the state. Hand-written inputs (tests/scenarios/x12_text.py),
expected values written out by hand."""

from __future__ import annotations

import datetime as dt
import json
import sys
from decimal import Decimal
from pathlib import Path

from cob.edi.reader import read_claims
from cob.schemas.report import Reason

from .conftest import NOW

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scenarios"))
from x12_text import NPI_A, NPI_B, Payment, Visit, claim_file, remit_file  # noqa: E402

D = Decimal


def _drop(site, name: str, text: str) -> None:
    site.inbox.mkdir(parents=True, exist_ok=True)
    (site.inbox / name).write_text(text)


def _written(site) -> dict[str, tuple]:
    """Claims in the outbox by line date: (AMT*D, 2330B REF*F8)."""
    out = {}
    for path in sorted(site.outbox.rglob("*.837")):
        for claim in read_claims(path):
            op = claim.other_payers[0]
            out[claim.lines[0].service_date.value] = (op.paid_amount, op.payer.ref("F8"))
    return out


def _status(site) -> list[tuple]:
    state = site.state()
    try:
        return sorted(state.db.query("SELECT claim_id, status, reason, warnings FROM claim_status"))
    finally:
        state.close()


def test_repeated_claim_id_within_one_file_and_across_runs(make_site):
    """Night 1: three weekly visits ACCT77 (03-02, 03-09, 03-16) and an 835 paying 03-09 only. Night 2: an
    835 paying 03-02. Night 3: a claim file with a fourth visit (03-23) and its payment."""
    site = make_site()
    _drop(site, "claims-1.837", claim_file([Visit("ACCT77", "20260302", "120"), Visit("ACCT77", "20260309", "120"),
                                            Visit("ACCT77", "20260316", "120")]))
    _drop(site, "era-1.835", remit_file([Payment("ACCT77", "ICNW2", "20260309", "120", "70", "20", "30")]))
    first = site.run()
    assert first.exit_code == 0
    assert sorted((c.status.value, c.reason) for c in first.report.claims) == [
        ("billed", "secondary_billed"), ("held", "awaiting_remittance"), ("held", "awaiting_remittance")]
    assert _written(site) == {"20260309": (D("70"), "ICNW2")}
    # the cob run report reads like cob secondary's: waiting claims a count, money per payer, the reason table
    text = first.report.morning_summary()
    assert "Waiting for the other half (no action yet): 2 (awaiting_remittance: 2)" in text
    assert "Need a person" not in text
    assert "  22222: 1 claim, charges 120, paid 70, balance billed 50" in text
    doc = json.loads(first.report.to_json())
    assert [r["reason"] for r in doc["reasons"]] == [r.value for r in Reason]
    assert doc["reasons"][[r.value for r in Reason].index("awaiting_remittance")] == {
        "reason": "awaiting_remittance", "status": "held",
        "meaning": "No remittance from the prior payer has been received yet.",
        "next_action": "Wait; follow up with the payer if its 835 is overdue."}
    _drop(site, "era-2.835", remit_file([Payment("ACCT77", "ICNW1", "20260302", "120", "80", "20", "20")],
                                        isa13="000000202", check="CHK0002"))
    second = site.run(now=NOW + dt.timedelta(days=1))
    assert sorted((c.status.value, c.reason) for c in second.report.claims) == [
        ("billed", "secondary_billed"), ("held", "awaiting_remittance"), ("skipped", "already_adjudicated")]
    assert _written(site) == {"20260302": (D("80"), "ICNW1"), "20260309": (D("70"), "ICNW2")}
    _drop(site, "claims-2.837", claim_file([Visit("ACCT77", "20260323", "120")], isa13="000000103"))
    _drop(site, "era-3.835", remit_file([Payment("ACCT77", "ICNW4", "20260323", "120", "60", "20", "40")],
                                        isa13="000000203", check="CHK0003"))
    site.run(now=NOW + dt.timedelta(days=2))
    assert _written(site) == {"20260302": (D("80"), "ICNW1"), "20260309": (D("70"), "ICNW2"),
                              "20260323": (D("60"), "ICNW4")}
    # one row per visit: 03-23 billed tonight, 03-02 and 03-09 billed before (already), 03-16 still waiting
    assert sorted(r[1:3] for r in _status(site)) == [
        ("billed", "secondary_billed"), ("held", "awaiting_remittance"), ("skipped", "already_adjudicated"),
        ("skipped", "already_adjudicated")]


def test_two_practices_with_one_claim_id_in_one_folder(make_site):
    """Practice A and B both number a claim V100 (same date, other patients); each 835 pays its own practice."""
    site = make_site()
    _drop(site, "a.837", claim_file([Visit("V100", "20260302", "120")], npi=NPI_A))
    _drop(site, "b.837", claim_file([Visit("V100", "20260302", "130", last="OTHER", first="SAM", member="PRIM999")],
                                    npi=NPI_B, isa13="000000102"))
    _drop(site, "era-a.835", remit_file([Payment("V100", "ICNA", "20260302", "120", "80", "20", "20")],
                                        payee_npi=NPI_A))
    _drop(site, "era-b.835", remit_file([Payment("V100", "ICNB", "20260302", "130", "90", "20", "20",
                                                 last="OTHER", first="SAM")], payee_npi=NPI_B, isa13="000000202",
                                        check="CHK0002"))
    result = site.run()
    assert [(c.status.value, c.reason) for c in result.report.claims] == [("billed", "secondary_billed")] * 2
    billed = {}
    for path in sorted(site.outbox.rglob("*.837")):
        for claim in read_claims(path):
            billed[claim.billing_provider.billing.name.id] = (claim.charge, claim.other_payers[0].paid_amount,
                                                              claim.other_payers[0].payer.ref("F8"))
    assert billed == {NPI_A: (D("120"), D("80"), "ICNA"), NPI_B: (D("130"), D("90"), "ICNB")}
    state = site.state()
    try:
        assert state.db.scalar("SELECT COUNT(*) FROM claims") == 2
    finally:
        state.close()


def test_a_regenerated_era_is_a_duplicate_named_in_the_state(make_site):
    site = make_site()
    _drop(site, "claims.837", claim_file([Visit("P426", "20260302", "426.9")]))
    payment = Payment("P426", "ICN426", "20260302", "426.9", "300", "100", "26.9")
    _drop(site, "era.835", remit_file([payment]))
    _drop(site, "era-regenerated.835", remit_file([payment], isa13="000000977", check="CHK0977", paid_on="20260412"))
    result = site.run()
    [outcome] = result.report.claims
    assert (outcome.status.value, outcome.reason) == ("billed", "secondary_billed")
    assert _written(site) == {"20260302": (D("300"), "ICN426")}  # not 600
    [(claim_id, status, reason, warnings)] = _status(site)
    # the inbox is taken in name order: era-regenerated.835 ('-' before '.') arrived first
    assert warnings == ("duplicate payment ignored: era.835 segment 14 repeats era-regenerated.835 segment 14 "
                        "(payer PRIMPLAN, CLP07 ICN426, same amounts)")


def test_migration_2_keeps_the_claims_decisions_and_emissions_of_a_version_1_database(tmp_path):
    from cob.run import migrations
    from cob.run.db import SQLiteDatabase

    db = SQLiteDatabase(tmp_path / "state.sqlite")
    first = migrations.MIGRATIONS[:1]
    saved = migrations.MIGRATIONS, migrations.LATEST
    migrations.MIGRATIONS, migrations.LATEST = first, 1
    try:
        migrations.migrate(db)
    finally:
        migrations.MIGRATIONS, migrations.LATEST = saved
    with db.transaction():
        db.execute("INSERT INTO inputs (name, status, received_at, inbox_path, dest_path) "
                   "VALUES ('c.837', 'ingested', 't', 'i', 'd')")
        db.execute("INSERT INTO claims (claim_id, payer_id, payer_rank, input_id, seq, body, first_received_at, "
                   "received_at) VALUES ('PCN1', '11111', 1, 1, 1, ?, 't0', 't1')", (b"x",))
        db.execute("INSERT INTO claim_status (claim_id, status, reason, detail, first_seen, updated_at) "
                   "VALUES ('PCN1', 'held', 'awaiting_remittance', 'd', 't0', 't1')")
        db.execute("INSERT INTO emitted (claim_id, payer_id, generation, frequency, level, fingerprint, sender, isa13, "
                   "output, emitted_at) VALUES ('PCN1', '22222', 0, '1', 2, 'fp', 'ZZ:S', 7, 'o.837', 't')")
    assert migrations.migrate(db) == 5  # 2 (claim identity), after payment's 3-5 (issue 17), units' 6 (issue 19)
    assert db.query("SELECT claim_id, payer_id, provider_key, visit_key FROM claims") == [("PCN1", "11111", "", "")]
    assert db.query("SELECT claim_id, claim_key, reason, warnings FROM claim_status") == [
        ("PCN1", "", "awaiting_remittance", "")]
    assert db.query("SELECT claim_id, claim_key, isa13 FROM emitted") == [("PCN1", "", 7)]
    with db.transaction():  # the same CLM01 for another visit is another claim now
        db.execute("INSERT INTO claims (claim_id, payer_id, payer_rank, input_id, seq, body, first_received_at, "
                   "received_at, provider_key, visit_key) VALUES ('PCN1', '11111', 1, 1, 2, ?, 't2', 't2', 'S/1', 'v')",
                   (b"y",))
    assert db.scalar("SELECT COUNT(*) FROM claims") == 2
    db.close()


def test_a_regenerated_era_after_billing_is_a_duplicate_not_a_replacement(make_site):
    """Night 1: claim P426 and its 835 -> billed (AMT*D 300). Night 2: the clearinghouse resends the same
    payment in a new envelope (ISA13 977, check CHK0977, paid 04-12): a duplicate, named with its file; no
    replacement hold, nothing written again."""
    site = make_site()
    _drop(site, "claims.837", claim_file([Visit("P426", "20260302", "426.9")]))
    payment = Payment("P426", "ICN426", "20260302", "426.9", "300", "100", "26.9")
    _drop(site, "era.835", remit_file([payment]))
    first = site.run()
    assert [(c.status.value, c.reason) for c in first.report.claims] == [("billed", "secondary_billed")]
    _drop(site, "era-regenerated.835", remit_file([payment], isa13="000000977", check="CHK0977", paid_on="20260412"))
    second = site.run(now=NOW + dt.timedelta(days=1))
    assert [(c.status.value, c.reason) for c in second.report.claims] == [("skipped", "already_adjudicated")]
    assert second.report.run.outputs == []
    assert _written(site) == {"20260302": (D("300"), "ICN426")}
    [(claim_id, status, reason, warnings)] = _status(site)
    assert (claim_id, status, reason) == ("P426", "skipped", "already_adjudicated")
    assert warnings == ("duplicate payment ignored: era-regenerated.835 segment 14 repeats era.835 segment 14 "
                        "(payer PRIMPLAN, CLP07 ICN426, same amounts)")


def test_two_practices_with_one_claim_id_get_two_patient_balances(make_site):
    """Issue 17 after issue 14: the after-payment tables key a claim as migration 2 does (CLM01 and claim
    identity), so practice A's and B's V100 each get their own balance. Night 1: both primaries pay (A: 120 =
    80 + CO 20 + PR 20; B: 130 = 90 + CO 20 + PR 20), both billed to 22222. Night 2: the secondary answers
    each (CLP02 2): A pays 15 and leaves PR 5; B pays 20 and leaves nothing."""
    site = make_site()
    _drop(site, "a.837", claim_file([Visit("V100", "20260302", "120")], npi=NPI_A))
    _drop(site, "b.837", claim_file([Visit("V100", "20260302", "130", last="OTHER", first="SAM", member="PRIM999")],
                                    npi=NPI_B, isa13="000000102"))
    _drop(site, "era-a.835", remit_file([Payment("V100", "ICNA", "20260302", "120", "80", "20", "20")],
                                        payee_npi=NPI_A))
    _drop(site, "era-b.835", remit_file([Payment("V100", "ICNB", "20260302", "130", "90", "20", "20",
                                                 last="OTHER", first="SAM")], payee_npi=NPI_B, isa13="000000202",
                                        check="CHK0002"))
    first = site.run()
    assert [(c.status.value, c.reason) for c in first.report.claims] == [("billed", "secondary_billed")] * 2
    second_payer = ("SECOND PAYER INC", "22222")
    _drop(site, "sec-a.835", remit_file([Payment("V100", "SECA", "20260302", "120", "15", "0", "5", status="2")],
                                        payee_npi=NPI_A, isa13="000000301", check="CHK0301", paid_on="20260420",
                                        payer=second_payer))
    _drop(site, "sec-b.835", remit_file([Payment("V100", "SECB", "20260302", "130", "20", "0", "0", status="2",
                                                 last="OTHER", first="SAM")],
                                        payee_npi=NPI_B, isa13="000000302", check="CHK0302", paid_on="20260420",
                                        payer=second_payer))
    site.run(now=NOW + dt.timedelta(days=20))
    state = site.state()
    try:
        keys = {r[0] for r in state.db.query("SELECT provider_key || '#' || visit_key FROM claims "
                                             "WHERE claim_id = 'V100'")}
        assert len(keys) == 2 and "#" not in keys
        rows = state.db.query("SELECT claim_key, status, last_payer, patient_owes FROM patient_balances "
                              "WHERE claim_id = 'V100' ORDER BY patient_owes")
        assert len(rows) == 2 and {r[0] for r in rows} == set(keys)  # one balance per claim identity
        assert [r[1:] for r in rows] == [("final", "22222", "0"), ("final", "22222", "5")]
        # each balance is its own practice's: B (charge 130) owes 0, A (charge 120) owes 5
        from cob.run.posting import PostingState

        posted = PostingState(state.db)
        charges = {r[0]: D(posted.balance("V100", r[0])["charge"]) for r in rows}
        assert sorted((charges[r[0]], r[3]) for r in rows) == [(D("120"), "5"), (D("130"), "0")]
        assert state.db.scalar("SELECT COUNT(*) FROM filing_deadlines WHERE claim_id = 'V100'") == 0  # both final
    finally:
        state.close()
