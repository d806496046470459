"""The implementation guides as data.

pyx12 ships each X12 implementation guide (TR3) as an XML map: loops, segments, usage, repeats, element
definitions and code lists. We read those maps once with lxml and compile them into small immutable
tables (`LoopDef`, `SegmentDef`, `ElementDef`) that the streaming loop walker and the writer use. The
IG's structure therefore lives in pyx12's data, not in if-chains here.

Compiled tables are cached in memory per process and pickled on disk keyed by the maps' content hash,
so a process pays the XML parse (about a tenth of a second) only the first time a map changes.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

#: Maps by transaction: GS08 / ST03 implementation convention reference -> map file name.
MAP_FILES = {
    "005010X222A1": "837.5010.X222.A1.xml",
    "005010X223A2": "837Q3.I.5010.X223.A1.xml",  # pyx12 names its 837I map for X223A1; maps.xml gives it X223A2
    "005010X221A1": "835.5010.X221.A1.xml",
    "005010X231A1": "999.5010X231.A1.xml",
    "005010X214": "277.5010.X214.xml",  # 277CA, read (never validated or written) by cob.edi.acks
}

#: part of the cache key: bumped whenever what is pickled changes shape or module. "5": the classes moved
#: from `edi.ig.tables` to `cob.edi.ig.tables`; an older cob must never load a newer cob's pickle (its
#: classes resolve to whichever `edi` is importable) nor the other way round.
_CACHE_VERSION = "5"


@dataclass(frozen=True, slots=True)
class ElementDef:
    """One simple element (or a component of a composite) as the IG defines it."""

    xid: str  # e.g. "CLM05-01"
    seq: int
    data_ele: str
    name: str
    usage: str  # R, S or N
    data_type: str  # AN, ID, R, N0.., DT, TM, B
    min_len: int
    max_len: int
    codes: frozenset[str] | None  # internal code list, None when open or external
    external_codes: str | None  # name of an external code list (pos, states, ...)
    repeat: int = 1
    regex: str | None = None  # an IG pattern the value must contain (pyx12 `<regex>`, searched)


@dataclass(frozen=True, slots=True)
class CompositeDef:
    """A composite element: its components are `ElementDef`s."""

    xid: str
    seq: int
    data_ele: str
    name: str
    usage: str
    components: tuple[ElementDef, ...]
    repeat: int = 1


@dataclass(frozen=True, slots=True)
class Qualifier:
    """Where a segment's identifying qualifier sits and which codes select this segment node.

    pyx12 tells segments with the same id apart (REF*6R vs REF*9B in one loop; NM1*IL vs NM1*PR
    starting different loops) by one ID element: element 1, the first component of a composite at
    element 1, or HL03. We follow the same rule.
    """

    element: int  # 1-based element position
    component: int | None  # 1-based component position when the element is a composite
    codes: frozenset[str]


@dataclass(slots=True)
class SegmentDef:
    id: str
    name: str
    usage: str
    pos: int
    max_use: int | None  # None = unbounded (">1")
    qualifier: Qualifier | None
    elements: tuple[ElementDef | CompositeDef, ...]
    syntax: tuple[str, ...]
    loop: "LoopDef | None" = field(default=None, repr=False)

    def matches(self, elements: list[str], component_sep: str) -> bool:
        """Does a data segment (already split into elements, [0] = id) select this node?"""
        q = self.qualifier
        if q is None:
            return True
        if len(elements) <= q.element:
            return False
        value = elements[q.element]
        if q.component is not None:
            value = value.split(component_sep, 1)[0] if component_sep in value else value
        return value in q.codes


@dataclass(slots=True)
class LoopDef:
    id: str  # xid: "2300", "ST_LOOP", "HEADER" ...
    name: str
    usage: str
    pos: int
    repeat: int | None  # None = unbounded
    kind: str  # explicit / implicit / wrapper
    children: list["LoopDef | SegmentDef"] = field(default_factory=list)
    parent: "LoopDef | None" = field(default=None, repr=False)
    #: index in a flat list of all loops of the transaction; the walker's cache keys use it.
    index: int = -1

    def first_segment(self) -> SegmentDef | None:
        """The segment that starts an iteration of this loop (descending into wrapper loops)."""
        for child in self.children:
            if isinstance(child, SegmentDef):
                return child
            return child.first_segment()
        return None

    def path(self) -> str:
        parts = []
        node: LoopDef | None = self
        while node is not None:
            parts.append(node.id)
            node = node.parent
        return "/".join(reversed(parts))

    def segment_defs(self, seg_id: str) -> list[SegmentDef]:
        return [c for c in self.children if isinstance(c, SegmentDef) and c.id == seg_id]

    def child_loops(self) -> list["LoopDef"]:
        return [c for c in self.children if isinstance(c, LoopDef)]


@dataclass(slots=True)
class TransactionTable:
    """One implementation guide, compiled: the loop tree and indexes over it."""

    version: str  # e.g. 005010X222A1
    transaction: str  # 837, 835, 999
    name: str
    root: LoopDef  # the ST_LOOP
    loops: list[LoopDef]
    #: seg id -> element positions (element, component) that ever qualify it; the walker's cache key.
    qualifier_positions: dict[str, tuple[tuple[int, int | None], ...]]
    by_id: dict[str, LoopDef] = field(default_factory=dict)
    #: the map's own GS (its GS01 / GS08 code lists name this guide), as pyx12 validates a group's GS
    gs: SegmentDef | None = None

    def loop(self, loop_id: str) -> LoopDef:
        """First loop with this id (2300 occurs under 2000B and 2000C with the same shape)."""
        return self.by_id[loop_id]

    def segment_pos(self, loop_id: str, elements: list, component_sep: str = ":") -> int | None:
        """IG position of a segment inside a loop; the writer orders a loop's segments by it.

        Memoized by what can decide it: loop, segment id, the first element's first component and HL03.
        """
        n = len(elements)
        first = elements[1] if n > 1 else ""
        if not isinstance(first, str):
            first = first[0] if first and isinstance(first[0], str) else ""
        elif component_sep in first:
            first = first.split(component_sep, 1)[0]
        key = (loop_id, elements[0], first, elements[3] if elements[0] == "HL" and n > 3 else None)
        memo = _POS_MEMO.setdefault(self.version, {})
        try:
            return memo[key]
        except KeyError:
            pos = memo[key] = self._segment_pos(loop_id, elements, component_sep)
            return pos
        except TypeError:  # an unhashable HL03
            return self._segment_pos(loop_id, elements, component_sep)

    def _segment_pos(self, loop_id: str, elements: list, component_sep: str) -> int | None:
        loop = self.by_id.get(loop_id)
        if loop is None:
            return None
        candidates = loop.segment_defs(elements[0])
        for seg in candidates:
            if seg.qualifier is None or seg.matches(_as_strings(elements), component_sep):
                return seg.pos
        return candidates[0].pos if candidates else None


_POS_MEMO: dict[str, dict[tuple, int | None]] = {}

#: the common qualifier positions: element 1 itself, or its first component
FIRST_ELEMENT = ((1, None),)
FIRST_COMPONENT = ((1, 1),)


def segment_key(elements: list[str], positions, component: str) -> tuple:
    """A segment's id and the values at the positions that tell same-id segments apart in the IG
    (`TransactionTable.qualifier_positions`): what every loop-location decision depends on."""
    n = len(elements)
    values = []
    for e, c in positions:
        v = elements[e] if e < n else ""
        if c is not None and component in v:
            v = v.split(component, 1)[0]
        values.append(v)
    return (elements[0], *values)


def _as_strings(elements: list) -> list[str]:
    """Elements with composites (lists) reduced to their first component, for qualifier matching."""
    return [e if isinstance(e, str) else (e[0] if e and isinstance(e[0], str) else "") for e in elements]


# --------------------------------------------------------------------------------------------------
# compiling

def pyx12_map_dir() -> Path:
    import pyx12

    return Path(pyx12.__file__).parent / "map"


def _text(node, tag: str, default: str = "") -> str:
    child = node.find(tag)
    return child.text.strip() if child is not None and child.text else default


def _repeat(value: str) -> int | None:
    value = value.strip()
    if not value or value.startswith(">"):
        return None
    return int(value)


class _Compiler:
    def __init__(self, data_elements: dict[str, tuple[str, int, int]]):
        self.data_elements = data_elements
        self.loops: list[LoopDef] = []
        self.qualifier_positions: dict[str, set[tuple[int, int | None]]] = {}

    def element(self, node) -> ElementDef:
        data_ele = _text(node, "data_ele")
        dtype, min_len, max_len = self.data_elements.get(data_ele, ("AN", 0, 9999))
        codes = None
        external = None
        vc = node.find("valid_codes")
        if vc is not None:
            external = vc.get("external")
            found = [c.text.strip() for c in vc.findall("code") if c.text]
            if found:
                codes = frozenset(found)
        return ElementDef(
            xid=node.get("xid"),
            seq=int(_text(node, "seq", "0")),
            data_ele=data_ele,
            name=_text(node, "name"),
            usage=_text(node, "usage", "S"),
            data_type=dtype,
            min_len=min_len,
            max_len=max_len,
            codes=codes,
            external_codes=external,
            repeat=_repeat(_text(node, "repeat", "1")) or 99,
            regex=_text(node, "regex") or None,
        )

    def composite(self, node) -> CompositeDef:
        return CompositeDef(
            xid=node.get("xid"),
            seq=int(_text(node, "seq", "0")),
            data_ele=_text(node, "data_ele"),
            name=_text(node, "name"),
            usage=_text(node, "usage", "S"),
            components=tuple(self.element(e) for e in node.findall("element")),
            repeat=_repeat(_text(node, "repeat", "1")) or 99,
        )

    def segment(self, node) -> SegmentDef:
        elements: list[ElementDef | CompositeDef] = []
        for child in node:
            if child.tag == "element":
                elements.append(self.element(child))
            elif child.tag == "composite":
                elements.append(self.composite(child))
        seg_id = node.get("xid")
        qualifier = _qualifier(seg_id, elements)
        if qualifier is not None:
            self.qualifier_positions.setdefault(seg_id, set()).add((qualifier.element, qualifier.component))
        return SegmentDef(
            id=seg_id,
            name=_text(node, "name"),
            usage=_text(node, "usage", "S"),
            pos=int(_text(node, "pos", "0")),
            max_use=_repeat(_text(node, "max_use", "1")),
            qualifier=qualifier,
            elements=tuple(elements),
            syntax=tuple(s.text.strip() for s in node.findall("syntax") if s.text),
        )

    def loop(self, node, parent: LoopDef | None) -> LoopDef:
        loop = LoopDef(
            id=node.get("xid"),
            name=_text(node, "name"),
            usage=_text(node, "usage", "S"),
            pos=int(_text(node, "pos", "0")),
            repeat=_repeat(_text(node, "repeat", "1")),
            kind=node.get("type", "implicit"),
            parent=parent,
        )
        loop.index = len(self.loops)
        self.loops.append(loop)
        for child in node:
            if child.tag == "loop":
                loop.children.append(self.loop(child, loop))
            elif child.tag == "segment":
                seg = self.segment(child)
                seg.loop = loop
                loop.children.append(seg)
        return loop


def _qualifier(seg_id: str, elements: list[ElementDef | CompositeDef]) -> Qualifier | None:
    """pyx12's rule for the element that tells same-id segments apart (see map_if/_segment.py)."""
    first = elements[0] if elements else None
    if isinstance(first, ElementDef) and first.data_type == "ID" and first.usage == "R" and first.codes:
        return Qualifier(1, None, first.codes)
    if isinstance(first, CompositeDef) and first.components:
        c = first.components[0]
        if c.data_type == "ID" and c.codes:
            return Qualifier(1, 1, c.codes)
        if seg_id == "CTX" and c.data_type == "AN" and c.codes:  # the 999's CTX01-1 context names
            return Qualifier(1, 1, c.codes)
    if seg_id == "HL" and len(elements) > 2 and isinstance(elements[2], ElementDef) and elements[2].codes:
        return Qualifier(3, None, elements[2].codes)
    return None


