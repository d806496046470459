"""The writer's per-loop plans and its straight-from-the-model segment text.

`Claim837Writer.loop_text` looks IG positions up once per loop model class and keeps a list field's
segments together; these tests hold it to the rule it replaces: every segment of a loop sorted by (IG
position, segments before child loops, order in the model), a segment the loop does not have placed after
the last placed one. `SegmentWriter.model_text` must give exactly what the element-list path gives, and
refuse a value holding a delimiter the same way.
"""

from __future__ import annotations

import datetime as dt
import enum
import io
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cob.edi.envelope import CounterControlNumbers, Party as EnvelopeParty
from cob.edi.reader import read_claims
from cob.edi.tokens import Delimiters
from cob.edi.writer import Claim837Writer, DelimiterInDataError, InterchangeInfo, SegmentWriter
from cob.schemas.base import Composite, GenericLoop, Loop, Segment
from cob.schemas.claim import Claim
from cob.schemas.common import Party
from cob.schemas.segments import CAS, CLM, DMG, HI, NM1, PRV, REF, SV1, DiagnosisPointers, HealthCareCode, \
    ProcedureCode, ReferenceIdentifier, ServiceLocation

from conftest import DATA, SAMPLES

UNKNOWN = 10**7


def _writer(delimiters: Delimiters = Delimiters()) -> Claim837Writer:
    info = InterchangeInfo(EnvelopeParty("ZZ", "S"), EnvelopeParty("ZZ", "R"))
    return Claim837Writer(io.StringIO(), info, CounterControlNumbers(start=1), delimiters)


def _reference(writer: Claim837Writer, loop: Loop, skip: str | None = None) -> str:
    """Every segment of the loop and its descendants, each placed on its own and then sorted."""
    seg, table, loop_id = writer.seg, writer.table, loop.loop_id()
    own = []
    for name, _seg_id, many in loop.segment_fields():
        value = getattr(loop, name)
        if value is not None:
            own.extend(s.to_elements() for s in (value if many else [value]))
    own.extend(getattr(loop, loop.RAW_SEGMENTS))
    entries, unknown, known_max = [], [], 0
    for i, elements in enumerate(own):
        pos = table.segment_pos(loop_id, elements)
        if pos is None:
            unknown.append(elements)
        else:
            known_max = max(known_max, pos)
            entries.append((pos, 0, i, [elements]))
    entries.extend((known_max, 0, len(own) + i, [e]) for i, e in enumerate(unknown))
    children = []
    for name, many in loop.child_fields:
        value = getattr(loop, name)
        if value is not None:
            children.extend(value if many else [value])
    children.extend(getattr(loop, loop.RAW_LOOPS))
    for i, child in enumerate(children):
        child_def = table.by_id.get(child.loop_id())
        entries.append((child_def.pos if child_def else UNKNOWN, 1, i, _reference(writer, child, skip)))
    entries.sort(key=lambda e: e[:3])
    out = []
    for entry in entries:
        if entry[1]:
            out.append(entry[3])
        else:
            out.extend(seg.text(e) + seg.end for e in entry[3] if e[0] != skip)
    return "".join(out)


def _sample_claims() -> list[Claim]:
    paths = [DATA / "cob-claim.837", DATA / "original-claim.837"]
    paths += sorted(p for p in SAMPLES.glob("*") if "X222" in p.name or p.suffix == ".837") if SAMPLES.exists() else []
    claims = []
    for path in paths:
        try:
            claims.extend(read_claims(path))
        except Exception:  # noqa: BLE001 - samples of other transaction types or unreadable ones
            continue
    return claims


def test_loop_text_is_every_segment_sorted_by_ig_position():
    claims = _sample_claims()
    assert claims
    writer = _writer()
    for claim in claims:
        assert writer.loop_text(claim) == _reference(writer, claim), claim.claim_id
        for level in (claim.billing_provider, claim.subscriber, claim.patient, claim.header):
            if level is not None:
                assert writer.loop_text(level, skip="HL") == _reference(writer, level, skip="HL")


