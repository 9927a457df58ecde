"""Value checks for DTDL primitive and geospatial schemas, and the violation code table.

Support module of :mod:`twinmesh.ontology.instances` (read its docstring for the rules).  Each
check takes one decoded JSON value and returns ``None`` when the value is valid, otherwise a
:data:`Problem`: a JSON-pointer suffix relative to the value (``""`` for the value itself,
``"/coordinates/0/1"`` inside a geometry), a :class:`ViolationCode` and a message.

Checks never raise, never copy the value and only use regular expressions compiled at import.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from datetime import date
from enum import StrEnum


class ViolationCode(StrEnum):
    """Every code a twin or relationship check can report (stable, UPPER_SNAKE)."""

    UNKNOWN_PROPERTY = "UNKNOWN_PROPERTY"
    NOT_A_PROPERTY = "NOT_A_PROPERTY"
    NOT_WRITABLE = "NOT_WRITABLE"
    WRONG_TYPE = "WRONG_TYPE"
    OUT_OF_RANGE = "OUT_OF_RANGE"
    INVALID_FORMAT = "INVALID_FORMAT"
    NOT_IN_ENUM = "NOT_IN_ENUM"
    UNKNOWN_FIELD = "UNKNOWN_FIELD"
    INVALID_MAP_KEY = "INVALID_MAP_KEY"
    MISSING_FIELD = "MISSING_FIELD"
    INVALID_GEOMETRY = "INVALID_GEOMETRY"
    UNSUPPORTED_SCHEMA = "UNSUPPORTED_SCHEMA"
    UNKNOWN_COMPONENT = "UNKNOWN_COMPONENT"
    COMPONENT_NOT_OBJECT = "COMPONENT_NOT_OBJECT"
    UNRESOLVED_MODEL = "UNRESOLVED_MODEL"
    UNKNOWN_RELATIONSHIP = "UNKNOWN_RELATIONSHIP"
    TARGET_MODEL_MISMATCH = "TARGET_MODEL_MISMATCH"
    MULTIPLICITY_EXCEEDED = "MULTIPLICITY_EXCEEDED"


Problem = tuple[str, ViolationCode, str]
"""(pointer suffix relative to the checked value, code, message)."""

Check = Callable[[object], Problem | None]

_SHOW_LIMIT = 60


def quote(text: str) -> str:
    """``text`` in double quotes, cut to a bounded length for messages."""
    if len(text) > _SHOW_LIMIT:
        return f'"{text[:_SHOW_LIMIT]}…" ({len(text)} characters)'
    return f'"{text}"'


def describe(value: object) -> str:
    """A short, bounded description of a JSON value for messages (never the whole value)."""
    if value is None:
        return "null"
    if value is True or value is False:
        return f"the boolean {'true' if value else 'false'}"
    if isinstance(value, int):
        if -(10**_SHOW_LIMIT) < value < 10**_SHOW_LIMIT:
            return f"the integer {value}"
        return f"an integer of more than {_SHOW_LIMIT} digits"
    if isinstance(value, float):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the string {quote(value)}"
    if isinstance(value, list | tuple):
        return f"an array of {len(value)} item{'' if len(value) == 1 else 's'}"
    if isinstance(value, Mapping):
        return f"an object with {len(value)} member{'' if len(value) == 1 else 's'}"
    return f"a {type(value).__name__} value (not JSON)"


def wrong_type(expected: str, value: object) -> Problem:
    return ("", ViolationCode.WRONG_TYPE, f"Expected {expected}, got {describe(value)}.")


def is_number(value: object) -> bool:
    """A JSON number: ``int`` or ``float`` but not ``bool`` (a Python ``int`` subclass)."""
    kind = type(value)
    if kind is int or kind is float:
        return True
    return isinstance(value, int | float) and not isinstance(value, bool)


def is_integer(value: object) -> bool:
    """A JSON integer: ``int`` but not ``bool``."""
    return type(value) is int or (isinstance(value, int) and not isinstance(value, bool))


# --- booleans, strings, integers, floating point -------------------------------------------


def _boolean(value: object) -> Problem | None:
    return None if value is True or value is False else wrong_type("a boolean", value)


def _string(value: object) -> Problem | None:
    return None if isinstance(value, str) else wrong_type("a string", value)


INTEGER_RANGES: dict[str, tuple[int, int, str]] = {
    "byte": (-(2**7), 2**7 - 1, "an 8-bit signed integer"),
    "short": (-(2**15), 2**15 - 1, "a 16-bit signed integer"),
    "integer": (-(2**31), 2**31 - 1, "a 32-bit signed integer"),
    "long": (-(2**63), 2**63 - 1, "a 64-bit signed integer"),
    "unsignedByte": (0, 2**8 - 1, "an 8-bit unsigned integer"),
    "unsignedShort": (0, 2**16 - 1, "a 16-bit unsigned integer"),
    "unsignedInteger": (0, 2**32 - 1, "a 32-bit unsigned integer"),
    "unsignedLong": (0, 2**64 - 1, "a 64-bit unsigned integer"),
}


def _integer_check(low: int, high: int, label: str) -> Check:
    expected = f"{label} (a whole number from {low} to {high})"

    def check(value: object) -> Problem | None:
        if not is_integer(value):
            return wrong_type(expected, value)
        assert isinstance(value, int)
        if low <= value <= high:
            return None
        return ("", ViolationCode.OUT_OF_RANGE, f"Expected {expected}, got {describe(value)}.")

    return check


_DOUBLE_MAX = 1.7976931348623157e308
_FLOAT_MAX = 3.4028234663852886e38


def _real_check(limit: float, label: str) -> Check:
    expected = f"{label} (a finite JSON number)"

    def check(value: object) -> Problem | None:
        if isinstance(value, float) or (isinstance(value, int) and not isinstance(value, bool)):
            if -limit <= value <= limit:  # also false for NaN
                return None
            return ("", ViolationCode.OUT_OF_RANGE, f"Expected {expected}, got {describe(value)}.")
        return wrong_type(expected, value)

    return check


_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")


def _decimal(value: object) -> Problem | None:
    expected = 'a decimal (a finite JSON number or a numeric string such as "12.50")'
    if isinstance(value, str):
        if _DECIMAL.fullmatch(value):
            return None
        return ("", ViolationCode.INVALID_FORMAT, f"Expected {expected}, got {describe(value)}.")
    if not is_number(value):
        return wrong_type(expected, value)
    assert isinstance(value, int | float)
    if isinstance(value, float) and not math.isfinite(value):
        return ("", ViolationCode.OUT_OF_RANGE, f"Expected {expected}, got {describe(value)}.")
    return None


# --- strings with a lexical format ---------------------------------------------------------

_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_DATE_TIME = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.[0-9]+)?"
    r"(?:[Zz]|[+-]([0-9]{2}):([0-9]{2}))"
)
_TIME = re.compile(
    r"([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.[0-9]+)?(?:[Zz]|[+-]([0-9]{2}):([0-9]{2}))?"
)
_DURATION = re.compile(
    r"-?P(?:[0-9]+W|(?=[0-9T])(?:[0-9]+Y)?(?:[0-9]+M)?(?:[0-9]+D)?"
    r"(?:T(?=[0-9])(?:[0-9]+H)?(?:[0-9]+M)?(?:[0-9]+(?:\.[0-9]+)?S)?)?)"
)
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_BASE64 = re.compile(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")


def _valid_date(year: str, month: str, day: str) -> bool:
    try:
        date(int(year), int(month), int(day))
    except ValueError:
        return False
    return True


def _valid_clock(hour: str, minute: str, second: str) -> bool:
    return int(hour) <= 23 and int(minute) <= 59 and int(second) <= 59


def _valid_offset(hours: str | None, minutes: str | None) -> bool:
    return hours is None or minutes is None or (int(hours) <= 23 and int(minutes) <= 59)


def _format_check(expected: str, valid: Callable[[str], bool]) -> Check:
    def check(value: object) -> Problem | None:
        if not isinstance(value, str):
            return wrong_type(expected, value)
        if valid(value):
            return None
        return ("", ViolationCode.INVALID_FORMAT, f"Expected {expected}, got {describe(value)}.")

    return check


def _is_date(text: str) -> bool:
    m = _DATE.fullmatch(text)
    return m is not None and _valid_date(*m.groups())


def _is_date_time(text: str) -> bool:
    m = _DATE_TIME.fullmatch(text)
    if m is None:
        return False
    y, mo, d, h, mi, s, oh, om = m.groups()
    return _valid_date(y, mo, d) and _valid_clock(h, mi, s) and _valid_offset(oh, om)


def _is_time(text: str) -> bool:
    m = _TIME.fullmatch(text)
    if m is None:
        return False
    h, mi, s, oh, om = m.groups()
    return _valid_clock(h, mi, s) and _valid_offset(oh, om)


def _matches(pattern: re.Pattern[str]) -> Callable[[str], bool]:
    return lambda text: pattern.fullmatch(text) is not None


# --- geospatial (GeoJSON geometries) -------------------------------------------------------

_GeoCheck = Callable[[object], Problem | None]


def _geo_problem(suffix: str, message: str) -> Problem:
    return (suffix, ViolationCode.INVALID_GEOMETRY, message)


def _position(value: object) -> Problem | None:
    if not isinstance(value, list | tuple):
        return ("", ViolationCode.WRONG_TYPE, f"Expected a position, got {describe(value)}.")
    if not 2 <= len(value) <= 3:
        return _geo_problem(
            "",
            f"A position has 2 or 3 numbers (longitude, latitude[, altitude]), not {len(value)}.",
        )
    for i, item in enumerate(value):
        if not is_number(item):
            return (f"/{i}", ViolationCode.WRONG_TYPE, f"Expected a number, got {describe(item)}.")
        assert isinstance(item, int | float)
        if not -_DOUBLE_MAX <= item <= _DOUBLE_MAX:
            return (f"/{i}", ViolationCode.OUT_OF_RANGE, f"Expected a finite number, got {item}.")
    return None


def _list_of(item_check: _GeoCheck, minimum: int, what: str, closed: bool = False) -> _GeoCheck:
    def check(value: object) -> Problem | None:
        if not isinstance(value, list | tuple):
            return ("", ViolationCode.WRONG_TYPE, f"Expected {what}, got {describe(value)}.")
        if len(value) < minimum:
            return _geo_problem("", f"Expected {what} with at least {minimum}, got {len(value)}.")
        for i, item in enumerate(value):
            problem = item_check(item)
            if problem is not None:
                return (f"/{i}{problem[0]}", problem[1], problem[2])
        if closed and value[0] != value[-1]:
            return _geo_problem(
                "", "A linear ring must be closed: its last position must equal its first."
            )
        return None

    return check


_LINE = _list_of(_position, 2, "an array of positions (a line string)")
_RING = _list_of(_position, 4, "an array of positions (a linear ring)", closed=True)
_POLYGON = _list_of(_RING, 1, "an array of linear rings (a polygon)")
_COORDINATES: dict[str, tuple[str, _GeoCheck]] = {
    "point": ("Point", _position),
    "multiPoint": ("MultiPoint", _list_of(_position, 0, "an array of positions")),
    "lineString": ("LineString", _LINE),
    "multiLineString": ("MultiLineString", _list_of(_LINE, 0, "an array of line strings")),
    "polygon": ("Polygon", _POLYGON),
    "multiPolygon": ("MultiPolygon", _list_of(_POLYGON, 0, "an array of polygons")),
}
_GEO_MEMBERS = frozenset({"type", "coordinates", "bbox"})


def _geometry_check(type_name: str, coordinates: _GeoCheck) -> Check:
    expected = f'a GeoJSON {type_name} object ({{"type": "{type_name}", "coordinates": [...]}})'

    def check(value: object) -> Problem | None:
        if not isinstance(value, Mapping):
            return wrong_type(expected, value)
        for key in value:
            if key not in _GEO_MEMBERS:
                return (
                    "/" + escape(str(key)),
                    ViolationCode.UNKNOWN_FIELD,
                    f"A {type_name} geometry only has the members type, coordinates and bbox.",
                )
        if "type" not in value or "coordinates" not in value:
            missing = "type" if "type" not in value else "coordinates"
            return (f"/{missing}", ViolationCode.MISSING_FIELD, f"Expected {expected}.")
        if value["type"] != type_name:
            got = describe(value["type"])
            return _geo_problem("/type", f'Expected the type "{type_name}", got {got}.')
        problem = coordinates(value["coordinates"])
        if problem is not None:
            return ("/coordinates" + problem[0], problem[1], problem[2])
        bbox = value.get("bbox")
        if "bbox" in value and (
            not isinstance(bbox, list) or len(bbox) not in (4, 6) or not all(map(is_number, bbox))
        ):
            return _geo_problem("/bbox", "A bbox is an array of 4 or 6 numbers.")
        return None

    return check


def escape(token: str) -> str:
    """Escape one RFC 6901 reference token."""
    if "~" in token or "/" in token:
        return token.replace("~", "~0").replace("/", "~1")
    return token


PRIMITIVE_CHECKS: dict[str, Check] = {
    "boolean": _boolean,
    "string": _string,
    "double": _real_check(_DOUBLE_MAX, "a double"),
    "float": _real_check(_FLOAT_MAX, "a float (single precision)"),
    "decimal": _decimal,
    "date": _format_check('a date "YYYY-MM-DD" (RFC 3339 full-date)', _is_date),
    "dateTime": _format_check(
        'a date-time with an offset, e.g. "2024-05-01T12:30:00Z" (RFC 3339)', _is_date_time
    ),
    "time": _format_check('a time "hh:mm:ss[.fff][Z|±hh:mm]"', _is_time),
    "duration": _format_check(
        'an ISO 8601 duration, e.g. "PT15M", "P1DT2H" or "P2W"', _matches(_DURATION)
    ),
    "uuid": _format_check(
        'a UUID "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" (hexadecimal)', _matches(_UUID)
    ),
    "bytes": _format_check("a base64 string (standard alphabet, padded)", _matches(_BASE64)),
    **{name: _integer_check(*spec) for name, spec in INTEGER_RANGES.items()},
    **{name: _geometry_check(*spec) for name, spec in _COORDINATES.items()},
}
"""Check for each supported primitive schema name (DTDL v2/v3 names, plus the v4 additions)."""
