"""The one walk through the IG loop tree: where each segment belongs, for the reader and the validator alike.

pyx12 decides where each segment belongs by scanning forward from the last matched segment: the
rest of the current loop (positions at or after the current one), then -- popping one loop at a time --
the rest of each enclosing loop, where a loop's own first segment means a new iteration. On the way it
notes every required segment or loop it passes over that has not occurred yet (IK304 3), and on arrival
it counts the segment or loop against its maximum use (IK304 5 / 4) and flags "not used" ones (2).
A segment the scan does not find is not placed at all (IK304 1, 2 or 6) and the walk stays where it was.

Which nodes are passed over, which are entered and where the scan lands depend only on the starting
segment node and on the new segment's id and qualifier values -- never on counts. So that path is
computed once (`Step`) and cached per (table, component separator) for every walker of the process;
at run time a step costs a dict lookup plus a few count updates. Counts live in frames, one dict per
open loop instance: id(child node) -> occurrences in that instance. The open loops are always the
ancestors of the current segment's loop, so `frames[i]` is the instance of the i-th of them (0 = ST_LOOP).

`Walker.step` applies a step and says what is wrong with it (`Problem`s named as the validator's
findings); `Walker.advance` is the same application for a step that raises nothing, without building
anything (the hot paths of the validator and the reader call it and take `step` only when it says no).
The reader (`cob.edi.reader`) follows `Step.pops` / `Step.pushes` with its loop instances; the validator
(`cob.edi.validate.engine`) files the problems as findings. What a problem means to whoever walks --
an error, a warning -- is a `WalkPolicy`; a reader that skips a claim unread tells the walker
(`Walker.skip`), which then takes that claim's loop as complete.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, NamedTuple

from cob.edi.ig.tables import (
    FIRST_ELEMENT,
    MAP_FILES,
    LoopDef,
    SegmentDef,
    TransactionTable,
    load_control_segments,
    load_table,
    segment_key,
)

# ------------------------------------------------------------------------------------------ code tables

#: IK304 of a segment the walk could not place -> finding / error code
UNPLACED = {"1": "segment_unknown", "2": "segment_unexpected", "6": "segment_not_in_set"}
#: IK304 of a problem met while placing a segment -> finding / error code
WALK_CODES = {"2": "segment_not_used", "3": "segment_missing", "4": "loop_repeat", "5": "segment_repeat"}
#: a segment id X12 allows (anything else is not a segment the walk can place, nor a segment at all)
SEGMENT_ID = re.compile(r"[A-Z][A-Z0-9]{1,2}")
#: the code of a "segment" whose id is not a segment id (the validator finds it before walking)
ID_INVALID = "segment_id_invalid"
#: every code a walk problem can have
PROBLEM_CODES = frozenset(UNPLACED.values()) | frozenset(WALK_CODES.values()) | {ID_INVALID}

_IDS: dict[str, frozenset[str]] = {}


def _segment_ids(table: TransactionTable) -> frozenset[str]:
    return frozenset(c.id for loop in table.loops for c in loop.children if isinstance(c, SegmentDef))


def unplaced_code(table: TransactionTable, seg_id: str) -> str:
    """IK304 for a segment the walk could not place: 2 the set has it elsewhere, 6 another set has it,
    1 no implementation guide we know has it."""
    here = _IDS.get(table.version)
    if here is None:
        here = _IDS[table.version] = _segment_ids(table)
    if seg_id in here:
        return "2"
    every = _IDS.get("*")
    if every is None:
        ids = set(load_control_segments())
        for version in MAP_FILES:
            ids |= _segment_ids(load_table(version))
        every = _IDS["*"] = frozenset(ids)
    return "6" if seg_id in every else "1"


def first_segment_id(loop: LoopDef) -> str | None:
    first = loop.first_segment()
    return first.id if first is not None else None


# ------------------------------------------------------------------------------------------ policy

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True)
class WalkPolicy:
    """What a walk problem means to whoever walks: an error, or a warning (`warnings` names those codes).

    The default, used by the validator and by the readers (`cob parse`, `cob secondary`, `cob run`), makes
    every walk problem an error, so a file the reader takes is one `cob validate` finds no walk problem in:

    - a segment out of IG order, or one the set has no place for (segment_unexpected / _not_in_set /
      _unknown / segment_id_invalid): reading on would put it, or what follows it, somewhere the sender did
      not mean (a reader that used to place such segments in an earlier loop re-sorted, "repaired", what
      the validator rejects);
    - a required segment or loop that is missing (segment_missing): the claim or its context is not what
      the IG says it is, and the next claim would be built from an incomplete original;
    - too many of a segment or a loop, or one the IG marks not used (segment_repeat, loop_repeat,
      segment_not_used): nothing is misplaced, but a payer rejects the set (its 999 says so), and the next
      claim built from it carries the same defect into an output that its own validation then rejects.
      These alone could be warnings without losing data; they are not, so that "the reader took it"
      keeps meaning "the validator finds the set's structure sound".

    A caller that must read such files anyway gives a policy with those codes as warnings: the segment is
    then kept where the walk put it (an unplaced one in the loop open at that point) and the problem
    is recorded in the reader's `warnings`.
    """

    warnings: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        unknown = set(self.warnings) - PROBLEM_CODES
        if unknown:
            raise ValueError(f"not walk problem codes: {', '.join(sorted(unknown))}")

    def severity(self, code: str) -> str:
        return WARNING if code in self.warnings else ERROR


#: every walk problem is an error (see `WalkPolicy`)
DEFAULT_POLICY = WalkPolicy()


class Problem(NamedTuple):
    """One walk problem at the segment being placed, named and worded as the validator's finding."""

    code: str  # UNPLACED / WALK_CODES value, or ID_INVALID
    ik3: str  # IK304
    segment_id: str | None  # the segment concerned: the one missing, the one placed or unplaced
    loop: str | None  # the IG loop of that segment (None for one not placed)
    message: str
    #: the loop instance the problem concerns, as an index in the frames (0 = ST_LOOP): before the step
    #: for a node passed over or a segment not placed, after it for a loop or segment that arrived
    frame: int
    after: bool
    severity: str


