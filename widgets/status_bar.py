"""The status bar under every screen: devices connected, event totals and rate, drops,
and the unacknowledged alarms."""

from __future__ import annotations

from collections.abc import Sequence

from textual.content import Content
from textual.widgets import Static

from console.events import EventManager
from console.fleet import CONNECTED, ONLINE, DeviceState, FleetState
from console.format import Clock, format_count, format_rate
from widgets.showing import is_showing

__all__ = ["RateMeter", "StatusBar"]

REFRESH_SECONDS = 1.0


class RateMeter:
    """Events per second between two samples of a running total."""

    def __init__(self) -> None:
        self._last: tuple[float, int] | None = None
        self.rate: float | None = None
        """The rate at the last sample, or ``None`` before two samples in time."""

    def sample(self, now: float, total: int) -> float | None:
        """Record ``total`` at ``now`` and return the rate since the previous sample."""
        if self._last is not None and now > self._last[0]:
            self.rate = max(0, total - self._last[1]) / (now - self._last[0])
        if self._last is None or now > self._last[0]:
            self._last = (now, total)
        return self.rate


class StatusBar(Static):
    """One line: ``connected n/N · events total · rate · dropped · values · alarms``,
    ``READ-ONLY`` when writes are refused, ``NO PERSISTENCE`` (red) when the
    property store could not be used, and ``TRAPS FAILED`` (red) when the trap
    receiver could not listen (a notification tells why), ``MIBs: compiling
    120/490`` while MIB modules compile in the background (then ``MIBs: N failed``
    if some failed). ``alarms N unacked``
    turns red (bold) while an open alarm waits for its acknowledgement (``N`` opens
    the Notifications screen).

    Refreshed when the bridge reports changes and once a second, and only while its
    screen is showing. Drops (``bus.dropped``) turn red when not zero.

    Args:
        bus: the event manager (totals and drop counters).
        state: the fleet state (connection statuses, value count).
        configured: names of the configured devices (counted before any event).
        clock: where "now" comes from (the rate).
        read_only: writes are refused; the bar says so.
    """

    def __init__(
        self,
        bus: EventManager,
        state: FleetState,
        configured: Sequence[str],
        clock: Clock,
        *,
        read_only: bool = False,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes, markup=False)
        self._bus = bus
        self._state = state
        self._configured = tuple(configured)
        self._clock = clock
        self._meter = RateMeter()
        self._read_only = read_only

    def on_mount(self) -> None:
        """Show the counters now and every second."""
        self._meter.sample(self._clock.now(), self._bus.published)
        self.refresh_counts()
        self.set_interval(REFRESH_SECONDS, self._tick)

    def _tick(self) -> None:
        if not is_showing(self.screen):
            return
        self._meter.sample(self._clock.now(), self._bus.published)
        self.refresh_counts()

    @property
    def no_persistence(self) -> bool:
        """True when the property store was asked for but could not be used (the
        reason is in the startup notification and on the Properties screen)."""
        store = self._state.store
        return store is not None and store.failed

    @property
    def traps_failed(self) -> bool:
        """True when the trap receiver could not listen: no trap arrives."""
        receiver = self._state.receiver
        return receiver is not None and receiver.failed

    def _mibs_markup(self) -> str:
        """``MIBs: compiling 120/490`` while MIB modules compile in the background,
        ``MIBs: N failed`` once loaded with failures (``fleettop mibs`` says why);
        nothing otherwise."""
        mibs = self._state.mibs
        if mibs is None:
            return ""
        if mibs.state == "compiling":
            return f" [$text-muted]│[/] [b $warning]MIBs: compiling {mibs.done}/{mibs.total}[/]"
        if mibs.state == "loading":
            return " [$text-muted]│[/] [$text-muted]MIBs: loading[/]"
        if mibs.failed:
            return f" [$text-muted]│[/] [$warning]MIBs: {mibs.failed} failed[/]"
        return ""

    def refresh_counts(self) -> None:
        """Redraw the line from the current counters."""
        names = set(self._configured) | set(self._state.devices)
        connected = sum(1 for name in names if _is_up(self._state.device(name)))
        dropped = self._bus.dropped
        ok = "$success" if names and connected == len(names) else "$warning"
        drop_style = "$error bold" if dropped else "$text-muted"
        unacked = self._state.unacked
        alarm_style = "$error bold" if unacked else "$text-muted"
        self.update(
            Content.from_markup(
                f"[{ok}]●[/] connected [b]$connected[/]"
                " [$text-muted]│[/] events [b]$events[/] [$text-muted]($rate)[/]"
                f" [$text-muted]│[/] [{drop_style}]dropped $dropped[/]"
                " [$text-muted]│[/] values [b]$values[/]"
                f" [$text-muted]│[/] [{alarm_style}]alarms $unacked unacked[/]"
                + (" [$text-muted]│[/] [b $warning]READ-ONLY[/]" if self._read_only else "")
                + (" [$text-muted]│[/] [b $error]NO PERSISTENCE[/]" if self.no_persistence else "")
                + (" [$text-muted]│[/] [b $error]TRAPS FAILED[/]" if self.traps_failed else "")
                + self._mibs_markup(),
                connected=f"{connected}/{len(names)}",
                events=format_count(self._bus.published),
                rate=format_rate(self._meter.rate),
                dropped=format_count(dropped),
                values=format_count(len(self._state)),
                unacked=format_count(unacked),
            ),
            # one line (height 1 in base.tcss): no reflow of the whole screen each second
            layout=False,
        )


def _is_up(device: DeviceState) -> bool:
    """A device is up when every protocol it speaks is: SNMP ``CONNECTED`` and MQTT
    ``ONLINE`` (a device with neither status yet is not up)."""
    if device.status is None and device.mqtt_status is None:
        return False
    return device.status in (None, CONNECTED) and device.mqtt_status in (None, ONLINE)
