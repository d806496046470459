"""`cob run` with 837P and 837I files mixed in one drop: told apart by content (the files' names say
nothing), billed by the same code as `cob secondary`, one output file per destination payer and type."""

from __future__ import annotations

from pathlib import Path

from cob.billing.secondary import SecondaryOptions, run_secondary
from cob.edi.reader import X12Reader
from cob.edi.validate import validate_file

from pyx12_oracle import pyx12_validate

from .conftest import NOW

DATA = Path(__file__).parent.parent / "data"
INST = DATA / "institutional"


def _drop(folder: Path) -> Path:
    """Claims and remittances under neutral names: only their content says 837P, 837I or 835."""
    folder.mkdir()
    for i, src in enumerate([DATA / "original-claim.837", INST / "inpatient.837i", DATA / "primary-remit.835",
                             INST / "inpatient-primary.835"]):
        (folder / f"in-{i}.837").write_bytes(src.read_bytes())  # (the drop takes .835/.837 names)
    return folder


def _claims(folder: Path) -> dict[str, tuple[str, str]]:
    out = {}
    for f in sorted(folder.iterdir()):
        for claim in X12Reader(f):
            out[claim.claim_id] = (f.suffix, type(claim).__name__)
    return out


def test_run_bills_837p_and_837i_from_one_drop(make_site, tmp_path):
    site = make_site()
    site.drop(_drop(tmp_path / "drop"))
    result = site.run(validate=True)
    assert result.exit_code == 0
    assert {(c.claim_id, c.status.value, c.reason) for c in result.report.claims} == {
        ("PCN123", "billed", "secondary_billed"), ("INP100", "billed", "secondary_billed")}
    names = sorted(p.name for p in site.outbox.iterdir())
    assert names == ["SECPAY-000000001.837i", "SECPAY-000000002.837"]  # (a run bills in CLM01 order)
    assert _claims(site.outbox) == {"PCN123": (".837", "Claim"), "INP100": (".837i", "InstitutionalClaim")}
    for path in site.outbox.iterdir():  # both pass cob validate and pyx12 (X222A1 / X223A2 maps)
        assert not validate_file(path).errors
        ok, errors = pyx12_validate(path)
        assert ok, (path.name, errors[:3])
    # the same claims as `cob secondary` builds from the same files
    drop = tmp_path / "drop"
    secondary = tmp_path / "secondary"
    run_secondary(sorted(drop.glob("in-[01].837")), sorted(drop.glob("in-[23].837")),
                  SecondaryOptions(out_dir=secondary, now=NOW))
    ours = {c.claim_id: c.model_dump(mode="json", exclude={"header", "source", "billing_provider", "subscriber",
                                                            "patient"})
            for f in sorted(site.outbox.iterdir()) for c in X12Reader(f)}
    theirs = {c.claim_id: c.model_dump(mode="json", exclude={"header", "source", "billing_provider",
                                                              "subscriber", "patient"})
              for f in sorted(secondary.glob("*.837*")) for c in X12Reader(f)}
    assert ours == theirs
    again = site.run()
    assert again.exit_code == 0 and again.report.summary.claims == 0
