"""Base classes that map X12 segments to pydantic models and back.

A segment model declares its elements as fields, in element order; a composite element is a field whose
type is a `Composite` model. `Segment.parse` turns a split segment into a plain dict that pydantic
validates (in Rust) once per claim; `to_elements` turns a model back into elements. Money fields are
`Decimal`, dates are `date`, closed code lists are enums. Amounts are written without trailing zeros.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import operator
import types
import typing
from decimal import Decimal
from itertools import compress
from typing import Annotated, Any, Callable, ClassVar, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

#: An element as the schemas keep it when they do not interpret it: a string, or a composite as a list
#: of component strings, or a repeated element as a list of such composites.
Element = Union[str, list[str], list[list[str]]]
RawSegment = list[Element]


#: entries kept by each memo below: a night's files repeat a few thousand amounts and dates
_MEMO_SIZE = 1 << 16


@functools.lru_cache(maxsize=_MEMO_SIZE)
def _text_date(text: str) -> dt.date | None:
    if len(text) == 8 and text.isdigit():
        return dt.date(int(text[:4]), int(text[4:6]), int(text[6:]))
    if not text:
        return None
    if len(text) == 10 and text[4] == "-" and text[7] == "-":  # ISO, as the models' JSON writes it
        return dt.date.fromisoformat(text)
    raise ValueError("not a CCYYMMDD date")


def parse_d8(value: Any) -> Any:
    """CCYYMMDD -> date. pydantic alone would read '20240301' as a Unix timestamp.

    Memoized by the text (dates are immutable, and a file carries few distinct ones; a refused text is
    looked at again, the memo keeps no errors).
    """
    if isinstance(value, str):
        return _text_date(value)
    return value


def format_amount(value: Decimal) -> str:
    """X12 decimal ('R') without trailing zeros or exponent: 100, 12.5, 12.34, -3.

    Memoized: a file repeats the same few hundred amounts, and equal Decimals (12.5, 12.50) have one text.
    """
    try:
        return _amount_text(value)
    except TypeError:  # a signaling NaN cannot be hashed
        return _format_amount(value)


def _format_amount(value: Decimal) -> str:
    if value == 0:
        return "0"
    if value == value.to_integral_value():
        return str(value.quantize(Decimal(1)))
    return format(value.normalize(), "f")


_amount_text = functools.lru_cache(maxsize=_MEMO_SIZE)(_format_amount)
#: `format_amount` without its guard, for a caller that takes a slower path on TypeError (a signaling NaN):
#: the memo alone, called from C, no Python frame per amount
format_amount_memo = _amount_text


@functools.lru_cache(maxsize=_MEMO_SIZE)
def format_date(value: dt.date) -> str:
    """CCYYMMDD, memoized (strftime is slow and a file carries few distinct dates)."""
    return value.strftime("%Y%m%d")


Date = Annotated[dt.date, BeforeValidator(parse_d8)]
# Empty elements never reach validation (`Segment.parse` leaves them out), so these need no Python hook.
Money = Decimal
Quantity = Decimal
Int = int


def format_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Decimal):
        return format_amount(value)
    if isinstance(value, dt.date):
        return format_date(value)
    return str(value)


def _trim(values: list) -> list:
    while values and (values[-1] == "" or values[-1] == []):
        values.pop()
    return values


def _unwrap(annotation: Any) -> Any:
    """The model class inside Optional[...] / Annotated[...] / X | None, or the annotation itself."""
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        for arg in typing.get_args(annotation):
            if arg is not type(None):
                return _unwrap(arg)
    return annotation


class X12Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=False, use_enum_values=False,
                              ser_json_inf_nan="strings")


class Composite(X12Model):
    """A composite element: fields are its components in order."""

    _names: ClassVar[tuple[str, ...]] = ()
    _values: ClassVar[Callable[[dict], tuple]] = staticmethod(lambda fields: ())
    #: the declared type of each field, Optional / Annotated taken off (the writer picks its formatting by it)
    field_types: ClassVar[tuple[Any, ...]] = ()

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        cls._names = tuple(cls.model_fields)
        cls._values = staticmethod(_tuple_getter(cls._names))
        cls.field_types = tuple(_unwrap(info.annotation) for info in cls.model_fields.values())

    def component_values(self) -> tuple:
        """The field values in component order, as kept (None when empty)."""
        return self._values(self.__dict__)

    def to_components(self) -> list[str]:
        return _trim([v if type(v) is str else format_value(v) for v in self._values(self.__dict__)])


class Segment(X12Model):
    """A segment with interpreted elements. `SEGMENT_ID` names it; fields follow element order.

    `extra_elements` keeps elements beyond the fields the model declares, so nothing is lost.
    """

    SEGMENT_ID: ClassVar[str] = ""
    #: indexes (in `element_values()`) of the composite elements
    composite_positions: ClassVar[tuple[int, ...]] = ()
    _spec: ClassVar[tuple[tuple[str, Any], ...]] = ()
    _names: ClassVar[tuple[str, ...]] = ()
    _composites: ClassVar[tuple[tuple[str, Any], ...]] = ()
    _values: ClassVar[Callable[[dict], tuple]] = staticmethod(lambda fields: ())
    #: the declared type of each field, Optional / Annotated taken off (the writer picks its formatting by it)
    field_types: ClassVar[tuple[Any, ...]] = ()
    #: `parse` as a plain function, for callers that parse many segments (no classmethod binding per call)
    parser: ClassVar[Callable[[list[str], str], dict]] = staticmethod(lambda elements, component: {})

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        spec = []
        types_ = []
        for name, info in cls.model_fields.items():
            target = _unwrap(info.annotation)
            comp = target if isinstance(target, type) and issubclass(target, Composite) else None
            spec.append((name, comp))
            types_.append(target)
        cls._spec = tuple(spec)
        cls.field_types = tuple(types_)
        cls._names = tuple(name for name, _ in spec)
        cls._composites = tuple((name, comp) for name, comp in spec if comp is not None)
        cls.composite_positions = tuple(i for i, (_name, comp) in enumerate(spec) if comp is not None)
        cls._values = staticmethod(_tuple_getter(cls._names))
        cls.parser = staticmethod(_element_parser(cls._names, cls._composites))

    @classmethod
    def parse(cls, elements: list[str], component: str) -> dict:
        """Split elements -> dict ready for validation. Empty elements are left out (None)."""
        return cls.parser(elements, component)

    def element_values(self) -> tuple:
        """The field values in element order, as kept (None when empty, composites as models).

        One C-level lookup of the instance dict (pydantic keeps field values there), for the writer.
        """
        return self._values(self.__dict__)

    def to_elements(self) -> RawSegment:
        fields = self.__dict__  # pydantic keeps field values here: no descriptor per element
        values: list = [self.SEGMENT_ID]
        append = values.append
        for name, comp in self._spec:
            value = fields[name]
            if value is None:
                append("")
            elif comp is not None:
                append(value.to_components())
            elif type(value) is str:
                append(value)
            else:
                append(format_value(value))
        return _trim(values)


def _element_parser(names: tuple[str, ...],
                    composites: tuple[tuple[str, type[Composite]], ...]) -> Callable[[list[str], str], dict]:
    """The parse function of one segment class, specialized once: the reader parses every segment of
    every claim, so the per-call work is a C-level dict build, plus one split per composite present.

    Empty elements and components are left out (the filter is their truthiness, all strings).
    """
    def parse_plain(elements: list[str], component: str) -> dict:
        values = elements[1:]
        return dict(compress(zip(names, values), values))

    if not composites:
        return parse_plain
    at = tuple((names.index(name) + 1, name, comp._names) for name, comp in composites)

    def parse_with_composites(elements: list[str], component: str) -> dict:
        values = elements[1:]
        out = dict(compress(zip(names, values), values))
        count = len(elements)
        for i, name, parts_names in at:
            if i < count and elements[i]:
                parts = elements[i].split(component)
                out[name] = dict(compress(zip(parts_names, parts), parts))
        return out

    return parse_with_composites


def _tuple_getter(names: tuple[str, ...]) -> Callable[[dict], tuple]:
    """dict -> the values at `names`, always as a tuple (itemgetter returns a bare value for one name)."""
    if len(names) == 1:
        name = names[0]
        return lambda fields: (fields[name],)
    if not names:
        return lambda fields: ()
    return operator.itemgetter(*names)


def split_composites(elements: list[str], component: str, repetition: str | None = None) -> RawSegment:
    """A segment kept raw, with composites (and repetitions) split so it no longer depends on delimiters."""
    out: RawSegment = [elements[0]]
    for e in elements[1:]:
        if repetition and repetition in e:
            out.append([r.split(component) for r in e.split(repetition)])
        elif component in e:
            out.append(e.split(component))
        else:
            out.append(e)
    return out


def raw_element(segment: RawSegment, i: int) -> str:
    if len(segment) <= i:
        return ""
    v = segment[i]
    return v if isinstance(v, str) else (v[0] if v and isinstance(v[0], str) else "")


class Loop(X12Model):
    """A loop of the implementation guide: its interpreted segments, child loops, and the rest kept raw.

    Segment fields are found from their annotations (a `Segment` subclass, alone or in a list); child
    loops are mapped by IG loop id in `LOOPS` (loop id -> field name). Segments and loops the model
    does not interpret are kept in `other_segments` / `other_loops`, so a loop read and written back
    says everything the original said; the writer puts every segment back at its IG position.
    """

    LOOP_ID: ClassVar[str] = ""
    LOOPS: ClassVar[dict[str, str]] = {}
    #: the fields holding what the schemas do not interpret: raw segments and child loops
    RAW_SEGMENTS: ClassVar[str] = "other_segments"
    RAW_LOOPS: ClassVar[str] = "other_loops"
    _seg_fields: ClassVar[dict[str, tuple[str, type[Segment], bool]]] = {}
    _loop_fields: ClassVar[dict[str, tuple[str, type["Loop"], bool]]] = {}
    _has_loop_field: ClassVar[bool] = False
    #: (field name, is a list) of the child loop fields, each once, in `LOOPS` order
    child_fields: ClassVar[tuple[tuple[str, bool], ...]] = ()

    other_segments: list[RawSegment] = Field(default_factory=list)
    other_loops: list["GenericLoop"] = Field(default_factory=list)

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        seg_fields: dict[str, tuple[str, type[Segment], bool]] = {}
        by_name: dict[str, tuple[type, bool]] = {}
        for name, info in cls.model_fields.items():
            ann = info.annotation
            many = typing.get_origin(ann) is list
            target = _unwrap(typing.get_args(ann)[0] if many else ann)
            if isinstance(target, type) and issubclass(target, Segment) and target.SEGMENT_ID:
                seg_fields[target.SEGMENT_ID] = (name, target, many)
            by_name[name] = (target, many)
        cls._seg_fields = seg_fields
        cls._has_loop_field = "loop" in cls.model_fields
        cls._loop_fields = {lid: (fname, by_name[fname][0], by_name[fname][1]) for lid, fname in cls.LOOPS.items()}
        children = {fname: many for fname, _target, many in cls._loop_fields.values()}
        cls.child_fields = tuple(children.items())

    def loop_id(self) -> str:
        return self.LOOP_ID

    @classmethod
    def segment_fields(cls) -> list[tuple[str, str, bool]]:
        """(field name, segment id, is a list) of the interpreted segments, one field per segment id;
        the writer orders them (and `RAW_SEGMENTS`, `child_fields`, `RAW_LOOPS`) by IG position."""
        return [(name, seg_id, many) for seg_id, (name, _cls, many) in cls._seg_fields.items()]


class GenericLoop(Loop):
    """A loop the schemas do not interpret (2410 drug, 2420x line providers, 2440 forms, ...)."""

    RAW_SEGMENTS: ClassVar[str] = "segments"
    RAW_LOOPS: ClassVar[str] = "children"

    loop: str
    segments: list[RawSegment] = Field(default_factory=list)
    children: list["GenericLoop"] = Field(default_factory=list)

    def loop_id(self) -> str:
        return self.loop


Loop.model_rebuild()
