"""The edi claim copier: claims copied from written 837P interchanges into a writer's open transaction set.

It serves the IG gate (claims taken out of an output file) and the join of the workers' output files, so it
must give what the writer gives: what re-reading the kept claims and writing them again gives, and what one
serial writer gives for claims written in parts.
"""

from __future__ import annotations

import datetime as dt
import io
import random
from pathlib import Path

import pytest

from cob.edi.copier import copy_claims
from cob.edi.envelope import CounterControlNumbers, Party, format_isa
from cob.edi.reader import X12Reader
from cob.edi.tokens import DEFAULT_DELIMITERS, Delimiters
from cob.edi.writer import Claim837Writer, InterchangeInfo
from cob.fixtures.generate import generate

NOW = dt.datetime(2026, 1, 2, 3, 4)
INFO = InterchangeInfo(Party("ZZ", "SENDER"), Party("ZZ", "RECEIVER"), when=NOW)
SAMPLE = Path(__file__).resolve().parents[1] / "cob" / "fixtures" / "sample" / "claims-0001.837"

# Claims under their levels as a writer leaves them: A1 and A2 under billing provider 1 (A2 for a patient who
# is not the subscriber: a 2000C), B1 and B2 under billing provider 5 and one subscriber level.
BODY = """\
HL*1**20*1~
NM1*85*2*CLINIC A*****XX*1111111112~
HL*2*1*22*0~
SBR*S*18~
NM1*IL*1*ONE~
CLM*A1*10***11:B:1~
LX*1~
SV1*HC:99213*10*UN*1***1~
HL*3*1*22*1~
SBR*S~
NM1*IL*1*TWO~
HL*4*3*23*0~
PAT*19~
CLM*A2*20***11:B:1~
LX*1~
HL*5**20*1~
NM1*85*2*CLINIC B*****XX*1111111120~
HL*6*5*22*0~
SBR*S*18~
CLM*B1*30***11:B:1~
LX*1~
CLM*B2*40***11:B:1~
LX*1~
"""


def _source(path: Path, body: str, delimiters: Delimiters = DEFAULT_DELIMITERS) -> Path:
    """An interchange around `body` as `Claim837Writer` writes one: one segment a line."""
    segments = body.count("~\n") + 3  # ST, BHT, the body, SE
    text = (format_isa(INFO.sender, INFO.receiver, 7, delimiters, NOW) + "\n"
            + "GS*HC*SENDER*RECEIVER*20260102*0304*7*X*005010X222A1~\n"
            + "ST*837*0001*005010X222A1~\nBHT*0019*00*X*20260102*0304*CH~\n"
            + body + f"SE*{segments}*0001~\nGE*1*7~\nIEA*1*000000007~\n")
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def header():
    return next(iter(X12Reader(SAMPLE, only="837"))).header


def _writer(header) -> tuple[Claim837Writer, io.StringIO]:
    out = io.StringIO()
    writer = Claim837Writer(out, INFO, CounterControlNumbers(start=1))
    writer.start()
    writer.begin_transaction(header)
    return writer, out


def _body(writer: Claim837Writer, out: io.StringIO) -> tuple[str, int]:
    """The claims the writer holds (from the first HL to SE) and SE01, after `finish`."""
    writer.finish()
    text = out.getvalue()
    se = text.index("\nSE*") + 1
    return text[text.index("\nHL*") + 1:se], int(text[se:].split("*")[1])


def test_copying_every_claim_keeps_the_levels_and_counts_the_segments(tmp_path, header):
    writer, out = _writer(header)
    before = writer.seg.total
    spans = copy_claims(writer, _source(tmp_path / "s.837", BODY))
    body, se01 = _body(writer, out)
    assert body == BODY
    assert writer.claims == 4
    # A1: HL 1 and its 2000A segment, HL 2 and its 2000B, CLM, LX, SV1; A2 opens HL 3 and 4
    assert [(a - before, b - before) for a, b in spans] == [(1, 8), (9, 15), (16, 21), (22, 23)]
    assert se01 == (before - 2) + 23 + 1  # ST and the header, the copied segments, SE


def test_each_copy_of_another_source_opens_its_own_levels(tmp_path, header):
    writer, out = _writer(header)
    source = _source(tmp_path / "s.837", BODY)
    copy_claims(writer, source)
    copy_claims(writer, source, keep={0})
    body, _ = _body(writer, out)
    assert body == BODY + """\
HL*7**20*1~
NM1*85*2*CLINIC A*****XX*1111111112~
HL*8*7*22*0~
SBR*S*18~
NM1*IL*1*ONE~
CLM*A1*10***11:B:1~
LX*1~
SV1*HC:99213*10*UN*1***1~
"""


