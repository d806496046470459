"""Acknowledgments of a validated file: 999 (005010X231A1) per functional group, TA1 per interchange.

Everything here is computed from a `FileResult` alone (the envelope facts and the codes the validator
put on each `Finding`), so acknowledging never re-reads the inbound file.

Decisions:

* **What a 999 reports.** Only findings of severity "error". Warnings are for our own report and are
  not sent back: the 999 has no "informational" level, and an IK5 of E ("accepted, errors noted") for a
  mere warning would make partners chase problems that do not block the claim. Hence a set is either
  A (no error finding) or R (at least one); E is never written.
* **IK3 / IK4.** Findings are grouped per segment (IK302 position in the set, IK301 segment id) and
  IK304 code; element findings (IK4 code, IK304 absent or "8") share one IK3*...*8 loop with an IK4 per
  element. A located error without any 999 code (a SNIP 3-5 rule such as claim balancing) still gets
  an IK3 naming the segment, without IK304 (situational in X231A1), so the partner can find it.
  An error with no position inside the set only rejects the set (IK5) -- IK302 is required.
* **IK303 loop id.** The map gives data element 447 1-4 characters, so an IG loop id is written as its
  X12 loop number ("2300" as is, "2010BB" -> "2010", "2330B" -> "2330"); the header/ST pseudo loops are
  not written. IK302 already locates the segment exactly; IK303 only helps reading.
* **IK404** (copy of the bad value) is written only from `Finding.bad_value`, which the validator
  fills for non-PHI elements only (codes, dates, amounts, qualifiers); a value that is longer than 99
  characters or contains an acknowledgment delimiter is left out rather than altered.
* **CTX business unit** (CTX*CLM01:<claim id>) is written in 2100 for 837 errors inside a claim, as
  X231A1 asks, when the claim id fits (1-35 characters). CLM01 is the submitter's own patient control
  number, the one identifier the project allows in messages; `claim_context=False` turns it off.
* **IK502 codes**: the set-level codes on findings (`ik5`, e.g. 4 SE01 wrong), 2 when the trailer is
  missing, then 5 when an X12-syntax (SNIP 1) segment error is listed and I5 when an implementation
  (SNIP 2+) one is; at most five (IK502-IK506). A rejected set always carries at least one code (I5).
* **AK9.** R when the group itself has an error (AK905+ from `ak9` codes, 3 for a missing GE) or no
  set was accepted; P when some sets were rejected; else A. AK902 is GE01 as sent when the validator
  records it (`Group.ge01`, optional), else the number received; AK904 is 0 when the group is rejected,
  since a rejected group has no accepted set.
* **Codes** outside the map's lists (IK304, IK403, IK502, AK905, TA105 000-031) and segment ids that
  are not 2-3 letters/digits are dropped rather than written: they would make our own 999 invalid. The
  finding's severity still rejects the set / group. The 2100/2110 "SITUATIONAL TRIGGER" CTX is not
  written: findings do not say which segment triggered a situational rule.
* **Repeat limits** from pyx12's 999.5010X231.A1.xml: 2000, 2100 and 2110 loops repeat ">1"
  (unbounded), IK3/IK4/AK2 once per loop, business CTX once per 2100, IK5 and AK9 five codes each.
  `max_segment_errors` optionally caps IK3 loops per set for partners with smaller limits.
* **TA1.** Written when the interchange has findings carrying a `ta1` note code (TA104 R when one is an
  error, E when all are warnings; TA105 the first code in file order) and, unless `ta1_on_request` is
  off, when ISA14 = 1 (TA104 A / 000 if nothing is wrong). An interchange error without a code
  answers 022 (invalid control structure). A TA1 goes in its own ISA/IEA (IEA01 = 0), never with a GS.
  When the TA1 rejects the interchange no 999 is written for it: nothing inside was accepted.
* **Envelope.** Sender and receiver are swapped from the inbound ISA05/06 <-> ISA07/08 and GS02 <->
  GS03; ISA14 = 0 (no TA1 on an acknowledgment); ISA15 echoes the inbound usage indicator. One file
  per inbound interchange, holding one ISA/GS*FA per inbound (GS02, GS03) pair -- normally one -- and
  one ST*999 per inbound group. The inbound delimiters are reused when usable, else * : ^ ~.
* **Control numbers** come from an injectable `ControlNumbers` (cob.edi.envelope); the default is a fresh
  `CounterControlNumbers()` per `write_acks` call (ISA13 = GS06 = 1, 2, ...; ST02 0001, 0002, ...), which
  is deterministic for tests. Production runs must pass a persisted source, or ISA13s repeat:
  `PersistentControlNumbers(folder)` is the one `cob validate --ack` uses.
* A truncated result (the validator stopped at --max-errors) is refused: sets after the stop point were
  never checked and would be acknowledged as accepted.
"""

