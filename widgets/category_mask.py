"""The type mask of a notification pane: one chip per category, with its key, its name
and how many notifications of it the pane has received; a chip is on (shown) or off
(hidden). Clicking a chip toggles it; the screen binds the keys ``1``..``9`` (and
``0`` for the ``event`` category of monitors) to the same toggles.

When the chips do not fit the width (80 columns), they turn compact: short names
(``msg``, ``prop``...), counts in thousands (``12k``) and one column between chips, so
every key stays visible."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from textual import events
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Static

from console.format import format_count
from console.notifications.model import CATEGORIES, Category

__all__ = ["SHORT_NAMES", "CategoryMask", "mask_key"]

#: The names of compact chips.
SHORT_NAMES: dict[Category, str] = {
    Category.TRAP: "trap",
    Category.MESSAGE: "msg",
    Category.STATUS: "stat",
    Category.READ: "read",
    Category.WRITE: "wrt",
    Category.PROPERTY: "prop",
    Category.LOG: "log",
    Category.AUDIT: "aud",
    Category.ALARM: "alrm",
    Category.EVENT: "evt",
}
#: Columns of padding around a chip's label (left, right), full and compact.
_PADDING = (1, 1)
_COMPACT_PADDING = (1, 0)


def _short_count(value: int) -> str:
    if value < 1000:
        return str(value)
    if value < 1_000_000:
        return f"{value // 1000}k"
    return f"{value // 1_000_000}M"


def mask_key(category: Category) -> str:
    """The key that toggles ``category``: ``1``..``9`` in :data:`CATEGORIES` order,
    ``0`` for the tenth (``event``)."""
    index = CATEGORIES.index(category) + 1
    return str(index % 10)


class _Chip(Static):
    """One category of the mask (clicking it toggles the category)."""

    def __init__(self, category: Category) -> None:
        super().__init__(id=f"mask-{category.value}", classes="mask-chip -on", markup=False)
        self.category = category

    def on_click(self, event: events.Click) -> None:
        """Toggle this category."""
        event.stop()
        self.post_message(CategoryMask.Toggled(self.category))


class CategoryMask(Horizontal):
    """The chips of ``categories``; :meth:`show` sets which are on and the counts.

    Args:
        categories: the categories offered, in key order.
    """

    class Toggled(Message):
        """The operator clicked a category's chip (handler:
        ``on_category_mask_toggled``)."""

        def __init__(self, category: Category) -> None:
            super().__init__()
            self.category = category
            """The category to toggle."""

    def __init__(
        self,
        categories: Sequence[Category] = CATEGORIES,
        *,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.categories = tuple(categories)
        """The categories offered."""
        self.compact = False
        """True when the chips show short names (the full ones do not fit)."""
        self._enabled: frozenset[Category] = frozenset(self.categories)
        self._counts: Mapping[Category, int] = {}

    def compose(self) -> ComposeResult:
        """One chip per category."""
        for category in self.categories:
            yield _Chip(category)

    def show(self, enabled: frozenset[Category], counts: Mapping[Category, int]) -> None:
        """Mark the chips of ``enabled`` on, the others off, and show ``counts``
        (notifications received per category)."""
        self._enabled, self._counts = enabled, counts
        compact = self._too_narrow(counts)
        if compact != self.compact:
            self.compact = compact
            left, right = _COMPACT_PADDING if compact else _PADDING
            for chip in self.query(_Chip):
                chip.styles.padding = (0, right, 0, left)
        for chip in self.query(_Chip):
            category = chip.category
            on = category in enabled
            chip.set_class(on, "-on")
            chip.set_class(not on, "-off")
            label = self._label(category, counts.get(category, 0), compact=compact)
            shown = str(chip.content)
            if shown != label:
                # a count that keeps its width needs no layout pass (a flood changes
                # the counts every frame)
                chip.update(label, layout=len(label) != len(shown))

    def on_resize(self) -> None:
        """Full or compact chips, for the new width."""
        if self.is_mounted:
            self.show(self._enabled, self._counts)

    def _too_narrow(self, counts: Mapping[Category, int]) -> bool:
        width = self.size.width
        if not width:
            return False
        needed = sum(
            len(self._label(c, counts.get(c, 0), compact=False)) + sum(_PADDING)
            for c in self.categories
        )
        return needed > width

    @staticmethod
    def _label(category: Category, count: int, *, compact: bool) -> str:
        if compact:
            return f"{mask_key(category)} {SHORT_NAMES[category]} {_short_count(count)}"
        return f"{mask_key(category)} {category.value} {format_count(count)}"

    def chip_text(self, category: Category) -> str:
        """What the chip of ``category`` shows (tests)."""
        return str(self.query_one(f"#mask-{category.value}", _Chip).content)

    def is_on(self, category: Category) -> bool:
        """True when the chip of ``category`` is on."""
        return self.query_one(f"#mask-{category.value}", _Chip).has_class("-on")