def test_dropping_the_first_claim_renumbers_the_levels_after_it(tmp_path, header):
    writer, out = _writer(header)
    copy_claims(writer, _source(tmp_path / "s.837", BODY), keep=[1, 2, 3])
    body, _ = _body(writer, out)
    assert body == """\
HL*1**20*1~
NM1*85*2*CLINIC A*****XX*1111111112~
HL*2*1*22*1~
SBR*S~
NM1*IL*1*TWO~
HL*3*2*23*0~
PAT*19~
CLM*A2*20***11:B:1~
LX*1~
HL*4**20*1~
NM1*85*2*CLINIC B*****XX*1111111120~
HL*5*4*22*0~
SBR*S*18~
CLM*B1*30***11:B:1~
LX*1~
CLM*B2*40***11:B:1~
LX*1~
"""


def test_dropping_a_middle_claim_keeps_the_level_its_neighbour_shares(tmp_path, header):
    writer, out = _writer(header)
    spans = copy_claims(writer, _source(tmp_path / "s.837", BODY), keep={0, 1, 3})
    body, _ = _body(writer, out)
    assert body == BODY.replace("CLM*B1*30***11:B:1~\nLX*1~\n", "")
    first = spans[0][0]
    assert [(a - first, b - first) for a, b in spans] == [(0, 7), (8, 14), (15, 20)]  # B2 opens HL 5 and 6


def test_dropping_the_last_claims_leaves_out_levels_no_claim_is_under(tmp_path, header):
    writer, out = _writer(header)
    copy_claims(writer, _source(tmp_path / "s.837", BODY), keep={0, 1})
    assert _body(writer, out)[0] == BODY[:BODY.index("HL*5*")]
    writer, out = _writer(header)
    copy_claims(writer, _source(tmp_path / "s.837", BODY), keep={1, 3})
    assert _body(writer, out)[0] == """\
HL*1**20*1~
NM1*85*2*CLINIC A*****XX*1111111112~
HL*2*1*22*1~
SBR*S~
NM1*IL*1*TWO~
HL*3*2*23*0~
PAT*19~
CLM*A2*20***11:B:1~
LX*1~
HL*4**20*1~
NM1*85*2*CLINIC B*****XX*1111111120~
HL*5*4*22*0~
SBR*S*18~
CLM*B2*40***11:B:1~
LX*1~
"""
    writer, out = _writer(header)
    assert copy_claims(writer, _source(tmp_path / "s.837", BODY), keep=set()) == []
    assert "HL*" not in out.getvalue()


PART2 = """\
HL*1**20*1~
NM1*85*2*CLINIC B*****XX*1111111120~
HL*2*1*22*0~
SBR*S*18~
CLM*B3*50***11:B:1~
LX*1~
HL*3**20*1~
NM1*85*2*CLINIC C*****XX*1111111138~
HL*4*3*22*0~
SBR*P*18~
CLM*C1*60***11:B:1~
LX*1~
"""


def test_a_part_whose_first_claim_shares_the_last_billing_provider_hangs_under_it(tmp_path, header):
    """The join of two workers' parts: B3 came from the same original 2000A as B2, the last claim before it."""
    writer, out = _writer(header)
    before = writer.seg.total
    part1, part2 = _source(tmp_path / "p1.837", BODY), _source(tmp_path / "p2.837", PART2)
    copy_claims(writer, part1, providers=[(0, 5), (0, 5), (0, 40), (0, 40)])
    spans = copy_claims(writer, part2, providers=[(0, 40), (0, 70)])
    body, _ = _body(writer, out)
    assert body == BODY + """\
HL*7*5*22*0~
SBR*S*18~
CLM*B3*50***11:B:1~
LX*1~
HL*8**20*1~
NM1*85*2*CLINIC C*****XX*1111111138~
HL*9*8*22*0~
SBR*P*18~
CLM*C1*60***11:B:1~
LX*1~
"""
    assert [(a - before, b - before) for a, b in spans] == [(24, 27), (28, 33)]