from __future__ import annotations

import datetime as _dt
import fcntl
import os
import re
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Iterable, Sequence

from cob.edi.envelope import ControlNumbers, CounterControlNumbers, Party, format_isa
from cob.edi.tokens import DEFAULT_DELIMITERS, Delimiters
from cob.edi.writer import SegmentWriter, atomic_output

from .findings import (
    ERROR,
    WARNING,
    FileResult,
    Finding,
    Group,
    Interchange,
    TransactionSet,
)

__all__ = [
    "ACK_VERSION",
    "AckError",
    "ack_delimiters",
    "group_response",
    "ik303_loop_id",
    "needs_ta1",
    "set_response",
    "ta1_response",
    "write_999",
    "write_acks",
    "write_ta1",
]

ACK_VERSION = "005010X231A1"
MAX_SET_CODES = 5  # IK502..IK506
MAX_GROUP_CODES = 5  # AK905..AK909
MAX_BAD_VALUE = 99  # data element 724
MAX_SEGMENT_POSITION = 999_999  # data element 719, N0 1-6
MAX_CONTEXT_REFERENCE = 35  # data element 9998
GENERIC_TA1_NOTE = "022"  # invalid control structure
SEGMENT_ERRORS = {"1", "2", "3", "4", "5", "6", "7", "8", "I4", "I6", "I7", "I8", "I9"}
ELEMENT_ERRORS = {"1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "12", "13",
                  "I6", "I9", "I10", "I11", "I12", "I13"}
#: IK502-506 and AK905-909 code lists of the map; a code outside them would make our own 999 invalid,
#: so it is dropped (the set / group is still rejected by the finding's severity).
SET_ERRORS = {*(str(n) for n in range(1, 20) if n != 14), "23", "24", "25", "26", "27", "I5", "I6"}
GROUP_ERRORS = {*(str(n) for n in (1, 2, 3, 4, 5, 6)), *(str(n) for n in range(10, 20)), "23", "24", "25", "26"}
TA1_NOTES = {f"{n:03d}" for n in range(32)}
_SEGMENT_ID = re.compile(r"[A-Z][A-Z0-9]{1,2}")

Element = str | list[str]
Segment = list[Element]


class AckError(ValueError):
    """The result cannot be acknowledged faithfully (e.g. the validation was truncated)."""


# --------------------------------------------------------------------------------------------------
# 999 content


def ik303_loop_id(loop: str | None) -> str | None:
    """IK303 for an IG loop id: its X12 loop number (data element 447 is 1-4 characters).

    "2010BB" and "2330B" are implementation-guide names of the standard's loops 2010 and 2330, so the
    leading digits are the loop id on the transaction set diagram; pseudo loops (HEADER, ST_LOOP) and
    anything else that does not reduce to 1-4 digits are not written.
    """
    if not loop:
        return None
    match = re.match(r"\d{1,4}(?![0-9])", loop)
    return match.group(0) if match else None


