"""Streaming readers: 837P -> `Claim` objects, 837I -> `InstitutionalClaim` objects, 835 -> `ClaimPayment` /
`ProviderAdjustment` objects.

One generic engine serves both: the envelope reader yields segments, the walker the validator uses
(`cob.edi.walk.Walker`) places each in its IG loop, and `RawLoop`s collect them. When an *emitted* loop
closes (2300 for 837P, 2100 for 835) it is validated into its model once, with its context (header,
hierarchy levels) attached, and yielded; then it is dropped, so memory holds one claim and its context,
whatever the file size.

A walk problem (a segment out of IG order or with no place in the set, a required segment or loop
missing, too many of one) is an `X12Error` with the code, segment number and wording of the validator's
finding; which of them are errors and which warnings is the `WalkPolicy` (by default all are errors).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterator

from pydantic import ValidationError

from cob.schemas.base import Loop
from cob.schemas.claim import BillingProvider, Claim, Patient, Subscriber, TransactionHeader
from cob.schemas.common import Envelope, SourceLocation
from cob.schemas.institutional import InstitutionalClaim
from cob.schemas.remit import ClaimPayment, PaymentHeader, ProviderAdjustment, ProviderSummary
from cob.schemas.segments import PLB, SEGMENT_MODELS

from .envelope import EnvelopeReader, TransactionSet, sniff  # noqa: F401 - sniff re-exported
from .errors import X12Error, X12SyntaxError
from .guides import interchange_problem, transaction_problem
from .ig.tables import FIRST_ELEMENT, load_table
from .loops import RawLoop, assemble
from .walk import DEFAULT_POLICY, WARNING, Problem, Step, Walker, WalkPolicy

X222 = "005010X222A1"
X223 = "005010X223A2"
X221 = "005010X221A1"


@dataclass(frozen=True)
class Kind:
    """How one transaction type is read: which loops are emitted and which are context."""

    transaction: str
    version: str
    emit: str  # the loop id that becomes one yielded object
    context: dict[str, type[Loop]]  # loop id -> context model
    model: type[Loop]
    #: besides the envelope's, the only segment ids the walk can place outside an emitted loop when it is
    #: open (a new claim, a new level or the summary): any other segment is placed inside the loop or not
    #: at all, so a reader that skips a claim's segments up to one of these ends up where a walk of them
    #: would (tests/test_walk.py derives this from the IG tables)
    stops: frozenset[str]


KINDS = {
    "837": Kind("837", X222, "2300", {"HEADER": TransactionHeader, "2000A": BillingProvider,
                                      "2000B": Subscriber, "2000C": Patient}, Claim, frozenset({"HL", "CLM"})),
    # the 837I: the same levels, its own 2300 model; told from the 837P by its guide (ST03, else GS08)
    "837I": Kind("837", X223, "2300", {"HEADER": TransactionHeader, "2000A": BillingProvider,
                                       "2000B": Subscriber, "2000C": Patient}, InstitutionalClaim,
                 frozenset({"HL", "CLM"})),
    "835": Kind("835", X221, "2100", {"HEADER": PaymentHeader, "2000": ProviderSummary}, ClaimPayment,
                frozenset({"CLP", "LX", "PLB"})),
}



def kind_of(txn: TransactionSet) -> Kind | None:
    """How a transaction set is read: an 837 whose guide (ST03, else GS08) is an X223 one is an 837I,
    any other 837 an 837P; None for a transaction type we do not read."""
    if txn.id == "837" and txn.version.startswith(X223[:10]):
        return KINDS["837I"]
    return KINDS.get(txn.id)


#: `RawLoop.model` of an emitted loop that `select` declined: it is neither kept nor built
_DECLINED = object()
#: the problems a lenient reader lists for one claim: past that many (a claim of 100,000 service lines
#: against the guide's 50 has 99,950 loop_repeat problems) one line says the rest are not listed
MAX_CLAIM_PROBLEMS = 100


class _Sink(list):
    """The segment (and child loop) list of a claim that will not be built (a lenient reader found a
    problem in it, e.g. past an IG repeat limit): keeps the claim's first segment, for its id, and drops
    what is appended, so memory stays bounded whatever the claim's length. `problems` counts the
    problems reported for the claim (see `MAX_CLAIM_PROBLEMS`)."""

    __slots__ = ("problems",)

    def __init__(self, first: list) -> None:
        super().__init__(first[:1])
        self.problems = 0

    def append(self, _item: Any) -> None:
        pass


def _sink(stack: list[RawLoop], claim: RawLoop) -> _Sink:
    """Stop keeping the segments and child loops of `claim` and of every loop open inside it; returns the
    claim's sink (its problem count)."""
    for raw in stack[next(i for i, r in enumerate(stack) if r is claim):]:
        if type(raw.segments) is not _Sink:
            raw.segments, raw.children = _Sink(raw.segments), _Sink([])
    return claim.segments  # type: ignore[return-value]

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
    problem is recorded in `errors`, the claims it concerns are skipped, and reading goes on. A walk
    problem concerns the innermost claim or context loop instance it lies in (a segment not placed: the
    loop open at that point), and lenient reading skips every claim of that instance: a problem in a
    claim skips the claim, one in its subscriber level every claim of the subscriber. What the walk
    `policy` makes a warning goes to `warnings` and skips nothing.

    `select`, when given, is asked with each claim's id (CLM01 / CLP01) when the claim's first segment is
    read; the segments of a claim it declines are skipped unread up to the next claim, level or envelope
    segment (`Kind.stops`), and the walker takes the claim as complete (`Walker.skip`). Several processes
    can so share one file's claims, each paying only for its own. A problem inside a declined claim is
    then not seen, and none is reported for it: a caller that selects must combine what its processes
    found (the earliest problem any of them met is the one a reader of everything meets first). That
    holds because the walk can place no other segment outside an open claim: one that does not belong in
    the claim has no place at all, so a reader that skips a claim ends up where a reader that walked it
    does, and reports exactly the problems of what it reads.
    """

    path: str | Path
    strict: bool = True
    only: str | None = None  # "837" or "835": other transaction types are an error
    select: Callable[[str], bool] | None = None
    #: what messages and `source.file` call the file (default: the path); `<stdin>` for a spooled pipe
    name: str | None = None
    #: which walk problems are errors and which warnings (see `cob.edi.walk.WalkPolicy`)
    policy: WalkPolicy = DEFAULT_POLICY
    #: called with (segment number, IG loop id or None when not placed) for every segment walked
    trace: Callable[[int, str | None], None] | None = None
    errors: list[X12Error] = field(default_factory=list)
    warnings: list[X12Error] = field(default_factory=list)
    transactions: list[str] = field(default_factory=list)
    #: context loop id (2000A, 2000B, ...) -> segment number of its first segment, for the last claim built:
    #: claims that share a context object share these numbers, which stay comparable across processes
    context_at: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.name = self.name or str(self.path)
        #: index in `pushes` of the loop a problem of the step being taken concerns (see `_walk`)
        self._bad_push: int | None = None
        self._overflow = False  # a claim went past MAX_CLAIM_PROBLEMS: the caller skips the rest of it

    def _fail(self, err: X12Error) -> None:
        self.errors.append(err)
        if self.strict:
            raise X12SyntaxError(err)

    def __iter__(self) -> Iterator[Any]:
        env = EnvelopeReader(self.path, strict=self.strict, name=self.name)
        kind: Kind | None = None
        walker: Walker | None = None
        qual: dict = {}
        stack: list[RawLoop] = []
        ctx: dict[str, Any] = {}
        comp = rep = ""
        txn: TransactionSet | None = None
        segments: list = []
        ready: list[Any] = []
        skip = False
        select = self.select
        trace = self.trace
        emit_at = -1  # index in `stack` of the open emitted loop (-1: none is open)
        for txn_, elements, seg_no, st_no in env:
            sid = elements[0]
            if sid == "ST":
                txn = txn_
                kind = kind_of(txn)
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
                # the validator's answers (cob.edi.guides), so that reading and validating agree
                problem = interchange_problem(isa_version)
                code = "version"
                if problem is None:
                    problem = transaction_problem(txn.group.version, txn.id, readable=True)
                    code = "transaction_not_supported"
                if problem is not None:
                    self._fail(X12Error(self.name, seg_no, "ST", problem, code=code, st_segment_no=st_no))
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
                walker = Walker(load_table(kind.version), comp, self.policy)
                walker.start()
                qual = walker.qual
                advance = walker.advance
                stack = [RawLoop("ST_LOOP")]
                segments = stack[-1].segments  # those of the innermost open loop, where the next one goes
                ctx = {"envelope": _envelope(txn, self.name), "st_segment_no": seg_no}
                continue
            if skip or kind is None or walker is None:
                continue
            # place the segment: the walk's cached step, taken the long way when it raises a problem
            positions = qual.get(sid)
            if positions is None:
                key: Any = sid
            elif positions == FIRST_ELEMENT:
                key = (sid, elements[1] if len(elements) > 1 else "")
            else:
                key = walker.key(elements)
            step = walker.next.get(key)
            if step is None or not advance(step):
                step = self._walk(walker, elements, key, seg_no, st_no, stack, kind)
                segments = stack[-1].segments  # a bad claim's open loops now keep nothing (`_Sink`)
                if self._overflow and emit_at >= 0:  # past MAX_CLAIM_PROBLEMS: the rest of the claim unread
                    self._overflow = False
                    walker.skip(emit_at)
                    env.segments.skip_until(kind.stops)
                if step.seg is None and walker.complete is not None:
                    env.segments.skip_until(kind.stops)  # not placed, inside a claim skipped: skip on
            if trace is not None:
                trace(seg_no, step.loop_id or None)
            if step.pops or step.pushes:  # the segment closes or opens loops (most stay in the loop they are in)
                pops = step.pops
                if pops:
                    if 0 <= emit_at >= len(stack) - pops:
                        emit_at = -1
                    for _ in range(pops):
                        self._close(stack, kind, ctx, comp, rep, ready)
                for loop_def in step.pushes:
                    raw = RawLoop(loop_def.id)
                    if loop_def.id == kind.emit:
                        emit_at = len(stack)
                        if select is not None and not select(elements[1] if len(elements) > 1 else ""):
                            raw.model = _DECLINED
                            walker.skip(emit_at)
                            env.segments.skip_until(kind.stops)
                    elif loop_def.id not in _DETACHED:
                        stack[-1].children.append(raw)
                    stack.append(raw)
                if self._bad_push is not None:  # a problem of the step concerns a loop it opened
                    stack[len(stack) - len(step.pushes) + self._bad_push].bad = True
                    self._bad_push = None
                segments = stack[-1].segments
            if sid == "SE":
                while len(stack) > 1:
                    self._close(stack, kind, ctx, comp, rep, ready)
                segments = stack[-1].segments
                emit_at = -1
                yield from ready
                ready.clear()
                continue
            segments.append((elements, seg_no))
            if sid == "PLB" and kind.transaction == "835":
                plb = self._plb(elements, seg_no, st_no, ctx, comp, stack)
                if plb is not None:
                    ready.append(plb)
            if ready:
                yield from ready
                ready.clear()
        self.errors.extend(e for e in env.errors if e not in self.errors)

    # ------------------------------------------------------------------------------------------------

    def _walk(self, walker: Walker, elements: list[str], key: Any, seg_no: int, st_no: int,
              stack: list[RawLoop], kind: Kind) -> Step:
        """A segment the walk's fast step does not take: placed the long way, its problems reported with
        the validator's codes (errors raise when strict) and, when lenient, the claims they concern marked
        to be skipped (`RawLoop.bad`). Nothing changes in `stack` here: the caller applies the step."""
        step, problems = walker.step(elements, key)
        base = len(stack) - 1 - step.pops  # the last loop instance the step keeps
        for p in problems:
            where, claim_id = self._concerned(p, stack, base, step, kind, elements)
            err = X12Error(self.name, seg_no, p.segment_id, f"{p.code}: {p.message}", code=p.code,
                           st_segment_no=st_no, loop=p.loop, claim_id=claim_id, severity=p.severity)
            if p.severity == WARNING:
                self.warnings.append(err)
                continue
            if where is not None:
                where.bad = True
                if where.loop_id == kind.emit and not self.strict:
                    listed = _sink(stack, where)
                    listed.problems += 1
                    if listed.problems > MAX_CLAIM_PROBLEMS:
                        if listed.problems == MAX_CLAIM_PROBLEMS + 1:
                            self._fail(replace(err, message=f"more than {MAX_CLAIM_PROBLEMS} problems in this "
                                                            "claim: the rest of it is not read", code="claim_problems"))
                            self._overflow = True
                        continue
            self._fail(err)
        return step

    def _concerned(self, p: Problem, stack: list[RawLoop], base: int, step: Step, kind: Kind,
                   elements: list[str]) -> tuple[RawLoop | None, str | None]:
        """The claim or context loop instance a problem concerns (None: one the step opens, marked through
        `_bad_push`) and the claim's id when it is a claim."""
        at = p.frame
        if p.after and at > base:  # a loop instance the step opens
            n = at - base - 1
            while n >= 0:
                loop_id = step.pushes[n].id
                if loop_id == kind.emit:
                    self._bad_push = n
                    return None, elements[1] if len(elements) > 1 else None
                if loop_id in kind.context:
                    self._bad_push = n
                    return None, None
                n -= 1
            at = base
        at = min(at, len(stack) - 1)
        while at > 0 and stack[at].loop_id != kind.emit and stack[at].loop_id not in kind.context:
            at -= 1
        raw = stack[at]
        if raw.loop_id == kind.emit and raw.segments and len(raw.segments[0][0]) > 1:
            return raw, raw.segments[0][0][1]
        return raw, None

    def _close(self, stack: list[RawLoop], kind: Kind, ctx: dict, comp: str, rep: str | None,
               ready: list) -> None:
        raw = stack.pop()
        loop_id = raw.loop_id
        if loop_id == kind.emit:
            if raw.model is _DECLINED or raw.bad:
                return
            obj = self._build(kind, raw, stack, ctx, comp, rep)
            if obj is not None:
                ready.append(obj)

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
        for open_raw in stack:
            if open_raw.bad:
                return None  # a problem in its context was reported: none of the context's claims is built
        header = next((c for c in stack[0].children if c.loop_id == "HEADER"), None) if stack else None
        if header is not None and header.bad:
            return None
        data = assemble(kind.model, raw, comp, rep)
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

    def _plb(self, elements: list[str], seg_no: int, st_no: int, ctx: dict, comp: str,
             stack: list[RawLoop]) -> Any:
        for open_raw in (*stack, *stack[0].children):
            if open_raw.bad:
                return None  # a problem in the set's header or trailer was reported
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