def test_segments_the_loop_lacks_and_raw_ones_keep_their_place():
    # PRV and HL are not 2010BA segments, nor XYZ: they go after the last placed one (REF), in model order;
    # a child loop goes by its own position (1000A's is before N3's), an unknown one last
    party = Party(loop="2010BA", name=NM1(entity_id="IL", entity_type="1", last_or_org_name="DOE", id_qualifier="MI",
                                          id="123"),
                  provider=PRV(provider_code="PE", qualifier="PXC", taxonomy="207Q00000X"),
                  demographics=DMG(date_format="D8", birth_date=dt.date(1950, 2, 3), gender="F"),
                  other_segments=[["XYZ", "1"], ["REF", "SY", "999"], ["HL", "9", "", "22"]],
                  other_loops=[GenericLoop(loop="9999", segments=[["ABC", "1"]],
                                           children=[GenericLoop(loop="2010BB", segments=[["NM1", "PR", "2", "X"]])]),
                               GenericLoop(loop="1000A", segments=[["NM1", "41", "2", "Y"]])])
    writer = _writer()
    text = writer.loop_text(party)
    assert text == _reference(writer, party)
    assert text.splitlines() == ["NM1*IL*1*DOE*****MI*123~", "NM1*41*2*Y~", "DMG*D8*19500203*F~", "REF*SY*999~",
                                 "PRV*PE*PXC*207Q00000X~", "XYZ*1~", "HL*9**22~", "ABC*1~", "NM1*PR*2*X~"]
    assert "HL*" not in writer.loop_text(party, skip="HL")
    assert writer.loop_text(party, skip="HL") == _reference(writer, party, skip="HL")


def test_a_child_loop_placed_before_a_segment_is_sorted_in():
    party = Party(loop="2010BA", name=NM1(entity_id="IL", entity_type="1", last_or_org_name="DOE"),
                  refs=[REF(qualifier="SY", value="1")],
                  other_loops=[GenericLoop(loop="1000A", segments=[["NM1", "41", "2", "Y"]])])
    writer = _writer()
    assert writer.loop_text(party) == _reference(writer, party)
    assert writer.loop_text(party).splitlines() == ["NM1*IL*1*DOE~", "NM1*41*2*Y~", "REF*SY*1~"]


@pytest.mark.parametrize("delimiters", [Delimiters(), Delimiters("|", ">", "^", "~")])
def test_model_text_is_the_element_list_text(delimiters):
    seg = SegmentWriter(io.StringIO(), delimiters)
    models = [
        CLM(patient_control_number="A1", total_charge=Decimal("100.50"),
            location=ServiceLocation(place_of_service="11", qualifier="B", frequency="1")),
        SV1(procedure=ProcedureCode(qualifier="HC", code="99213", modifier2="25"), charge=Decimal("80.00"),
            unit_basis="UN", units=Decimal("1.0"), diagnosis_pointers=DiagnosisPointers(pointer1="1")),
        HI(code1=HealthCareCode(qualifier="ABK", code="J449")),
        CAS.build("CO", [("45", Decimal("-3.50"), Decimal("2")), ("253", Decimal("1E+1"))]),
        REF(qualifier="6R", value="X", reference=ReferenceIdentifier()),
        DMG(date_format="D8", birth_date=dt.date(1950, 2, 3)),
        NM1(entity_id="IL"),
    ]
    for model in models:
        assert seg.model_text(model) == seg.text(model.to_elements()) + seg.end