@dataclass(slots=True)
class _SegmentError:
    """One 2100 loop being assembled: IK3 and its IK4s."""

    segment_id: str
    position: int
    loop: str | None
    code: str | None
    claim_id: str | None
    elements: list[Finding]
    syntax: bool  # any SNIP 1 finding: IK502 5 rather than I5


def _usable(value: str | None, d: Delimiters, limit: int) -> bool:
    return bool(value) and len(value) <= limit and not any(
        ch in value for ch in (d.element, d.component, d.repetition, d.segment))


def _dedupe(codes: Iterable[str | None], limit: int) -> list[str]:
    out: list[str] = []
    for code in codes:
        if code and code not in out:
            out.append(code)
    return out[:limit]


def _segment_errors(findings: Sequence[Finding]) -> list[_SegmentError]:
    """2100 loops for the located error findings, in segment order. An error without a usable
    position or segment id gets none (IK301/IK302 are required); it still rejects the set."""
    loops: dict[tuple[int, str, str | None], _SegmentError] = {}
    for f in findings:
        if f.ik5 and not (f.ik3 or f.ik4):
            continue  # a transaction-set level problem (SE01, ST02/SE02...): IK5 only
        if f.ak9 and not (f.ik3 or f.ik4):
            continue
        pos = f.st_segment_no
        if pos is None or not 1 <= pos <= MAX_SEGMENT_POSITION or not _SEGMENT_ID.fullmatch(f.segment_id or ""):
            continue
        code = f.ik3 if f.ik3 in SEGMENT_ERRORS else None
        if f.ik4 and code in (None, "8"):
            code = "8"
        key = (pos, f.segment_id, code)
        entry = loops.get(key)
        if entry is None:
            entry = loops[key] = _SegmentError(f.segment_id, pos, f.loop, code, f.claim_id, [], False)
        entry.loop = entry.loop or f.loop
        entry.claim_id = entry.claim_id or f.claim_id
        entry.syntax = entry.syntax or f.snip == 1
        if f.ik4 in ELEMENT_ERRORS and f.element_pos:
            entry.elements.append(f)
    return sorted(loops.values(), key=lambda e: e.position)  # stable: file order within a segment


def _ik4(f: Finding, d: Delimiters) -> Segment:
    position = [str(f.element_pos), str(f.component_pos or ""), str(f.repeat_pos or "")]
    data_ele = f.data_ele if f.data_ele and f.data_ele.isdigit() and len(f.data_ele) <= 4 else ""
    bad = f.bad_value if _usable(f.bad_value, d, MAX_BAD_VALUE) else ""
    return ["IK4", position, data_ele, f.ik4 or "", bad or ""]


def set_response(ts: TransactionSet, d: Delimiters = DEFAULT_DELIMITERS, *, claim_context: bool = True,
                 max_segment_errors: int | None = None) -> tuple[list[Segment], bool]:
    """AK2 .. IK5 (loop 2000) for one inbound transaction set, and whether the set is accepted.

    Why a tuple: the group's AK9 counts accepted sets, which is decided here together with IK501.
    """
    errors = [f for f in ts.findings if f.severity == ERROR]
    segments: list[Segment] = [["AK2", ts.st01, ts.st02, ts.st03 or ""]]
    loops = _segment_errors(errors)
    if max_segment_errors is not None:
        loops = loops[:max_segment_errors]
    for entry in loops:
        segments.append(["IK3", entry.segment_id, str(entry.position), ik303_loop_id(entry.loop) or "",
                         entry.code or ""])
        if claim_context and ts.st01 == "837" and _usable(entry.claim_id, d, MAX_CONTEXT_REFERENCE):
            segments.append(["CTX", ["CLM01", entry.claim_id or ""]])
        for f in entry.elements:
            segments.append(_ik4(f, d))
    rejected = bool(errors) or ts.trailer_missing
    codes: list[str | None] = [f.ik5 for f in errors if f.ik5 in SET_ERRORS]
    if ts.trailer_missing:
        codes.append("2")
    if any(e.syntax for e in loops):
        codes.append("5")
    if any(not e.syntax for e in loops):
        codes.append("I5")
    set_codes = _dedupe(codes, MAX_SET_CODES)
    if rejected and not set_codes:
        set_codes = ["I5"]
    segments.append(["IK5", "R" if rejected else "A", *set_codes])
    return segments, not rejected


