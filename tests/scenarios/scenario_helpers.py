"""Helpers for the hand-written COB scenarios: run `run_secondary`, read back what it wrote, and turn
the output claim into plain tuples that a test compares with numbers written out by hand.

Nothing here computes an expected value: the helpers only read the output (with `cob.edi.reader`) and
reshape it, so every figure a test asserts comes from the test itself.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from cob.edi.reader import read_claims
from cob.billing.secondary import SecondaryOptions, run_secondary
from pyx12_oracle import pyx12_validate
from cob.schemas.claim import Claim, LineAdjudication, OtherPayer
from cob.schemas.report import ClaimOutcome, RunReport

DATA = Path(__file__).parent / "data"
D = Decimal
#: A fixed run time so envelope dates do not depend on the clock.
NOW = dt.datetime(2026, 4, 1, 8, 30)


def data(name: str) -> Path:
    path = DATA / name
    assert path.exists(), f"scenario data file {name} is missing"
    return path


@dataclass
class Run:
    report: RunReport
    out_dir: Path

    def outcome(self, claim_id: str) -> ClaimOutcome:
        found = [c for c in self.report.claims if c.claim_id == claim_id]
        assert len(found) == 1, f"expected one outcome for {claim_id}, got {len(found)}: {self.report.claims}"
        return found[0]

    def status(self, claim_id: str) -> tuple[str, str]:
        outcome = self.outcome(claim_id)
        return outcome.status.value, outcome.reason

    def outputs(self) -> list[Path]:
        return sorted(self.out_dir.iterdir()) if self.out_dir.exists() else []

    def claim(self, claim_id: str) -> Claim:
        """The claim as written to its output file (every output already passed pyx12 in `run`).
        Every claim the pipeline builds is a first submission to its destination: CLM05-3 = 1."""
        outcome = self.outcome(claim_id)
        assert outcome.output is not None, f"{claim_id}: no output file ({outcome.status} {outcome.reason}: " \
                                           f"{outcome.detail})"
        path = Path(outcome.output)
        assert path.parent == self.out_dir and path.exists()
        claims = [c for c in read_claims(path) if c.claim_id == claim_id]
        assert len(claims) == 1
        assert claims[0].clm.location.frequency == "1", "CLM05-3"
        return claims[0]


def run(tmp_path: Path, claims: list[str | Path], remits: list[str | Path], coverage: str | Path | None = None,
        **options) -> Run:
    out = tmp_path / "out"
    resolve = lambda p: p if isinstance(p, Path) else data(p)  # noqa: E731
    report = run_secondary([resolve(c) for c in claims], [resolve(r) for r in remits],
                           SecondaryOptions(out_dir=out, now=NOW, **options),
                           coverage=resolve(coverage) if coverage is not None else None)
    assert all(i.status == "ok" for i in report.inputs if "malformed" not in i.file), report.inputs
    if out.exists():
        for path in out.iterdir():
            assert_valid_x12(path)
    return Run(report, out)


def assert_valid_x12(path: Path) -> None:
    ok, errors = pyx12_validate(path)
    assert ok, f"{path.name} fails pyx12: {errors[:5]}"


# ---------------------------------------------------------------------------------- reshaping output


def proc(p) -> str | None:
    """A procedure composite as written: 'HC:87880:QW'."""
    if p is None:
        return None
    return ":".join([p.qualifier, p.code, *p.modifiers])


def cas(segments) -> list[tuple[str, str, Decimal, Decimal | None]]:
    """Every CAS triplet as (group, reason, amount, quantity), sorted (CAS order carries no meaning)."""
    return sorted((c.group.value, r, a, q) for c in segments for r, a, q in c.trios())


def amt(amounts, qualifier: str) -> Decimal | None:
    found = [a.amount for a in amounts if a.qualifier == qualifier]
    assert len(found) <= 1, f"AMT*{qualifier} repeated"
    return found[0] if found else None


def dtp(dates, qualifier: str) -> str | None:
    found = [f"{d.format}:{d.value}" for d in dates if d.qualifier == qualifier]
    assert len(found) <= 1, f"DTP*{qualifier} repeated"
    return found[0] if found else None


def adjudication(adj: LineAdjudication) -> dict:
    """One 2430 as {'svd': (SVD01, SVD02, SVD03, SVD05, SVD06), 'cas': [...], 'dtp573': ..., 'eaf': ...}."""
    svd = adj.svd
    return {
        "svd": (svd.payer_id, svd.paid, proc(svd.procedure), svd.paid_units, svd.bundled_line_number),
        "cas": cas(adj.adjustments),
        "dtp573": dtp(adj.dates, "573"),
        "eaf": amt(adj.amounts, "EAF"),
    }


def lines(claim: Claim) -> dict[int, list[dict]]:
    """LX01 -> its 2430s, reshaped."""
    return {line.lx.number: [adjudication(a) for a in line.adjudications] for line in claim.lines}


def line_2430(svd, cas_=(), dtp573=None, eaf=None) -> dict:
    """An expected 2430, written by hand: svd = (SVD01, SVD02, SVD03, SVD05, SVD06)."""
    sid, paid, code, units, bundled = svd
    return {"svd": (sid, D(paid), code, D(units), bundled),
            "cas": sorted((g, r, D(a), None if q is None else D(q)) for g, r, a, q in cas_),
            "dtp573": dtp573, "eaf": None if eaf is None else D(eaf)}


def other_payer(claim: Claim, sequence: str) -> OtherPayer:
    found = [op for op in claim.other_payers if op.sbr.payer_sequence.value == sequence]
    assert len(found) == 1, f"expected one 2320 with SBR01={sequence}, got {len(found)}"
    return found[0]


def summary_2320(op: OtherPayer) -> dict:
    """The parts of a 2320/2330A/2330B the scenarios check."""
    return {
        "sbr01": op.sbr.payer_sequence.value,
        "sbr02": op.sbr.relationship,
        "amt_d": amt(op.amounts, "D"),
        "amt_eaf": amt(op.amounts, "EAF"),
        "cas": cas(op.adjustments),
        "payer_id": op.payer.name.id if op.payer else None,
        "subscriber_id": op.subscriber.name.id if op.subscriber else None,
        "ref_f8": op.payer.ref("F8") if op.payer else None,
        "dtp573": dtp(op.payer.dates, "573") if op.payer else None,
    }


def destination(claim: Claim) -> dict:
    """2000B SBR and 2010BA/2010BB of the output claim."""
    sub = claim.subscriber
    sbr = sub.sbr
    return {
        "sbr01": sbr.payer_sequence.value,
        "sbr02": sbr.relationship,
        "sbr03": sbr.group_number,
        "sbr05": sbr.insurance_type.value if sbr.insurance_type else None,
        "sbr09": sbr.filing_indicator.value if sbr.filing_indicator else None,
        "payer_id": sub.payer.name.id,
        "payer_name": sub.payer.name.last_or_org_name,
        "subscriber_id": sub.subscriber.name.id,
        "subscriber_name": (sub.subscriber.name.last_or_org_name, sub.subscriber.name.first_name),
    }
