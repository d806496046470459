"""The validator's second process for big files: whole transaction sets and claim rules checked there
while the engine reads on, their findings filed back where a serial run puts them."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import IO, TYPE_CHECKING, Callable, Iterator

from cob.edi.errors import X12SyntaxError
from cob.edi.ig.tables import (
    load_table,
)
from cob.edi.tokens import ENVELOPE_IDS, Delimiters, RawSegments

from .claims import run_claim_rules
from .context import ClaimContext
from .envelope_checks import _Closed, _padded
from .findings import ERROR, FileResult, Finding, Group, TransactionSet

if TYPE_CHECKING:
    from .engine import Validator

#: the envelope segment ids: a set handed over ends at one of them
_SPECIAL = ENVELOPE_IDS


class RemoteSets:
    """`Validator` methods that hand transaction sets to the rules process and skim them meanwhile."""

    def _dispatch(self, raw: str) -> bool:
        """Hand the transaction set this ST opens to the rules process when it has little to do.

        The set is then only skimmed here (`_skim`: segments counted up to its end); the other process
        gets the same segments (or reads them from the file) and checks them with a validator of its
        own, primed with this envelope state. Only an ST that raises nothing before `_st` runs
        qualifies (no leading space, no trailing separator, a group open, no set open), so every
        finding of the set is the other process's. They are put back in place when the file ends
        (`RulePool.finish`).
        """
        sep = self.sep
        if (not raw.startswith("ST" + sep) or raw[-1] == sep or self.st is not None or self.gs is None
                or not self.rule_pool.wants_set(self.seg_no)):
            return False
        self.seg_no += 1
        el = _padded(raw.split(sep), 4)
        st = TransactionSet(st01=el[1], st02=el[2], st03=el[3] or None, segment_no=self.seg_no)
        self.gs.transactions.append(st)
        duplicate = bool(self.envelope.st(el, self.seg_no))  # (no `begin`: no set is open, a group is)
        self.walker = None
        self.claim_id = None
        gs = self.gs
        d = self.delims
        envelope = ((d.element, d.component, d.repetition, d.segment),
                    self.table.version if self.table is not None else None, self.transaction, self.isa.isa13,
                    (gs.gs01, gs.gs02, gs.gs03, gs.gs06, gs.gs08, gs.segment_no), el[2] if duplicate else None)
        self.remote = self.rule_pool.start_set(self, st, envelope, raw)
        return True

    def _skim(self, it: Iterator[str]) -> None:
        """Pass over the segments of a set the other process checks, up to the one that ends it: its SE,
        or an envelope segment that closes it without one (handled the long way). They are counted, and
        kept for that process while the set is small (`RulePool.kept`)."""
        sep = self.sep
        pool = self.rule_pool
        kept = pool.kept
        n = 0
        for raw in it:
            if raw[0] in "SGI " and (seg_id := raw.lstrip(" ").split(sep, 1)[0]) in _SPECIAL:
                if seg_id == "SE":
                    if kept is not None:
                        kept.append(raw)
                    self.seg_no += n + 1
                    pool.end_set(self, self.seg_no, None)
                    self.envelope.leave_set()
                    self.remote = None
                    return
                self.seg_no += n
                self._segment_long(raw)
                return
            if kept is not None:
                kept.append(raw)
            n += 1
        self.seg_no += n
        if kept is not None and len(kept) > pool.KEEP:
            pool.kept = None

    def _end_remote(self, raw: str | None) -> None:
        """A segment (or the end of the file, `raw` None) closes a set the other process checks without
        an SE. That process reports this segment's own checks and, when `_missing_se` runs in the
        envelope logic here, the missing trailer; this side goes on with the envelope as usual."""
        self.st = self.rule_pool.open_set
        self.remote = None
        last = self.seg_no
        self._remote_closing = (last, (last + 1 if raw is not None else None, raw, self.delims))
        if raw is None:
            return
        self.seg_no += 1
        raw = raw.lstrip(" ")
        elements = raw.split(self.sep)
        self._cur_elements = elements
        if elements[0] == "ISA":
            return self._isa(elements, raw)
        return self._envelope[elements[0]](elements, raw)


#: what a rules-process result carries: (slot, findings in file order, the ones filed under the
#: transaction set, whether the set lacked its SE)
_Result = tuple[int, list[Finding], list[Finding], bool]


def _rules_batch(snip: frozenset[int], batch: list, show_values: bool = False) -> list[_Result]:
    """A batch of claims (`RulePool.add`), which arrive as raw segments (cheap to send), split and
    checked."""
    out = []
    for slot, fields, loops, raws, numbers in batch:
        name, transaction, claim_id, sep, comp, rep, isa13, gs06, st02, payment_date, st_base, unplaced = fields
        ctx = ClaimContext(
            file=name, transaction=transaction, claim_id=claim_id,
            segments=[(loop, raw.split(sep), n, n - st_base) for loop, raw, n in zip(loops, raws, numbers)],
            component_sep=comp, repetition_sep=rep, isa_control=isa13, gs_control=gs06, st_control=st02,
            payment_date=payment_date, unplaced=unplaced)
        found = run_claim_rules(ctx, snip, show_values)
        if found:
            out.append((slot, found, found, False))
    return out


class _SetChecker:
    """The rules process's side of `Validator._dispatch`: whole transaction sets, checked by a validator
    of its own. A small set's segments come with it; a big one's are read from the file here (forward
    only, as the sets come in file order), so that no message grows with the set."""

    def __init__(self, path: Path, name: str, snip: frozenset[int], show_values: bool = False):
        self.path = path
        from .engine import Validator

        self.v = Validator(path, snip=snip, name=name, parallel=False, show_values=show_values)
        self.fh: IO[str] | None = None
        self.batches: Iterator[list[str]] | None = None
        self.batch: list[str] = []
        self.first = 1  # the file's number of the batch's first segment
        self.claims = 0  # claims in the sets checked

    def _slices(self, first: int, last: int) -> Iterator[list[str]]:
        """Segments `first`..`last` (numbered as in the file), a batch's worth at a time."""
        if self.batches is None:
            self.fh = open(self.path, "r", encoding="utf-8", errors="replace", newline="")
            self.batches = RawSegments(self.fh, self.v.name).batches()
        while first <= last:
            end = self.first + len(self.batch)
            if first < end:
                stop = min(last + 1, end)
                yield self.batch[first - self.first:stop - self.first]
                first = stop
                continue
            self.first = end
            try:
                self.batch = next(self.batches)
            except (StopIteration, X12SyntaxError):  # the engine stopped reading there too
                return

    def check(self, slot: int, close_slot: int | None, envelope: tuple, first: int, last: int,
              closing: tuple | None, text: str | None) -> list[_Result]:
        """One set, ST (segment `first`) to `last`, as the serial engine would check it in that envelope;
        `closing` is what ends it without an SE: (segment number or None at the end of the file, its
        text, the delimiters then in force). `text`: its segments, joined by the terminator, or None
        to read them from the file."""
        v = self.v
        delims, version, transaction, isa13, gs_fields, taken = envelope
        delims = Delimiters(*delims)
        v._use_delimiters(delims)
        v.isa = _Closed(isa13)
        v.gs = Group(*gs_fields)
        gs01, gs02, gs03, gs06, gs08, gs_no = gs_fields
        v.envelope.resume(isa13, ["GS", gs01, gs02, gs03, "", "", gs06, "", gs08], gs_no, taken, delims)
        v.table = load_table(version) if version is not None else None
        v.transaction = transaction
        v.st = v.walker = v.claim_id = None
        v.seg_no = first - 1
        v.result = FileResult(file=v.name)
        v._segments((text.split(delims.segment),) if text is not None else self._slices(first, last))
        body = v.result.findings
        out = []
        if closing is not None:
            seg_no, raw, delims = closing
            if raw is None:  # the end of the file
                v.seg_no = None
                v._cur_elements = None
                seg_id = None
            else:
                v._use_delimiters(delims)
                v.seg_no = seg_no - 1
                v._prelude(raw)
                seg_id = v._cur_elements[0]
            body = body[:]
            v._envelope_problems(v.envelope.end_set(v.seg_no, seg_id, last))
            if len(v.result.findings) > len(body):
                out.append((close_slot, v.result.findings[len(body):], [], False))
        st = v.gs.transactions[-1]
        if body or st.trailer_missing:
            out.append((slot, body, st.findings, st.trailer_missing))
        self.claims += v.result.claims
        return out


