"""A deterministic mutation corpus for differential tests of `cob validate` against pyx12.

Base files (all synthetic, one segment per line so that pyx12's "Line:N" is a segment number):

- small 837P / 835 files from `cob.fixtures.generate` with fixed seeds (a few claims each), in two
  delimiter styles (`*:~^` + LF and `|>~^` + CRLF);
- `tests/data/*.837`, `tests/data/*.835`;
- a few files of `fixtures/sample/`, re-rendered one segment per line.

Every mutation applies exactly one defect to one base file and records what it did: the operator,
the segment number (1-based from ISA, in the *mutated* file) where the defect is, the element when
it is an element defect, and the 999 / TA1 code a validator is expected to report (`ik3`, `ik4`,
`ik5`, `ak9`, `ta1`), or `expect_valid` for control mutations (deleting an optional segment).

Where the defect sits, per operator family:
- deleted segment: the segment that now occupies the deleted one's place (the next one);
- inserted / duplicated segment: the inserted copy;
- swapped pair: the first segment of the pair (where the segment that now follows it was due);
- moved loop: the first segment after the moved block (the one left out of order);
- element / envelope defects: the segment holding the element.

The recorded codes are what a 999 should say (reference §7.3), not what pyx12 says: e.g. a bad code
in a segment's qualifier element (SBR01, TRN01, CAS01) is recorded as IK403=7 although pyx12 (and
a validator that identifies segments by qualifier, as cob does) reports the segment as not found.

Thinning: each operator hits one occurrence per base (the first or the last, by a stable hash), and
repetitive element / envelope mutations apply to about 2/3 (ISA ones 1/2) of the bases, which keeps
the corpus at ~950 files -- about a minute of pyx12 on 2 cores, cached afterwards (see
`pyx12_verdicts`).

`build_corpus()` is a pure function of the repository's fixtures: same input, same corpus, same
mutation ids (`<base>/<operator>/<segment no>[/<variant>]`), so known disagreements can be listed by
id. Nothing is written to the repository; `write_corpus(dir)` writes the files.

    python tests/validate/mutations.py OUT_DIR      # write the corpus and print a summary
"""

from __future__ import annotations

import functools
import hashlib
import re
import zlib
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent
REPO = TESTS.parent
DATA = TESTS / "data"
FIXTURE_SAMPLE = REPO / "cob" / "fixtures" / "sample"

# fixtures/sample files used as bases (the rest are similar)
SAMPLE_BASES = ("claims-0001.837", "remit-0003.reprocessed.835", "remit2-0001.835")
# (seed, claims, claims per file, delimiter spec, line ending)
GENERATED_BASES = ((11, 6, 3, "*:~^", "lf"), (12, 2, 2, "|>~^", "crlf"))