def _data_elements(map_dir: Path) -> dict[str, tuple[str, int, int]]:
    from lxml import etree

    tree = etree.parse(str(map_dir / "dataele.xml"))
    out = {}
    for de in tree.getroot().iter("data_ele"):
        out[de.get("ele_num")] = (de.get("data_type"), int(de.get("min_len")), int(de.get("max_len")))
    return out


def compile_map(map_path: Path, version: str) -> TransactionTable:
    from lxml import etree

    compiler = _Compiler(_data_elements(map_path.parent))
    root = etree.parse(str(map_path)).getroot()
    st_node = root.find(".//loop[@xid='ST_LOOP']")
    st_loop = compiler.loop(st_node, None)
    table = TransactionTable(
        version=version,
        transaction=root.get("xid"),
        name=_text(root, "name"),
        root=st_loop,
        loops=compiler.loops,
        qualifier_positions={k: tuple(sorted(v, key=lambda p: (p[0], p[1] or 0)))
                             for k, v in compiler.qualifier_positions.items()},
    )
    for loop in compiler.loops:
        table.by_id.setdefault(loop.id, loop)
    gs_node = root.find(".//segment[@xid='GS']")
    if gs_node is not None:
        table.gs = compiler.segment(gs_node)
    return table


def compile_control(map_path: Path) -> LoopDef:
    """The 00501 control map (ISA_LOOP with ISA, GS_LOOP/GS, GE, TA1, IEA) as a loop tree."""
    from lxml import etree

    compiler = _Compiler(_data_elements(map_path.parent))
    root = etree.parse(str(map_path)).getroot()
    return compiler.loop(root.find(".//loop[@xid='ISA_LOOP']"), None)


