"""The element regex is only a shortcut: whatever it accepts, the exact element-by-element checks accept.

A segment the fast regex matches skips the slow path, so a regex that is too lenient would let a bad
value through silently. Hypothesis mutates real segments of every definition the fixtures use with
values chosen to sit on the edges (lengths, signs, dots, dates 28-31, codes off by one, delimiters,
trailing spaces, empty components) and checks: fast match => no element problem.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from cob.edi.ig.tables import load_external_codes
from cob.edi.tokens import RawSegments
from cob.edi.validate.elements import SegmentChecker, build_fast_regex
from cob.edi.validate.engine import RulePool, Validator

ROOT = Path(__file__).parent.parent.parent
FILES = [ROOT / "tests" / "data" / "cob-claim.837", ROOT / "tests" / "data" / "primary-remit.835",
         *sorted((ROOT / "cob" / "fixtures" / "sample").glob("*.83*"))]


def _located_segments():
    """(SegmentDef, elements) for every body segment of the sample files, as the walker places them."""
    out = []
    for path in FILES:
        v = Validator(path, snip={1, 2})
        orig = v._segment_long

        def spy(raw, v=v, orig=orig):
            orig(raw)
            w = v.walker
            if w is not None and w.cur is not None and raw.split(v.sep)[0] == w.cur.id:
                out.append((w.cur, raw.split(v.sep)))

        def every_segment_the_long_way(fh, v=v, spy=spy):
            v.stream = RawSegments(fh, v.name)
            for raw in v.stream:
                spy(raw)

        v._loop = every_segment_the_long_way
        v.run()
    seen, unique = set(), []
    for seg, elements in out:
        key = (id(seg), tuple(elements))
        if key not in seen:
            seen.add(key)
            unique.append((seg, elements))
    return unique


SEGMENTS = _located_segments()
EXTERNAL = load_external_codes()
EDGE_VALUES = ["", " ", "A", "A ", " A", "0", "-0", "-", ".", "1.", ".5", "-.5", "1.0", "12.345", "1E5", "1,5",
               "123456789012345678", "1234567890123456789", "20240228", "20240229", "20230229", "20241231",
               "20240431", "20241301", "18000101", "17991231", "2024-01-01", "20240101-20240131",
               "20240131-20240101", "2359", "2400", "1260", "235959", "23595999", "235960", "XX", "ZZ",
               "11", "99", "A:B", "A:", ":B", "::", "^", "~", "*", "a", "é", "\t", "CO", "PR", "OA", "PI",
               "CR", "D8", "RD8", "XX:1", "HC:99213", "HC:99213:25", "ABK:J449", "ABK:", "1:B:1", "11:B",
               "11:B:1:9"]


@st.composite
def mutated(draw):
    seg, elements = draw(st.sampled_from(SEGMENTS))
    elements = list(elements)
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(1, max(1, len(elements))))
        value = draw(st.sampled_from(EDGE_VALUES) | st.text(alphabet="AZ09 .-:", max_size=6))
        if i < len(elements):
            elements[i] = value
        else:
            elements.append(value)
    return seg, elements


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_fast_regex_never_accepts_what_the_exact_checks_reject(case):
    seg, elements = case
    checker = SegmentChecker(seg, "*", ":", "~", EXTERNAL)
    if checker.fast is None:
        return
    raw = "*".join(elements)
    if "~" in raw or raw.count("*") != len(elements) - 1:
        return  # a delimiter inside a value splits differently; the tokenizer never yields that
    if checker.fast.fullmatch(raw) is not None:
        problems = [p for p in checker.slow(elements) if not p.message.startswith("syntax")]
        assert problems == [], (seg.id, raw, problems)


def test_every_sample_segment_takes_the_fast_path():
    """The regex is not so strict that real, valid segments fall to the slow path (speed)."""
    slow = []
    for seg, elements in SEGMENTS:
        regex = build_fast_regex(seg, "*", ":", "~", EXTERNAL)
        if regex is not None and regex.fullmatch("*".join(elements)) is None:
            if not SegmentChecker(seg, "*", ":", "~", EXTERNAL).slow(elements):
                slow.append("*".join(elements[:2]))
    # February 29 and trailing spaces are left to the slow path on purpose; nothing else should be
    assert len(slow) <= len(SEGMENTS) // 20, slow[:20]


def test_rules_in_a_second_process_give_the_serial_result(tmp_path):
    """RulePool (big files) files every rule finding where the serial engine does, in the same order,
    also under the right transaction set (what the 999 is built from)."""
    text = (ROOT / "tests" / "data" / "cob-claim.837").read_text()
    # many claims, some unbalanced (SNIP 3), some with an unknown CARC (SNIP 5 warning)
    bad = text.replace("AMT*D*116~", "AMT*D*120~")
    body = [text, bad, text.replace("CAS*PR*1*", "CAS*PR*ZZ9*")] * 40
    path = tmp_path / "many.837"
    path.write_text("".join(body))
    serial = Validator(path, parallel=False).run()
    parallel = Validator(path, parallel=True).run()
    assert serial.findings and any(f.snip == 3 for f in serial.findings)
    assert [f.to_json() for f in parallel.findings] == [f.to_json() for f in serial.findings]
    for a, b in zip(serial.interchanges, parallel.interchanges):
        for ga, gb in zip(a.groups, b.groups):
            for ta, tb in zip(ga.transactions, gb.transactions):
                assert [f.to_json() for f in ta.findings] == [f.to_json() for f in tb.findings]


def test_rules_process_with_nothing_to_check(tmp_path):
    """A second process started for a file that turns out not to be X12 ends cleanly."""
    path = tmp_path / "notes.837"
    path.write_text("hello\n" * 10)
    result = Validator(path, parallel=True).run()
    assert [f.code for f in result.findings] == ["not_x12"]


def _envelope_variants() -> dict[str, str]:
    """Files of several sets, interchanges and delimiter sets whose sets end every way the envelope
    allows: an SE, or (without one) the next ST, a GE, a GS, an IEA, an ISA or the end of the file."""
    variants = {}
    for name in ("cob-claim.837", "primary-remit.835"):
        text = (ROOT / "tests" / "data" / name).read_text().replace("\n", "")
        segs = [s for s in text.split("~") if s]
        isa, gs, body, ge, iea = segs[0], segs[1], segs[2:-2], segs[-2], segs[-1]
        bad = [s.replace("AMT*D*116", "AMT*D*120").replace("CAS*PR*1*", "CAS*PR*ZZ9*") for s in body]

        def st(n: int, segments: list[str], se: bool = True) -> list[str]:
            out = [segments[0].replace("*0001", f"*{n:04d}", 1)] + segments[1:-1]
            return out + [segments[-1].replace("*0001", f"*{n:04d}")] if se else out

        def interchange(i: int, sets: list[list[str]], trailer: bool = True) -> list[str]:
            out = [isa.replace("000000101", f"{i:09d}").replace("000000001", f"{i:09d}"), gs]
            return out + [s for x in sets for s in x] + ([ge.replace("*1*", f"*{len(sets)}*"), iea] if trailer else [])

        sets = [st(1, body), st(2, bad), st(3, body, se=False), st(4, body), st(2, bad)]
        cases = {
            "clean": [interchange(1, [st(1, body), st(2, bad), st(3, body)])],
            "st_closes": [interchange(1, sets)],
            "ge_closes": [interchange(1, [st(1, body), st(2, bad, se=False)])],
            "gs_closes": [interchange(1, [st(1, bad, se=False)])[:-2] + interchange(1, [st(2, body)])[1:]],
            "iea_closes": [interchange(1, [st(1, body), st(2, bad, se=False)])[:-2] + [iea]],
            "isa_closes": [interchange(1, [st(1, bad, se=False)], trailer=False), interchange(2, [st(1, body)])],
            "delimiters": [interchange(1, [st(1, bad)]),
                           [s.replace("*", "|").replace(":", ">") for s in interchange(2, [st(1, bad), st(2, body)])]],
            "eof_closes": [interchange(1, [st(1, body), st(2, bad, se=False)], trailer=False)],
            "odd_closers": [interchange(1, [st(1, bad, se=False), [" " + st(2, body)[0]] + st(2, body)[1:]])[:-2]
                            + [" GE*2*101*", "IEA*1*000000001*"]],
        }
        for case, interchanges in cases.items():
            variants[f"{name}-{case}"] = "~".join(s for x in interchanges for s in x) + "~"
    return variants


VARIANTS = _envelope_variants()


@pytest.mark.parametrize("chunk", [None, 97], ids=["one-chunk", "small-chunks"])
@pytest.mark.parametrize("keep", [RulePool.KEEP, 5], ids=["sent", "read-from-file"])
@pytest.mark.parametrize("case", sorted(VARIANTS))
def test_sets_in_a_second_process_give_the_serial_result(tmp_path, monkeypatch, case, keep, chunk):
    """Sets handed whole to the second process (Validator._dispatch) report exactly what the serial
    engine does, also when the envelope around them is broken, under the same envelope records --
    whether their segments travel with them or that process reads them from the file (big sets), and
    whether a set fits in one chunk of the reader or spans many (as in big files)."""
    monkeypatch.setattr(RulePool, "KEEP", keep)
    if chunk is not None:
        monkeypatch.setattr(RawSegments.__init__, "__defaults__", (chunk, None))
    path = tmp_path / case
    path.write_text(VARIANTS[case])
    serial = Validator(path, parallel=False).run()
    parallel = Validator(path, parallel=True).run()
    assert serial.findings
    assert _snapshot(parallel) == _snapshot(serial)


@pytest.mark.parametrize("case", sorted(VARIANTS))
def test_the_reader_sees_the_envelope_the_validator_sees(tmp_path, case):
    """The same shapes read by the reader (lenient): the envelope problems of cob.edi.envelope's one machine,
    as the validator files them (serial; the test above holds the second process to the serial result)."""
    from cob.edi.envelope import CODES
    from cob.edi.reader import X12Reader

    path = tmp_path / case
    path.write_text(VARIANTS[case])
    found = [(f.code, f.segment_no, f.segment_id, f.message, f.st_segment_no)
             for f in Validator(path, parallel=False).run().findings if f.code in CODES]
    reader = X12Reader(path, strict=False)
    list(reader)
    assert [(e.code, e.segment_no, e.segment_id, e.message, e.st_segment_no)
            for e in reader.errors if e.code in CODES] == found
    assert found or case.endswith(("clean", "delimiters"))


def _snapshot(result) -> tuple:
    """Everything a report or an acknowledgment reads from a result."""
    return ([f.to_json() for f in result.findings], result.claims, result.segments,
            [(i.isa13, [f.to_json() for f in i.findings],
              [(g.gs06, g.trailer_missing, [f.to_json() for f in g.findings],
                [(t.st01, t.st02, t.st03, t.segment_no, t.trailer_missing, [f.to_json() for f in t.findings])
                 for t in g.transactions]) for g in i.groups]) for i in result.interchanges])


def _clean_one_by_one(parts: list[str]) -> list[str]:
    """The tokenizer's cleaning, segment by segment (what `cob.edi.tokens._clean` must equal)."""
    ws = " \t\r\n\x00"
    out = []
    for raw in parts:
        if not raw:
            continue
        if raw[0] in ws or raw[-1] in ws:
            raw = raw.strip("\r\n")
            if not raw.strip(ws):
                continue
            raw = raw.rstrip(ws)
            if raw[0] in ws:
                raw = " " + raw.lstrip(ws)
        out.append(raw)
    return out