# ------------------------------------------------------------------------------------------ planning


class Check(NamedTuple):
    """A required node passed over: missing when its count in the owning frame is still 0."""

    node: Any  # SegmentDef or LoopDef
    key: int  # id(node): its count's key in a frame
    depth: int | None  # owning frame, counted from the top of the stack before the step; None = not open
    pos: int  # position compared by pyx12's flush rule
    is_loop: bool
    #: the innermost open loop instance that holds the node, counted like `depth` (never None)
    concern: int = 0


@dataclass(slots=True)
class Step:
    seg: SegmentDef | None  # None: the segment has no place here (IK304 1)
    pops: int  # frames closed
    pushes: tuple[LoopDef, ...]  # loops opened (a new frame each)
    entered: bool  # True: matched as the first segment of a loop (pending "missing" all flushed)
    checks: tuple[Check, ...]
    #: nothing but a count to update: no loops change, nothing passed over, usage not N
    simple: bool = False
    seg_key: int = 0
    max_use: int = 1 << 30
    next: dict | None = None  # the transitions from `seg`
    loop_id: str = ""
    #: exactly one used loop entered: besides the notes, only the loop's repeat count is checked
    #: (`loop_key` in the frame `pops` below the top, at most `loop_max`)
    enter: bool = False
    loop_key: int = 0
    loop_max: int = 1 << 30


def _first_child(loop: LoopDef):
    return loop.children[0] if loop.children else None