# --------------------------------------------------------------------------------------------
# Base files
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Base:
    name: str
    kind: str  # "837" or "835"
    segments: tuple[tuple[str, ...], ...]  # elements, [0] = segment id; composites unsplit
    element: str = "*"
    component: str = ":"
    terminator: str = "~"
    line_ending: str = "\n"

    def render(self, segments: list[list[str]] | tuple[tuple[str, ...], ...]) -> str:
        end = self.terminator + self.line_ending
        return "".join(self.element.join(seg) + end for seg in segments)

    @property
    def text(self) -> str:
        return self.render(self.segments)

    @property
    def sha(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()[:16]


def parse_x12(text: str) -> tuple[list[list[str]], str, str, str]:
    """(segments, element sep, component sep, terminator) of an X12 text (ISA fixed layout)."""
    text = text.lstrip("\ufeff \r\n\t")
    if not text.startswith("ISA") or len(text) < 106:
        raise ValueError("not an X12 interchange")
    element, component, terminator = text[3], text[104], text[105]
    segments = []
    for raw in text.split(terminator):
        raw = raw.strip("\r\n")
        if raw.strip():
            segments.append(raw.split(element))
    return segments, element, component, terminator


def _base_from_text(name: str, text: str, line_ending: str = "\n") -> Base:
    segments, element, component, terminator = parse_x12(text)
    st = next(s for s in segments if s[0] == "ST")
    return Base(name, st[1], tuple(tuple(s) for s in segments), element, component, terminator, line_ending)


@functools.cache
def load_bases() -> tuple[Base, ...]:
    from cob.fixtures.generate import generate

    bases: list[Base] = []
    for seed, claims, per_file, delims, ending in GENERATED_BASES:
        with tempfile.TemporaryDirectory(prefix="cob-mutbase-") as tmp:
            result = generate(Path(tmp), seed=seed, claims=claims, claims_per_file=per_file, isa_per_file=1,
                              delimiters=delims, line_ending=ending)
            for path in sorted(result.claims_files + result.remit_files):
                text = path.read_text(encoding="ascii")
                bases.append(_base_from_text(f"gen{seed}-{path.name}", text, "\r\n" if ending == "crlf" else "\n"))
    for path in sorted(DATA.glob("*.83[57]")):
        bases.append(_base_from_text(f"data-{path.name}", path.read_text(encoding="ascii")))
    for name in SAMPLE_BASES:
        path = FIXTURE_SAMPLE / name
        if path.exists():
            bases.append(_base_from_text(f"sample-{name}", path.read_text(encoding="ascii")))
    return tuple(bases)


# --------------------------------------------------------------------------------------------
# Mutations
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mutation:
    id: str
    base: str
    kind: str  # "837" / "835"
    operator: str
    segment_no: int | None  # where the defect is, 1-based from ISA in the mutated file
    segment_id: str
    description: str
    element: str | None = None  # e.g. "CLM05-03"
    expect_valid: bool = False  # control mutations: the file stays valid at SNIP 1-2
    ik3: str | None = None
    ik4: str | None = None
    ik5: str | None = None
    ak9: str | None = None
    ta1: str | None = None
    text: str = field(default="", repr=False, compare=False)

    @property
    def file_name(self) -> str:
        return self.id.replace("/", "__") + ".x12"

    @property
    def sha(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()


Segs = list[list[str]]


def _loops(base: Base) -> list[str]:
    """A rough IG loop label per segment (enough to pick mutation targets; not a validator)."""
    labels: list[str] = []
    loop = "ISA"
    in_claim = False
    in_2320 = False
    for seg in base.segments:
        sid, q = seg[0], (seg[1] if len(seg) > 1 else "")
        if sid in ("ISA", "GS", "ST", "SE", "GE", "IEA"):
            loop = sid
            in_claim = in_2320 = False
        elif base.kind == "837":
            if sid == "BHT":
                loop = "HEADER"
            elif sid == "HL":
                hl03 = seg[3] if len(seg) > 3 else ""
                loop = {"20": "2000A", "22": "2000B", "23": "2000C"}.get(hl03, "HL?")
                in_claim = in_2320 = False
            elif sid == "NM1":
                if in_2320:
                    loop = {"IL": "2330A", "PR": "2330B"}.get(q, "2330x")
                elif in_claim:
                    loop = "2310x" if loop in ("2300", "2310x") else "2420x"
                else:
                    loop = {"41": "1000A", "40": "1000B", "85": "2010AA", "87": "2010AB", "IL": "2010BA",
                            "PR": "2010BB", "QC": "2010CA"}.get(q, "2010x")
            elif sid == "CLM":
                loop, in_claim, in_2320 = "2300", True, False
            elif sid == "SBR" and in_claim:
                loop, in_2320 = "2320", True
            elif sid == "LX":
                loop, in_2320 = "2400", False
            elif sid == "SVD":
                loop = "2430"
        else:
            if sid == "BPR":
                loop = "HEADER"
            elif sid == "N1":
                loop = {"PR": "1000A", "PE": "1000B"}.get(q, "1000x")
            elif sid == "LX":
                loop = "2000"
            elif sid == "CLP":
                loop = "2100"
            elif sid == "SVC":
                loop = "2110"
            elif sid == "PLB":
                loop = "FOOTER"
        labels.append(loop)
    return labels


class _Builder:
    """Collects the mutations of one base file."""

    def __init__(self, base: Base):
        self.base = base
        self.segs: list[list[str]] = [list(s) for s in base.segments]
        self.loops = _loops(base)
        self.out: list[Mutation] = []
        self.comp = base.component

    # -- targets ------------------------------------------------------------------------------

    def keep(self, key: str, keep: int, of: int) -> bool:
        """Thin out repetitive mutations: apply `key` to about keep/of of the bases (stable)."""
        return zlib.crc32(f"{self.base.name}|{key}".encode()) % of < keep

    def find(self, seg_id: str, qual: str | None = None, loop: str | None = None, tag: str = "",
             every: bool = False) -> list[int]:
        """0-based indexes of matching segments. Unless `every`, one of them: the first or the last
        occurrence, chosen by a stable hash of (base, segment, tag) so bases differ in what they test."""
        hits = [i for i, s in enumerate(self.segs)
                if s[0] == seg_id and (qual is None or (len(s) > 1 and s[1] == qual))
                and (loop is None or self.loops[i] == loop)]
        if every or len(hits) <= 1:
            return hits
        key = f"{self.base.name}|{seg_id}|{qual}|{loop}|{tag}".encode()
        return [hits[-1] if zlib.crc32(key) % 2 else hits[0]]

    def loop_end(self, start: int, stop_ids: set[str], stop_loops: set[str] | None = None) -> int:
        """Index after the loop starting at `start`: the next segment whose id is in stop_ids."""
        i = start + 1
        while i < len(self.segs) and self.segs[i][0] not in stop_ids and \
                (stop_loops is None or self.loops[i] not in stop_loops):
            i += 1
        return i

    # -- emit ---------------------------------------------------------------------------------

    def add(self, operator: str, segs: Segs, at: int | None, description: str, variant: str = "",
            **expect) -> None:
        if operator not in ("wrong_se01", "delete_trailer"):
            _fix_se01(segs)  # one defect per file: a deleted / inserted segment keeps SE01 right
        seg_no = at + 1 if at is not None else None
        seg_id = segs[at][0] if at is not None and at < len(segs) else ""
        mid = f"{self.base.name}/{operator}/{seg_no}" + (f"/{variant}" if variant else "")
        self.out.append(Mutation(id=mid, base=self.base.name, kind=self.base.kind, operator=operator,
                                 segment_no=seg_no, segment_id=seg_id, description=description,
                                 text=self.base.render(segs), **expect))

    def copy(self) -> Segs:
        return [list(s) for s in self.segs]

    def set_element(self, operator: str, i: int, pos: int, value: str, ref: str, description: str,
                    variant: str = "", component: int | None = None, **expect) -> None:
        segs = self.copy()
        seg = segs[i]
        while len(seg) <= pos:
            seg.append("")
        if component is not None:
            parts = seg[pos].split(self.comp)
            while len(parts) < component:
                parts.append("")
            parts[component - 1] = value
            seg[pos] = self.comp.join(parts)
        else:
            seg[pos] = value
        self.add(operator, segs, i, description, variant, element=ref, **expect)

    def delete(self, operator: str, i: int, description: str, **expect) -> None:
        segs = self.copy()
        del segs[i]
        self.add(operator, segs, i, description, **expect)

    def insert(self, operator: str, i: int, seg: list[str], description: str, variant: str = "",
               **expect) -> None:
        segs = self.copy()
        segs.insert(i, seg)
        self.add(operator, segs, i, description, variant, **expect)


def _fix_se01(segs: Segs) -> None:
    start = None
    for i, seg in enumerate(segs):
        if seg[0] == "ST":
            start = i
        elif seg[0] == "SE" and start is not None and len(seg) > 1:
            seg[1] = str(i - start + 1)
            start = None


def _element_ops(b: _Builder, kind: str) -> None:
    """Element-level defects: codes, lengths, types, dates, times, usage, composites."""
    c = b.comp
    # (operator, seg id, qualifier, loop, element pos, component, value or fn, ref, ik4, variant)
    specs: list[tuple] = []
    if kind == "837":
        specs += [
            ("bad_code", "CLM", None, None, 5, 3, "X", "CLM05-03", "7", ""),
            ("bad_code", "SBR", None, "2000B", 1, None, "Z", "SBR01", "7", ""),
            ("bad_code", "NM1", "85", None, 8, None, "QQ", "NM108", "7", ""),
            ("bad_code", "CLM", None, None, 6, None, "Q", "CLM06", "7", ""),
            ("bad_code", "DMG", None, None, 3, None, "Q", "DMG03", "7", ""),
            ("bad_code", "SV1", None, None, 3, None, "XX", "SV103", "7", ""),
            ("bad_code", "BHT", None, None, 2, None, "99", "BHT02", "7", ""),
            ("bad_code", "PER", "IC", None, 3, None, "ZZ", "PER03", "7", ""),
            ("too_long", "CLM", None, None, 1, None, "C" * 39, "CLM01", "5", ""),
            ("too_long", "N4", None, "2010AA", 2, None, "NCC", "N402", "5", ""),
            ("too_long", "NM1", "85", None, 3, None, "A" * 61, "NM103", "5", ""),
            ("too_long", "REF", "6R", None, 2, None, "R" * 51, "REF02", "5", ""),
            ("too_short", "N4", None, "2010AA", 3, None, "12", "N403", "4", ""),
            ("too_short", "NM1", "85", None, 9, None, "1", "NM109", "4", ""),
            ("too_short", "N4", None, "2010AA", 1, None, "A", "N401", "4", ""),
            ("non_numeric", "CLM", None, None, 2, None, "75A1", "CLM02", "6", ""),
            ("non_numeric", "SV1", None, None, 2, None, "19X5", "SV102", "6", ""),
            ("non_numeric", "SV1", None, None, 4, None, "1A", "SV104", "6", ""),
            ("bad_date", "DTP", "472", None, 3, None, "20241341", "DTP03", "8", "month13"),
            ("bad_date", "DTP", "472", None, 3, None, "2024021", "DTP03", "8", "short"),
            ("bad_date", "DMG", None, None, 2, None, "20240230", "DMG02", "8", "feb30"),
            ("bad_date", "BHT", None, None, 4, None, "20241341", "BHT04", "8", ""),
            ("bad_time", "BHT", None, None, 5, None, "2560", "BHT05", "9", ""),
            ("empty_required", "CLM", None, None, 2, None, "", "CLM02", "1", ""),
            ("empty_required", "SV1", None, None, 2, None, "", "SV102", "1", ""),
            ("empty_required", "NM1", "85", None, 3, None, "", "NM103", "1", ""),
            ("empty_required", "BHT", None, None, 3, None, "", "BHT03", "1", ""),
            ("not_used_filled", "CLM", None, None, 3, None, "X", "CLM03", "I10", ""),
            ("not_used_filled", "SBR", None, "2000B", 6, None, "1", "SBR06", "I10", ""),
            ("not_used_filled", "NM1", "85", None, 6, None, "X", "NM106", "I10", ""),
            ("not_used_filled", "DMG", None, None, 4, None, "M", "DMG04", "I10", ""),
            ("composite_too_many", "SV1", None, None, 1, None, "+:X:X:X:X:X:X:X:X", "SV101", "13", ""),
            ("composite_too_many", "CLM", None, None, 5, None, "+:X", "CLM05", "13", ""),
            ("composite_too_many", "HI", None, None, 1, None, "+:X:X:X:X:X:X:X:X", "HI01", "13", ""),
            ("bad_char", "NM1", "85", None, 3, None, "ACME\x07CLINIC", "NM103", "6", ""),
        ]
    else:
        specs += [
            ("bad_code", "CLP", None, None, 2, None, "99", "CLP02", "7", ""),
            ("bad_code", "NM1", "QC", None, 8, None, "QQ", "NM108", "7", ""),
            ("bad_code", "BPR", None, None, 3, None, "X", "BPR03", "7", ""),
            ("bad_code", "CLP", None, None, 6, None, "99", "CLP06", "7", ""),
            ("bad_code", "CAS", None, None, 1, None, "ZZ", "CAS01", "7", ""),
            ("bad_code", "TRN", None, None, 1, None, "9", "TRN01", "7", ""),
            ("too_long", "CLP", None, None, 1, None, "C" * 39, "CLP01", "5", ""),
            ("too_long", "TRN", None, None, 2, None, "T" * 51, "TRN02", "5", ""),
            ("too_long", "REF", "6R", None, 2, None, "R" * 51, "REF02", "5", ""),
            ("too_long", "N4", None, "1000A", 2, None, "ILL", "N402", "5", ""),
            ("too_short", "N4", None, "1000A", 1, None, "A", "N401", "4", ""),
            ("too_short", "TRN", None, None, 3, None, "123456789", "TRN03", "4", ""),
            ("non_numeric", "CLP", None, None, 3, None, "22A", "CLP03", "6", ""),
            ("non_numeric", "SVC", None, None, 2, None, "1X0", "SVC02", "6", ""),
            ("non_numeric", "BPR", None, None, 2, None, "9Z.11", "BPR02", "6", ""),
            ("non_numeric", "CAS", None, None, 3, None, "7X", "CAS03", "6", ""),
            ("bad_date", "BPR", None, None, 16, None, "20241341", "BPR16", "8", "month13"),
            ("bad_date", "BPR", None, None, 16, None, "2024021", "BPR16", "8", "short"),
            ("bad_date", "DTM", "472", None, 2, None, "20240230", "DTM02", "8", "feb30"),
            ("bad_date", "DTM", "405", None, 2, None, "20241341", "DTM02", "8", ""),
            ("empty_required", "CLP", None, None, 2, None, "", "CLP02", "1", ""),
            ("empty_required", "CLP", None, None, 3, None, "", "CLP03", "1", ""),
            ("empty_required", "SVC", None, None, 2, None, "", "SVC02", "1", ""),
            ("empty_required", "BPR", None, None, 2, None, "", "BPR02", "1", ""),
            ("empty_required", "N1", "PR", None, 2, None, "", "N102", "1", ""),
            ("not_used_filled", "CLP", None, None, 10, None, "1", "CLP10", "I10", ""),
            ("not_used_filled", "NM1", "QC", None, 6, None, "X", "NM106", "I10", ""),
            ("not_used_filled", "BPR", None, None, 17, None, "X", "BPR17", "I10", ""),
            ("composite_too_many", "SVC", None, None, 1, None, "+:X:X:X:X:X:X:X:X", "SVC01", "13", ""),
            ("bad_char", "N1", "PR", None, 2, None, "PAYER\x07NAME", "N102", "6", ""),
        ]
    for op, sid, qual, loop, pos, comp, value, ref, ik4, variant in specs:
        if not b.keep(f"{op}{ref}{variant}", 2, 3):
            continue
        for i in b.find(sid, qual, loop, tag=f"{op}{ref}{variant}"):
            current = b.segs[i][pos] if len(b.segs[i]) > pos else ""
            if value.startswith("+"):
                if not current:
                    continue
                value_i = current + value[1:].replace(":", c)
            else:
                value_i = value
            if value_i == current:
                continue
            what = f"{ref} = {value_i!r}" if len(value_i) < 12 else f"{ref} of {len(value_i)} characters"
            b.set_element(op, i, pos, value_i, ref, f"{op}: {what}", variant, component=comp, ik3="8", ik4=ik4)


def _segment_ops(b: _Builder, kind: str) -> None:
    segs = b.segs
    # delete a required segment
    required = (
        [("CLM", None, None), ("SV1", None, None), ("NM1", "85", None), ("N4", None, "2010AA"), ("NM1", "41", None),
         ("BHT", None, None), ("HI", None, None), ("DTP", "472", None), ("SBR", None, "2000B"),
         ("NM1", "IL", "2010BA"), ("NM1", "PR", "2010BB"), ("OI", None, None)]
        if kind == "837" else
        [("BPR", None, None), ("TRN", None, None), ("CLP", None, None), ("N1", "PR", None), ("N1", "PE", None),
         ("N4", None, "1000A"), ("NM1", "QC", None), ("PER", "BL", None)])
    for sid, qual, loop in required:
        for i in b.find(sid, qual, loop, tag="delete_required"):
            b.delete("delete_required", i, f"delete required {sid}{'*' + qual if qual else ''} ({b.loops[i]})",
                     ik3="3")
    # delete an optional (situational) segment: control cases, still valid at SNIP 1-2
    optional = (
        [("REF", "6R", None), ("DMG", None, "2010BA"), ("PRV", "BI", None), ("DTP", "431", None),
         ("N3", None, "2010BA")]
        if kind == "837" else
        [("DTM", "405", None), ("REF", "2U", None), ("AMT", "B6", None), ("DTM", "232", None),
         ("REF", "6R", None), ("MOA", None, None), ("N3", None, "1000B"), ("CAS", None, None)])
    for sid, qual, loop in optional:
        for i in b.find(sid, qual, loop, tag="delete_optional"):
            if sid == "N3" and i + 1 < len(segs) and segs[i + 1][0] != "N4":
                continue
            b.delete("delete_optional", i, f"delete situational {sid} ({b.loops[i]})", expect_valid=True)
    # duplicate a segment past its maximum use
    dupes = (
        [("BHT", None, None), ("N4", None, "2010AA"), ("DMG", None, None), ("HI", None, None), ("SV1", None, None),
         ("DTP", "472", None), ("SBR", None, "2000B")]
        if kind == "837" else
        [("BPR", None, None), ("TRN", None, None), ("N4", None, "1000A"), ("NM1", "QC", None),
         ("DTM", "405", None)])
    for sid, qual, loop in dupes:
        for i in b.find(sid, qual, loop, tag="duplicate"):
            b.insert("duplicate_segment", i + 1, list(segs[i]), f"{sid} repeated past its maximum use", ik3="5")
    # a second PLB: the 835 lets PLB repeat (six adjustments each), pyx12 calls it a second footer loop
    # (not a control mutation, since pyx12 rejects it; the disagreement is listed with its reason)
    if kind == "835":
        for i in b.find("PLB", tag="repeat_plb"):
            b.insert("repeat_plb", i + 1, list(segs[i]), "a second PLB (PLB may repeat in the 835 footer)")
    # insert an unknown segment id / a segment of the other transaction
    anchors = ([("ST", None), ("CLM", None), ("SV1", None), ("SE", None)] if kind == "837"
               else [("BPR", None), ("CLP", None), ("SVC", None), ("SE", None)])
    for sid, _q in anchors:
        for i in b.find(sid, tag="insert_unknown"):
            at = i if sid == "SE" else i + 1
            b.insert("insert_unknown", at, ["ZZZ", "1"], f"unknown segment ZZZ after {segs[at - 1][0]}", ik3="1")
    foreign = ([("CLM", ["CLP", "X", "1", "1", "1", "", "12", "1"]), ("BHT", ["BPR", "I", "1", "C", "CHK"])]
               if kind == "837" else
               [("CLP", ["CLM", "X", "1", "", "", b.comp.join(["11", "B", "1"]), "Y", "A", "Y", "Y"]),
                ("SVC", ["SV1", b.comp.join(["HC", "99213"]), "1", "UN", "1", "", "", "1"])])
    for anchor, seg in foreign:
        for i in b.find(anchor)[:1]:
            b.insert("insert_foreign", i + 1, seg, f"{seg[0]} (not in this transaction) after {anchor}", ik3="2")
    # swap two adjacent segments
    pairs = ([("N3", "N4", "2010AA"), ("SV1", "DTP", None), ("CLM", "HI", None), ("N4", "DMG", None),
              ("NM1", "N3", "2010AA"), ("SBR", "NM1", "2000B")]
             if kind == "837" else
             [("BPR", "TRN", None), ("N3", "N4", "1000A"), ("CLP", "NM1", None), ("SVC", "DTM", None),
              ("CAS", "REF", None), ("N1", "N3", "1000B")])
    for first, second, loop in pairs:
        hits = [i for i in range(len(segs) - 1) if segs[i][0] == first and segs[i + 1][0] == second
                and (loop is None or b.loops[i] == loop)]
        if len(hits) > 1:
            hits = [hits[-1] if zlib.crc32(f"{b.base.name}|{first}|{second}".encode()) % 2 else hits[0]]
        for i in hits:
            new = b.copy()
            new[i], new[i + 1] = new[i + 1], new[i]
            b.add("swap_adjacent", new, i, f"{new[i][0]} and {new[i + 1][0]} swapped ({b.loops[i]})", ik3="7")
    _move_loops(b, kind)
    _envelope_ops(b, kind)
    _counter_ops(b, kind)
    # too many elements: one more element than the segment has in the standard
    full = ({"LX": 1, "N3": 2, "DTP": 3, "HL": 4} if kind == "837" else {"LX": 1, "N3": 2, "AMT": 3, "TRN": 4})
    for sid, n in full.items():
        for i in b.find(sid, tag="too_many"):
            new = b.copy()
            seg = new[i]
            while len(seg) <= n:
                seg.append("X")
            seg.append("X")
            b.add("too_many_elements", new, i, f"{sid} with {n + 1} elements (standard max {n})",
                  element=f"{sid}{n + 1:02d}", ik3="8", ik4="3")
    # trailing element separator
    for i in b.find("N3")[:1]:
        new = b.copy()
        new[i] = new[i] + [""]
        b.add("trailing_separator", new, i, "N3 ends with an element separator", ik3="8")


def _move_loops(b: _Builder, kind: str) -> None:
    segs = b.segs

    def move(start: int, end: int, dest: int, description: str) -> None:
        """Move segs[start:end] so that it starts at dest (dest < start)."""
        block = [list(s) for s in segs[start:end]]
        new = b.copy()
        del new[start:end]
        new[dest:dest] = block
        b.add("move_loop", new, dest + len(block), description, ik3="7")

    if kind == "837":
        # first 2400 of a claim moved right after CLM (before HI / 2300 segments)
        for c in b.find("CLM"):
            lx = next((i for i in range(c + 1, len(segs)) if segs[i][0] in ("LX", "HL", "SE")), None)
            if lx is not None and segs[lx][0] == "LX":
                end = b.loop_end(lx, {"LX", "HL", "SE", "CLM"})
                move(lx, end, c + 1, "2400 moved before the rest of 2300")
        # 2010BB before 2010BA
        for i in b.find("NM1", "IL", "2010BA"):
            pr = b.loop_end(i, {"NM1", "CLM", "HL"})
            if pr < len(segs) and segs[pr][0] == "NM1" and segs[pr][1] == "PR":
                end = b.loop_end(pr, {"NM1", "CLM", "HL", "SE"})
                move(pr, end, i, "2010BB moved before 2010BA")
        # 2320 after the 2400 loops: move the first 2400 before the 2320
        for i in b.find("SBR", loop="2320")[:1]:
            lx = next((k for k in range(i + 1, len(segs)) if segs[k][0] in ("LX", "HL", "CLM", "SE")), None)
            if lx is not None and segs[lx][0] == "LX":
                end = b.loop_end(lx, {"LX", "HL", "SE", "CLM"})
                move(lx, end, i, "2400 moved before 2320")
    else:
        # 1000B before 1000A
        for i in b.find("N1", "PR")[:1]:
            pe = next((k for k in range(i + 1, len(segs)) if segs[k][0] == "N1"), None)
            if pe is not None and segs[pe][1] == "PE":
                end = b.loop_end(pe, {"LX", "SE", "CLP"})
                move(pe, end, i, "1000B moved before 1000A")
        # first 2110 moved before NM1*QC (right after CLP)
        for c in b.find("CLP"):
            svc = next((k for k in range(c + 1, len(segs)) if segs[k][0] in ("SVC", "CLP", "LX", "SE", "PLB")), None)
            if svc is not None and segs[svc][0] == "SVC":
                end = b.loop_end(svc, {"SVC", "CLP", "LX", "SE", "PLB"})
                move(svc, end, c + 1, "2110 moved before the 2100 segments")
        # 2100 moved before its LX (claim directly under the header)
        for i in b.find("LX")[:1]:
            clp = i + 1
            if clp < len(segs) and segs[clp][0] == "CLP":
                end = b.loop_end(clp, {"CLP", "LX", "SE", "PLB"})
                move(clp, end, i, "2100 moved before the 2000 LX")


def _envelope_ops(b: _Builder, kind: str) -> None:
    segs = b.segs
    for i in b.find("SE", tag="se") if b.keep("se", 2, 3) else ():
        b.set_element("wrong_se01", i, 1, str(int(segs[i][1]) + 1), "SE01", "SE01 one more than the count",
                      ik5="4")
        b.set_element("mismatched_se02", i, 2, "9" + segs[i][2][1:] if segs[i][2][0] != "9" else "8" + segs[i][2][1:],
                      "SE02", "SE02 differs from ST02", ik5="3")
    for i in b.find("GE") if b.keep("ge", 2, 3) else ():
        b.set_element("wrong_ge01", i, 1, str(int(segs[i][1]) + 1), "GE01", "GE01 one more than the ST count",
                      ak9="5")
        b.set_element("mismatched_ge02", i, 2, segs[i][2] + "1", "GE02", "GE02 differs from GS06", ak9="4")
    for i in b.find("IEA") if b.keep("iea", 2, 3) else ():
        b.set_element("wrong_iea01", i, 1, str(int(segs[i][1]) + 1), "IEA01", "IEA01 one more than the GS count",
                      ta1="021")
        isa13 = segs[i][2]
        b.set_element("mismatched_iea02", i, 2, isa13[:-1] + ("1" if isa13[-1] != "1" else "2"), "IEA02",
                      "IEA02 differs from ISA13", ta1="001")
    # trailers missing
    for sid, code in (("SE", {"ik5": "2"}), ("GE", {"ak9": "3"}), ("IEA", {"ta1": "023"})):
        for i in b.find(sid)[-1:]:
            b.delete("delete_trailer", i, f"{sid} deleted", **code)
    # ISA / GS element defects (fixed widths kept)
    isa = 0
    if not b.keep("isa", 1, 2):
        return
    bad13 = segs[isa][13][:-1] + "A"
    new = b.copy()
    new[isa][13] = bad13
    for seg in new:
        if seg[0] == "IEA" and seg[2] == segs[isa][13]:
            seg[2] = bad13  # IEA02 follows, so the only defect is ISA13's character set
    b.add("isa_defect", new, isa, "ISA13 not numeric (IEA02 the same)", "control", element="ISA13", ta1="018")
    b.set_element("isa_defect", isa, 9, "261341", "ISA09", "ISA09 invalid date", "date", ta1="014")
    b.set_element("isa_defect", isa, 10, "2599", "ISA10", "ISA10 invalid time", "time", ta1="015")
    b.set_element("isa_defect", isa, 15, "X", "ISA15", "ISA15 invalid test indicator", "usage", ta1="020")
    b.set_element("isa_defect", isa, 12, "00401", "ISA12", "ISA12 version 00401", "version", ta1="017")
    for i in b.find("GS")[:1]:
        b.set_element("bad_date", i, 4, "20241341", "GS04", "GS04 invalid date", "gs", ak9="6")
        b.set_element("bad_time", i, 5, "2599", "GS05", "GS05 invalid time", "gs", ak9="6")
        b.set_element("gs_version", i, 8, segs[i][8][:-1] + "2", "GS08", "GS08 names an unsupported guide",
                      ak9="2")


def _counter_ops(b: _Builder, kind: str) -> None:
    segs = b.segs
    if kind != "837":
        return
    hls = [i for i, s in enumerate(segs) if s[0] == "HL"]
    for i in [h for h in hls if segs[h][2]][-1:]:
        b.set_element("hl_bad_parent", i, 2, "99", "HL02", "HL02 names an HL that does not exist", ik3="8")
    if len(hls) > 1:
        for i in (hls[-1],):
            b.set_element("hl_out_of_sequence", i, 1, str(int(segs[i][1]) + 5), "HL01", "HL01 skips numbers",
                          ik3="8")
    # LX01 out of sequence within a claim
    done = 0
    for c in b.find("CLM", every=True):
        lxs = [k for k in range(c + 1, b.loop_end(c, {"CLM", "HL", "SE"})) if segs[k][0] == "LX"]
        if len(lxs) > 1 and done < 1:
            b.set_element("lx_out_of_sequence", lxs[1], 1, str(int(segs[lxs[1]][1]) + 5), "LX01",
                          "LX01 skips numbers", ik3="8")
            done += 1


def mutate(base: Base) -> list[Mutation]:
    b = _Builder(base)
    _element_ops(b, base.kind)
    _segment_ops(b, base.kind)
    seen: set[str] = set()
    out = []
    for m in b.out:
        if m.id in seen:  # same operator and position from two specs: keep the first
            continue
        seen.add(m.id)
        out.append(m)
    return out


@functools.cache
def build_corpus() -> tuple[Mutation, ...]:
    return tuple(m for base in load_bases() for m in mutate(base))


def write_corpus(out_dir: Path, corpus: tuple[Mutation, ...] | None = None) -> dict[str, Path]:
    """Write every mutation (and each base, as `<base>.x12`) into out_dir; id -> path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for base in load_bases():
        path = out_dir / f"{base.name}.base.x12"
        path.write_bytes(base.text.encode("latin-1"))
        paths[base.name] = path
    for m in corpus if corpus is not None else build_corpus():
        path = out_dir / m.file_name
        path.write_bytes(m.text.encode("latin-1"))
        paths[m.id] = path
    return paths


def summary(corpus: tuple[Mutation, ...]) -> Counter:
    return Counter(m.operator for m in corpus)


def _main(argv: list[str]) -> int:
    sys.path.insert(0, str(REPO))
    out = Path(argv[0]) if argv else Path(tempfile.mkdtemp(prefix="cob-mutations-"))
    corpus = build_corpus()
    write_corpus(out, corpus)
    for op, n in sorted(summary(corpus).items()):
        print(f"{op:22} {n}")
    print(f"{'total':22} {len(corpus)} files in {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))



# --------------------------------------------------------------------------------------------
# The pyx12 side: verdicts, run in a process pool and cached by file content
# --------------------------------------------------------------------------------------------

_LINE = re.compile(r"Line:(\d+)")
# "(NM102)", "(CLM05-01)" name an element and stay; any other parenthesised text is a value.
_VALUE = re.compile(r"\((?![A-Z][A-Z0-9]{1,2}\d{2}(?:-\d{2})?\))[^()]*\)")
CACHE_NAME = "pyx12-verdicts.json"


def pyx12_verdict(path: str | Path) -> dict:
    """{"ok", "lines" (segment number per error, None = no line: envelope/file level), "messages"
    (values masked)} from tests/pyx12_oracle.py; tolerated pyx12 gaps are not errors."""
    if str(TESTS) not in sys.path:
        sys.path.insert(0, str(TESTS))
    from pyx12_oracle import pyx12_report

    report = pyx12_report(path)
    lines: list[int | None] = []
    messages: list[str] = []
    for message in report.errors:
        match = _LINE.search(message)
        lines.append(int(match.group(1)) if match else None)
        messages.append(_VALUE.sub("(value)", message))
    return {"ok": report.ok, "lines": lines, "messages": messages}


def _verdict_job(item: tuple[str, str]) -> tuple[str, dict]:
    key, path = item
    return key, pyx12_verdict(path)


def _cache_file() -> Path:
    import os

    root = Path(os.environ.get("COB_CACHE_DIR") or Path.home() / ".cache" / "cob")
    return root / CACHE_NAME


def _cache_salt() -> str:
    """Verdicts depend on pyx12's version and on the oracle's tolerations."""
    from importlib.metadata import version

    oracle = (TESTS / "pyx12_oracle.py").read_bytes()
    return f"pyx12-{version('pyx12')}-{hashlib.sha256(oracle).hexdigest()[:12]}"


def pyx12_verdicts(paths: dict[str, Path], workers: int = 2, use_cache: bool = True) -> dict[str, dict]:
    """pyx12's verdict per key (id -> path). Verdicts are cached by (salt, file content sha256) in
    $COB_CACHE_DIR/pyx12-verdicts.json (default ~/.cache/cob), so only new or changed files are run;
    those run in a process pool of `workers` (pyx12 is pure Python: ~0.1 s per 5 KB file)."""
    import json
    import os
    from concurrent.futures import ProcessPoolExecutor

    salt = _cache_salt()
    cache_path = _cache_file()
    cache: dict[str, dict] = {}
    if use_cache and cache_path.exists():
        try:
            stored = json.loads(cache_path.read_text())
            cache = stored.get("verdicts", {}) if stored.get("salt") == salt else {}
        except (OSError, ValueError):
            cache = {}
    digests = {key: hashlib.sha256(path.read_bytes()).hexdigest() for key, path in paths.items()}
    todo = sorted({digests[k]: str(p) for k, p in paths.items() if digests[k] not in cache}.items())
    if todo:
        if workers > 1 and len(todo) > 20:
            with ProcessPoolExecutor(max_workers=workers) as pool:
                cache.update(pool.map(_verdict_job, todo, chunksize=16))
        else:
            cache.update(map(_verdict_job, todo))
        if use_cache:
            try:
                cache_path.parent.mkdir(parents=True, exist_ok=True)
                tmp = cache_path.with_suffix(f".{os.getpid()}.tmp")
                tmp.write_text(json.dumps({"salt": salt, "verdicts": cache}))
                os.replace(tmp, cache_path)
            except OSError:
                pass
    return {key: cache[digests[key]] for key in paths}
