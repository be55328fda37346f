"""Every category reaches the notification stream from a real source, through the
whole runtime (``Runtime`` with a real store file): Net-SNMP's ``snmptrap`` to the
trap receiver, ``mosquitto_pub`` to a Debian ``mosquitto``, a Debian ``snmpd`` that
is read, written, stopped and restarted, fleettop's own log; then a second runtime
on the same store finds the stream and the open alarms again (replay)."""

from __future__ import annotations

import asyncio
import logging
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from console.config import parse_config
from console.notifications.model import Category, Notification, Severity
from console.runtime import Runtime
from tests.conftest import free_udp_port, require_program
from tests.mqtt_peers import Mosquitto, mosquitto_pub
from tests.snmp_peers import Snmpd
from tests.waiting import eventually

SYS_CONTACT = "1.3.6.1.2.1.1.4.0"
SYS_NAME = "1.3.6.1.2.1.1.5.0"
LINK_DOWN = "1.3.6.1.6.3.1.1.5.3"
IF_INDEX = "1.3.6.1.2.1.2.2.1.1"
#: Without sysContact/sysLocation lines, which would make them read-only.
WRITABLE_CONF = """\
rocommunity public 127.0.0.1
rwcommunity private 127.0.0.1
dontLogTCPWrappersConnects yes
"""


def fleet_config(agent: Snmpd, broker: Mosquitto, trap_port: int, store: Path) -> str:
    return textwrap.dedent(
        f"""\
        devices:
          - name: sw1
            snmp:
              remote_host: 127.0.0.1
              remote_port: {agent.port}
              version: V2C
              community: public
              write_community: private
              polling_delay: 0.3
              connect_delay: 0.3
              request_timeout: 0.3
              request_retry_count: 0
              polling_oids: [{SYS_CONTACT}]
        traps:
          listen: "127.0.0.1:{trap_port}"
          communities: [public]
        brokers:
          - name: plant
            host: 127.0.0.1
            port: {broker.port}
            subscriptions: [{{topic: "site/#", qos: 0}}]
        store:
          path: {store}
        alarms:
          rules:
            - name: hot
              severity: critical
              topic: site/+/temp
              above: 30
        """
    )


def of(runtime: Runtime, category: Category) -> list[Notification]:
    center = runtime.notifications
    assert center is not None
    return [n for n in center.entries if n.category is category]


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    with Mosquitto(tmp_path / "mosquitto") as running:
        yield running


async def snmptrap(port: int, *args: str) -> None:
    tool = require_program("snmptrap")
    proc = await asyncio.create_subprocess_exec(
        tool, "-v", "2c", "-c", "public", f"127.0.0.1:{port}", "", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        env={"MIBS": ""},
    )  # fmt: skip
    output, _ = await proc.communicate()
    assert proc.returncode == 0, output.decode()


