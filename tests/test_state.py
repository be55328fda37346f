"""FleetState: the UI's model folded from bus events, tested without a terminal."""

from __future__ import annotations

import pytest

from console.events import Event, EventType, JsonValue
from console.fleet import FleetState, counter_rate
from console.fleet.series import SnmpSeries

_seq = iter(range(1, 1_000_000))


def event(event_type: EventType, payload: JsonValue, at: float = 100.0) -> Event:
    return Event(event_type, payload, at, None, next(_seq))


def read(device: str, oid: str, data_type: str, value: JsonValue, at: float = 100.0) -> Event:
    cause = "CHANGE"
    return event(
        ("snmp", device, "read", oid),
        {"session_id": None, "cause": cause, "data": {"type": data_type, "value": value}},
        at,
    )


def test_status_poll_and_read_events_fold_into_device_and_value_state() -> None:
    state = FleetState()
    changes = state.apply(
        [
            event(("snmp", "sw1", "status"), {"status": "CONNECTING", "reason": None}, 10.0),
            event(("snmp", "sw1", "status"), {"status": "CONNECTED", "reason": None}, 11.0),
            event(
                ("snmp", "sw1", "poll"),
                {"rtt_ms": 2.5, "values": 2, "errors": 1, "polls": 7, "last_poll": 12.0},
            ),
            read("sw1", "1.3.6.1.2.1.1.3.0", "TIME_TICKS", 100, at=12.0),
        ]
    )
    assert changes.devices == {"sw1"}
    assert changes.values == {("sw1", "1.3.6.1.2.1.1.3.0")}
    device = state.device("sw1")
    assert (device.status, device.status_since) == ("CONNECTED", 11.0)
    assert (device.rtt_ms, device.values, device.errors, device.polls) == (2.5, 2, 1, 7)
    value = state.value(("sw1", "1.3.6.1.2.1.1.3.0"))
    assert value is not None
    assert (value.data_type, value.value, value.changes, value.first_seen) == (
        "TIME_TICKS",
        100,
        0,
        12.0,
    )


def test_changes_are_counted_only_when_the_value_or_type_differs() -> None:
    state = FleetState()
    oid = "1.3.6.1.2.1.2.2.1.10.1"
    state.apply([read("sw1", oid, "COUNTER", 1, at=1.0)])
    state.apply([read("sw1", oid, "COUNTER", 1, at=2.0)])  # a REQUESTED re-read, same value
    state.apply([read("sw1", oid, "COUNTER", 5, at=3.0)])
    state.apply([read("sw1", oid, "ERROR", "NO_SUCH_INSTANCE", at=4.0)])
    value = state.value(("sw1", oid))
    assert value is not None
    assert (value.changes, value.last_change, value.first_seen) == (2, 4.0, 1.0)


def test_a_status_repeated_keeps_its_since_time() -> None:
    state = FleetState()
    state.apply([event(("snmp", "a", "status"), {"status": "CONNECTED", "reason": None}, 5.0)])
    state.apply([event(("snmp", "a", "status"), {"status": "CONNECTED", "reason": None}, 9.0)])
    assert state.device("a").status_since == 5.0


def test_malformed_and_foreign_events_are_ignored_without_raising() -> None:
    state = FleetState()
    changes = state.apply(
        [
            event(("snmp", "a", "status"), {"reason": "no status key"}),
            event(("snmp", "a", "read", "1.3"), {"data": "not an object"}),
            event(("snmp", "a", "read", "1.3"), ["not", "a", "dict"]),
            event(("mqtt", "b", "message"), {"topic": "x"}),
            event(("log", "error"), {"message": "boom"}),
            read("a", "1.3.6", "INTEGER", 4),
        ]
    )
    assert changes.values == {("a", "1.3.6")}
    assert len(state) == 1


def test_values_are_bounded_and_the_least_recently_updated_goes_first() -> None:
    state = FleetState(value_limit=3)
    for i in range(4):
        state.apply([read("a", f"1.3.{i}", "INTEGER", i)])
    state.apply([read("a", "1.3.1", "INTEGER", 99)])  # touch 1.3.1: now the newest
    state.apply([read("a", "1.3.9", "INTEGER", 9)])
    assert [v.oid for v in state.values("a")] == ["1.3.1", "1.3.3", "1.3.9"]  # first-seen order
    assert state.value(("a", "1.3.0")) is None
    assert len(state) == 3


