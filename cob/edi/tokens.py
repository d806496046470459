"""Segments out of an X12 file, streamed in chunks.

Delimiters are read from each ISA at their fixed offsets (element separator at 3, repetition separator
at 82, component separator at 104, segment terminator at 105), so files with `|`, `>` or `^` read the
same as the usual `*`, `:`, `~`. A UTF-8 byte-order mark, CR/LF after terminators and indented segments
are accepted. Each ISA re-reads the delimiters, so several interchanges with different delimiters can
share one file. Memory is bounded by the chunk size, not the file size.

The hot path works on plain strings: a segment is a list of element strings ([0] is the segment id);
composites stay joined until a consumer asks for their components.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path
from typing import Iterator

from .errors import X12Error, X12SyntaxError

CHUNK = 1 << 20
#: the longest segment read (characters). The longest 5010 837P/835/999 segment is well under 3,000; text
#: that runs on without a terminator (a roster or a report pasted after an ISA, a binary file) is refused
#: once this long, so memory and time stay bounded whatever the line's length (code `segment_too_long`).
MAX_SEGMENT = 1 << 16
#: segment ids of the interchange, group and transaction envelopes
ENVELOPE_IDS = frozenset({"ISA", "IEA", "GS", "GE", "ST", "SE"})
_WS = " \t\r\n\x00"
#: ISA element widths, ISA01..ISA16 (ISA00 is the id).
ISA_WIDTHS = (2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1, 1)


@dataclass(frozen=True, slots=True)
class Delimiters:
    element: str = "*"
    component: str = ":"
    repetition: str = "^"
    segment: str = "~"


DEFAULT_DELIMITERS = Delimiters()


def _isa_delimiters(buf: str, file: str, seg_no: int) -> tuple[Delimiters, int, list[X12Error]]:
    """Delimiters of the ISA at the start of `buf`, the length of the ISA text and any width errors.

    A collapsed (not fixed-width) ISA is reported, then read by its separators so the rest of the
    file can still be located precisely. The codes (isa_width, isa_incomplete; not_x12 and no_isa in
    `RawSegments`) are those of the envelope code list, `cob.edi.envelope.CODES`.
    """
    errors: list[X12Error] = []
    sep = buf[3] if len(buf) > 3 else "*"
    fixed = len(buf) >= 106 and buf[103] == sep and buf[:106].count(sep) == 16
    if fixed:
        d = Delimiters(sep, buf[104], buf[82], buf[105])
        parts = buf[:105].split(sep)
        for i, (value, width) in enumerate(zip(parts[1:], ISA_WIDTHS), start=1):
            if len(value) != width:
                errors.append(X12Error(file, seg_no, "ISA", f"ISA{i:02d} must be {width} characters wide, "
                                       f"found {len(value)}", code="isa_width"))
        return d, 105, errors
    # Collapsed ISA: find the 16th element separator; ISA16 is one character; the terminator follows.
    pos = -1
    for _ in range(16):
        pos = buf.find(sep, pos + 1)
        if pos < 0:
            raise X12SyntaxError(X12Error(file, seg_no, "ISA", "ISA segment is incomplete", code="isa_incomplete"))
    if pos + 2 >= len(buf):
        raise X12SyntaxError(X12Error(file, seg_no, "ISA", "ISA segment is incomplete", code="isa_incomplete"))
    component, terminator = buf[pos + 1], buf[pos + 2]
    parts = buf[:pos + 2].split(sep)
    repetition = parts[11] if len(parts) > 11 and len(parts[11]) == 1 else "^"
    errors.append(X12Error(file, seg_no, "ISA", "ISA is not fixed width (106 characters with the terminator)",
                           code="isa_width"))
    return Delimiters(sep, component, repetition, terminator), pos + 2, errors


_NL = "\r\n"
_SEGMENT_ID = re.compile(r"[A-Z][A-Z0-9]{1,2}(?![A-Z0-9])")
_LAST = itemgetter(-1)


class RawSegments:
    """The raw text of each segment of one open file, in order, ISA included.

    `delimiters` and `isa_errors` describe the interchange of the segment last yielded; `bom` tells
    whether the file began with a UTF-8 byte-order mark. Line breaks are layout unless the segment
    terminator is one, so they are dropped from each chunk wholesale. A space before a segment is kept
    as one leading space, for a validator to report (readers strip it).
    """

    def __init__(self, fh, name: str, chunk_size: int = CHUNK, progress=None):
        self.fh = fh
        self.name = name
        self.chunk_size = chunk_size
        self.progress = progress
        self.delimiters = DEFAULT_DELIMITERS
        self.isa_errors: list[X12Error] = []
        self.bom = False
        self.count = 0  # segments yielded before the current interchange (kept current at each ISA)

    def _more(self) -> str:
        more = self.fh.read(self.chunk_size)
        if self.progress is not None:
            self.progress(len(more))
        return more

    def __iter__(self) -> Iterator[str]:
        for batch in self.batches():
            yield from batch

    def batches(self) -> Iterator[list[str]]:
        """The same segments in lists (a chunk's worth at a time): a consumer loops over each list
        without resuming a generator per segment. A list never spans two interchanges."""
        buf = self._more()
        if buf.startswith("\ufeff"):
            buf = buf[1:]
            self.bom = True
        eof = not buf
        n = 0
        while True:
            # --- at an interchange boundary: skip white space, expect ISA
            buf = buf.lstrip(_WS)
            while len(buf) < 200 and not eof:
                more = self._more()
                if not more:
                    eof = True
                buf = (buf + more).lstrip(_WS)
            if not buf:
                return
            if not buf.startswith("ISA"):
                self.count = n
                if n:
                    found = _SEGMENT_ID.match(buf)
                    raise X12SyntaxError(X12Error(self.name, n + 1, found.group() if found else None,
                                                  "expected an ISA interchange header", code="no_isa"))
                raise X12SyntaxError(X12Error(self.name, 1, None, "does not look like an X12 file: it does not "
                                              "start with ISA", code="not_x12"))
            delims, isa_len, errs = _isa_delimiters(buf, self.name, n + 1)
            self.delimiters = delims
            self.isa_errors = errs
            term = delims.segment
            layout = term not in _NL
            n += 1
            self.count = n
            yield [buf[:isa_len]]
            buf = buf[isa_len + 1:]
            if layout:
                buf = buf.replace("\n", "").replace("\r", "")
            # the IEA that ends this interchange: at the start of a segment, perhaps after white space
            iea = re.compile(re.escape(term) + "[" + re.escape(_WS) + "]*IEA" + re.escape(delims.element))
            # --- segments of this interchange
            while True:
                found = iea.search(term + buf)
                if found is not None:
                    start = found.start()  # in `buf`: the offset of the terminator before IEA, minus one
                    stop = buf.find(term, start)
                    if stop < 0 and not eof:
                        more = self._more()
                        if not more:
                            eof = True
                        buf += more.replace("\n", "").replace("\r", "") if layout else more
                        continue
                    parts = buf[:stop].split(term) if stop >= 0 else buf.split(term)
                    buf = buf[stop + 1:] if stop >= 0 else ""
                    batch = _clean(parts)
                    _check_lengths(batch, self.name, n)
                    n += len(batch)
                    yield batch
                    break
                parts = buf.split(term)
                rest = parts.pop()
                batch = _clean(parts)
                _check_lengths(batch, self.name, n)
                n += len(batch)
                if batch:
                    yield batch
                if len(rest) > MAX_SEGMENT:
                    _too_long(self.name, n + 1)
                if eof:
                    tail = _clean([rest])
                    if tail:  # a last segment without its terminator
                        n += 1
                        yield tail
                    return
                more = self._more()
                if not more:
                    eof = True
                if layout:
                    more = more.replace("\n", "").replace("\r", "")
                buf = rest + more


def _check_lengths(batch: list[str], name: str, n: int) -> None:
    """Refuse a segment longer than `MAX_SEGMENT` (one C-level pass over the lengths per chunk)."""
    if batch and max(map(len, batch)) > MAX_SEGMENT:
        _too_long(name, n + 1 + next(i for i, raw in enumerate(batch) if len(raw) > MAX_SEGMENT))


def _too_long(name: str, seg_no: int) -> None:
    raise X12SyntaxError(X12Error(name, seg_no, None, f"segment longer than {MAX_SEGMENT} characters (no segment "
                                  "terminator?): not read", code="segment_too_long"))


def _clean(parts: list[str]) -> list[str]:
    """Segments as yielded: empty ones dropped, line breaks and trailing blanks trimmed, a leading blank
    run kept as one space (a validator reports it; readers strip it).

    Most chunks need none of that, and two C-level scans prove it: the smallest segment (an empty one,
    or one starting with a blank or another control character, sorts first) and the smallest last
    character. Then `parts` is returned as it is."""
    if parts:
        first = min(parts)
        if first and first[0] > " " and min(map(_LAST, parts)) > " ":
            return parts
    out = []
    append = out.append
    for raw in parts:
        if not raw:
            continue
        if raw[0] in _WS or raw[-1] in _WS:
            raw = raw.strip(_NL)
            if not raw.strip(_WS):
                continue
            raw = raw.rstrip(_WS)
            if raw[0] in _WS:
                raw = " " + raw.lstrip(_WS)
        append(raw)
    return out


class SegmentReader:
    """Iterates the segments of one file as `(elements, segment_no)`.

    `delimiters` always holds those of the current interchange. Envelope-width problems found while
    reading are appended to `errors` (the envelope layer decides whether they are fatal).
    """

    def __init__(self, path: str | Path, chunk_size: int = CHUNK, name: str | None = None):
        self.path = Path(path)
        self.name = name or str(path)  # what messages call the file (`<stdin>` for a spooled pipe)
        self.chunk_size = chunk_size
        self.delimiters = DEFAULT_DELIMITERS
        self.errors: list[X12Error] = []
        self.segment_no = 0
        self._skip: tuple[str, ...] | None = None  # see `skip_until`
        self._stop_ids: frozenset[str] = frozenset()
        self._skip_key: tuple | None = None
        self._prefixes: tuple[str, ...] = ()

    def skip_until(self, ids: frozenset[str]) -> None:
        """Drop the segments that follow (counting them) until one whose id is in `ids` or is an envelope
        id (ISA GS ST SE GE IEA), which is yielded as usual.

        A reader uses it for a claim it does not build: the segments are neither split nor walked, which
        is most of what reading costs. Only the id is looked at, so whoever skips must know that no
        segment but these can end what it skips (X12Reader makes sure of that for claim loops).
        """
        key = (ids, self.delimiters.element)
        if key != self._skip_key:
            stops = ids | ENVELOPE_IDS
            self._skip_key, self._stop_ids = key, stops
            self._prefixes = tuple(i + key[1] for i in stops)
        self._skip = self._prefixes

    def __iter__(self) -> Iterator[tuple[list[str], int]]:
        with open(self.path, "r", encoding="utf-8", errors="replace", newline="") as fh:
            stream = RawSegments(fh, self.name, self.chunk_size)
            sep = ""
            seen = None
            for batch in stream.batches():
                if stream.isa_errors is not seen:  # a new interchange: its ISA opens this batch
                    seen = stream.isa_errors
                    self.delimiters = stream.delimiters
                    self.errors.extend(stream.isa_errors)
                    sep = self.delimiters.element
                    self._skip = None
                skip = self._skip
                for raw in batch:
                    if raw[0] == " ":
                        raw = raw.lstrip(" ")
                    if skip is not None:
                        if not raw.startswith(skip) and (len(raw) > 3 or raw not in self._stop_ids):
                            self.segment_no += 1
                            continue
                        skip = self._skip = None
                    self.segment_no += 1
                    yield raw.split(sep), self.segment_no
                    skip = self._skip