@pytest.mark.parametrize("model", [
    NM1(entity_id="IL", last_or_org_name="DOE*JANE"),
    NM1(entity_id="IL", last_or_org_name="DOE:JANE"),
    NM1(entity_id="IL", last_or_org_name="DOE~"),
    NM1(entity_id="IL", last_or_org_name="A^B"),
    SV1(procedure=ProcedureCode(qualifier="HC", code="992:13"), charge=Decimal(1)),
    SV1(procedure=ProcedureCode(qualifier="HC", code="99213", description="A*B"), charge=Decimal(1)),
])
def test_a_delimiter_in_a_value_is_refused(model):
    seg = SegmentWriter(io.StringIO())
    with pytest.raises(DelimiterInDataError):
        seg.model_text(model)


@pytest.mark.parametrize("model", [
    SV1(procedure=ProcedureCode(qualifier="HC", code="99213", modifier1="25:"), charge=Decimal(1)),
    SV1(procedure=ProcedureCode(qualifier="HC", code="99213"), charge=Decimal(1), unit_basis="U:N"),
    HI(code1=HealthCareCode(qualifier="ABK", code="J449"), code2=HealthCareCode(qualifier="ABF", code="*")),
])
def test_a_delimiter_among_many_segments_is_refused(model):
    # the values of many segments are checked together: one bad value anywhere still fails them all
    seg = SegmentWriter(io.StringIO())
    good = [NM1(entity_id="IL", last_or_org_name="DOE"), HI(code1=HealthCareCode(qualifier="ABK", code="J449"))]
    with pytest.raises(DelimiterInDataError):
        seg.models_text(good + [model] + good)


def _undeclared(model, field: str, value):
    """A model holding a value of a type its field does not declare (pydantic does not validate assignment)."""
    setattr(model, field, value)
    return model


@pytest.mark.parametrize("model", [
    _undeclared(CAS.build("CO", [("45", Decimal("10"))]), "amount1", "12.50"),
    _undeclared(NM1(entity_id="IL"), "last_or_org_name", 5),
    _undeclared(NM1(entity_id="IL"), "last_or_org_name", Decimal("1.50")),
    _undeclared(DMG(date_format="D8"), "birth_date", dt.datetime(2001, 2, 3, 4, 5)),
    _undeclared(SV1(procedure=ProcedureCode(qualifier="HC", code="1"), charge=Decimal(1)), "procedure", "HC:1"),
    _undeclared(SV1(procedure=ProcedureCode(qualifier="HC", code="1"), charge=Decimal(1)), "diagnosis_pointers",
                ReferenceIdentifier(qualifier1="1", id1="2")),
])
def test_values_of_undeclared_types_are_written_as_before(model):
    seg = SegmentWriter(io.StringIO())
    expected = {
        "CAS": "CAS*CO*45*12.50~\n", "NM1": None, "DMG": "DMG*D8*20010203~\n", "SV1": None,
    }[model.SEGMENT_ID]
    text = seg.models_text([model, NM1(entity_id="IL")])
    assert text.endswith("NM1*IL~\n")
    if expected:
        assert text.startswith(expected)
    assert text == seg.model_text(model) + "NM1*IL~\n"


def test_a_claim_that_cannot_be_written_leaves_the_output_as_it_was():
    (claim,) = list(read_claims(DATA / "cob-claim.837"))
    bad = claim.model_copy(update={"clm": claim.clm.model_copy(update={"patient_control_number": "A*B"})})
    out = io.StringIO()
    writer = _writer()
    writer.seg.out = out
    writer.start()
    writer.begin_transaction(claim.header)
    before = (out.getvalue(), writer.seg.total)
    with pytest.raises(DelimiterInDataError):
        writer.write_claim(bad)
    assert (out.getvalue(), writer.seg.total) == before
    writer.write_claim(claim)  # under fresh HL levels, as the first claim
    writer.finish()
    expected = io.StringIO()
    reference = _writer()
    reference.seg.out = expected
    reference.when = writer.when
    reference.start()
    reference.begin_transaction(claim.header)
    reference.write_claim(claim)
    reference.finish()
    assert out.getvalue() == expected.getvalue()