class _Planner:
    """Computes `Step`s for one transaction table (pure: depends only on the IG tree)."""

    def __init__(self, table: TransactionTable, component: str):
        self.table = table
        self.component = component

    def plan(self, cur: SegmentDef, elements: list[str]) -> Step:
        comp = self.component
        open_loops: list[LoopDef] = []
        node: LoopDef | None = cur.loop
        while node is not None:
            open_loops.append(node)  # innermost first
            node = node.parent
        checks: list[Check] = []
        pop_list: list[LoopDef] = []
        node = cur.loop
        node_pos = cur.pos

        def depth_of(loop: LoopDef | None) -> int | None:
            for d, lp in enumerate(open_loops):
                if lp is loop:
                    return d
            return None

        while node is not None:
            for child in sorted((c for c in node.children if c.pos >= node_pos), key=lambda c: c.pos):
                if isinstance(child, SegmentDef):
                    if child.id == elements[0] and child.matches(elements, comp):
                        # `node` is open, so a "missing" note about it could never fire: discard.
                        # Its first segment again starts a new iteration -- unless that segment may
                        # repeat within one (max use > 1): X12 never lets a loop's trigger repeat, so
                        # such a "loop" is a table area of the map, not a loop. The 835 footer is one:
                        # PLB repeats (six adjustments each) in one Table 3, which pyx12 counts as
                        # footer loops (loop_repeat) -- see tests/validate/differential_disagreements.json.
                        if child.max_use == 1 and self._loop_match(node, elements, [], depth_of):
                            pushes = self._goto(node, elements)
                            return Step(pushes[1], len(pop_list) + 1, tuple(pushes[0]), True, tuple(checks))
                        return Step(child, len(pop_list), (), False, tuple(checks))
                    if child.usage == "R":
                        d = depth_of(node)
                        checks.append(Check(child, id(child), d, child.pos, False, d))
                else:
                    if self._loop_match(child, elements, checks, depth_of):
                        pushes = self._goto(child, elements)
                        return Step(pushes[1], len(pop_list), tuple(pushes[0]), True, tuple(checks))
            if node.parent is None:
                return Step(None, 0, (), False, ())
            node_pos = node.pos
            pop_list.append(node)
            node = node.parent
        return Step(None, 0, (), False, ())

    def _loop_match(self, loop: LoopDef, elements: list[str], checks: list[Check], depth_of) -> bool:
        first = _first_child(loop)
        if first is None:
            return False
        if isinstance(first, LoopDef):
            for child in loop.children:
                if isinstance(child, LoopDef) and self._loop_match(child, elements, checks, depth_of):
                    return True
            return False
        if first.id == elements[0] and first.matches(elements, self.component):
            return True
        if loop.usage == "R":
            d = depth_of(loop.parent)
            concern = d
            holder = loop.parent
            while concern is None and holder is not None:  # inside a wrapper not open yet: who holds both
                holder = holder.parent
                concern = depth_of(holder)
            if concern is None:
                concern = depth_of(self.table.root)
            checks.append(Check(loop, id(loop), d, first.pos, True, concern))
        return False

    def _goto(self, loop: LoopDef, elements: list[str]) -> tuple[list[LoopDef], SegmentDef | None]:
        first = _first_child(loop)
        if isinstance(first, SegmentDef) and first.id == elements[0] and first.matches(elements, self.component):
            return [loop], first
        for child in loop.children:
            if isinstance(child, LoopDef):
                path, seg = self._goto(child, elements)
                if seg is not None:
                    return [loop] + path, seg
        return [], None


#: (table version, component separator) -> (table, id(segment node) -> {segment key -> Step})
_TRANSITIONS: dict[tuple[str, str], tuple[TransactionTable, dict[int, dict[Any, Step]]]] = {}
#: `Walker.next` while a skipped loop is open: no step is found there, so every segment goes `step`
_SKIPPING: dict = {}
#: what `Walker._problems` answers when only whether there is a problem counts: not empty
_REFUSED: list = [None]


def _transitions(table: TransactionTable, component: str) -> dict[int, dict[Any, Step]]:
    """The cached steps of a table and separator, shared by every walker of the process (steps are pure)."""
    key = (table.version, component)
    found = _TRANSITIONS.get(key)
    if found is None or found[0] is not table:
        found = _TRANSITIONS[key] = (table, {})
    return found[1]


# ------------------------------------------------------------------------------------------ walking


