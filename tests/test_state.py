"""FleetState: the UI's model folded from bus events, tested without a terminal."""

from __future__ import annotations

from console.events import Event, EventType, JsonValue
from console.state import FleetState

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
