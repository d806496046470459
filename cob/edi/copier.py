"""Claims copied as text from a written 837P interchange into a `Claim837Writer`'s open transaction set.

Two jobs need it, and both used to do it their own way: `cob secondary` takes claims with IG errors out of
an output file (it used to read the file into models and write the kept claims again), and the parent of a
run in several processes joins the workers' output files (it used to copy their lines, renumbering HLs with
a regex). Both copy claims the writer already wrote, so the text is copied as it is: only the HLs change.

What is copied is the writer's own output, so its structure is known: each claim is its CLM segment and
what follows up to the next HL, CLM or SE; each hierarchical level (2000A billing provider, 2000B subscriber,
2000C patient) is its HL and what follows up to the next HL or CLM. A claim is written under the levels it
sat under in the source. A level is written again, with HL01 the next number and HL02 its parent's new
number, unless the claim before it in the output sits under the same level (and, for a 2000B or 2000C,
under the same levels above it): then the claim hangs under that one, as the writer shares a level between
consecutive claims of one context. "The same level" means the same HL of the same source, so dropping
claims from a file gives what reading the kept claims and writing them again gives; across sources, the
caller may say which original billing provider level each claim came from (`providers`), so a 2000A
continues over the seam between two workers' files as in a serial run.

Levels none of whose claims is copied are left out. The source's delimiters must be the writer's (the text
is not re-delimited); the header (BHT, 1000A, 1000B) and the envelope come from the writer, not the source.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Hashable, Iterable, Sequence

from .tokens import CHUNK, _isa_delimiters
from .writer import Claim837Writer

#: HL03 -> hierarchical level (the writer's index): billing provider, subscriber, patient
LEVELS = {"20": 0, "22": 1, "23": 2}


@lru_cache(maxsize=8)
def _unit_starts(sep: str, end: str) -> re.Pattern:
    """The segments a unit starts with (HL, CLM; SE ends the claims), each after a segment's end."""
    return re.compile(re.escape(end) + "(HL|CLM|SE)" + re.escape(sep))


def copy_claims(writer: Claim837Writer, source: str | Path, keep: Iterable[int] | None = None,
                providers: Sequence[Hashable] | None = None) -> list[tuple[int, int]]:
    """Copy the claims of `source` (an interchange written by `Claim837Writer`, one transaction set) into
    `writer`'s open transaction set, after what it holds; returns the (first, last) segment numbers in the
    output of each claim copied, its new levels included.

    `keep`: the numbers (0 = the source's first claim) of the claims to copy; None copies all.
    `providers`: for each claim of the source, a key naming the original billing provider level it came
    from; a claim shares the 2000A of the claim before it (in the output, from this or an earlier source)
    when their keys are equal. None: claims share a 2000A only when they sat under the same HL of `source`.

    On an error the output holds part of the source: the caller discards it (it is a temp file).
    """
    if not writer._in_st:  # noqa: SLF001 - the copier continues the writer's levels and counts
        raise ValueError("copy_claims needs a writer with an open transaction set")
    wanted = None if keep is None else frozenset(keep)
    seg = writer.seg
    sep, end = writer.d.element, seg.end
    starts = _unit_starts(sep, end)
    skip = len(end)
    # the writer's open levels: their HL numbers and what they came from (a context model after
    # `write_claim`, an origin of this copier after a copy: the two are never equal)
    ids: list[int] = writer._ids  # noqa: SLF001
    keys: list[Any] = writer._keys  # noqa: SLF001
    hl = writer._hl  # noqa: SLF001
    token = object()  # this source: its levels are the same as another copy's only through `providers`
    #: per level of the source's open HLs: (its HL01, the level's text after HL02, its segment count)
    open_levels: list[tuple[str, str, int] | None] = [None, None, None]
    depth = -1  # level of the source's last HL
    n = -1  # number of the claim last met
    total = seg.total
    spans: list[tuple[int, int]] = []
    with open(source, encoding="utf-8", newline="") as fh:
        text = fh.read(CHUNK)
        _check_format(text, writer, source)
        kind = None  # the open unit: its kind and where it starts
        at = 0
        while True:
            out: list[str] = []
            done = False
            for match in starts.finditer(text):
                b = match.start() + skip
                if kind == "HL":
                    p2 = text.index(sep, at + 3)  # HL01 ends
                    p3 = text.index(sep, p2 + 1)  # HL02 ends
                    depth = LEVELS.get(text[p3 + 1:p3 + 3], -1)
                    if depth < 0:
                        raise ValueError(f"{source}: segment {text[at:p3 + 3]!r} is no 837P level")
                    open_levels[depth] = (text[at + 3:p2], text[p3 + 1:b], text.count(end, at, b))
                    open_levels[depth + 1:] = [None] * (2 - depth)
                elif kind == "CLM":
                    n += 1
                    if depth < 1:
                        raise ValueError(f"{source}: a claim outside a subscriber level")
                    if wanted is None or n in wanted:
                        first = total + 1
                        shared = True
                        for level in range(depth + 1):
                            number, tail, count = open_levels[level]
                            origin = providers[n] if level == 0 and providers is not None else (token, number)
                            if shared and origin == keys[level]:
                                continue
                            shared = False
                            hl += 1
                            ids[level] = hl
                            keys[level] = origin
                            out.append(f"HL{sep}{hl}{sep}{ids[level - 1] if level else ''}{sep}")
                            out.append(tail)
                            total += count
                        if depth < 2:
                            keys[depth + 1:] = [None] * (2 - depth)
                        out.append(text[at:b])
                        total += text.count(end, at, b)
                        spans.append((first, total))
                kind = match.group(1)
                at = b
                if kind == "SE":
                    done = True
                    break
            seg.out.write("".join(out))
            if done:
                break
            more = fh.read(CHUNK)
            if not more:
                raise ValueError(f"{source}: the transaction set ends before its SE")
            if kind is None:  # still in the header: keep enough to find a unit start across the seam
                text = text[-(skip + 4):] + more
            else:
                text = text[at:] + more
                at = 0
    if providers is not None and n + 1 != len(providers):
        raise ValueError(f"{source}: {n + 1} claims, {len(providers)} billing provider keys")
    seg.count += total - seg.total
    seg.total = total
    writer._hl = hl  # noqa: SLF001
    writer.claims += len(spans)
    return spans


def _check_format(text: str, writer: Claim837Writer, source: str | Path) -> None:
    """The source must be written with the writer's delimiters and segment ends: its text is copied as is."""
    at = text.find("ISA")
    if at < 0:
        raise ValueError(f"{source}: no ISA")
    delimiters, length, _errors = _isa_delimiters(text[at:], str(source), 1)
    end = writer.seg.end
    if delimiters != writer.d or text[at + length:at + length + len(end)] != end:
        raise ValueError(f"{source}: written with other delimiters or segment ends than the output")