def test_a_part_from_another_billing_provider_opens_its_own(tmp_path, header):
    writer, out = _writer(header)
    copy_claims(writer, _source(tmp_path / "p1.837", BODY), providers=[(0, 5), (0, 5), (0, 40), (0, 40)])
    copy_claims(writer, _source(tmp_path / "p2.837", PART2), providers=[(1, 5), (1, 70)])
    body, _ = _body(writer, out)
    assert body == BODY + PART2.replace("HL*1**20", "HL*7**20").replace("HL*2*1*22", "HL*8*7*22") \
        .replace("HL*3**20", "HL*9**20").replace("HL*4*3*22", "HL*10*9*22")


def test_claims_written_after_a_copy_continue_the_numbering(tmp_path, header):
    claim = next(iter(X12Reader(SAMPLE, only="837")))
    writer, out = _writer(header)
    copy_claims(writer, _source(tmp_path / "s.837", BODY))
    writer.write_claim(claim)
    body, _ = _body(writer, out)
    assert body.startswith(BODY + "HL*7**20*1~\n")
    assert "\nHL*8*7*22*" in body


def test_a_source_with_other_delimiters_is_refused(tmp_path, header):
    other = Delimiters("|", ":", "^", "~")
    path = _source(tmp_path / "s.837", BODY.replace("*", "|"), other)
    writer, _out = _writer(header)
    with pytest.raises(ValueError, match="other delimiters"):
        copy_claims(writer, path)


def test_a_source_cut_short_is_an_error(tmp_path, header):
    path = _source(tmp_path / "s.837", BODY)
    text = path.read_text()
    path.write_text(text[:text.index("\nSE*") + 1])
    writer, _out = _writer(header)
    with pytest.raises(ValueError, match="ends before its SE"):
        copy_claims(writer, path)


# --------------------------------------------------------------------------------------------- parity

@pytest.fixture(scope="module")
def original(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("gen")
    generate(out, seed=3, claims=400, claims_per_file=400)
    return next(out.glob("claims-*.837"))


def _written(claims, header) -> str:
    writer, out = _writer(header)
    for claim in claims:
        writer.write_claim(claim)
    writer.finish()
    return out.getvalue()


def test_claims_joined_from_parts_are_what_one_writer_writes(original, tmp_path, header):
    """Claims written in two parts by two writers and joined with their original 2000A as the key (as the
    workers note it) give the serial writer's bytes, whether the seam splits a billing provider's claims
    or falls between two."""
    reader = X12Reader(original, only="837")
    claims, providers = [], []
    for claim in reader:
        claims.append(claim)
        providers.append(reader.context_at["2000A"])
    serial = _written(claims, header)
    groups = [n for n in range(1, len(claims)) if providers[n] != providers[n - 1]]
    inside = next(n for n in range(1, len(claims)) if providers[n] == providers[n - 1])
    assert len(groups) > 5 and serial.count("*20*1~") < len(claims)  # claims do share billing providers
    for cut in (inside, groups[0], len(claims) // 2, len(claims) - 1):
        assert claims[cut].subscriber is not claims[cut - 1].subscriber  # only a 2000A continues over a seam
        parts = []
        for k, (a, b) in enumerate(((0, cut), (cut, len(claims)))):
            path = tmp_path / f"part{k}.837"
            path.write_text(_written(claims[a:b], header))
            parts.append((path, providers[a:b]))
        writer, out = _writer(header)
        for path, keys in parts:
            copy_claims(writer, path, providers=keys)
        writer.finish()
        assert out.getvalue() == serial, cut


def test_claims_dropped_from_an_output_are_what_writing_the_kept_claims_again_gives(original, tmp_path, header):
    """The IG gate's rewrite: the copier against reading the file into models and writing the kept claims."""
    path = tmp_path / "spool.837"
    path.write_text(_written(X12Reader(original, only="837"), header))
    claims = list(X12Reader(path, only="837"))
    assert any(c.patient is not None for c in claims)
    rng = random.Random(5)
    count = len(claims)
    for keep in ({n for n in range(count) if n != 0}, {n for n in range(count) if n != count // 2},
                 set(range(count - 1)), {n for n in range(count) if rng.random() < 0.5},
                 {n for n in range(count) if rng.random() < 0.1}, {count - 1}, set(range(count))):
        writer, out = _writer(header)
        copy_claims(writer, path, keep=keep)
        writer.finish()
        assert out.getvalue() == _written([c for n, c in enumerate(claims) if n in keep], header), len(keep)