def group_response(group: Group, st02: str, d: Delimiters = DEFAULT_DELIMITERS, *, claim_context: bool = True,
                   max_segment_errors: int | None = None) -> list[Segment]:
    """ST*999 .. SE for one inbound functional group: AK1, a 2000 loop per set, AK9."""
    body: list[Segment] = [["ST", "999", st02, ACK_VERSION], ["AK1", group.gs01, group.gs06, group.gs08]]
    accepted = 0
    for ts in group.transactions:
        segments, ok = set_response(ts, d, claim_context=claim_context, max_segment_errors=max_segment_errors)
        body.extend(segments)
        accepted += ok
    received = len(group.transactions)
    group_errors = [f for f in group.findings if f.severity == ERROR]
    codes = [f.ak9 for f in group_errors if f.ak9 in GROUP_ERRORS]
    if group.trailer_missing:
        codes.append("3")
    group_codes = _dedupe(codes, MAX_GROUP_CODES)
    if group_errors or group.trailer_missing or accepted == 0:
        status, accepted = "R", 0
    elif accepted < received:
        status = "P"
    else:
        status = "A"
    ge01 = getattr(group, "ge01", None)  # GE01 as sent, when the validator keeps it
    included = int(ge01) if isinstance(ge01, (int, str)) and str(ge01).isdigit() else received
    body.append(["AK9", status, str(included), str(received), str(accepted), *group_codes])
    body.append(["SE", str(len(body) + 1), st02])
    return body


# --------------------------------------------------------------------------------------------------
# TA1


def ta1_response(interchange: Interchange) -> tuple[str, str]:
    """(TA104, TA105) for an interchange: R on an error note, E on warnings only, else A / 000."""
    errors = [f for f in interchange.findings if f.severity == ERROR]
    if errors:
        coded = next((f.ta1 for f in errors if f.ta1 in TA1_NOTES), None)
        return "R", coded or GENERIC_TA1_NOTE
    warned = next((f.ta1 for f in interchange.findings if f.severity == WARNING and f.ta1 in TA1_NOTES), None)
    if warned:
        return "E", warned
    return "A", "000"


def needs_ta1(interchange: Interchange, *, on_request: bool = True) -> bool:
    """A TA1 answers envelope problems always, and an ISA14 = 1 request when `on_request`."""
    if any(f.ta1 or f.severity == ERROR for f in interchange.findings):
        return True
    return on_request and interchange.isa14.strip() == "1"


def _ta1_control(isa13: str) -> str:
    """TA101 echoes ISA13; a malformed one (TA1 018) is made a 9-digit number so the TA1 stays valid."""
    value = isa13.strip()
    if value.isdigit() and len(value) <= 9:
        return value.zfill(9)
    return "0" * 9


# --------------------------------------------------------------------------------------------------
# envelopes and files


def ack_delimiters(interchange: Interchange) -> Delimiters:
    """The inbound interchange's delimiters when they are four distinct punctuation characters, else
    the defaults: a partner reads its own delimiters back best, but a broken ISA must not break the ack."""
    rep = interchange.repetition_sep or DEFAULT_DELIMITERS.repetition
    chosen = (interchange.element_sep, interchange.component_sep, rep, interchange.segment_term)
    if all(len(c) == 1 and not c.isalnum() and not c.isspace() for c in chosen) and len(set(chosen)) == 4:
        return Delimiters(*chosen)
    return DEFAULT_DELIMITERS