async def test_every_category_reaches_the_stream_and_comes_back_after_a_restart(
    tmp_path: Path, broker: Mosquitto
) -> None:
    store = tmp_path / "fleet.db"
    trap_port = free_udp_port()
    with Snmpd(tmp_path / "snmpd", conf=WRITABLE_CONF) as agent:
        config = parse_config(fleet_config(agent, broker, trap_port, store), environ={})
        runtime = Runtime(config)
        await runtime.start()
        try:
            sw1 = runtime.snmp_devices["sw1"]
            await eventually(lambda: of(runtime, Category.STATUS) and sw1.status == "CONNECTED")

            await snmptrap(trap_port, LINK_DOWN, f"{IF_INDEX}.3", "i", "3")
            await mosquitto_pub(broker, "-t", "site/s7/temp", "-m", "35.5")
            await sw1.read(SYS_NAME)
            await sw1.write(SYS_CONTACT, {"type": "STRING", "value": "noc@example.com"})
            logging.getLogger("console.test").error("the disk is %s", "on fire")
            await eventually(lambda: of(runtime, Category.AUDIT) and of(runtime, Category.PROPERTY))

            (trap,) = of(runtime, Category.TRAP)
            # sw1 is 127.0.0.1: the trap is attributed to it
            assert (trap.device, trap.severity) == ("sw1", Severity.WARNING)
            assert "linkDown" in trap.summary or LINK_DOWN in trap.summary
            message = next(n for n in of(runtime, Category.MESSAGE) if n.topic == "site/s7/temp")
            assert "35.5" in message.summary
            assert any(n.event_type[3] == SYS_NAME for n in of(runtime, Category.READ))
            (write,) = of(runtime, Category.WRITE)
            assert (write.device, write.severity) == ("sw1", Severity.INFO)
            assert "noc@example.com" in write.summary
            assert any("noc@example.com" in n.summary for n in of(runtime, Category.PROPERTY))
            assert any(n.summary == "the disk is on fire" for n in of(runtime, Category.LOG))
            raised = {n.payload["rule"] for n in of(runtime, Category.ALARM)}  # type: ignore[index,call-overload]
            assert {"@trap", "hot"} <= raised

            agent.stop()
            await eventually(lambda: sw1.status == "DISCONNECTED", within=10)
            alarms = runtime.alarms
            assert alarms is not None
            await eventually(lambda: any(a.rule == "@disconnected" for a in alarms.open_alarms()))
            down = next(a for a in alarms.open_alarms() if a.rule == "@disconnected")
            assert (down.device, down.state) == ("sw1", "active")
            await eventually(
                lambda: any(
                    n.summary.startswith("DISCONNECTED") and n.severity is Severity.ERROR
                    for n in of(runtime, Category.STATUS)
                    if n.device == "sw1"
                )
            )
            trap_alarm = next(a for a in alarms.open_alarms() if a.rule == "@trap")
            alarms.ack(trap_alarm.id)
            live_ids = [n.id for n in runtime.notifications.entries]  # type: ignore[union-attr]
        finally:
            await runtime.aclose()

        # a second run on the same store, the agent back: the stream and the open
        # alarms are back, and the DISCONNECTED alarm clears
        agent.start()
        again = Runtime(config)
        await again.start()
        try:
            center = again.notifications
            assert center is not None
            history = [n for n in center.entries if n.history]
            assert len(history) >= len(live_ids) - 5  # the last events may race the close
            assert {Category.TRAP, Category.MESSAGE, Category.WRITE} <= {
                n.category for n in history
            }
            assert all(n.id < 0 for n in history)
            book = again.alarms
            assert book is not None
            reopened = {a.rule: a for a in book.open_alarms()}
            assert "@trap" not in reopened  # acknowledged one-off alarm: closed
            assert reopened["hot"].history
            assert reopened["hot"].state == "active"
            assert reopened["@disconnected"].device == "sw1"
            await eventually(lambda: again.snmp_devices["sw1"].status == "CONNECTED")
            await eventually(lambda: reopened["@disconnected"].state == "cleared" or any(
                a.rule == "@disconnected" and a.state == "cleared" for a in book.open_alarms()
            ))  # fmt: skip
        finally:
            await again.aclose()


async def test_publish_results_and_their_audit_read_in_operator_words(
    tmp_path: Path, broker: Mosquitto
) -> None:
    # issue 11 §7: "publish demo/test/cmd = None: ok" and "None -> {'topic': …}"
    plant = f"{{name: plant, host: 127.0.0.1, port: {broker.port}}}"
    text = f"brokers: [{plant}]\nstore: {{path: '{tmp_path / 'fleet.db'}'}}\n"
    runtime = Runtime(parse_config(text, environ={}))
    await runtime.start()
    try:
        fleet = runtime.mqtt
        assert fleet is not None
        await eventually(lambda: fleet.connections["plant"].status == "CONNECTED")
        result = await fleet.publish("plant", "demo/test/cmd", b'{"on": true}', 1, True)
        assert result.success
        await eventually(lambda: of(runtime, Category.WRITE) and of(runtime, Category.AUDIT))
        (write,) = of(runtime, Category.WRITE)
        assert write.summary == "publish demo/test/cmd (QoS 1, retained): ok"
        (audit,) = of(runtime, Category.AUDIT)
        assert audit.summary == "mqtt.publish demo/test/cmd: — → QoS 1, retained, 12 B (ok)"
    finally:
        await runtime.aclose()
