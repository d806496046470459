"""Following a transaction set through the IG tree the way pyx12's `walk_tree` does, but cached.

pyx12 decides where each segment belongs by scanning forward from the last matched segment: the
rest of the current loop (positions at or after the current one), then -- popping one loop at a time --
the rest of each enclosing loop, where a loop's own first segment means a new iteration. On the way it
notes every required segment or loop it passes over that has not occurred yet (IK304 3), and on arrival
it counts the segment or loop against its maximum use (IK304 5 / 4) and flags "not used" ones (2).

Which nodes are passed over, which are entered and where the scan lands depend only on the starting
segment node and on the new segment's id and qualifier values -- never on counts. So we compute that
path once (`Step`) and cache it; at run time a step costs a dict lookup plus a few count updates.
Counts live in frames, one dict per open loop instance: id(child node) -> occurrences in that instance.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from cob.edi.ig.tables import (
    FIRST_ELEMENT,
    LoopDef,
    SegmentDef,
    TransactionTable,
    segment_key,
)


class Check(NamedTuple):
    """A required node passed over: missing when its count in the owning frame is still 0."""

    node: Any  # SegmentDef or LoopDef
    key: int  # id(node): its count's key in a frame
    depth: int | None  # owning frame, counted from the top of the stack before the step; None = not open
    pos: int  # position compared by pyx12's flush rule
    is_loop: bool


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
    #: no notes to check and at most one loop entered: `Walker.advance` can apply it
    clean: bool = False
    loop_id: str = ""
    #: nothing passed over, exactly one used loop entered: the engine applies it inline, checking only
    #: the loop's repeat count (`loop_key` in the frame `pops` below the top, at most `loop_max`)
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
                        # `node` is open, so a "missing" note about it could never fire: discard
                        if self._loop_match(node, elements, [], depth_of):
                            pushes = self._goto(node, elements)
                            return Step(pushes[1], len(pop_list) + 1, tuple(pushes[0]), True, tuple(checks))
                        return Step(child, len(pop_list), (), False, tuple(checks))
                    if child.usage == "R":
                        checks.append(Check(child, id(child), depth_of(node), child.pos, False))
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
            checks.append(Check(loop, id(loop), depth_of(loop.parent), first.pos, True))
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


class Walker:
    """Locates segments and reports pyx12's walk errors: (ik3 code, node, message) triples."""

    def __init__(self, table: TransactionTable, component: str):
        self.table = table
        self.planner = _Planner(table, component)
        #: id(segment node) -> {segment key -> Step}: the transitions out of each node
        self.transitions: dict[int, dict[Any, Step]] = {}
        self.qual = table.qualifier_positions
        self.component = component
        self.frames: list[dict[int, int]] = []
        self.cur: SegmentDef | None = None
        self.next: dict[Any, Step] = {}

    def start(self, st_seg: SegmentDef) -> None:
        """Position on the ST segment of a new transaction set."""
        self.frames = [{id(st_seg): 1}]
        self.cur = st_seg
        self.next = self.transitions.setdefault(id(st_seg), {})

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
            step.clean = True
            step.loop_id = seg.loop.id
            if len(step.pushes) == 1 and not step.checks and step.pushes[0].usage != "N":
                loop = step.pushes[0]
                step.enter = True
                step.loop_key = id(loop)
                step.loop_max = loop.repeat if loop.repeat is not None else 1 << 30
        self.next[key] = step
        return step

    def advance(self, step: Step) -> bool:
        """Apply a step if it raises no finding; False (nothing changed) when it would.

        The fast path of the engine: the same decisions as `step`, without building messages.
        """
        frames = self.frames
        k = step.seg_key
        if step.checks:
            top = len(frames) - 1
            for chk in step.checks:
                d = chk.depth
                if d is None or d > top or frames[top - d].get(chk.key, 0) < 1:
                    return False
        if step.simple:
            counts = frames[-1]
            c = counts.get(k, 0) + 1
            if c > step.max_use:
                return False
            counts[k] = c
        else:
            pushes = step.pushes
            pops = step.pops
            if pops >= len(frames):
                return False
            if pushes:
                last = pushes[-1]
                if last.usage == "N":
                    return False
                if len(pushes) == 1:
                    parent = frames[-1 - pops]
                    c = parent.get(id(last), 0) + 1
                    if last.repeat is not None and c > last.repeat:
                        return False
            elif not step.entered:
                # a plain match after popping loops: count and usage against the ancestor's frame
                counts = frames[-1 - pops]
                if step.seg.usage == "N" or counts.get(k, 0) + 1 > step.max_use:
                    return False
            if pops:
                del frames[-pops:]
            for loop in pushes:
                parent = frames[-1]
                parent[id(loop)] = parent.get(id(loop), 0) + 1
                frames.append({})
            counts = frames[-1]
            counts[k] = counts.get(k, 0) + 1
        self.cur = step.seg
        self.next = step.next
        return True

    def step(self, elements: list[str], key: Any = None) -> tuple[SegmentDef | None, list[tuple[str, Any, str]]]:
        cur = self.cur
        seg_id = elements[0]
        if key is None:
            key = self.key(elements)
        step = self.next.get(key)
        if step is None:
            step = self.plan(key, elements)
        seg = step.seg
        if seg is None:
            return None, [("1", None, f"segment {seg_id} is not expected here (after {cur.loop.id} {cur.id})")]
        frames = self.frames
        errors: list[tuple[str, Any, str]] = []
        if step.checks:
            top = len(frames) - 1
            pending = []
            for chk in step.checks:
                d = chk.depth
                count = frames[top - d].get(id(chk.node), 0) if d is not None and d <= top else 0
                if count < 1:
                    pending.append(chk)
            if pending:
                if not step.entered:
                    pending = [c for c in pending if c.node is not seg and c.pos != seg.pos]
                for chk in pending:
                    node = chk.node
                    if chk.is_loop:
                        errors.append(("3", node, f"required loop {node.id} ({node.name}) is missing"))
                    else:
                        errors.append(("3", node, f"required segment {node.id} ({node.name}) in loop "
                                                  f"{node.loop.id} is missing"))
        if step.pops:
            del frames[-step.pops:]
        if step.pushes:
            last = len(step.pushes) - 1
            for i, loop in enumerate(step.pushes):
                parent = frames[-1]
                count = parent[id(loop)] = parent.get(id(loop), 0) + 1
                if i == last:
                    if loop.usage == "N":
                        errors.append(("2", loop, f"loop {loop.id} ({loop.name}) is not used in this implementation"))
                    elif loop.repeat is not None and count > loop.repeat:
                        errors.append(("4", loop, f"loop {loop.id} ({loop.name}) occurs {count} times, "
                                                  f"at most {loop.repeat}"))
                frames.append({})
        counts = frames[-1]
        count = counts[id(seg)] = counts.get(id(seg), 0) + 1
        if step.entered:
            pass  # pyx12 counts a loop's first segment without checking its usage
        elif seg.usage == "N":
            errors.append(("2", seg, f"segment {seg.id} ({seg.name}) is not used in this implementation"))
        elif seg.max_use is not None and count > seg.max_use:
            errors.append(("5", seg, f"segment {seg.id} ({seg.name}) occurs {count} times, at most {seg.max_use}"))
        self.cur = seg
        self.next = step.next
        return seg, errors