# -- counter rates ---------------------------------------------------------------------

IN_OCTETS = "1.3.6.1.2.1.2.2.1.10.1"
HC_IN_OCTETS = "1.3.6.1.2.1.31.1.1.1.6.1"
UPTIME = "1.3.6.1.2.1.1.3.0"


def counter(
    oid: str, value: int, at: float, *, data_type: str = "COUNTER", cause: str = "CHANGE"
) -> Event:
    return event(
        ("snmp", "sw1", "read", oid),
        {"session_id": None, "cause": cause, "data": {"type": data_type, "value": value}},
        at,
    )


SYS_UPTIME_OID = "1.3.6.1.2.1.1.3.0"


def polling(device: str, *oids: str) -> Event:
    """The polling-list event of ``device`` (contract 1, ``docs/events.md``)."""
    return event(("snmp", device, "polling"), {"oids": list(oids)})


def poll_at(at: float) -> Event:
    payload: JsonValue = {"rtt_ms": 1.0, "values": 1, "errors": 0, "polls": 1, "last_poll": at}
    return event(("snmp", "sw1", "poll"), payload, at)


def rate(state: FleetState, oid: str = IN_OCTETS) -> float | None:
    value = state.value(("sw1", oid))
    assert value is not None
    return value.rate


@pytest.mark.parametrize(
    ("data_type", "previous", "current", "expected"),
    [
        ("COUNTER", (1_000, 10.0), (3_000, 12.0), 1_000.0),
        ("COUNTER", (2**32 - 1_000, 10.0), (1_000, 12.0), 1_000.0),  # one 32-bit wrap
        ("BIG_COUNTER", (2**64 - 10, 10.0), (90, 11.0), 100.0),  # one 64-bit wrap
        ("BIG_COUNTER", (5, 10.0), (2**40 + 5, 11.0), float(2**40)),  # fast, no wrap
        ("COUNTER", (1_000_000_000, 10.0), (12, 12.0), None),  # reset: not a wrap
        ("BIG_COUNTER", (10**12, 10.0), (3, 12.0), None),  # reset of a 64-bit counter
        ("COUNTER", (5, 10.0), (2**31 + 5, 11.0), None),  # a jump of half the range
        ("COUNTER", (5, 10.0), (6, 10.0), None),  # no time passed
        ("COUNTER", (5, 10.0), (5, 12.0), 0.0),
    ],
)
def test_counter_rate(
    data_type: str,
    previous: tuple[int, float],
    current: tuple[int, float],
    expected: float | None,
) -> None:
    assert counter_rate(data_type, previous, current) == expected


def test_a_counter_gets_a_rate_from_its_second_sample() -> None:
    state = FleetState()
    state.apply([counter(IN_OCTETS, 1_000, 10.0, cause="INTERROGATE")])
    assert rate(state) is None
    state.apply([counter(IN_OCTETS, 5_000, 12.0)])
    assert rate(state) == 2_000.0
    state.apply([counter(IN_OCTETS, 2**32 - 1_000, 13.0)])  # a jump: no rate
    assert rate(state) is None
    state.apply([counter(IN_OCTETS, 3_000, 15.0)])  # then a wrap: 4,000 in 2 s
    assert rate(state) == 2_000.0


def test_only_counters_have_rates() -> None:
    state = FleetState()
    state.apply([counter("1.3.6", 1, 1.0, data_type="UNSIGNED")])
    state.apply([counter("1.3.6", 9, 2.0, data_type="UNSIGNED")])
    assert rate(state, "1.3.6") is None
    state.apply([counter(IN_OCTETS, 1, 1.0), counter(IN_OCTETS, 3, 2.0)])
    state.apply([counter(IN_OCTETS, "NO_SUCH_INSTANCE", 3.0, data_type="ERROR")])  # type: ignore[arg-type]
    assert rate(state) is None
    state.apply([counter(IN_OCTETS, 10, 4.0)])  # a new baseline after the error
    assert rate(state) is None


