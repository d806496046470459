"""Locating each segment in its implementation-guide loop, driven by the compiled IG tables.

`LoopWalker` keeps the stack of open loops (always a path in the IG tree) and, for each segment,
decides: does it belong to the current loop, start a child loop, start a new iteration of an open loop,
or close loops until an ancestor accepts it. The decision depends only on the innermost open loop, the
segment id and its qualifier value(s), so it is computed once from the IG tree and then cached: the
hot path is one dict lookup per segment.

`RawLoop` collects the segments of one loop instance as the reader streams; `assemble` turns a closed
raw loop into the plain dict that a `schemas` loop model validates once.
"""

from __future__ import annotations

from typing import Any, Callable

from cob.schemas.base import Loop, split_composites

from .ig.tables import FIRST_ELEMENT, LoopDef, SegmentDef, TransactionTable, segment_key

Resolution = tuple[int, tuple[LoopDef, ...], SegmentDef | None]

_CACHES: dict[str, dict[int, dict[Any, Resolution | None]]] = {}


def _starts(loop: LoopDef, elements: list[str], comp: str) -> tuple[list[LoopDef], SegmentDef] | None:
    """If `elements` opens `loop` (descending through wrapper loops), the loops to push and the segment."""
    for child in loop.children:
        if isinstance(child, SegmentDef):
            if child.id == elements[0] and child.matches(elements, comp):
                return [loop], child
            return None
        found = _starts(child, elements, comp)
        if found is not None:
            return [loop] + found[0], found[1]
        if child.usage == "R":
            return None
    return None


def _resolve(top: LoopDef, elements: list[str], comp: str) -> Resolution | None:
    seg_id = elements[0]
    node: LoopDef | None = top
    pops = 0
    while node is not None:
        first = node.first_segment()
        # 1. a segment of this loop (its first segment would mean a new iteration, see 3)
        for child in node.children:
            if isinstance(child, SegmentDef) and child.id == seg_id and child is not first \
                    and child.matches(elements, comp):
                return pops, (), child
        # 2. the start of a child loop
        for child in node.children:
            if isinstance(child, LoopDef):
                found = _starts(child, elements, comp)
                if found is not None:
                    return pops, tuple(found[0]), found[1]
        # 3. a new iteration of this loop
        if node.parent is not None and first is not None and first.id == seg_id and first.matches(elements, comp):
            return pops + 1, (node,), first
        node = node.parent
        pops += 1
    return None


class LoopWalker:
    """Follows a transaction set through the IG loop tree, one segment at a time."""

    def __init__(self, table: TransactionTable, component: str):
        self.table = table
        self.component = component
        self._cache = _CACHES.setdefault(table.version, {})
        self._qual = table.qualifier_positions
        self.reset()

    def reset(self) -> None:
        self.stack: list[LoopDef] = [self.table.root]
        self._here = self._decisions(self.table.root)

    def _decisions(self, loop: LoopDef) -> dict[Any, Any]:
        """The decisions cached for segments met while `loop` is the innermost open loop."""
        per_loop = self._cache.get(loop.index)
        if per_loop is None:
            per_loop = self._cache[loop.index] = {}
        return per_loop

    def feed(self, elements: list[str]) -> Resolution | None:
        """Resolve a segment and move the stack; None when the IG has no place for it here.

        The innermost loop's decisions are at hand (`_here`, changed only when the stack does): a segment
        id without qualifiers is its own key, one lookup; an id with qualifiers is marked so there, and
        its key adds the qualifier values."""
        seg_id = elements[0]
        here = self._here
        res = here.get(seg_id, _UNSEEN)
        if res is _QUALIFIED:
            positions = self._qual[seg_id]
            if positions == FIRST_ELEMENT:
                key: Any = (seg_id, elements[1] if len(elements) > 1 else "")
            else:
                key = segment_key(elements, positions, self.component)
            res = here.get(key, _UNSEEN)
            if res is _UNSEEN:
                res = here[key] = _resolve(self.stack[-1], elements, self.component)
        elif res is _UNSEEN:
            if self._qual.get(seg_id):
                here[seg_id] = _QUALIFIED
                return self.feed(elements)
            res = here[seg_id] = _resolve(self.stack[-1], elements, self.component)
        if res is None:
            return None
        pops, pushes = res[0], res[1]
        if pops or pushes:
            stack = self.stack
            if pops:
                del stack[-pops:]
            if pushes:
                stack.extend(pushes)
            self._here = self._decisions(stack[-1])
        return res


