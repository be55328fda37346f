"""Notification filters: the type mask, the device glob, the text and regex filter,
bad regular expressions, toggling and descriptions (issue 6 §1, §5)."""

from __future__ import annotations

import pytest

from console.events import EventType, JsonValue
from console.notifications.filters import EVERYTHING, FilterError, NotificationFilter, parse_text
from console.notifications.model import CATEGORIES, Category, Notification, Severity


def note(
    device: str,
    event_type: EventType,
    category: Category,
    summary: str,
    payload: JsonValue = None,
    severity: Severity = Severity.INFO,
) -> Notification:
    return Notification(
        1, 1_700_000_000.0, category, severity, device, event_type, payload, summary=summary
    )


TRAP = note(
    "sw1",
    ("snmp", "sw1", "trap", "1.3.6.1.6.3.1.1.5.3"),
    Category.TRAP,
    "trap linkDown from 10.0.0.1:162: ifIndex=3",
    severity=Severity.WARNING,
)
STATUS = note(
    "sw2",
    ("snmp", "sw2", "status"),
    Category.STATUS,
    "DISCONNECTED: timeout",
    severity=Severity.ERROR,
)
MESSAGE = note(
    "@plant",
    ("mqtt", "@plant", "message", "site", "s7", "temp"),
    Category.MESSAGE,
    "site/s7/temp q0 4 B: 21.5",
)
LOG = note("fleettop", ("log", "warning"), Category.LOG, "MIB cache rebuilt")
ALL = [TRAP, STATUS, MESSAGE, LOG]  # fmt: skip


def shown(flt: NotificationFilter) -> list[Notification]:
    passes = flt.predicate()
    return [n for n in ALL if passes(n)]


def test_the_default_filter_shows_everything() -> None:
    assert NotificationFilter() == EVERYTHING
    assert EVERYTHING.is_everything
    assert EVERYTHING.categories == frozenset(CATEGORIES)
    assert shown(EVERYTHING) == ALL
    assert EVERYTHING.describe() == "everything"


def test_the_type_mask_hides_toggled_categories() -> None:
    flt = EVERYTHING.toggled(Category.MESSAGE).toggled(Category.LOG)
    assert not flt.is_everything
    assert shown(flt) == [TRAP, STATUS]
    back = flt.toggled(Category.MESSAGE)
    assert shown(back) == [TRAP, STATUS, MESSAGE]
    assert back.toggled(Category.LOG) == EVERYTHING
    only_traps = NotificationFilter(categories=frozenset({Category.TRAP}))
    assert shown(only_traps) == [TRAP]
    assert shown(NotificationFilter(categories=frozenset())) == []


def test_the_device_filter_is_a_case_sensitive_glob() -> None:
    assert shown(NotificationFilter(device="sw*")) == [TRAP, STATUS]
    assert shown(NotificationFilter(device="sw1")) == [TRAP]
    assert shown(NotificationFilter(device="SW*")) == []
    assert shown(NotificationFilter(device="sw[!1]")) == [STATUS]
    assert shown(NotificationFilter(device="@*")) == [MESSAGE]
    assert shown(NotificationFilter(device="sw")) == []  # a plain name matches exactly


def test_plain_text_is_a_case_insensitive_substring_of_device_type_and_summary() -> None:
    assert shown(NotificationFilter(text="LINKDOWN")) == [TRAP]
    assert shown(NotificationFilter(text="s7/temp")) == [MESSAGE]  # in the type and summary
    assert shown(NotificationFilter(text="mqtt/@plant")) == [MESSAGE]  # the '/'-joined type
    assert shown(NotificationFilter(text="sw2 snmp")) == [STATUS]  # device, space, type
    assert shown(NotificationFilter(text="(")) == []  # plain text: not a regex


@pytest.mark.parametrize("text", ["/link(up|down)|disconn/", "re:link(up|down)|disconn"])
def test_a_regex_between_slashes_or_after_re_is_searched_ignoring_case(text: str) -> None:
    assert shown(NotificationFilter(text=text)) == [TRAP, STATUS]


def test_the_filters_combine() -> None:
    flt = NotificationFilter(
        categories=frozenset({Category.TRAP, Category.STATUS, Category.MESSAGE}),
        device="sw*",
        text="/^sw2 /",
    )
    assert shown(flt) == [STATUS]
    assert flt.describe() == "trap,message,status · device sw* · text /^sw2 /"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/(/", "bad regular expression /(/: missing ), unterminated subpattern at position 0"),
        ("re:a[b", "bad regular expression re:a[b: unterminated character set at position 1"),
        ("/*x/", "bad regular expression /*x/: nothing to repeat at position 0"),
    ],
)
def test_a_bad_regex_raises_a_readable_filter_error(text: str, expected: str) -> None:
    flt = NotificationFilter(text=text)
    with pytest.raises(FilterError) as info:
        flt.predicate()
    assert str(info.value) == expected
    assert isinstance(info.value, ValueError)
    with pytest.raises(FilterError):
        flt.validate()
    with pytest.raises(FilterError):
        parse_text(text)


def test_parse_text() -> None:
    assert parse_text("") is None
    assert parse_text("AbC") == "abc"
    assert parse_text("/") == "/"  # one slash: plain text
    compiled = parse_text("//")
    assert not isinstance(compiled, str)
    assert compiled is not None
    assert compiled.search("anything")


def test_describe_names_each_part() -> None:
    assert NotificationFilter(categories=frozenset()).describe() == "no category"
    assert NotificationFilter(device="ups-?").describe() == "device ups-?"
    assert NotificationFilter(text="temp").describe() == "text temp"
    flt = NotificationFilter(categories=frozenset({Category.STATUS, Category.TRAP}))
    assert flt.describe() == "trap,status"  # in the mask panel's order


def test_filters_are_frozen_values() -> None:
    flt = NotificationFilter(device="sw*")
    assert flt == NotificationFilter(device="sw*")
    assert hash(flt) == hash(NotificationFilter(device="sw*"))
    with pytest.raises(AttributeError):
        flt.device = "x"  # type: ignore[misc]
