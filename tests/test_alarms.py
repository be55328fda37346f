"""AlarmBook (console/notifications/alarms.py).

Against real sources: traps sent by Net-SNMP's ``snmptrap`` to a TrapReceiver, an
in-process pysnmp agent stopped and restarted under a polling SnmpDevice, numbers
published with ``mosquitto_pub`` to a Debian ``mosquitto`` through an MqttFleet, and a
real property store for persistence across a restart. Finer rule semantics (deadband,
re-occurrence, index matching, ack states) on crafted events published on a real bus.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
from pathlib import Path
from typing import Any

import pytest

from console.config import AlarmRule, AlarmsConfig, SnmpDeviceConfig, TrapsConfig, parse_config
from console.events import EventManager
from console.mqtt.fleet import MqttFleet
from console.notifications.alarms import (
    RULE_DISCONNECTED,
    RULE_OFFLINE,
    RULE_TRAP,
    Alarm,
    AlarmBook,
)
from console.notifications.model import Category, Severity, classify
from console.notifications.storage import AlarmLog
from console.secrets import Secret
from console.snmp.manager import SnmpDevice
from console.snmp.mib import MibResolver
from console.snmp.traps import TrapReceiver
from console.store import PropertyStore
from tests.conftest import require_program
from tests.mqtt_peers import Mosquitto, mosquitto_pub
from tests.payload_helpers import message_payload as message
from tests.snmp_peers import Snmpd
from tests.waiting import EventRecorder, eventually

LINK_DOWN = "1.3.6.1.6.3.1.1.5.3"
LINK_UP = "1.3.6.1.6.3.1.1.5.4"
IF_INDEX = "1.3.6.1.2.1.2.2.1.1"
UPS_TEMP = "1.3.6.1.4.1.318.1.1.1.2.2.2"


class Alarms(EventRecorder):
    """Records ``("alarm", ...)`` events."""

    def __init__(self, bus: EventManager) -> None:
        super().__init__(bus, ("alarm", "*"))

    def payloads(self) -> list[dict[str, Any]]:
        return [e.payload for e in self.events if isinstance(e.payload, dict)]


async def book_of(
    bus: EventManager, config: AlarmsConfig | None = None, **kwargs: Any
) -> AlarmBook:
    book = AlarmBook(bus, config or AlarmsConfig(), **kwargs)
    await book.start()
    return book


def trap_payload(trap_oid: str, *varbinds: tuple[str, int], name: str | None = None) -> Any:
    return {
        "sender": "127.0.0.1:5000",
        "version": "V2C",
        "user": None,
        "inform": False,
        "trap_oid": trap_oid,
        "trap_name": name,
        "uptime": 1,
        "varbinds": [
            {"oid": oid, "name": None, "type": "INTEGER", "value": value} for oid, value in varbinds
        ],
        "v1": None,
    }


def read(value: Any, kind: str = "INTEGER") -> Any:
    return {"session_id": None, "cause": "CHANGE", "data": {"type": kind, "value": value}}


def state_of(alarm: Alarm) -> str:
    """``alarm.state`` read afresh: mypy keeps an earlier ``assert alarm.state == ...``
    narrowing across the awaits that change it."""
    return alarm.state


# -- the Alarm record -------------------------------------------------------------------


def test_alarm_payload_round_trip_and_states() -> None:
    alarm = Alarm(1, "k", "r", "sw1", Severity.ERROR, "m", "snmp/sw1/status", 10.0, 10.0)
    assert (alarm.state, alarm.acked, alarm.closed) == ("active", False, False)
    payload = alarm.to_payload()
    assert payload["severity"] == "error"
    assert json.loads(json.dumps(payload)) == payload
    assert Alarm.from_payload(payload) == alarm
    alarm.cleared_at = 11.0
    assert (alarm.state, alarm.closed) == ("cleared", False)
    alarm.acked_at = 12.0
    assert alarm.closed
    back = Alarm.from_payload(alarm.to_payload())
    assert back == alarm
    with pytest.raises(ValueError, match="severity"):
        Alarm.from_payload({**payload, "severity": "fatal"})


# -- status alarms (crafted) -----------------------------------------------------------


async def test_disconnected_raises_once_clears_and_stays_until_acked(bus: EventManager) -> None:
    book = await book_of(bus)
    alarms = Alarms(bus)
    bus.publish(("snmp", "sw1", "status"), {"status": "DISCONNECTED", "reason": "timeout"})
    bus.publish(("snmp", "sw1", "status"), {"status": "CONNECTING", "reason": None})
    bus.publish(("snmp", "sw1", "status"), {"status": "DISCONNECTED", "reason": "timeout"})
    await bus.drain()

    (alarm,) = book.open_alarms()
    assert (alarm.rule, alarm.device, alarm.severity, alarm.count) == (
        RULE_DISCONNECTED,
        "sw1",
        Severity.ERROR,
        1,
    )
    assert alarm.message == "sw1 DISCONNECTED: timeout"
    assert len(alarms.events) == 1  # emitted on change only
    assert alarms.events[0].type == ("alarm", "sw1", str(alarm.id))
    assert book.unacked == 1
    assert book.worst_by_device() == {"sw1": Severity.ERROR}

    bus.publish(("snmp", "sw1", "status"), {"status": "CONNECTED", "reason": None})
    await bus.drain()
    assert alarm.state == "cleared"
    assert book.open_alarms() == [alarm]  # cleared, still listed until acked
    assert alarms.payloads()[-1]["state"] == "cleared"

    assert book.ack(alarm.id) is alarm
    await bus.drain()
    assert alarm.closed
    assert book.open_alarms() == []
    assert book.get(alarm.id) is None
    assert alarms.payloads()[-1]["closed"] is True
    assert book.ack(alarm.id) is None
    await book.aclose()


async def test_acked_active_alarm_stays_until_cleared(bus: EventManager) -> None:
    book = await book_of(bus)
    bus.publish(("mqtt", "@plant", "status"), {"status": "DISCONNECTED", "reason": "refused"})
    bus.publish(("mqtt", "th-1", "status"), {"status": "OFFLINE", "reason": "no message"})
    await bus.drain()
    offline, broker = book.open_alarms()
    assert (broker.rule, broker.device) == (RULE_DISCONNECTED, "@plant")
    assert (offline.rule, offline.device, offline.severity) == (
        RULE_OFFLINE,
        "th-1",
        Severity.ERROR,
    )

    assert book.ack_all([broker.id, offline.id, 999]) == 2
    assert book.ack_all([broker.id]) == 0
    assert (broker.state, broker.acked, book.unacked) == ("active", True, 0)
    bus.publish(("mqtt", "@plant", "status"), {"status": "CONNECTED", "reason": None})
    bus.publish(("mqtt", "th-1", "status"), {"status": "ONLINE", "reason": None})
    await bus.drain()
    assert book.open_alarms() == []
    await book.aclose()


async def test_shutdown_is_not_an_alarm_and_null_disables(bus: EventManager) -> None:
    book = await book_of(bus)
    bus.publish(("snmp", "sw1", "status"), {"status": "DISCONNECTED", "reason": "device closed"})
    bus.publish(("mqtt", "@plant", "status"), {"status": "DISCONNECTED", "reason": "closed"})
    await bus.drain()
    assert book.open_alarms() == []
    await book.aclose()

    quiet = await book_of(bus, AlarmsConfig(traps=None, disconnected=None))
    bus.publish(("snmp", "sw2", "status"), {"status": "DISCONNECTED", "reason": "timeout"})
    bus.publish(("snmp", "sw2", "trap", LINK_DOWN), trap_payload(LINK_DOWN))
    await bus.drain()
    assert quiet.open_alarms() == []
    await quiet.aclose()


async def test_status_known_before_start_comes_from_the_snapshot(bus: EventManager) -> None:
    bus.publish(("snmp", "sw1", "status"), {"status": "DISCONNECTED", "reason": "timeout"})
    bus.publish(("snmp", "sw2", "status"), {"status": "CONNECTED", "reason": None})
    book = await book_of(bus)
    assert [a.device for a in book.open_alarms()] == ["sw1"]
    await book.aclose()


# -- trap alarms (crafted) ---------------------------------------------------------------


async def test_every_trap_raises_and_repeats_count(bus: EventManager) -> None:
    book = await book_of(bus, AlarmsConfig(traps="critical"))
    alarms = Alarms(bus)
    for _ in range(3):
        bus.publish(("snmp", "@10.0.0.9", "trap", LINK_DOWN), trap_payload(LINK_DOWN))
    await bus.drain()
    (alarm,) = book.open_alarms()
    assert (alarm.rule, alarm.severity, alarm.count, alarm.device) == (
        RULE_TRAP,
        Severity.CRITICAL,
        3,
        "@10.0.0.9",
    )
    assert len(alarms.events) == 3
    notification = classify(alarms.events[-1])
    assert notification is not None
    assert (notification.category, notification.severity) == (Category.ALARM, Severity.CRITICAL)

    # an event alarm has nothing to clear: the acknowledgement closes it
    book.ack(alarm.id)
    assert alarm.closed
    assert book.open_alarms() == []
    # a new occurrence after that is a new alarm with a new id
    bus.publish(("snmp", "@10.0.0.9", "trap", LINK_DOWN), trap_payload(LINK_DOWN))
    await bus.drain()
    (again,) = book.open_alarms()
    assert again.id > alarm.id
    await book.aclose()


async def test_topic_pattern_raises_per_topic_and_ack_closes(bus: EventManager) -> None:
    rule = AlarmRule(name="errs", topic="site/+/error")
    book = await book_of(bus, AlarmsConfig(rules=(rule,)))
    bus.publish(("mqtt", "@plant", "message", "site", "a", "error"), message("site/a/error", b"x"))
    bus.publish(("mqtt", "@plant", "message", "site", "b", "error"), message("site/b/error", b"x"))
    bus.publish(("mqtt", "@plant", "message", "site", "b", "ok"), message("site/b/ok", b"x"))
    await bus.drain()
    b_alarm, a_alarm = book.open_alarms()
    assert (a_alarm.message, b_alarm.message) == (
        "message on site/a/error",
        "message on site/b/error",
    )
    assert a_alarm.state == "active"
    bus.publish(("mqtt", "@plant", "message", "site", "a", "error"), message("site/a/error", b"y"))
    await bus.drain()
    assert (a_alarm.count, a_alarm.state) == (2, "active")  # no auto-clear
    book.ack(a_alarm.id)
    assert a_alarm.closed
    assert book.open_alarms() == [b_alarm]
    await book.aclose()


async def test_link_down_up_pair_by_if_index(bus: EventManager) -> None:
    rule = AlarmRule(
        name="link",
        trap=LINK_DOWN,
        clear_trap="IF-MIB::linkUp",  # matched by the reported name (no MIB given)
        index=IF_INDEX,
        severity="error",
    )
    book = await book_of(bus, AlarmsConfig(rules=(rule,)))
    down = ("snmp", "sw1", "trap", LINK_DOWN)
    up = ("snmp", "sw1", "trap", LINK_UP)
    bus.publish(down, trap_payload(LINK_DOWN, (f"{IF_INDEX}.3", 3), name="IF-MIB::linkDown"))
    bus.publish(down, trap_payload(LINK_DOWN, (f"{IF_INDEX}.4", 4), name="IF-MIB::linkDown"))
    await bus.drain()
    four, three = book.open_alarms()
    assert (three.key, four.key) == ("link|sw1|3", "link|sw1|4")
    assert three.severity is Severity.ERROR
    assert three.message == f"IF-MIB::linkDown ({IF_INDEX} 3)"

    bus.publish(up, trap_payload(LINK_UP, (f"{IF_INDEX}.3", 3), name="IF-MIB::linkUp"))
    await bus.drain()
    assert (three.state, four.state) == ("cleared", "active")
    # linkUp is a clear trap: it raises no @trap alarm of its own
    assert {a.rule for a in book.open_alarms()} == {"link"}
    # linkDown again on 3 before the ack: the same alarm re-occurs
    bus.publish(down, trap_payload(LINK_DOWN, (f"{IF_INDEX}.3", 3), name="IF-MIB::linkDown"))
    await bus.drain()
    assert (three.state, three.count) == ("active", 2)
    # an acknowledged active alarm that occurs again needs a new acknowledgement
    book.ack(four.id)
    assert (four.state, four.acked) == ("active", True)
    bus.publish(down, trap_payload(LINK_DOWN, (f"{IF_INDEX}.4", 4), name="IF-MIB::linkDown"))
    await bus.drain()
    assert (four.count, four.acked) == (2, False)
    await book.aclose()


async def test_trap_names_resolve_with_the_mib(bus: EventManager) -> None:
    rule = AlarmRule(
        name="link",
        trap="IF-MIB::linkDown",
        clear_trap="linkUp",
        index="IF-MIB::ifIndex",
        device="sw*",
    )
    book = await book_of(bus, AlarmsConfig(traps=None, rules=(rule,)), mib=MibResolver())
    # no trap_name in the payloads: only the resolved OIDs can match
    bus.publish(("snmp", "sw1", "trap", LINK_DOWN), trap_payload(LINK_DOWN, (f"{IF_INDEX}.7", 7)))
    bus.publish(("snmp", "rtr", "trap", LINK_DOWN), trap_payload(LINK_DOWN, (f"{IF_INDEX}.7", 7)))
    await bus.drain()
    (alarm,) = book.open_alarms()
    assert (alarm.key, alarm.device) == ("link|sw1|7", "sw1")
    bus.publish(("snmp", "sw1", "trap", LINK_UP), trap_payload(LINK_UP, (f"{IF_INDEX}.7", 7)))
    await bus.drain()
    assert alarm.state == "cleared"
    await book.aclose()


# -- threshold rules (crafted) ------------------------------------------------------------


async def test_threshold_with_deadband_on_snmp_reads(bus: EventManager) -> None:
    rule = AlarmRule(name="temp", oid=UPS_TEMP, above=40, deadband=2, severity="critical")
    book = await book_of(bus, AlarmsConfig(rules=(rule,)))
    alarms = Alarms(bus)
    oid = f"{UPS_TEMP}.0"
    for value in (39, 41, 45, 39, 38, 41):
        bus.publish(("snmp", "ups-1", "read", oid), read(value))
        await bus.drain()
        if value == 41 and not book.open_alarms():
            pytest.fail("41 > 40 must raise")
    (alarm,) = book.open_alarms()
    # 41 raised, 45 still active (no event), 39 within the deadband (no clear),
    # 38 cleared, 41 re-occurred
    states = [(p["state"], p["count"], p["value"]) for p in alarms.payloads()]
    assert states == [("active", 1, 41.0), ("cleared", 1, 41.0), ("active", 2, 41.0)]
    assert alarm.message == f"{oid} = 41, above 40"
    # other OIDs, ERROR values and non-numbers are ignored
    bus.publish(("snmp", "ups-1", "read", "1.3.6.1.2.1.1.3.0"), read(99))
    bus.publish(("snmp", "ups-1", "read", f"{UPS_TEMP}9.0"), read(99))
    bus.publish(("snmp", "ups-1", "read", oid), read("NO_SUCH_OBJECT", "ERROR"))
    await bus.drain()
    assert len(book.open_alarms()) == 1
    await book.aclose()


async def test_threshold_below_and_above_on_astarte_values(bus: EventManager) -> None:
    rule = AlarmRule(
        name="tank", interface="org.example.Tank", path="/+/level", below=10, above=90, deadband=5
    )
    book = await book_of(bus, AlarmsConfig(rules=(rule,)))

    def level(value: Any, path: str = "/t1/level", kind: str = "datastream") -> None:
        bus.publish(
            ("mqtt", "tank-7", kind, "org.example.Tank", path),
            {"interface": "org.example.Tank", "path": path, "value": value, "valid": True},
        )

    level(50)
    level(5)
    level(99, path="/t1/temperature")
    await bus.drain()
    (alarm,) = book.open_alarms()
    assert (alarm.key, alarm.message, alarm.value) == (
        "tank|tank-7|org.example.Tank/t1/level",
        "org.example.Tank/t1/level = 5, below 10",
        5.0,
    )
    level(12)  # in range but inside the deadband
    await bus.drain()
    assert alarm.state == "active"
    level(95, kind="property")  # straight past the other limit: still active
    await bus.drain()
    assert alarm.state == "active"
    level(50)
    level(True)
    level("high")
    await bus.drain()
    assert state_of(alarm) == "cleared"
    await book.aclose()


async def test_threshold_on_mqtt_payload_numbers(bus: EventManager) -> None:
    rule = AlarmRule(name="hot", topic="site/+/temp", above=30, device="@plant")
    book = await book_of(bus, AlarmsConfig(rules=(rule,)))
    for topic, payload in (
        ("site/a/temp", b" 31.5\n"),
        ("site/b/temp", b"not a number"),
        ("site/c/temp", b'{"v": 99}'),
        ("site/d/temp", b"1e400"),
    ):
        bus.publish(("mqtt", "@plant", "message", *topic.split("/")), message(topic, payload))
    await bus.drain()
    (alarm,) = book.open_alarms()
    assert (alarm.key, alarm.value) == ("hot|@plant|site/a/temp", 31.5)
    await book.aclose()


async def test_ids_continue_after_the_log_and_saves_every_change(bus: EventManager) -> None:
    class MemoryLog:
        def __init__(self) -> None:
            self.rows: dict[int, dict[str, Any]] = {}

        async def save(self, alarm: Alarm) -> None:
            self.rows[alarm.id] = alarm.to_payload()

        async def load_open(self) -> list[Alarm]:
            return [Alarm.from_payload(p) for p in self.rows.values() if not p["closed"]]

        async def next_id(self) -> int:
            return max(self.rows, default=0) + 1

    log = MemoryLog()
    book = await book_of(bus, log=log)
    bus.publish(("snmp", "sw1", "status"), {"status": "DISCONNECTED", "reason": "timeout"})
    bus.publish(("snmp", "sw2", "status"), {"status": "DISCONNECTED", "reason": "timeout"})
    await bus.drain()
    first, second = sorted(book.open_alarms(), key=lambda a: a.id)
    book.ack(second.id)
    await book.aclose()
    assert log.rows[second.id]["acked"] is True

    alarms = Alarms(bus)
    again = await book_of(bus, log=log)
    restored = sorted(again.open_alarms(), key=lambda a: a.id)
    assert [a.id for a in restored] == [first.id, second.id]
    assert all(a.history for a in restored)
    await bus.drain()
    assert [p["id"] for p in alarms.payloads()] == [first.id, second.id]
    # the device is still down: no new alarm; a new device gets the next id
    bus.publish(("snmp", "sw1", "status"), {"status": "DISCONNECTED", "reason": "timeout"})
    bus.publish(("snmp", "sw3", "status"), {"status": "DISCONNECTED", "reason": "timeout"})
    await bus.drain()
    newest = again.open_alarms()[0]
    assert (newest.device, newest.id) == ("sw3", second.id + 1)
    bus.publish(("snmp", "sw1", "status"), {"status": "CONNECTED", "reason": None})
    await bus.drain()
    assert again.get(first.id) is not None
    assert again.get(first.id).state == "cleared"  # type: ignore[union-attr]
    assert again.get(first.id).history is False  # type: ignore[union-attr]
    await again.aclose()


# -- real sources --------------------------------------------------------------------------

COMMUNITY = "alarm-Community-3c9d"
COLD_START = "1.3.6.1.6.3.1.1.5.1"
SYS_UPTIME = "1.3.6.1.2.1.1.3.0"
SYS_DESCR = "1.3.6.1.2.1.1.1.0"


async def run_tool(name: str, *args: str, env: dict[str, str]) -> None:
    """Run a Net-SNMP tool without blocking the loop; fail on a non-zero exit."""
    process = await asyncio.create_subprocess_exec(
        require_program(name),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env=env,
    )
    async with asyncio.timeout(60):
        output, _ = await process.communicate()
    assert process.returncode == 0, output.decode(errors="replace")


@pytest.fixture
def netsnmp_env(tmp_path: Path) -> dict[str, str]:
    """Net-SNMP tools with no MIBs, no user configuration and state in tmp_path."""
    state = tmp_path / "net-snmp"
    state.mkdir()
    return {
        **os.environ,
        "MIBS": "",
        "HOME": str(tmp_path),
        "SNMPCONFPATH": str(state),
        "SNMP_PERSISTENT_DIR": str(state),
    }


async def test_snmptrap_raises_alarms_and_link_up_clears(
    bus: EventManager, netsnmp_env: dict[str, str]
) -> None:
    """snmptrap (Net-SNMP) -> TrapReceiver -> AlarmBook: linkDown on ifIndex 3 and 4
    raise one alarm each (rule with MIB names, resolved with the MIBs), linkUp on
    3 clears only 3's, a coldStart raises the generic trap alarm."""
    mib = MibResolver()
    await asyncio.to_thread(mib.load)
    rule = AlarmRule(
        name="link",
        trap="IF-MIB::linkDown",
        clear_trap="IF-MIB::linkUp",
        index="IF-MIB::ifIndex",
        severity="error",
    )
    book = await book_of(bus, AlarmsConfig(traps="warning", rules=(rule,)), mib=mib)
    alarms = Alarms(bus)
    receiver = TrapReceiver(
        TrapsConfig(listen_port=0, communities=(Secret(COMMUNITY),)), bus, mib=mib
    )
    await receiver.start()
    host, port = receiver.address
    target = f"{host}:{port}"

    async def v2c(trap_oid: str, *varbinds: str) -> None:
        await run_tool(
            "snmptrap", "-v", "2c", "-c", COMMUNITY, target, "", trap_oid, *varbinds,
            env=netsnmp_env,
        )  # fmt: skip

    try:
        for index in ("3", "4"):
            await v2c(LINK_DOWN, f"{IF_INDEX}.{index}", "i", index)
        await alarms.wait_for(lambda: len(book.open_alarms()) == 2)
        four, three = book.open_alarms()
        assert (three.key, four.key) == ("link|@127.0.0.1|3", "link|@127.0.0.1|4")
        assert three.severity is Severity.ERROR
        assert three.source == f"snmp/@127.0.0.1/trap/{LINK_DOWN}"

        await v2c(LINK_UP, f"{IF_INDEX}.3", "i", "3")
        await alarms.wait_for(lambda: three.state == "cleared")
        assert four.state == "active"

        await v2c(COLD_START)
        await alarms.wait_for(lambda: len(book.open_alarms()) == 3)
        generic = book.open_alarms()[0]
        assert (generic.rule, generic.severity) == (RULE_TRAP, Severity.WARNING)
        assert generic.message == "trap SNMPv2-MIB::coldStart from " + str(
            generic_sender(alarms, generic.id)
        )
        assert book.unacked == 3
        assert book.ack_all(a.id for a in book.open_alarms()) == 3
        # cleared + acked, and the event alarm, are closed; linkDown 4 stays, acked
        assert book.open_alarms() == [four]
        assert (four.state, four.acked, book.unacked) == ("active", True, 0)
    finally:
        await receiver.aclose()
        await book.aclose()


