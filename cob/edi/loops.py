"""Loop assembly: the loop instances a reader collects, and how a closed one becomes a model's input.

Where each segment belongs is the walk's business (`cob.edi.walk.Walker`, the one the validator uses);
the reader follows its steps with `RawLoop`s, one per loop instance, and `assemble` turns a closed raw
loop into the plain dict that a `schemas` loop model validates once.
"""

from __future__ import annotations

from typing import Any, Callable

from cob.schemas.base import Loop, split_composites


class RawLoop:
    """One loop instance as read: its segments `(elements, segment_no)` and child loop instances."""

    __slots__ = ("loop_id", "segments", "children", "model", "bad")

    def __init__(self, loop_id: str):
        self.loop_id = loop_id
        self.segments: list[tuple[list[str], int]] = []
        self.children: list[RawLoop] = []
        self.model: Any = None
        #: a problem concerning this instance was reported: a lenient reader builds none of its claims
        self.bad = False

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