def test_a_restart_seen_in_sys_uptime_voids_the_rates() -> None:
    """sysUpTime going back is a restart: a counter that came back up to a plausible
    value (below half its range from the old one) still gets no made-up rate."""
    state = FleetState()
    state.apply(
        [
            counter(UPTIME, 500_000, 10.0, data_type="TIME_TICKS"),
            counter(IN_OCTETS, 4_000_000_000, 10.0),
            counter(UPTIME, 500_100, 11.0, data_type="TIME_TICKS"),
            counter(IN_OCTETS, 4_000_001_000, 11.0),
        ]
    )
    assert rate(state) == 1_000.0
    # the device restarted: its counter starts again near zero (the modular delta,
    # 294,968,296 in 1 s, would look like a wrap)
    changes = state.apply(
        [
            counter(IN_OCTETS, 2_000, 12.0),
            counter(UPTIME, 150, 12.0, data_type="TIME_TICKS"),
        ]
    )
    assert rate(state) is None
    assert ("sw1", IN_OCTETS) in changes.values
    assert state.device("sw1").restarts == 1
    state.apply([counter(IN_OCTETS, 4_000, 13.0)])  # the post-restart sample is the baseline
    assert rate(state) == 2_000.0


def test_a_polled_counter_that_stops_moving_shows_zero() -> None:
    """Values are published only on change; a poll event proves an unpublished
    counter was read again, unchanged."""
    state = FleetState()
    state.apply([poll_at(9.0), counter(IN_OCTETS, 1_000, 10.0), poll_at(10.5)])
    state.apply([counter(IN_OCTETS, 3_000, 11.0), poll_at(11.5)])
    assert rate(state) == 2_000.0
    changes = state.apply([poll_at(12.5)])  # not published during this cycle
    assert rate(state) == 0.0
    assert ("sw1", IN_OCTETS) in changes.values
    state.apply([poll_at(13.5), counter(IN_OCTETS, 3_500, 14.0)])
    assert rate(state) == 1_000.0  # since the last cycle that read it unchanged (13.5)


def test_a_counter_read_only_by_the_operator_is_not_zeroed_by_polls() -> None:
    state = FleetState()
    state.apply([poll_at(9.0), counter(IN_OCTETS, 1_000, 10.0, cause="REQUESTED")])
    state.apply([counter(IN_OCTETS, 2_000, 11.0, cause="REQUESTED"), poll_at(11.5)])
    state.apply([poll_at(12.5)])
    assert rate(state) == 1_000.0
    state.apply([polling("sw1", IN_OCTETS)])
    assert state.apply([polling("sw1")]).values == {("sw1", IN_OCTETS)}  # removed
    assert rate(state) is None


def test_the_chart_series_holds_values_and_counter_rates_across_a_wrap() -> None:
    """The OIDs screen's chart: numbers as they are, counters as the rate the fold
    shows (one 32-bit wrap counted right, no point for a jump), a 0 for a poll cycle
    that read the counter unchanged, nothing for a text, bounded per OID."""
    state = FleetState()
    series = state.snmp.series
    state.apply([poll_at(9.0), counter(IN_OCTETS, 2**32 - 1_000, 10.0), poll_at(10.5)])
    assert series.points(("sw1", IN_OCTETS)) == []  # one sample: no rate yet
    state.apply([counter(IN_OCTETS, 3_000, 12.0), poll_at(12.5)])  # wrapped: 4,000 in 2 s
    state.apply([poll_at(13.5)])  # read again unchanged
    state.apply([counter(IN_OCTETS, 2_500_000_000, 14.0)])  # a jump: no rate, no point
    state.apply([counter(IN_OCTETS, 2_500_001_000, 15.0)])
    assert series.points(("sw1", IN_OCTETS)) == [(12.0, 2_000.0), (13.5, 0.0), (15.0, 1_000.0)]
    assert rate(state) == series.points(("sw1", IN_OCTETS))[-1][1]
    state.apply([counter(UPTIME, 100, 1.0, data_type="TIME_TICKS")])
    state.apply([counter(UPTIME, 200, 2.0, data_type="TIME_TICKS")])
    assert series.points(("sw1", UPTIME)) == [(1.0, 100.0), (2.0, 200.0)]
    state.apply([counter("1.3.6.1.2.1.1.5.0", "sw1", 1.0, data_type="STRING")])  # type: ignore[arg-type]
    assert series.points(("sw1", "1.3.6.1.2.1.1.5.0")) == []
    # a type change: the old points meant something else
    state.apply([counter(UPTIME, "NO_SUCH_INSTANCE", 3.0, data_type="ERROR")])  # type: ignore[arg-type]
    assert series.points(("sw1", UPTIME)) == []


