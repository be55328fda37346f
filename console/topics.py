"""MQTT topic names, topic filters and fleettop's device templates, as pure functions.

Rules (MQTT 3.1.1 §4.7, unchanged in MQTT 5.0 §4.7):

* a topic name or filter is 1..65535 bytes of UTF-8 without U+0000 (§1.5.3, §4.7.3);
* levels are separated by ``/``; levels may be empty (``a//b``, ``/a``);
* ``+`` matches exactly one level and must fill its level (``a/+/c``, not ``a/b+``);
* ``#`` matches the parent level and every level below; it must be the last level
  and fill it (``a/#``, ``#``);
* topic names (what is published) contain no wildcard;
* a filter starting with a wildcard does not match topics starting with ``$``
  (``$SYS/...``, §4.7.2).

A *device template* is a filter in which one level is ``{device}`` (the device's
name) and, optionally, a later level is ``{interface}`` (an Astarte interface name,
after which the rest of the topic is the Astarte path and the template must end in
``#``): ``site/{device}/telemetry/#``, ``demo/{device}/{interface}/#``.

This module imports nothing beyond the standard library and belongs to no backend:
the configuration checker, the MQTT backend, the alarms, monitors and the store's
path filters all use it (beside :mod:`console.event_types`' event patterns).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

__all__ = [
    "DeviceTemplate",
    "TemplateMatch",
    "filter_covers",
    "filter_matches",
    "levels_match",
    "parse_template",
    "validate_filter",
    "validate_topic",
]

_MAX_BYTES: Final = 65535


def _check_text(text: str, what: str) -> None:
    if not text:
        raise ValueError(f"{what} must not be empty (MQTT 3.1.1 §4.7.3)")
    if "\x00" in text:
        raise ValueError(f"{what} {text!r} contains U+0000 (MQTT 3.1.1 §1.5.3)")
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > _MAX_BYTES:
        raise ValueError(f"{what} is {size} bytes long, more than 65535 (MQTT 3.1.1 §1.5.3)")


def validate_topic(text: str) -> str:
    """Return ``text`` if it is a valid topic name (what a PUBLISH carries).

    Raises:
        ValueError: empty, too long, a NUL, or a ``+``/``#`` wildcard; the message
            quotes ``text`` and cites the rule.
    """
    _check_text(text, "a topic name")
    if "+" in text or "#" in text:
        raise ValueError(
            f"{text!r} is not a topic name: '+' and '#' are wildcards, allowed in "
            "subscriptions only (MQTT 3.1.1 §4.7.1)"
        )
    return text


def validate_filter(text: str) -> str:
    """Return ``text`` if it is a valid topic filter (what a SUBSCRIBE carries).

    Raises:
        ValueError: empty, too long, a NUL, ``#`` not alone in the last level, or
            ``+`` not alone in its level; the message quotes ``text``.
    """
    _check_text(text, "a topic filter")
    levels = text.split("/")
    for index, level in enumerate(levels):
        if "#" in level and (level != "#" or index != len(levels) - 1):
            raise ValueError(
                f"{text!r} is not a topic filter: '#' must be the whole last level, "
                "like 'site/#' (MQTT 3.1.1 §4.7.1.2)"
            )
        if "+" in level and level != "+":
            raise ValueError(
                f"{text!r} is not a topic filter: '+' must fill a whole level, like "
                "'site/+/temperature' (MQTT 3.1.1 §4.7.1.3)"
            )
    return text


def levels_match(filter_levels: Sequence[str], topic_levels: Sequence[str]) -> bool:
    """The ``+``/``#`` matcher (§4.7.1) on levels already split at ``/``: ``+``
    matches exactly one level, ``#`` (the last level) that level's parent and every
    level below it (``a/#`` matches ``a``). No ``$`` rule here (see
    :func:`filter_matches`); the store's path filters use it too
    (:func:`console.store.paths.path_matches`).

    >>> levels_match(["a", "+", "#"], ["a", "b"]), levels_match(["a", "+"], ["a"])
    (True, False)
    """
    for index, level in enumerate(filter_levels):
        if level == "#":
            return True
        if index >= len(topic_levels):
            return False
        if level != "+" and level != topic_levels[index]:
            return False
    return len(filter_levels) == len(topic_levels)


def filter_matches(topic_filter: str, topic: str) -> bool:
    """Tell whether ``topic`` (a topic name) matches ``topic_filter`` (§4.7).

    >>> filter_matches("site/+/temp", "site/s7/temp"), filter_matches("#", "$SYS/x")
    (True, False)
    """
    if topic.startswith("$") and topic_filter[:1] in ("+", "#"):
        return False
    return levels_match(topic_filter.split("/"), topic.split("/"))


def filter_covers(wide: str, narrow: str) -> bool:
    """Tell whether every topic ``narrow`` matches is also matched by ``wide`` (both
    topic filters), so that subscribing to ``narrow`` as well would be redundant.

    >>> filter_covers("site/#", "site/+/temp"), filter_covers("site/+", "site/#")
    (True, False)
    """
    wide_levels = wide.split("/")
    narrow_levels = narrow.split("/")
    if narrow.startswith("$") != wide.startswith("$") and wide[:1] in ("+", "#"):
        return False
    for index, level in enumerate(wide_levels):
        if level == "#":
            return True
        if index >= len(narrow_levels):
            return False
        other = narrow_levels[index]
        if other == "#":
            return False
        if level == "+":
            continue
        if other == "+" or other != level:
            return False
    return len(wide_levels) == len(narrow_levels)


@dataclass(frozen=True, slots=True)
class TemplateMatch:
    """What a :class:`DeviceTemplate` found in a topic.

    Attributes:
        device: the level at ``{device}``.
        interface: the level at ``{interface}``, or ``None`` without one.
        path: with ``{interface}``: the rest of the topic as an Astarte path
            (``"/" + rest``, ``""`` when nothing follows); else ``None``.
    """

    device: str
    interface: str | None = None
    path: str | None = None


@dataclass(frozen=True, slots=True)
class DeviceTemplate:
    """A parsed device template (see the module docstring).

    Attributes:
        text: the template as written.
        levels: its levels, placeholders included.
        device_level: index of ``{device}``.
        interface_level: index of ``{interface}``, or ``None``.
        filter_levels: the levels of :attr:`filter` (placeholders as ``+``).
    """

    text: str
    levels: tuple[str, ...]
    device_level: int
    interface_level: int | None
    filter_levels: tuple[str, ...] = ()

    @property
    def filter(self) -> str:
        """The topic filter to subscribe to: each placeholder becomes ``+``."""
        return "/".join(self.filter_levels)

    def match(self, topic: str) -> TemplateMatch | None:
        """The device (and interface, path) ``topic`` belongs to, or ``None``.

        A device level that is empty or starts with ``@`` (reserved for fleettop's
        own parts) does not match.
        """
        parts = topic.split("/")
        if topic.startswith("$") and self.levels[0] in ("+", "#", "{device}", "{interface}"):
            return None
        if not levels_match(self.filter_levels, parts):
            return None
        # interned: a device's name repeats in each of its topics' routes and events
        device = sys.intern(parts[self.device_level])
        if not device or device.startswith("@"):
            return None
        if self.interface_level is None:
            return TemplateMatch(device)
        interface = sys.intern(parts[self.interface_level])
        rest = parts[self.interface_level + 1 :]
        return TemplateMatch(device, interface, "/" + "/".join(rest) if rest else "")


def parse_template(text: str) -> DeviceTemplate:
    """Parse a device template such as ``site/{device}/telemetry/#``.

    Raises:
        ValueError: not a valid filter once placeholders are read as ``+``; no
            ``{device}`` or more than one; a placeholder that does not fill its
            level; ``{interface}`` before ``{device}``, twice, or not followed by a
            final ``#``. The message quotes ``text``.
    """
    levels = tuple(text.split("/"))
    for level in levels:
        if ("{" in level or "}" in level) and level not in ("{device}", "{interface}"):
            raise ValueError(
                f"{text!r} is not a device template: {level!r} is not a placeholder; "
                "use '{device}' or '{interface}' as a whole level"
            )
    validate_filter("/".join("+" if lv.startswith("{") else lv for lv in levels))
    devices = [i for i, level in enumerate(levels) if level == "{device}"]
    if len(devices) != 1:
        raise ValueError(
            f"{text!r} is not a device template: it needs exactly one '{{device}}' level, "
            f"like 'site/{{device}}/#'"
        )
    interfaces = [i for i, level in enumerate(levels) if level == "{interface}"]
    interface_level = None
    if interfaces:
        if len(interfaces) > 1 or interfaces[0] < devices[0]:
            raise ValueError(
                f"{text!r} is not a device template: one '{{interface}}' level may follow "
                "'{device}'"
            )
        interface_level = interfaces[0]
        if levels[-1] != "#" or interface_level != len(levels) - 2:
            raise ValueError(
                f"{text!r} is not a device template: '{{interface}}' must be followed by "
                "a final '#' (the Astarte path), like 'realm/{device}/{interface}/#'"
            )
    filter_levels = tuple("+" if level.startswith("{") else level for level in levels)
    return DeviceTemplate(text, levels, devices[0], interface_level, filter_levels)