_UNSEEN = object()  # not decided yet in this loop
_QUALIFIED = object()  # the decision depends on qualifier values too


class RawLoop:
    """One loop instance as read: its segments `(elements, segment_no)` and child loop instances."""

    __slots__ = ("loop_id", "segments", "children", "model")

    def __init__(self, loop_id: str):
        self.loop_id = loop_id
        self.segments: list[tuple[list[str], int]] = []
        self.children: list[RawLoop] = []
        self.model: Any = None

    @property
    def first_segment_no(self) -> int | None:
        return self.segments[0][1] if self.segments else None


class _Plan:
    """How raw loops become the input dict of one loop model: segment id -> (field, parser, is a list),
    child loop id -> (field, child plan, is a list). Made once per model class, so assembling a loop
    costs one dict lookup per segment and per child loop, not a walk of class attributes."""

    __slots__ = ("segments", "loops", "has_loop")

    def __init__(self, model: type[Loop]):
        self.segments: dict[str, tuple[str, Callable[[list[str], str], dict], bool]] = {
            seg_id: (name, seg_model.parser, many) for seg_id, (name, seg_model, many) in model._seg_fields.items()}
        self.loops: dict[str, tuple[str, _Plan, bool]] = {}
        #: a model with a `loop` field is told which IG loop it was read from (several ids share a model)
        self.has_loop = model._has_loop_field


_PLANS: dict[type[Loop], _Plan] = {}


def _plan(model: type[Loop]) -> _Plan:
    """The model's plan, children included; registered before its children so a cycle would end."""
    plan = _PLANS.get(model)
    if plan is None:
        plan = _PLANS[model] = _Plan(model)
        plan.loops = {loop_id: (name, _plan(child), many)
                      for loop_id, (name, child, many) in model._loop_fields.items()}
    return plan


def assemble(model: type[Loop], raw: RawLoop, comp: str, rep: str | None) -> dict:
    """A closed raw loop -> dict for `model.model_validate`. Uninterpreted segments/loops are kept raw."""
    return _assemble(_plan(model), raw, comp, rep)


def _assemble(plan: _Plan, raw: RawLoop, comp: str, rep: str | None) -> dict:
    """`assemble` with the plan at hand: each segment parsed once, straight into the dict validated
    (a segment id met again for a single field is kept raw, as the writer expects)."""
    out: dict[str, Any] = {}
    segments = plan.segments
    others: list = []
    for elements, _no in raw.segments:
        spec = segments.get(elements[0])
        if spec is None:
            others.append(split_composites(elements, comp, rep))
            continue
        name, parse, many = spec
        if many:
            values = out.get(name)
            if values is None:
                out[name] = [parse(elements, comp)]
            else:
                values.append(parse(elements, comp))
        elif name in out:
            others.append(split_composites(elements, comp, rep))
        else:
            out[name] = parse(elements, comp)
    if others:
        out["other_segments"] = others
    if raw.children:
        _children(plan, raw, out, comp, rep)
    return out


def _children(plan: _Plan, raw: RawLoop, out: dict[str, Any], comp: str, rep: str | None) -> None:
    """The child loops of `raw` into `out`: interpreted ones by their plans, the others kept generic."""
    loops = plan.loops
    other_loops: list = []
    for child in raw.children:
        spec = loops.get(child.loop_id)
        if spec is None:
            other_loops.append(generic(child, comp, rep))
            continue
        name, child_plan, many = spec
        value = _assemble(child_plan, child, comp, rep)
        if child_plan.has_loop:
            value["loop"] = child.loop_id
        if many:
            values = out.get(name)
            if values is None:
                out[name] = [value]
            else:
                values.append(value)
        else:
            out[name] = value
    if other_loops:
        out["other_loops"] = other_loops


def generic(raw: RawLoop, comp: str, rep: str | None) -> dict:
    return {
        "loop": raw.loop_id,
        "segments": [split_composites(e, comp, rep) for e, _ in raw.segments],
        "children": [generic(c, comp, rep) for c in raw.children],
    }

