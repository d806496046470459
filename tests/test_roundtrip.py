"""Read -> write gives the same segments (delimiters, control numbers and amount formatting aside)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cob.edi.envelope import CounterControlNumbers, Party
from cob.edi.reader import read_claims
from cob.edi.tokens import Delimiters
from cob.edi.writer import Claim837Writer, InterchangeInfo, write_837
from cob.schemas.base import format_amount
from cob.schemas.claim import Claim, LineAdjudication, ServiceLine
from cob.schemas.segments import CAS, DTP, LX, REF, SV1, SVD, AMT, ProcedureCode

from conftest import DATA, SAMPLES, canonical_segments
from pyx12_oracle import pyx12_validate


def rewrite(src: Path, dst: Path, delimiters: Delimiters = Delimiters()) -> None:
    """Write every claim of `src` back, one interchange per original transaction set."""
    groups: list[tuple[tuple, list[Claim]]] = []
    for claim in read_claims(src):
        env = claim.header.envelope
        key = (env.interchange_control_number, env.transaction_control_number)
        if not groups or groups[-1][0] != key:
            groups.append((key, []))
        groups[-1][1].append(claim)
    numbers = CounterControlNumbers(start=900)
    with open(dst, "w", encoding="utf-8") as fh:
        for _key, claims in groups:
            env = claims[0].header.envelope
            info = InterchangeInfo(Party(env.sender_qualifier, env.sender_id),
                                   Party(env.receiver_qualifier, env.receiver_id))
            writer = Claim837Writer(fh, info, numbers, delimiters, guide=claims[0].GUIDE)
            writer.start()
            writer.begin_transaction(claims[0].header)
            for claim in claims:
                writer.write_claim(claim)
            writer.finish()


# X222A1 samples that pyx12 accepts (see ../shared/samples/INDEX.md). Not LinuxForHealth's
# demo.cob.example3.B.837 (pyx12 accepts it after a relabel to A1): its GS08 005010X222A2 is a guide cob
# does not read (issue 15 clause 5), so the reader refuses it.
PYX12_ACCEPTED_837 = [
    "kputnam__stupidedi__X222A1_COB-claim-from-billing-provider-to-payer-a.edi",
    "kputnam__stupidedi__X222A1_COB-claim-from-billing-provider-to-payer-b.edi",
    "kputnam__stupidedi__X222A1_COB-claim-from-payer-a-to-payer-b-in-payer-to-payer.edi",
    "kputnam__stupidedi__X222A1_medicare-secondary-payer-COB.edi",
    "kputnam__stupidedi__X222A1_out-of-network-repriced-claim.edi",
    "kputnam__stupidedi__X222A1_commercial-health-insurance.edi",
    "kputnam__stupidedi__X222A1_ambulance.edi",
    "moov-io__x12__837p_sample.txt",
]  # not x12sdk's cob-two-other-payer-referring-providers.837: AMT*F2 in its 2320 has no place (pyx12 agrees)


@pytest.mark.parametrize("name", PYX12_ACCEPTED_837)
def test_samples_round_trip(tmp_path, name):
    src = SAMPLES / name
    if not src.exists():
        pytest.skip("shared samples not present")
    dst = tmp_path / "out.837"
    rewrite(src, dst)
    assert canonical_segments(dst) == canonical_segments(src)


def test_round_trip_with_other_delimiters_passes_pyx12(tmp_path, cob_claim_path):
    dst = tmp_path / "out.837"
    rewrite(cob_claim_path, dst, Delimiters("|", ">", "^", "~"))
    assert dst.read_text().startswith("ISA|00|")
    assert canonical_segments(dst) == canonical_segments(cob_claim_path)
    ok, errors = pyx12_validate(dst)
    assert ok, errors


def test_generated_files_round_trip(tmp_path):
    from cob.fixtures.generate import generate

    generate(tmp_path / "fx", seed=11, claims=40, claims_per_file=20)
    files = sorted((tmp_path / "fx").glob("*.837"))
    assert files
    for src in files:
        dst = tmp_path / (src.name + ".out")
        rewrite(src, dst)
        assert canonical_segments(dst) == canonical_segments(src), src.name


def test_write_837_is_atomic_and_counts(tmp_path, cob_claim_path):
    (claim,) = list(read_claims(cob_claim_path))
    out = tmp_path / "o" / "sec.837"
    moved = claim.model_copy(update={"subscriber": claim.subscriber.model_copy()})
    isa = write_837(out, [claim, claim.model_copy(), moved], InterchangeInfo(Party("ZZ", "ME"), Party("ZZ", "YOU")),
                    CounterControlNumbers(start=42))
    assert isa == 42
    text = out.read_text()
    assert "ISA*00*          *00*          *ZZ*ME             *ZZ*YOU            *" in text
    assert "*000000042*0*P*:~" in text
    assert text.rstrip().endswith("IEA*1*000000042~")
    assert list(out.parent.iterdir()) == [out]  # no temp file left behind
    ok, errors = pyx12_validate(out)
    assert ok, errors
    # a shallow copy shares the context objects -> same HLs; a new subscriber object -> a new 2000B
    assert [line for line in text.splitlines() if line.startswith("HL*")] == \
        ["HL*1**20*1~", "HL*2*1*22*0~", "HL*3*1*22*0~"]
    assert text.count("CLM*PCN123*250*") == 3


def test_failed_write_leaves_nothing(tmp_path, cob_claim_path):
    (claim,) = list(read_claims(cob_claim_path))
    bad = claim.model_copy(update={"notes": []})
    bad.clm.patient_control_number = "PCN~123"  # the terminator cannot be written
    out = tmp_path / "x.837"
    with pytest.raises(ValueError):
        write_837(out, [bad], InterchangeInfo(Party("ZZ", "A"), Party("ZZ", "B")), CounterControlNumbers())
    assert list(tmp_path.iterdir()) == []


def test_amounts_written_without_trailing_zeros():
    assert [format_amount(Decimal(v)) for v in ("100.00", "12.50", "12.34", "-3.0", "0.00", "1E+2")] == \
        ["100", "12.5", "12.34", "-3", "0", "100"]


# ------------------------------------------------------------------ hypothesis: generated claims

amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999.99"), places=2)
codes = st.sampled_from(["99213", "99214", "36415", "80053", "87880", "93000", "J1100"])
modifiers = st.lists(st.sampled_from(["25", "59", "LT", "RT", "QW", "GT"]), max_size=4, unique=True)
reasons = st.sampled_from(["1", "2", "3", "45", "50", "96", "97", "204", "253"])


@st.composite
def service_lines(draw, number: int) -> ServiceLine:
    charge = draw(amounts)
    mods = draw(modifiers)
    proc = ProcedureCode(qualifier="HC", code=draw(codes),
                         **{f"modifier{i + 1}": m for i, m in enumerate(mods)})
    units = Decimal(draw(st.integers(min_value=1, max_value=12)))
    paid = draw(st.decimals(min_value=Decimal(0), max_value=charge, places=2))
    rest = charge - paid
    cas = []
    if rest:
        co = draw(st.decimals(min_value=Decimal(0), max_value=rest, places=2))
        trios = [(draw(reasons), co)] if co else []
        if rest - co:
            trios.append((draw(reasons), rest - co, units))
        cas = [CAS.build("CO" if i == 0 else "PR", [t]) for i, t in enumerate(trios)]
    adjudication = LineAdjudication(
        svd=SVD(payer_id="11111", paid=paid, procedure=proc, paid_units=units),
        adjustments=cas,
        dates=[DTP(qualifier="573", format="D8", value="20260301")],
        amounts=[AMT(qualifier="EAF", amount=sum((c.total for c in cas[1:]), Decimal(0)))],
    )
    return ServiceLine(lx=LX(number=number), sv1=SV1(procedure=proc, charge=charge, unit_basis="UN", units=units),
                       dates=[DTP(qualifier="472", format="D8", value="20260215")],
                       refs=[REF(qualifier="6R", value=f"LINE{number}")], adjudications=[adjudication])


@st.composite
def claims(draw) -> Claim:
    (template,) = list(read_claims(DATA / "cob-claim.837"))
    n = draw(st.integers(min_value=1, max_value=6))
    lines = [draw(service_lines(i + 1)) for i in range(n)]
    clm = template.clm.model_copy(update={"total_charge": sum((l.sv1.charge for l in lines), Decimal(0)),
                                          "patient_control_number": draw(st.from_regex(r"[A-Z0-9]{1,20}",
                                                                                       fullmatch=True))})
    return template.model_copy(update={"clm": clm, "lines": lines})


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(claim=claims(), sep=st.sampled_from([Delimiters(), Delimiters("|", ">", "^", "~")]))
def test_generated_claims_survive_write_then_read(tmp_path, claim, sep):
    out = tmp_path / "h.837"
    write_837(out, [claim], InterchangeInfo(Party("ZZ", "A"), Party("ZZ", "B")), CounterControlNumbers(), delimiters=sep)
    (back,) = list(read_claims(out))
    exclude = {"source", "header", "billing_provider", "subscriber", "patient"}
    assert back.model_dump(exclude=exclude) == claim.model_dump(exclude=exclude)
    assert back.subscriber.model_dump(exclude={"hl"}) == claim.subscriber.model_dump(exclude={"hl"})