class Walker:
    """Follows transaction sets through one IG tree, one segment at a time (see the module docstring)."""

    def __init__(self, table: TransactionTable, component: str, policy: WalkPolicy = DEFAULT_POLICY):
        self.table = table
        self.policy = policy
        self.planner = _Planner(table, component)
        #: id(segment node) -> {segment key -> Step}: the transitions out of each node
        self.transitions = _transitions(table, component)
        self.qual = table.qualifier_positions
        self.component = component
        self.frames: list[dict[int, int]] = []
        self.cur: SegmentDef | None = None
        self.next: dict[Any, Step] = {}
        #: index of the frame of a loop skipped unread (`skip`), while it is open
        self.complete: int | None = None

    def start(self, st_seg: SegmentDef | None = None) -> None:
        """Position on the ST segment of a new transaction set."""
        if st_seg is None:
            st_seg = self.table.root.children[0]
        self.frames = [{id(st_seg): 1}]
        self.cur = st_seg
        self.next = self.transitions.setdefault(id(st_seg), {})
        self.complete = None

    def open_loops(self) -> list[LoopDef]:
        """The open loops, outermost (ST_LOOP) first: one per frame."""
        loops: list[LoopDef] = []
        loop = self.cur.loop if self.cur is not None else None
        while loop is not None:
            loops.append(loop)
            loop = loop.parent
        loops.reverse()
        return loops

    def key(self, elements: list[str]) -> Any:
        """The transition key of a segment: its id, plus the qualifier values the IG tells apart by."""
        seg_id = elements[0]
        positions = self.qual.get(seg_id)
        if positions is None:
            return seg_id
        if positions == FIRST_ELEMENT:
            return (seg_id, elements[1] if len(elements) > 1 else "")
        return segment_key(elements, positions, self.component)

    def plan(self, key: Any, elements: list[str]) -> Step:
        """The step from the current segment for a segment with this key, planned once and cached."""
        step = self.planner.plan(self.cur, elements)
        seg = step.seg
        if seg is not None:
            cur = self.cur
            # statically satisfied notes: the current node has occurred; a plain match forgives
            # itself and its same-position alternatives (pyx12's flush rule)
            open_loops = set()
            lp = cur.loop
            while lp is not None:
                open_loops.add(id(lp))
                lp = lp.parent
            # ... and an open loop has occurred in its parent
            step.checks = tuple(c for c in step.checks if not (c.node is cur and c.depth == 0)
                                and not (c.is_loop and id(c.node) in open_loops)
                                and (step.entered or (c.node is not seg and c.pos != seg.pos)))
            step.seg_key = id(seg)
            step.max_use = seg.max_use if seg.max_use is not None else 1 << 30
            step.next = self.transitions.setdefault(id(seg), {})
            step.simple = not (step.checks or step.pops or step.pushes or step.entered or seg.usage == "N")
            step.loop_id = seg.loop.id
            if len(step.pushes) == 1 and step.pushes[0].usage != "N":
                loop = step.pushes[0]
                step.enter = True
                step.loop_key = id(loop)
                step.loop_max = loop.repeat if loop.repeat is not None else 1 << 30
        self.transitions.setdefault(id(self.cur), {})[key] = step
        return step

    def advance(self, step: Step) -> bool:
        """Apply a step found in `next` if it raises no problem; False, and nothing changed, when it would
        (then `step` gives the problems). The hot paths call it for every segment, so the two commonest
        steps -- a segment of the loop it is in, the first segment of one loop -- are decided here with
        a count or two; any other step is `_problems` + `_apply`, as in `step`."""
        if step.simple:
            counts = self.frames[-1]
            k = step.seg_key
            c = counts.get(k, 0) + 1
            if c > step.max_use:
                return False
            counts[k] = c
        elif step.enter:
            frames = self.frames
            pops = step.pops
            top = len(frames) - 1
            if pops > top:
                return False
            if step.checks:  # required nodes passed over: each must have occurred in its frame
                for chk in step.checks:
                    d = chk.depth
                    if d is None or d > top or frames[top - d].get(chk.key, 0) < 1:
                        return False
            counts = frames[top - pops]
            k = step.loop_key
            c = counts.get(k, 0) + 1
            if c > step.loop_max:
                return False
            if pops:
                del frames[-pops:]
            counts[k] = c
            frames.append({step.seg_key: 1})
        else:
            if step.seg is None or self._problems(step, None):
                return False
            self._apply(step)
            return True
        self.cur = step.seg
        self.next = step.next
        return True

    def step(self, elements: list[str], key: Any = None) -> tuple[Step, list[Problem]]:
        """Place a segment: the step taken (`seg` None: not placed, the walk stays where it was) and the
        problems it raises, in pyx12's order."""
        if key is None:
            key = self.key(elements)
        step = self.transitions[id(self.cur)].get(key)
        if step is None:
            step = self.plan(key, elements)
        problems = self._problems(step, elements)
        if step.seg is not None:
            self._apply(step)
        return step, problems

    def skip(self, frame: int) -> None:
        """The open loop instance `frames[frame]` is skipped unread (a reader's `select` declined the claim
        it is): it counts as complete -- nothing it or a loop inside it lacks is reported, nor a segment
        not placed while it is open -- until a segment leaves it. A reader that skips walks only the
        segments that can end such a loop (`cob.edi.reader.Kind.stops`); each goes the long way (`next`
        finds nothing), which honours this."""
        self.complete = frame
        self.next = _SKIPPING

    # ---------------------------------------------------------------------------------------------

    def _problems(self, step: Step, elements: list[str] | None) -> list[Problem]:
        """What applying `step` from the current state raises; the state is not changed. With `elements`
        None only whether there is any problem counts: the answer is then `_REFUSED` or empty."""
        frames = self.frames
        top = len(frames) - 1
        seg = step.seg
        complete = self.complete
        severity = self.policy.severity
        out: list[Problem] = []
        if seg is None:
            if elements is None:
                return _REFUSED
            if complete is not None and top >= complete:
                return out  # inside the loop skipped: its reader's business
            seg_id = elements[0]
            cur = self.cur
            if SEGMENT_ID.fullmatch(seg_id) is None:
                return [Problem(ID_INVALID, "1", None, None, "segment identifier is not valid", top, False,
                                severity(ID_INVALID))]
            ik3 = unplaced_code(self.table, seg_id)
            code = UNPLACED[ik3]
            return [Problem(code, ik3, seg_id, None, f"segment {seg_id} is not expected here (after "
                            f"{cur.loop.id} {cur.id})", top, False, severity(code))]
        if step.checks:
            for chk in step.checks:
                d = chk.depth
                if d is not None and d <= top and frames[top - d].get(chk.key, 0) >= 1:
                    continue
                if complete is not None and top - chk.concern >= complete:
                    continue
                if elements is None:
                    return _REFUSED
                node = chk.node
                code = WALK_CODES["3"]
                if chk.is_loop:
                    out.append(Problem(code, "3", first_segment_id(node), node.id,
                                       f"required loop {node.id} ({node.name}) is missing", top - chk.concern,
                                       False, severity(code)))
                else:
                    out.append(Problem(code, "3", node.id, node.loop.id, f"required segment {node.id} "
                                       f"({node.name}) in loop {node.loop.id} is missing", top - chk.concern,
                                       False, severity(code)))
        base = top - step.pops  # the frame the step keeps and lands in or pushes onto
        if base < 0:
            return _REFUSED if elements is None else out
        pushes = step.pushes
        if pushes:
            last = pushes[-1]
            at = base + len(pushes)
            count = frames[base].get(id(last), 0) + 1 if len(pushes) == 1 else 1
            if last.usage == "N":
                if elements is None:
                    return _REFUSED
                code = WALK_CODES["2"]
                out.append(Problem(code, "2", first_segment_id(last), last.id, f"loop {last.id} ({last.name}) "
                                   "is not used in this implementation", at, True, severity(code)))
            elif last.repeat is not None and count > last.repeat:
                if elements is None:
                    return _REFUSED
                code = WALK_CODES["4"]
                out.append(Problem(code, "4", first_segment_id(last), last.id, f"loop {last.id} ({last.name}) "
                                   f"occurs {count} times, at most {last.repeat}", at, True, severity(code)))
            count = 1
        else:
            at = base
            count = frames[base].get(id(seg), 0) + 1
        if step.entered:
            pass  # pyx12 counts a loop's first segment without checking its usage
        elif seg.usage == "N":
            if elements is None:
                return _REFUSED
            code = WALK_CODES["2"]
            out.append(Problem(code, "2", seg.id, seg.loop.id, f"segment {seg.id} ({seg.name}) is not used in "
                               "this implementation", at, True, severity(code)))
        elif seg.max_use is not None and count > seg.max_use:
            if elements is None:
                return _REFUSED
            code = WALK_CODES["5"]
            out.append(Problem(code, "5", seg.id, seg.loop.id, f"segment {seg.id} ({seg.name}) occurs {count} "
                               f"times, at most {seg.max_use}", at, True, severity(code)))
        return out

    def _apply(self, step: Step) -> None:
        """Move to a placed segment: close `pops` loop instances, open `pushes`, count the segment."""
        frames = self.frames
        if step.pops:
            del frames[-step.pops:]
        for loop in step.pushes:
            parent = frames[-1]
            parent[id(loop)] = parent.get(id(loop), 0) + 1
            frames.append({})
        counts = frames[-1]
        k = step.seg_key
        counts[k] = counts.get(k, 0) + 1
        self.cur = step.seg
        if self.complete is not None and len(frames) - len(step.pushes) <= self.complete:
            self.complete = None  # the skipped loop is closed
        self.next = step.next if self.complete is None else _SKIPPING
