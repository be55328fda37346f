"""The audit pane: the recorded operator actions, newest first, a page at a time."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import DataTable, Static

from console.format import Clock, format_count
from console.store import AuditRecorder
from widgets.audit_table import AuditTable

__all__ = ["AUDIT_PAGE", "AuditPane"]

#: Audit entries loaded at a time.
AUDIT_PAGE = 200


class AuditPane(Vertical):
    """The audit log's counts line over an :class:`~widgets.audit_table.AuditTable`.

    Entries load a page at a time (:meth:`load`); more load when the cursor reaches
    the last row.

    Args:
        recorder: the audit recorder whose log is shown.
        clock: formats the times.
        page: entries per page.
    """

    def __init__(
        self,
        recorder: AuditRecorder | None,
        clock: Clock,
        *,
        page: int = AUDIT_PAGE,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self._recorder = recorder
        self._clock = clock
        self._page = page
        self.total = 0
        """Entries in the audit log, at the last load."""
        self.loads = 0
        """Completed loads."""
        self.seen = -1
        """The fleet state's ``audit_seq`` at the last load (-1: none yet)."""

    def compose(self) -> ComposeResult:
        """The counts line and the table."""
        yield Static(id="audit-counts", markup=False)
        yield AuditTable(self._clock, id="audit")

    @work(exclusive=True, group="audit", exit_on_error=False, description="load the audit log")
    async def load(self, offset: int = 0, seen: int | None = None) -> None:
        """Load a page of entries (from ``offset``; 0: the newest, also after a new
        entry) and the total; ``seen`` is the state's ``audit_seq`` it covers."""
        recorder = self._recorder
        if recorder is None:
            return
        entries = await recorder.log.query_audit(limit=self._page, offset=offset)
        total = await recorder.log.count_audit()
        table = self.query_one(AuditTable)
        table.add_entries(entries)
        if seen is not None:
            self.seen = seen
        self.total = total
        self.loads += 1
        self.query_one("#audit-counts", Static).update(
            Content.from_markup(
                "[b]$shown[/] of $total entries, newest first",
                shown=format_count(table.row_count),
                total=format_count(total),
            )
        )

    @on(DataTable.RowHighlighted, "#audit")
    def _row(self, event: DataTable.RowHighlighted) -> None:
        table = self.query_one(AuditTable)
        if event.cursor_row == table.row_count - 1 and table.row_count < self.total:
            self.load(table.row_count)