def generic_sender(alarms: Alarms, alarm_id: int) -> str:
    """The sender named in the message of alarm ``alarm_id`` (its first event)."""
    payload = next(p for p in alarms.payloads() if p["id"] == alarm_id)
    return str(payload["message"]).rsplit(" from ", 1)[1]


@pytest.mark.peer("snmpd")
async def test_agent_down_raises_up_clears_and_alarms_survive_a_restart(
    bus: EventManager, tmp_path: Path
) -> None:
    """A polled snmpd stopped -> DISCONNECTED alarm; started again -> cleared but
    listed until acknowledged. A threshold rule on the polled sysUpTime raises. The
    alarms are saved in a real store; a new book over it gets them back as history,
    and its next id follows the old ones."""
    store = await PropertyStore.open(tmp_path / "fleet.db")
    log = AlarmLog(store)
    uptime_rule = AlarmRule(name="uptime", oid="1.3.6.1.2.1.1.3", above=0, severity="info")
    config = AlarmsConfig(rules=(uptime_rule,))
    book = await book_of(bus, config, log=log)
    alarms = Alarms(bus)
    conf = SnmpDeviceConfig(
        remote_host="127.0.0.1",
        version="V2C",
        community=Secret("public"),
        polling_oids=(SYS_DESCR, SYS_UPTIME),
        connect_delay=0.3,
        request_timeout=0.5,
        request_retry_count=1,
        request_retry_delay=0.1,
        polling_delay=0.2,
    )
    try:
        with Snmpd(tmp_path / "snmpd") as snmpd:
            conf = dataclasses.replace(conf, remote_port=snmpd.port)
            async with SnmpDevice("edge", conf, bus):
                await alarms.wait_for(lambda: any(a.rule == "uptime" for a in book.open_alarms()))
                snmpd.stop()
                await alarms.wait_for(
                    lambda: any(a.rule == RULE_DISCONNECTED for a in book.open_alarms()), within=30
                )
                (down,) = [a for a in book.open_alarms() if a.rule == RULE_DISCONNECTED]
                assert (down.device, down.severity, down.state) == (
                    "edge",
                    Severity.ERROR,
                    "active",
                )
                assert down.message.startswith("edge DISCONNECTED: no response")
                snmpd.start()
                await alarms.wait_for(lambda: down.state == "cleared", within=30)
                assert book.get(down.id) is down  # cleared, kept until acknowledged
        uptime = next(a for a in book.open_alarms() if a.rule == "uptime")
        assert isinstance(uptime.value, float)
        assert uptime.value > 0
        await book.aclose()

        # a restart: a new book over the same store
        again = await book_of(bus, config, log=AlarmLog(store))
        restored = {a.id: a for a in again.open_alarms()}
        assert set(restored) == {down.id, uptime.id}
        assert all(a.history for a in restored.values())
        assert restored[down.id].state == "cleared"
        again.ack(down.id)
        await again.aclose()
        assert [a.id for a in await AlarmLog(store).load_open()] == [uptime.id]
        assert await AlarmLog(store).next_id() == max(down.id, uptime.id) + 1
    finally:
        await store.aclose()


