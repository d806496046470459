"""The generator's 837I mode: the same claims and scenarios billed by a facility (inpatient stays paid by
DRG at claim level, outpatient lines adjudicated line by line) and their institutional 835s."""

from __future__ import annotations

from cob.billing.secondary import SecondaryOptions, run_secondary
from cob.edi.reader import X12Reader
from cob.edi.validate import validate_file
from cob.fixtures.generate import generate
from cob.fixtures.render_institutional import is_inpatient
from cob.schemas.institutional import InstitutionalClaim
from cob.schemas.remit import ClaimPayment

from pyx12_oracle import pyx12_validate


def test_generated_837i_and_835s_validate_and_bill_like_the_837p(tmp_path):
    inst = generate(tmp_path / "i", seed=3, claims=60, claims_per_file=30, institutional=True)
    prof = generate(tmp_path / "p", seed=3, claims=60, claims_per_file=30)
    assert [p.name for p in inst.claims_files] == ["claims-0001.837i", "claims-0002.837i"]
    for path in [*inst.claims_files, *inst.remit_files]:
        result = validate_file(path)
        # the generator's 835s answer split claims and reversals under one CLP01 on purpose: cob validate's
        # claim_id_repeated warning (issue 14 item 6) is their only warning
        warnings = [f for f in result.warnings if not (f.code == "claim_id_repeated" and path.suffix == ".835")]
        assert not result.errors and not warnings, (path.name, [f.message for f in result.findings][:3])
    ok, errors = pyx12_validate(inst.claims_files[0])
    assert ok, errors
    claims = [c for f in inst.claims_files for c in X12Reader(f)]
    assert len(claims) == 60 and all(isinstance(c, InstitutionalClaim) for c in claims)
    # every third claim (by index) an inpatient stay: type of bill 111, DRG, no HCPCS on its lines
    inpatient = [c for c in claims if c.inpatient]
    assert len(inpatient) == 20 and all(c.bill_type == "111" and c.drg for c in inpatient)
    assert all(line.procedure is None for c in inpatient for line in c.lines)
    payments = [p for f in inst.remit_files for p in X12Reader(f) if isinstance(p, ClaimPayment)]
    by_id = {c.claim_id: c for c in claims}
    for p in payments:
        if by_id[p.claim_id].inpatient:
            assert p.services == [] and p.clp.drg_code and p.clp.facility_type == "11"
            if p.clp.status.value in ("1", "2", "19"):
                assert p.mia is not None and p.mia.drg_amount == p.clp.paid
        else:
            assert p.clp.facility_type == "13" and all(s.revenue_code for s in p.services)

    # the same scenarios give the same decisions as the 837P (one output per payer and type)
    ri = run_secondary(inst.claims_files, inst.remit_files, SecondaryOptions(out_dir=tmp_path / "oi"))
    rp = run_secondary(prof.claims_files, prof.remit_files, SecondaryOptions(out_dir=tmp_path / "op"))
    assert ri.summary.by_reason == rp.summary.by_reason
    assert ri.summary.rejected == 0 and ri.summary.billed > 40
    outputs = sorted((tmp_path / "oi").iterdir())
    assert outputs and all(p.suffix == ".837i" for p in outputs)
    built = {c.claim_id: c for p in outputs for c in X12Reader(p)}
    for claim_id, claim in built.items():
        adjudicated = [op for op in claim.other_payers if op.paid_amount is not None]
        if claim.inpatient:  # DRG at claim level: no 2430, the payer's MIA and dates in 2320/2330B
            assert all(not line.adjudications for line in claim.lines)
            assert all(op.payer.date("573") is not None for op in adjudicated)
        else:  # line level: every line a 2430 per adjudicated payer, SVD04 its revenue code
            for line in claim.lines:
                assert [a.svd.revenue_code for a in line.adjudications][:1] == [line.revenue_code]
    for path in outputs:  # every 837I written passes cob validate and pyx12's X223A2 map
        result = validate_file(path)
        assert not result.errors and not result.warnings, (path.name, [f.message for f in result.findings][:3])
        ok, errors = pyx12_validate(path)
        assert ok, (path.name, errors[:3])


def test_inpatient_choice_is_by_claim_index():
    class _C:
        def __init__(self, index):
            self.index = index
    assert [is_inpatient(_C(i)) for i in range(6)] == [True, False, False, True, False, False]


def test_cob_fixtures_institutional_writes_837i(tmp_path):
    from click.testing import CliRunner

    from cob.cli import main

    result = CliRunner().invoke(main, ["fixtures", "--out", str(tmp_path), "--claims", "20", "--institutional"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "claims-0001.837i", "manifest.jsonl", "remit-0001.835", "remit-0001.reprocessed.835", "remit2-0001.835"]
    [first] = list(X12Reader(tmp_path / "claims-0001.837i"))[:1]
    assert isinstance(first, InstitutionalClaim)


def test_workers_bill_837i_and_837p_mixed_as_a_serial_run_does(tmp_path):
    """Several processes over a drop of generated 837I claims plus a hand-written 837P one: the same outcomes
    and byte-identical 837I and 837P files as one process (the workers' parts are joined per payer and type)."""
    from conftest import DATA
    from test_parallel import NOW, _outcomes

    inst = generate(tmp_path / "i", seed=5, claims=120, claims_per_file=120, institutional=True)
    claims = [*inst.claims_files, DATA / "original-claim.837"]
    remits = [*inst.remit_files, DATA / "primary-remit.835"]
    runs = {w: run_secondary(claims, remits, SecondaryOptions(out_dir=tmp_path / f"w{w}", workers=w, now=NOW))
            for w in (1, 2)}
    assert _outcomes(runs[2]) == _outcomes(runs[1])
    written = {w: {p.name: p.read_bytes() for p in sorted((tmp_path / f"w{w}").iterdir())} for w in (1, 2)}
    assert written[2] == written[1]
    assert {name.rsplit(".", 1)[1] for name in written[1]} == {"837", "837i"}
    assert runs[1].summary.billed > 80