def _rules_worker(inbox, outbox, snip: frozenset[int], done, path: Path, name: str,
                  show_values: bool = False) -> None:
    """The rules process: pickled messages come in through one pipe -- ("claims", batch) or ("set", ...)
    for `_SetChecker.check` -- and `done` counts the work units finished, for the engine to balance
    by. At the end (an empty message) all findings, and the number of claims in the sets checked, go
    back through the other pipe. Nothing is sent back before that, so neither side can block the other
    on a full pipe."""
    results: list[_Result] = []
    sets: _SetChecker | None = None
    try:
        while True:
            data = inbox.recv_bytes()
            if not data:
                break
            kind, units, *args = pickle.loads(data)
            if kind == "claims":
                results.extend(_rules_batch(snip, args[0], show_values))
            else:
                if sets is None:
                    sets = _SetChecker(path, name, snip, show_values)
                results.extend(sets.check(*args))
            done.value += units
        claims = sets.claims if sets is not None else 0
        ids = sets.v.claim_ids if sets is not None else None  # the claims of the sets checked here
        outbox.send_bytes(pickle.dumps((results, claims, ids), protocol=pickle.HIGHEST_PROTOCOL))
    except (EOFError, BrokenPipeError):
        pass  # the engine stopped early (error limit, unreadable file): nothing to report