def test_the_chart_series_is_bounded() -> None:
    series = SnmpSeries(points=3, keys=2)
    for at in range(5):
        series.add(("sw1", "1"), float(at), float(at))
    assert series.points(("sw1", "1")) == [(2.0, 2.0), (3.0, 3.0), (4.0, 4.0)]
    series.add(("sw1", "1"), 3.5, 9.0)  # older than the last point: dropped
    series.add(("sw1", "2"), 1.0, 1.0)
    series.add(("sw1", "3"), 1.0, 1.0)  # a third OID: the least recently updated goes
    assert len(series) == 2
    assert series.points(("sw1", "1")) == []
    with pytest.raises(ValueError, match="positive"):
        SnmpSeries(points=0)


def test_a_disconnected_device_has_no_rates() -> None:
    state = FleetState()
    state.apply([counter(HC_IN_OCTETS, 1, 1.0, data_type="BIG_COUNTER")])
    state.apply([counter(HC_IN_OCTETS, 11, 2.0, data_type="BIG_COUNTER")])
    assert rate(state, HC_IN_OCTETS) == 10.0
    status = event(("snmp", "sw1", "status"), {"status": "DISCONNECTED", "reason": "x"}, 3.0)
    assert ("sw1", HC_IN_OCTETS) in state.apply([status]).values
    assert rate(state, HC_IN_OCTETS) is None
    state.apply([counter(HC_IN_OCTETS, 61, 7.0, data_type="BIG_COUNTER", cause="INTERROGATE")])
    assert rate(state, HC_IN_OCTETS) == 10.0  # the average over the outage


def test_the_session_id_of_a_requested_read_is_kept() -> None:
    state = FleetState()
    state.apply(
        [
            event(
                ("snmp", "sw1", "read", "1.3.6"),
                {
                    "session_id": "ab12",
                    "cause": "REQUESTED",
                    "data": {"type": "INTEGER", "value": 1},
                },
            )
        ]
    )
    value = state.value(("sw1", "1.3.6"))
    assert value is not None
    assert (value.session_id, value.cause, value.polled) == ("ab12", "REQUESTED", False)


def test_an_oid_that_leaves_the_polling_list_is_no_longer_polled() -> None:
    state = FleetState()
    state.apply([polling("sw1", IN_OCTETS, SYS_UPTIME_OID)])
    state.apply([counter(IN_OCTETS, 1_000, 10.0), counter(IN_OCTETS, 2_000, 11.0)])
    state.apply([read("sw1", SYS_UPTIME_OID, "TIME_TICKS", 5, at=11.0)])
    assert rate(state) == 1_000.0
    changes = state.apply([polling("sw1", SYS_UPTIME_OID)])
    assert changes.values == {("sw1", IN_OCTETS)}
    value = state.value(("sw1", IN_OCTETS))
    assert value is not None
    assert (value.polled, value.rate, value.value) == (False, None, 2_000)  # the value stays
    uptime = state.value(("sw1", SYS_UPTIME_OID))
    assert uptime is not None
    assert uptime.polled
    assert state.device("sw1").polling == (SYS_UPTIME_OID,)
    state.apply([poll_at(12.0), poll_at(13.0)])  # polls no longer prove it unchanged
    assert rate(state) is None
    assert not state.apply([polling("sw1", SYS_UPTIME_OID)]).values  # nothing left again
    assert not state.apply([event(("snmp", "sw1", "polling"), {"oids": "1.3"})])  # malformed