@lru_cache(maxsize=None)
def load_control_segments() -> dict[str, SegmentDef]:
    """Envelope segment definitions (ISA, GS, GE, TA1, IEA) by id, from pyx12's control map."""
    map_dir = pyx12_map_dir()

    def build() -> dict[str, SegmentDef]:
        isa_loop = compile_control(map_dir / "x12.control.00501.xml")
        out: dict[str, SegmentDef] = {}

        def walk(loop: LoopDef) -> None:
            for child in loop.children:
                if isinstance(child, SegmentDef):
                    out.setdefault(child.id, child)
                else:
                    walk(child)

        walk(isa_loop)
        return out

    return _cached("control-00501", [map_dir / "x12.control.00501.xml", map_dir / "dataele.xml"], build)


@lru_cache(maxsize=None)
def load_external_codes() -> dict[str, frozenset[str]]:
    """pyx12's external code lists (codes.xml): states, country, currency, pos, remark_code, ..."""
    path = pyx12_map_dir() / "codes.xml"

    def build() -> dict[str, frozenset[str]]:
        from lxml import etree

        tree = etree.parse(str(path))
        out: dict[str, frozenset[str]] = {}
        for codeset in tree.getroot().iter("codeset"):
            name = codeset.findtext("id")
            if name:
                out[name] = frozenset(c.text.strip() for c in codeset.iterfind("version/code") if c.text)
        return out

    return _cached("codes", [path], build)