class RulePool:
    """A second process for one big file, so that two cores share the work.

    It gets work of two kinds. Whole transaction sets (`Validator._dispatch`, `wants_set`) while its
    queue is short: the engine then only skims the set and the process checks it completely, with the
    set's segments sent along (or, for a big set, read from the file by the process itself). And the
    claim-level rules (SNIP 3-5) of the sets the engine checks itself, in batches of raw segment text,
    when the process is nearly idle -- otherwise the engine runs them itself, as a serial run does,
    and never waits on a busy pipe. The queue is measured in work units (`done`, in shared memory,
    against `sent`). Memory stays flat: the queue is short and each message is bounded (a set of at
    most KEEP segments, a batch of claims). Each result is put back where the serial engine would have
    filed it (its place in the file's and its transaction set's finding lists), so the result is the
    same as a serial run, finding for finding.
    """

    #: claims per batch: a batch pickles to well under the pipe's buffer
    BATCH = 50
    #: work units of a segment: 1 when only its claim rules run there, SET_UNITS for a whole check
    SET_UNITS = 4
    #: a set is handed over while less than this many units (or about a set's worth) are queued
    IDLE_UNITS = 20000
    #: a claim's rules are handed over while less than this many units are queued
    CLAIM_IDLE_UNITS = 6000
    #: sets of at most this many segments travel with their segments (see `kept`)
    KEEP = 20000

    def __init__(self, snip: frozenset[int], path: Path, name: str, show_values: bool = False):
        import multiprocessing

        ctx = multiprocessing.get_context("fork")
        self.snip = snip
        self.inbox_r, self.inbox_w = ctx.Pipe(duplex=False)
        self.outbox_r, self.outbox_w = ctx.Pipe(duplex=False)
        self.done = ctx.RawValue("q", 0)
        self.sent = 0  # work units handed over
        self.last_st = 0  # where the last ST was seen (`wants_set`)
        self.file_size = path.stat().st_size
        self.read_chars = 0  # read so far
        self.known = 0  # segments in the batches read so far
        self.process = ctx.Process(target=_rules_worker, daemon=True,
                                   args=(self.inbox_r, self.outbox_w, snip, self.done, path, name, show_values))
        self.process.start()
        _widen(self.inbox_w)
        self.inbox_r.close()
        self.outbox_w.close()
        self.batch: list = []
        self.batch_units = 0
        #: slot -> (position in the file's findings, transaction set, position in its findings)
        self.slots: list[tuple[int, TransactionSet | None, int]] = []
        self.open_set: TransactionSet | None = None
        self._set_start: tuple = ()
        #: the segments of the set handed over, sent along with it unless there are more than KEEP
        #: (then the process reads them from the file itself)
        self.kept: list[str] | None = None

    def idle(self, units: int) -> bool:
        """Has the process less than `units` of work queued?"""
        return self.sent - self.done.value < units

    def reading(self, progress: Callable[[int], None] | None) -> Callable[[int], None]:
        """The reader's progress callback, counting the characters read on the way."""
        def read(n: int) -> None:
            self.read_chars += n
            if progress is not None:
                progress(n)
        return read

    def track(self, v: "Validator", batches: Iterator[list[str]]) -> Iterator[list[str]]:
        """The reader's batches, noting how many segments have been read so far."""
        for batch in batches:
            self.known = v.seg_no + len(batch)
            yield batch

    def _remaining(self, seg_no: int) -> float:
        """Segments after `seg_no` to the end of the file, estimated from what has been read."""
        if not self.read_chars:
            return 0.0
        ahead = max(self.file_size - self.read_chars, 0) * self.known / self.read_chars
        return self.known - seg_no + ahead

    def wants_set(self, seg_no: int) -> bool:
        """Hand over the set starting after segment `seg_no`? The previous set's size is the guess of
        its work. Yes when the process has less than about a set queued (it will not idle while the
        engine checks the next set itself, and the queue stays short), unless that queue and the set
        would outlast what is left for the engine to read (near the end of the file)."""
        size = (seg_no - self.last_st) * self.SET_UNITS
        self.last_st = seg_no
        if not self.idle(max(size * 3 // 2, self.IDLE_UNITS)):
            return False
        return self.sent - self.done.value + size < self._remaining(seg_no) * self.SET_UNITS

    def _post(self, message: tuple, units: int) -> None:
        """Send work of `units` units (the process counts them into `done` when it is finished)."""
        self.inbox_w.send_bytes(pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))
        self.sent += units

    def start_set(self, v: "Validator", st: TransactionSet, envelope: tuple, raw: str) -> int:
        """A set handed over at its ST (segment `v.seg_no`, text `raw`); its slot."""
        slot = len(self.slots)
        self.slots.append((len(v.result.findings), st, 0))
        self.open_set = st
        self._set_start = (slot, envelope, v.seg_no)
        self.kept = [raw]
        return slot

    def end_set(self, v: "Validator", last: int, closing: tuple | None) -> None:
        """The set handed over ends at segment `last`; `closing` as for `_SetChecker.check`, whose
        missing-SE findings go where the engine is now."""
        slot, envelope, first = self._set_start
        close_slot = None
        if closing is not None:
            close_slot = len(self.slots)
            self.slots.append((len(v.result.findings), self.open_set, 0))
        self.open_set = None
        units = (last - first + 1) * self.SET_UNITS
        kept = self.kept
        text = envelope[0][3].join(kept) if kept is not None and len(kept) <= self.KEEP else None
        self.kept = None
        self._post(("set", units, slot, close_slot, envelope, first, last, closing, text), units)

    def add(self, v: "Validator", segments: list, unplaced: tuple[int, str] | None = None) -> None:
        """Queue the rules of the claim `v` has just closed; its findings will go where `v` is now."""
        d = v.delims
        st = v.st
        fields = (v.name, v.transaction, v.claim_id, d.element, d.component, d.repetition,
                  v.isa.isa13 if v.isa else None, v.gs.gs06 if v.gs else None, st.st02 if st else None,
                  v.payment_date, st.segment_no - 1 if st is not None else 0, unplaced)
        # three flat lists (the segments as raw text) pickle far faster than a list of 4-tuples (the
        # loop ids are shared strings)
        sep = d.element
        self.batch.append((len(self.slots), fields, [i[0] for i in segments], [sep.join(i[1]) for i in segments],
                           [i[2] for i in segments]))
        self.batch_units += len(segments)
        self.slots.append((len(v.result.findings), st, len(st.findings) if st is not None else 0))
        if len(self.batch) >= self.BATCH:
            self._send()

    def _send(self) -> None:
        self._post(("claims", self.batch_units, self.batch), self.batch_units)
        self.batch = []
        self.batch_units = 0

    def finish(self, v: "Validator") -> None:
        """Wait for the rules and file their findings in place (last slot first keeps positions valid)."""
        if self.batch:
            self._send()
        self.inbox_w.send_bytes(b"")
        results, claims, ids = pickle.loads(self.outbox_r.recv_bytes())
        v.result.claims += claims
        if v.claim_ids is not None and ids is not None:
            v.claim_ids.extend(ids)
        for slot, found, st_found, trailer_missing in sorted(results, key=lambda r: r[0], reverse=True):
            pos, st, st_pos = self.slots[slot]
            v.result.findings[pos:pos] = found
            if st is not None:
                st.findings[st_pos:st_pos] = st_found
                st.trailer_missing = st.trailer_missing or trailer_missing
            v.errors += sum(1 for f in found if f.severity == ERROR)

    def close(self) -> None:
        for conn in (self.inbox_w, self.outbox_r):
            conn.close()
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()


def _widen(conn, size: int = 1 << 20) -> None:
    """Give a pipe a bigger buffer (Linux; elsewhere it keeps its own), so that what is queued for the
    rules process fits in it and the engine's writes do not wait for that process to read."""
    try:
        import fcntl

        fcntl.fcntl(conn.fileno(), fcntl.F_SETPIPE_SZ, size)
    except (ImportError, AttributeError, OSError):
        pass