@pytest.mark.peer("mosquitto")
async def test_mosquitto_numbers_raise_and_clear_and_broker_loss_alarms(
    bus: EventManager, tmp_path: Path
) -> None:
    """mosquitto_pub of a number above a threshold raises, back in range (past the
    deadband) clears; the broker killed -> @plant DISCONNECTED, back -> cleared."""
    rules = (
        AlarmRule(name="hot", topic="site/+/temp", above=30, deadband=1, severity="critical"),
        AlarmRule(name="errors", topic="site/+/error"),
    )
    book = await book_of(bus, AlarmsConfig(rules=rules))
    alarms = Alarms(bus)
    with Mosquitto(tmp_path / "broker") as broker:
        config = parse_config(
            "brokers:\n"
            "  - name: plant\n"
            "    host: 127.0.0.1\n"
            f"    port: {broker.port}\n"
            "    reconnect: {min: 0.2, max: 1, jitter: 0.1}\n"
            "    subscriptions: [{topic: 'site/#'}]\n",
            environ={},
        )
        fleet = MqttFleet(config, bus)
        await fleet.start()
        try:
            await eventually(lambda: bool(bus.snapshot(("mqtt", "@plant", "subscribed"))))
            await mosquitto_pub(broker, "-t", "site/s1/temp", "-m", "35.5")
            await alarms.wait_for(lambda: len(book.open_alarms()) == 1)
            (hot,) = book.open_alarms()
            assert (hot.key, hot.value, hot.severity) == (
                "hot|@plant|site/s1/temp",
                35.5,
                Severity.CRITICAL,
            )
            await mosquitto_pub(broker, "-t", "site/s1/temp", "-m", "29.5")  # in the deadband
            await mosquitto_pub(broker, "-t", "site/s1/error", "-m", "E42")
            await alarms.wait_for(lambda: len(book.open_alarms()) == 2)
            assert hot.state == "active"
            await mosquitto_pub(broker, "-t", "site/s1/temp", "-m", "28")
            await alarms.wait_for(lambda: hot.state == "cleared")
            assert book.ack(hot.id) is hot
            assert hot.closed

            broker.kill()
            await alarms.wait_for(
                lambda: any(a.rule == RULE_DISCONNECTED for a in book.open_alarms()), within=30
            )
            lost = next(a for a in book.open_alarms() if a.rule == RULE_DISCONNECTED)
            assert (lost.device, lost.state, lost.severity) == ("@plant", "active", Severity.ERROR)
            assert book.worst_by_device() == {"@plant": Severity.ERROR}
            broker.start()
            await alarms.wait_for(lambda: lost.state == "cleared", within=30)
        finally:
            await fleet.aclose()
    # fleettop closing its connection is not an alarm
    assert [a.rule for a in book.open_alarms()] == [RULE_DISCONNECTED, "errors"]
    await book.aclose()