@settings(max_examples=2000, deadline=None)
@given(st.lists(st.text(alphabet="AZ09*: \t\r\n\x00\x01\x7f~é", max_size=6), max_size=8))
def test_tokenizer_shortcut_cleans_like_the_loop(parts):
    """`_clean` returns a chunk's segments unchanged only when the loop would (speed, not a new rule)."""
    from cob.edi.tokens import _clean

    assert _clean(list(parts)) == _clean_one_by_one(parts)


def test_a_header_segment_finding_shows_that_segment(tmp_path):
    """Code checks of segments outside claims run on the fast path (once the segment's definition has
    been seen), where the engine's notion of the current segment still holds the last one that went the
    long way: the finding must carry the N4 itself."""
    from cob.edi.validate import validate_file

    text = (ROOT / "tests" / "data" / "primary-remit.835").read_text()
    head, rest = text.split("ST*835*0001~", 1)
    body, tail = rest.split("SE*", 1)
    se_count, tail = tail.split("*", 1)
    second = body.replace("N4*CITY*IL*60601~", "N4*CITY*ON*60601~")
    path = tmp_path / "bad-state.835"
    path.write_text(head + "ST*835*0001~" + body + f"SE*{se_count}*0001~" + "ST*835*0002~" + second
                    + f"SE*{se_count}*0002~" + tail.split("~", 1)[1].replace("GE*1*", "GE*2*"))
    result = validate_file(path)
    assert [f.code for f in result.errors] == ["state_invalid"]
    n4 = 2 + int(se_count) + 6  # ISA, GS, the first set, then ST BPR TRN N1 N3 N4
    assert [(f.segment_no, f.segment_id, f.segment_text) for f in result.errors] == [(n4, "N4", "N4*####*ON*#####")]
