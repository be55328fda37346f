"""What the operator narrows the stream to: a type mask, a device glob and a text filter.

A :class:`NotificationFilter` is a frozen value (the screen keeps one per pane and
replaces it on each change); :meth:`NotificationFilter.predicate` compiles it once
into a fast ``Notification -> bool`` function, raising :class:`FilterError` with an
operator-readable message when the text is a bad regular expression.

The text filter is matched against ``"{device} {type} {summary}"`` (the event type
joined by ``/``):

* plain text: a case-insensitive substring;
* ``/regex/`` (between slashes) or ``re:regex``: :func:`re.search`, ignoring case.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Final

from console.notifications.model import CATEGORIES, Category, Notification

__all__ = ["EVERYTHING", "FilterError", "NotificationFilter", "parse_text"]


class FilterError(ValueError):
    """A filter that cannot be applied; the message is meant for the operator, e.g.
    ``bad regular expression /(/: missing ), unterminated subpattern at position 0``."""


_ALL: Final[frozenset[Category]] = frozenset(CATEGORIES)


def parse_text(text: str) -> re.Pattern[str] | str | None:
    """The compiled form of a text filter.

    Returns:
        ``None`` for ``""`` (matches everything); a compiled pattern (``IGNORECASE``)
        for ``/regex/`` or ``re:regex``; otherwise the plain text, case-folded, to look
        for as a substring.

    Raises:
        FilterError: the regular expression does not compile.
    """
    if not text:
        return None
    source: str | None = None
    shown = text
    if len(text) >= 2 and text.startswith("/") and text.endswith("/"):
        source = text[1:-1]
    elif text.startswith("re:"):
        source = text[3:]
    if source is None:
        return text.casefold()
    try:
        return re.compile(source, re.IGNORECASE)
    except re.error as error:
        where = f" at position {error.pos}" if error.pos is not None else ""
        raise FilterError(f"bad regular expression {shown}: {error.msg}{where}") from None


def _haystack(notification: Notification) -> str:
    return f"{notification.device} {'/'.join(notification.event_type)} {notification.summary}"


@dataclass(frozen=True, slots=True)
class NotificationFilter:
    """Which notifications a pane shows.

    Attributes:
        categories: the type mask: the categories shown (all by default).
        device: ``""`` for any device, else an :func:`fnmatch.fnmatchcase` glob on
            :attr:`Notification.device` (case-sensitive: ``sw*``, ``@plant``).
        text: ``""`` for any text; plain text is a case-insensitive substring;
            ``/regex/`` or ``re:regex`` is a case-insensitive :func:`re.search`.
            Both look at ``"{device} {type} {summary}"``.
    """

    categories: frozenset[Category] = field(default=_ALL)
    device: str = ""
    text: str = ""

    def predicate(self) -> Callable[[Notification], bool]:
        """A function telling whether a notification passes this filter. Cheap
        checks (category, device) run before the text, which builds the summary.

        Raises:
            FilterError: :attr:`text` is a bad regular expression.
        """
        needle = parse_text(self.text)
        categories = None if self.categories >= _ALL else self.categories
        device = self.device or None
        device_is_glob = device is not None and any(c in device for c in "*?[")

        def passes(notification: Notification) -> bool:
            if categories is not None and notification.category not in categories:
                return False
            if device is not None:
                if device_is_glob:
                    if not fnmatch.fnmatchcase(notification.device, device):
                        return False
                elif notification.device != device:
                    return False
            if needle is None:
                return True
            if isinstance(needle, str):
                return needle in _haystack(notification).casefold()
            return needle.search(_haystack(notification)) is not None

        return passes

    def validate(self) -> None:
        """Check the filter can be applied.

        Raises:
            FilterError: :attr:`text` is a bad regular expression.
        """
        parse_text(self.text)

    def toggled(self, category: Category) -> NotificationFilter:
        """This filter with ``category`` switched in or out of the mask."""
        return replace(self, categories=self.categories ^ {category})

    @property
    def is_everything(self) -> bool:
        """True when the filter lets every notification through."""
        return self.categories >= _ALL and not self.device and not self.text

    def describe(self) -> str:
        """A short description for a status line, e.g.
        ``trap,status · device sw* · text /link(up|down)/``; ``everything`` when
        nothing is filtered, ``no category`` when the mask is empty."""
        if self.is_everything:
            return "everything"
        parts: list[str] = []
        if not self.categories:
            parts.append("no category")
        elif not self.categories >= _ALL:
            parts.append(",".join(c.value for c in CATEGORIES if c in self.categories))
        if self.device:
            parts.append(f"device {self.device}")
        if self.text:
            parts.append(f"text {self.text}")
        return " · ".join(parts)


#: The filter that shows everything.
EVERYTHING: Final = NotificationFilter()