def _cached(name: str, sources: list[Path], build):
    """`build()`'s result, pickled under the cache folder keyed by the sources' content hash."""
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in sources) + _CACHE_VERSION.encode()).hexdigest()[:16]
    cache_file = _cache_dir() / f"{name}-{digest}.pickle"
    try:
        with open(cache_file, "rb") as fh:
            return pickle.load(fh)
    except (OSError, pickle.PickleError, EOFError, AttributeError, ImportError):
        pass
    value = build()
    try:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache_file.with_suffix(f".{os.getpid()}.tmp")
        with open(tmp, "wb") as fh:
            pickle.dump(value, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, cache_file)
    except OSError:
        pass  # a read-only home is fine: we just compile again next time
    return value


def _cache_dir() -> Path:
    base = os.environ.get("COB_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "cob")
    return Path(base)


@lru_cache(maxsize=None)
def load_table(version: str) -> TransactionTable:
    """The compiled table for an implementation guide (e.g. '005010X222A1')."""
    try:
        map_file = MAP_FILES[version]
    except KeyError:
        raise KeyError(f"no implementation guide map for {version!r}") from None
    map_dir = pyx12_map_dir()
    path = map_dir / map_file
    return _cached(version, [path, map_dir / "dataele.xml"], lambda: compile_map(path, version))