def _parties(interchange: Interchange, sender: Party | None, receiver: Party | None) -> tuple[Party, Party]:
    """The acknowledgment goes back: its sender is the inbound receiver and vice versa."""
    return (sender or Party(interchange.isa07.strip(), interchange.isa08.strip()),
            receiver or Party(interchange.isa05.strip(), interchange.isa06.strip()))


def _usage(interchange: Interchange) -> str:
    usage = interchange.isa15.strip()
    return usage if usage in ("P", "T", "I") else "P"


def _open(out: IO[str] | str | Path):
    return atomic_output(out) if isinstance(out, (str, Path)) else nullcontext(out)


def write_999(interchange: Interchange, out: IO[str] | str | Path, *, groups: Sequence[Group] | None = None,
              control_numbers: ControlNumbers | None = None, now: _dt.datetime | None = None,
              sender: Party | None = None, receiver: Party | None = None,
              delimiters: Delimiters | None = None, claim_context: bool = True,
              max_segment_errors: int | None = None) -> int | None:
    """Write the 999s acknowledging `groups` (default: every group of `interchange` except inbound
    acknowledgments, GS01 FA): one ST*999 per group, one ISA/GS*FA per inbound application sender /
    receiver pair (GS02, GS03) -- normally just one. Returns the (first) ISA13 used, or None when there
    was nothing to acknowledge (nothing is written then). A path is written atomically; a stream is
    written as is.

    Why one interchange per GS pair: `ControlNumbers` (and the persisted source behind it) hands out one
    GS06 per interchange (`CounterControlNumbers` uses ISA13 for it), so two groups in one interchange
    would share a GS06.
    """
    todo = [g for g in (interchange.groups if groups is None else groups) if g.gs01 != "FA"]
    if not todo:
        return None
    numbers = control_numbers or CounterControlNumbers()
    when = now or _dt.datetime.now()
    d = delimiters or ack_delimiters(interchange)
    ack_sender, ack_receiver = _parties(interchange, sender, receiver)
    # one GS*FA per application sender/receiver pair, in order of first appearance
    pairs: dict[tuple[str, str], list[Group]] = {}
    for g in todo:
        pairs.setdefault((g.gs03.strip(), g.gs02.strip()), []).append(g)
    first: int | None = None
    with _open(out) as fh:
        w = SegmentWriter(fh, d)
        for (gs02, gs03), inbound in pairs.items():
            isa13 = numbers.next_interchange()
            gs06 = numbers.next_group()
            first = isa13 if first is None else first
            w.write_raw(format_isa(ack_sender, ack_receiver, isa13, d, when, usage=_usage(interchange),
                                   ack_requested="0")[:-1])
            w.write(["GS", "FA", gs02, gs03, when.strftime("%Y%m%d"), when.strftime("%H%M"), str(gs06), "X",
                     ACK_VERSION])
            for g in inbound:
                st02 = f"{numbers.next_transaction():04d}"
                for segment in group_response(g, st02, d, claim_context=claim_context,
                                              max_segment_errors=max_segment_errors):
                    w.write(segment)
            w.write(["GE", str(len(inbound)), str(gs06)])
            w.write(["IEA", "1", f"{isa13:09d}"])
    return first
    return isa13


def write_ta1(interchange: Interchange, out: IO[str] | str | Path, *,
              control_numbers: ControlNumbers | None = None, now: _dt.datetime | None = None,
              sender: Party | None = None, receiver: Party | None = None,
              delimiters: Delimiters | None = None) -> int:
    """Write a TA1 for `interchange` in its own ISA/IEA (IEA01 = 0: a TA1 is not in a group).
    Returns the ISA13 used. A path is written atomically; a stream is written as is."""
    numbers = control_numbers or CounterControlNumbers()
    when = now or _dt.datetime.now()
    d = delimiters or ack_delimiters(interchange)
    ack_sender, ack_receiver = _parties(interchange, sender, receiver)
    status, note = ta1_response(interchange)
    isa13 = numbers.next_interchange()
    with _open(out) as fh:
        w = SegmentWriter(fh, d)
        w.write_raw(format_isa(ack_sender, ack_receiver, isa13, d, when, usage=_usage(interchange),
                               ack_requested="0")[:-1])
        w.write(["TA1", _ta1_control(interchange.isa13), interchange.isa09.strip(), interchange.isa10.strip(),
                 status, note])
        w.write(["IEA", "0", f"{isa13:09d}"])
    return isa13