def test_written_claims_count_their_segments():
    (claim,) = list(read_claims(DATA / "cob-claim.837"))
    out = io.StringIO()
    writer = _writer()
    writer.seg.out = out
    writer.start()
    writer.begin_transaction(claim.header)
    writer.write_claim(claim)
    writer.finish()
    segments = [line.rstrip("~").split("*") for line in out.getvalue().splitlines()]
    assert writer.seg.total == len(segments)
    st = next(i for i, s in enumerate(segments) if s[0] == "ST")
    se = next(i for i, s in enumerate(segments) if s[0] == "SE")
    assert int(segments[se][1]) == se - st + 1


# ------------------------------------------------------------------ hypothesis: every segment class


def _segment_classes() -> list[type[Segment]]:
    import cob.schemas.claim, cob.schemas.remit  # noqa: F401, E401 - every segment class defined

    out, todo = [], [Segment]
    while todo:
        for sub in todo.pop().__subclasses__():
            todo.append(sub)
            if sub.SEGMENT_ID:
                out.append(sub)
    return sorted(set(out), key=lambda c: c.__name__)


def _sometimes(usual: st.SearchStrategy, rare: st.SearchStrategy, one_in: int) -> st.SearchStrategy:
    return st.integers(1, one_in).flatmap(lambda k: rare if k == 1 else usual)


#: element text, a delimiter of either set in one value of about ten
_TEXT = _sometimes(st.text(alphabet="AZ09 .-", max_size=6), st.text(alphabet="A0*:^~|>", min_size=1, max_size=3), 10)


def _value(field_type, undeclared: bool = True) -> st.SearchStrategy:
    """A value for a field declared `field_type`: None, one of that type, or (rarely) one of another type."""
    if isinstance(field_type, type) and issubclass(field_type, enum.Enum):
        typed = st.sampled_from(list(field_type))
    elif field_type is Decimal:
        typed = st.decimals(min_value=-10**6, max_value=10**6, places=3, allow_nan=False)
    elif field_type is dt.date:
        typed = st.dates()
    elif field_type is int:
        typed = st.integers(-5, 10**6)
    elif isinstance(field_type, type) and issubclass(field_type, Composite):
        # (model_construct: the writer must write whatever a model holds, valid or not)
        typed = st.tuples(*[_value(t, False) for t in field_type.field_types]).map(
            lambda values, kind=field_type: kind.model_construct(**dict(zip(kind.model_fields, values))))
        undeclared = False  # (the element path cannot write a non-composite there: test_values_of_undeclared...)
    else:
        typed = _TEXT
    others = [_TEXT, st.integers(0, 99), st.decimals(-99, 99, places=2, allow_nan=False)] if undeclared else []
    return _sometimes(_sometimes(typed, st.one_of(*others), 20) if others else typed, st.none(), 3)


_SEGMENTS = st.sampled_from(_segment_classes()).flatmap(
    lambda kind: st.tuples(*[_value(t) for t in kind.field_types]).map(
        lambda values: kind.model_construct(**dict(zip(kind.model_fields, values)))))


def _outcome(write) -> tuple[str, object]:
    try:
        return "text", write()
    except Exception as exc:  # noqa: BLE001 - the two paths must fail alike
        return "error", type(exc)


@pytest.mark.parametrize("delimiters", [Delimiters(), Delimiters("|", ">", "^", "~")])
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(segments=st.lists(_SEGMENTS, min_size=1, max_size=4))
def test_models_text_is_the_element_path_for_any_segment_models(delimiters, segments):
    """The per-class text functions write any values of every segment class as the element-by-element path
    does, or refuse them alike (`DelimiterInDataError` for a delimiter in a value)."""
    seg = SegmentWriter(io.StringIO(), delimiters)
    expected = _outcome(lambda: "".join(seg.text(s.to_elements()) + seg.end for s in segments))
    assert _outcome(lambda: seg.models_text(segments)) == expected
