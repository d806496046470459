"""Streaming readers: 837P -> `Claim` objects, 835 -> `ClaimPayment` / `ProviderAdjustment` objects.

One generic engine serves both: the envelope reader yields segments, the `LoopWalker` locates each in
its IG loop, and `RawLoop`s collect them. When an *emitted* loop closes (2300 for 837P, 2100 for 835)
it is validated into its model once, with its context (header, hierarchy levels) attached, and yielded;
then it is dropped, so memory holds one claim and its context, whatever the file size.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from pydantic import ValidationError

from cob.schemas.base import Loop
from cob.schemas.claim import BillingProvider, Claim, Patient, Subscriber, TransactionHeader
from cob.schemas.common import Envelope, SourceLocation
from cob.schemas.remit import ClaimPayment, PaymentHeader, ProviderAdjustment, ProviderSummary
from cob.schemas.segments import PLB, SEGMENT_MODELS

from .envelope import EnvelopeReader, TransactionSet, sniff  # noqa: F401 - sniff re-exported
from .errors import X12Error, X12SyntaxError
from .ig.tables import load_table
from .loops import LoopWalker, RawLoop, assemble

X222 = "005010X222A1"
X221 = "005010X221A1"


@dataclass(frozen=True)
class Kind:
    """How one transaction type is read: which loops are emitted and which are context."""

    transaction: str
    version: str
    emit: str  # the loop id that becomes one yielded object
    context: dict[str, type[Loop]]  # loop id -> context model
    model: type[Loop]
    #: besides the envelope's, the only segment ids that may follow an emitted loop in a valid set (a new
    #: claim, a new level or the summary); any other segment that leaves the loop is out of order
    stops: frozenset[str]


KINDS = {
    "837": Kind("837", X222, "2300", {"HEADER": TransactionHeader, "2000A": BillingProvider,
                                      "2000B": Subscriber, "2000C": Patient}, Claim, frozenset({"HL", "CLM"})),
    "835": Kind("835", X221, "2100", {"HEADER": PaymentHeader, "2000": ProviderSummary}, ClaimPayment,
                frozenset({"CLP", "LX", "PLB"})),
}

#: `RawLoop.model` of an emitted loop that `select` declined: it is neither kept nor built
_DECLINED = object()

#: Context loops are never attached to their parents' children (they would pile up in memory).
_DETACHED = {"2000A", "2000B", "2000C", "2300", "2000", "2100", "DETAIL", "FOOTER"}


def _envelope(txn: TransactionSet, file: str) -> Envelope:
    isa = txn.group.interchange
    return Envelope(
        file=file,
        sender_qualifier=isa.sender_qualifier, sender_id=isa.sender_id,
        receiver_qualifier=isa.receiver_qualifier, receiver_id=isa.receiver_id,
        interchange_control_number=isa.control_number, usage=isa.usage,
        group_sender=txn.group.sender, group_receiver=txn.group.receiver,
        group_control_number=txn.group.control_number, version=txn.version,
        transaction_control_number=txn.control_number,
    )


@dataclass
class X12Reader:
    """Reads one file; iterate it for Claims (837P sets) and ClaimPayments / ProviderAdjustments (835 sets).

    strict=True (the default) raises `X12SyntaxError` at the first located problem; with strict=False the
    problem is recorded in `errors`, the claim it concerns is skipped, and reading goes on.
    `warnings` collects segments the IG has no place for (they are kept raw in the current loop).

    `select`, when given, is asked with each claim's id (CLM01 / CLP01) when the claim's first segment is
    read; the segments of a claim it declines are skipped unread up to the next claim, level or envelope
    segment. Several processes can so share one file's claims, each paying only for its own. A problem
    inside a declined claim is then not seen: a caller that selects must combine what its processes found
    (the earliest problem any of them met is the one a reader of everything meets first). That holds
    because a segment that leaves a claim's loop other than by those ids is itself a problem (the segments
    are out of order); so a reader that skips a claim ends up where a reader that walked it does.
    """

    path: str | Path
    strict: bool = True
    only: str | None = None  # "837" or "835": other transaction types are an error
    select: Callable[[str], bool] | None = None
    #: called with (segment number, IG loop id or None when not placed) for every segment walked
    trace: Callable[[int, str | None], None] | None = None
    errors: list[X12Error] = field(default_factory=list)
    warnings: list[X12Error] = field(default_factory=list)
    transactions: list[str] = field(default_factory=list)
    #: context loop id (2000A, 2000B, ...) -> segment number of its first segment, for the last claim built:
    #: claims that share a context object share these numbers, which stay comparable across processes
    context_at: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.name = str(self.path)

    def _fail(self, err: X12Error) -> None:
        self.errors.append(err)
        if self.strict:
            raise X12SyntaxError(err)

    def __iter__(self) -> Iterator[Any]:
        env = EnvelopeReader(self.path, strict=self.strict)
        kind: Kind | None = None
        walker: LoopWalker | None = None
        stack: list[RawLoop] = []
        ctx: dict[str, Any] = {}
        comp = rep = ""
        txn: TransactionSet | None = None
        segments: list = []
        ready: list[Any] = []
        skip = False
        select = self.select
        emit_at = -1  # index in `stack` of the open emitted loop (-1: none is open)
        for txn_, elements, seg_no, st_no in env:
            sid = elements[0]
            if sid == "ST":
                txn = txn_
                kind = KINDS.get(txn.id)
                self.transactions.append(txn.id)
                skip = False
                emit_at = -1
                if kind is None or (self.only and txn.id != self.only):
                    want = f"an {self.only}" if self.only else "an 837 or 835"
                    self._fail(X12Error(self.name, seg_no, "ST", f"transaction set {txn.id} is not {want}",
                                        code="transaction_type", st_segment_no=st_no))
                    skip = True
                    continue
                isa_version = txn.group.interchange.isa[12] if len(txn.group.interchange.isa) > 12 else ""
                if isa_version != "00501":
                    self._fail(X12Error(self.name, seg_no, "ST", f"interchange version {isa_version or '(none)'}"
                                        f" is not 00501; only 005010 files are read", code="version",
                                        st_segment_no=st_no))
                    skip = True
                    continue
                if not txn.version.startswith(kind.version[:10]):
                    self.warnings.append(X12Error(
                        self.name, seg_no, "ST", f"implementation guide {txn.version or '(none)'} is not "
                        f"{kind.version}; read with the {kind.version} guide", code="version",
                        st_segment_no=st_no, severity="warning"))
                delims = txn.group.interchange.delimiters
                comp = delims.component
                rep = delims.repetition if txn.group.interchange.isa[12:13] == ["00501"] \
                    and not delims.repetition.isalnum() else None
                walker = LoopWalker(load_table(kind.version), comp)
                stack = [RawLoop("ST_LOOP")]
                segments = stack[-1].segments  # those of the innermost open loop, where the next one goes
                ctx = {"envelope": _envelope(txn, self.name), "st_segment_no": seg_no}
                continue
            if skip or kind is None or walker is None:
                continue
            if sid == "SE":
                while len(stack) > 1:
                    self._close(stack, kind, ctx, comp, rep, ready)
                segments = stack[-1].segments
                emit_at = -1
                yield from ready
                ready.clear()
                continue
            res = walker.feed(elements)
            if self.trace is not None:
                self.trace(seg_no, walker.stack[-1].id if res is not None else None)
            if res is None:
                self.warnings.append(X12Error(
                    self.name, seg_no, sid, f"segment {sid} has no place in loop {stack[-1].loop_id} "
                    "of the implementation guide; kept as is", code="unexpected_segment",
                    st_segment_no=st_no, severity="warning"))
            elif res[0] or res[1]:  # the segment closes or opens loops (most stay in the loop they are in)
                pops, pushes, _seg = res
                if pops:
                    if 0 <= emit_at >= len(stack) - pops:
                        if sid not in kind.stops:
                            self._out_of_order(stack[emit_at], walker, elements, seg_no, st_no)
                        emit_at = -1
                    for _ in range(pops):
                        self._close(stack, kind, ctx, comp, rep, ready)
                for loop_def in pushes:
                    raw = RawLoop(loop_def.id)
                    if loop_def.id == kind.emit:
                        emit_at = len(stack)
                        if select is not None and not select(elements[1] if len(elements) > 1 else ""):
                            raw.model = _DECLINED
                            env.segments.skip_until(kind.stops)
                    elif loop_def.id not in _DETACHED:
                        stack[-1].children.append(raw)
                    stack.append(raw)
                segments = stack[-1].segments
            segments.append((elements, seg_no))
            if sid == "PLB" and kind.transaction == "835":
                ready.append(self._plb(elements, seg_no, st_no, ctx, comp))
            if ready:
                yield from ready
                ready.clear()
        self.errors.extend(e for e in env.errors if e not in self.errors)

    # ------------------------------------------------------------------------------------------------

    def _close(self, stack: list[RawLoop], kind: Kind, ctx: dict, comp: str, rep: str | None,
               ready: list) -> None:
        raw = stack.pop()
        loop_id = raw.loop_id
        if loop_id == kind.emit:
            if raw.model is _DECLINED:
                return
            obj = self._build(kind, raw, stack, ctx, comp, rep)
            if obj is not None:
                ready.append(obj)

    def _out_of_order(self, emitted: RawLoop, walker: LoopWalker, elements: list[str], seg_no: int,
                      st_no: int) -> None:
        """A segment after a claim (payment) that belongs to an earlier loop: reading on would put it, and
        perhaps the claims after it, where they do not belong (a reader used to swallow those claims)."""
        first = emitted.segments[0][0] if emitted.segments else []
        claim_id = first[1] if len(first) > 1 else None
        self._fail(X12Error(
            self.name, seg_no, elements[0], f"segment {elements[0]} is out of order: it follows claim "
            f"{claim_id or '(no id)'} (loop {emitted.loop_id}) but belongs to loop {walker.stack[-1].id}",
            code="segment_order", loop=emitted.loop_id, claim_id=claim_id, st_segment_no=st_no))

    def _context(self, kind: Kind, raw: RawLoop, ctx: dict, comp: str, rep: str | None) -> Any:
        """Context model of a context loop, validated once (kept on its RawLoop) and shared by its claims."""
        if raw.model is None:
            cls = kind.context[raw.loop_id]
            data = assemble(cls, raw, comp, rep)
            if raw.loop_id == "HEADER":
                data["envelope"] = ctx["envelope"]
            try:
                raw.model = cls.model_validate(data)
            except ValidationError as exc:
                self._fail(self._locate(exc, raw, comp, rep, None))
                return None
        return raw.model

    def _build(self, kind: Kind, raw: RawLoop, stack: list[RawLoop], ctx: dict, comp: str,
               rep: str | None) -> Any:
        data = assemble(kind.model, raw, comp, rep)
        header = next((c for c in stack[0].children if c.loop_id == "HEADER"), None) if stack else None
        context: dict[str, Any] = {}
        if header is not None:
            context["HEADER"] = self._context(kind, header, ctx, comp, rep)
        self.context_at.clear()
        for open_raw in stack:
            if open_raw.loop_id in kind.context and open_raw.loop_id != "HEADER":
                context[open_raw.loop_id] = self._context(kind, open_raw, ctx, comp, rep)
                self.context_at[open_raw.loop_id] = open_raw.first_segment_no or 0
        first = raw.segments[0][1] if raw.segments else None
        st_first = ctx["st_segment_no"]
        data["source"] = SourceLocation(file=self.name, segment_no=first,
                                        st_segment_no=first - st_first + 1 if first is not None else None)
        if kind.transaction == "837":
            data["header"] = context.get("HEADER")
            data["billing_provider"] = context.get("2000A")
            data["subscriber"] = context.get("2000B")
            data["patient"] = context.get("2000C")
        else:
            data["header"] = context.get("HEADER")
            data["summary"] = context.get("2000")
        try:
            return kind.model.model_validate(data)
        except ValidationError as exc:
            self._fail(self._locate(exc, raw, comp, rep, data))
            return None

    def _plb(self, elements: list[str], seg_no: int, st_no: int, ctx: dict, comp: str) -> Any:
        try:
            plb = PLB.model_validate(PLB.parse(elements, comp))
        except ValidationError as exc:
            self._fail(X12Error(self.name, seg_no, "PLB", _describe(exc), code="element", st_segment_no=st_no))
            return None
        return ProviderAdjustment(plb=plb, header=ctx.get("HEADER"),
                                  source=SourceLocation(file=self.name, segment_no=seg_no, st_segment_no=st_no))

    def _locate(self, exc: ValidationError, raw: RawLoop, comp: str, rep: str | None,
                data: dict | None) -> X12Error:
        """Find the segment behind a validation error by validating segment by segment (slow path)."""
        claim_id = None
        if data and raw.segments and len(raw.segments[0][0]) > 1:
            claim_id = raw.segments[0][0][1]
        for elements, seg_no in _walk(raw):
            model = SEGMENT_MODELS.get(elements[0])
            if model is None:
                continue
            try:
                model.model_validate(model.parse(elements, comp))
            except ValidationError as seg_exc:
                return X12Error(self.name, seg_no, elements[0], _describe(seg_exc), code="element",
                                loop=raw.loop_id, claim_id=claim_id)
        return X12Error(self.name, raw.first_segment_no, raw.segments[0][0][0] if raw.segments else None,
                        f"loop {raw.loop_id} is incomplete: {_describe(exc)}", code="loop", loop=raw.loop_id,
                        claim_id=claim_id)


def _walk(raw: RawLoop) -> Iterator[tuple[list[str], int]]:
    merged = list(raw.segments)
    for child in raw.children:
        merged.extend(_walk(child))
    merged.sort(key=lambda s: s[1])
    return iter(merged)


def _describe(exc: ValidationError) -> str:
    """A plain message from a pydantic error, without the input values (they may be PHI)."""
    parts = []
    for err in exc.errors(include_input=False, include_url=False)[:3]:
        loc = ".".join(str(p) for p in err["loc"] if not isinstance(p, int))
        parts.append(f"{loc or 'segment'}: {err['msg']}")
    return "; ".join(parts)


def read_claims(path: str | Path, strict: bool = True) -> Iterator[Claim]:
    """The claims of an 837P file, one at a time."""
    return iter(X12Reader(path, strict=strict, only="837"))


def read_remittance(path: str | Path, strict: bool = True) -> Iterator[ClaimPayment | ProviderAdjustment]:
    """The claim payments of an 835 file, one at a time, and its PLB provider adjustments in file order."""
    return iter(X12Reader(path, strict=strict, only="835"))