def _file_stem(name: str, isa13: str, index: int, used: set[str]) -> str:
    control = re.sub(r"[^A-Za-z0-9]", "", isa13) or "noisa13"
    stem = f"{name}.{control}"
    if stem in used:  # the same ISA13 twice in one file (itself a TA1 025)
        stem = f"{stem}-{index}"
    used.add(stem)
    return stem


def write_acks(result: FileResult, ack_dir: str | Path, *, control_numbers: ControlNumbers | None = None,
               now: _dt.datetime | None = None, sender: Party | None = None, receiver: Party | None = None,
               ta1_on_request: bool = True, claim_context: bool = True,
               max_segment_errors: int | None = None, name: str | None = None) -> list[Path]:
    """Write the acknowledgments of one validated file into `ack_dir`; returns the paths written.

    Per inbound interchange: `<input name>.<ISA13>.ta1` when `needs_ta1`, and `<input name>.<ISA13>.999`
    unless the TA1 rejects the interchange or it has no group to acknowledge (`name` replaces the input
    name, e.g. for a file read from a pipe). Each file appears atomically. Control numbers are drawn in
    file order from one source, so a run is reproducible.
    """
    if result.truncated:
        raise AckError(f"{result.file}: validation stopped at the error limit; sets after that point were "
                       "not checked and cannot be acknowledged")
    ack_dir = Path(ack_dir)
    numbers = control_numbers or CounterControlNumbers()
    when = now or _dt.datetime.now()
    name = name or Path(result.file).name
    written: list[Path] = []
    used: set[str] = set()
    for index, ic in enumerate(result.interchanges, start=1):
        stem = _file_stem(name, ic.isa13.strip(), index, used)
        rejected = False
        if needs_ta1(ic, on_request=ta1_on_request):
            path = ack_dir / f"{stem}.ta1"
            write_ta1(ic, path, control_numbers=numbers, now=when, sender=sender, receiver=receiver)
            written.append(path)
            rejected = ta1_response(ic)[0] == "R"
        if rejected or not any(g.gs01 != "FA" for g in ic.groups):
            continue
        path = ack_dir / f"{stem}.999"
        write_999(ic, path, control_numbers=numbers, now=when, sender=sender, receiver=receiver,
                  claim_context=claim_context, max_segment_errors=max_segment_errors)
        written.append(path)
    return written


class PersistentControlNumbers:
    """Acknowledgment control numbers kept in a small file in the ack folder (`.cob-ack-control`), so
    the ISA13s of the 999s and TA1s written by successive runs increase and never repeat. The file is
    locked while in use (two `cob validate --ack` runs into one folder take turns); `close()` unlocks."""

    def __init__(self, folder: str | Path):
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / ".cob-ack-control"
        self.fh = open(self.path, "a+", encoding="ascii")
        fcntl.flock(self.fh, fcntl.LOCK_EX)
        self.fh.seek(0)
        text = self.fh.read().strip()
        self.last = int(text) if text.isdigit() else 0
        self._st = 0

    def next_interchange(self) -> int:
        self.last = self.last % 999_999_999 + 1
        self._save()
        return self.last

    def next_group(self) -> int:
        return self.last

    def next_transaction(self) -> int:
        self._st += 1
        return self._st

    def _save(self) -> None:
        self.fh.seek(0)
        self.fh.truncate()
        self.fh.write(str(self.last))
        self.fh.flush()
        os.fsync(self.fh.fileno())

    def close(self) -> None:
        self.fh.close()