async def test_open_alarms_stay_bounded_and_overflow_folds_into_one_per_rule(
    bus: EventManager,
) -> None:
    rule = AlarmRule(name="door", severity="critical", topic="site/+/door")
    book = await book_of(bus, AlarmsConfig(rules=(rule,)), max_open=5)
    for n in range(12):
        bus.publish(
            ("mqtt", "@plant", "message", "site", f"s{n}", "door"),
            message(f"site/s{n}/door", b"open"),
        )
    await bus.drain()
    alarms = book.open_alarms()
    assert len(alarms) == 6  # five alarms, then the rule's one overflow alarm
    overflow = alarms[0]
    assert overflow.count == 7
    assert "more than 5 open alarms" in overflow.message
    assert overflow.severity is Severity.CRITICAL
    # acknowledging makes room: the next new topic gets its own alarm again
    book.ack_all([a.id for a in alarms])
    bus.publish(
        ("mqtt", "@plant", "message", "site", "s99", "door"), message("site/s99/door", b"open")
    )
    await bus.drain()
    (fresh,) = book.open_alarms()
    assert fresh.key.endswith("site/s99/door")
    assert fresh.count == 1


async def test_acknowledgements_are_recorded_in_the_audit_log(
    bus: EventManager, tmp_path: Path
) -> None:
    from console.store.audit import AuditRecorder

    store = await PropertyStore.open(tmp_path / "fleet.db")
    audit = AuditRecorder(bus, store)
    book = await book_of(bus, log=AlarmLog(store), audit=audit, clock=lambda: 1_700_000_000.5)
    bus.publish(("snmp", "sw1", "status"), {"status": "DISCONNECTED", "reason": "timeout"})
    bus.publish(("snmp", "sw1", "trap", "1.3.6.1.6.3.1.1.5.1"), trap_payload("1.3.6.1.6.3.1.1.5.1"))
    await bus.drain()
    down, trap = sorted(book.open_alarms(), key=lambda a: a.rule)
    assert (down.rule, trap.rule) == (RULE_DISCONNECTED, RULE_TRAP)
    book.ack(down.id)
    book.ack_all([trap.id, down.id])  # down is acknowledged already: not audited twice
    await book.aclose()
    await audit.aclose()
    entries = await audit.log.query_audit(action="alarm.ack")
    by_target = {entry.target: entry for entry in entries}
    assert set(by_target) == {f"{RULE_DISCONNECTED} #{down.id}", f"{RULE_TRAP} #{trap.id}"}
    assert by_target[f"{RULE_DISCONNECTED} #{down.id}"].old == {"state": "active", "acked": False}
    assert by_target[f"{RULE_DISCONNECTED} #{down.id}"].new == {"state": "active", "acked": True}
    # a trap alarm closes when acknowledged: it leaves as cleared
    assert by_target[f"{RULE_TRAP} #{trap.id}"].new == {"state": "cleared", "acked": True}
    assert {entry.time_ms for entry in entries} == {1_700_000_000_500}
    assert {entry.device for entry in entries} == {"sw1"}
    await store.aclose()
