"""``fleettop walk CONFIG DEVICE [ROOT]``, run as a real subprocess the way an operator
(or a script) runs it: against Debian's snmpd (Net-SNMP's ``snmpbulkwalk`` as the
reference), a port where nothing answers, and a scripted agent that answers every
walk ``tooBig``. Exit codes: 0, 1 (walk failed), 2 (bad input), 130 (Ctrl-C), 141
(the reader went away)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from console.format import format_value
from console.oid import parse_oid
from console.snmp.mibs import BASE_DIR
from tests.conftest import free_udp_port
from tests.netsnmp_walk import comparable, snmpbulkwalk
from tests.snmp_peers import Snmpd, WalkAgent

FLEETTOP = [sys.executable, "-m", "console.cli", "walk"]
SYSTEM = "1.3.6.1.2.1.1"
SECRET = "Walk-Secret-Community-7731"
CONF = f"""\
rocommunity public 127.0.0.1
rocommunity {SECRET} 127.0.0.1
sysContact ops@example.com
sysLocation fleettop test rack
dontLogTCPWrappersConnects yes
"""


@pytest.fixture(scope="module")
def snmpd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Snmpd]:
    with Snmpd(tmp_path_factory.mktemp("snmpd"), CONF) as agent:
        yield agent


def write_config(path: Path, port: int, *, community: str = SECRET, **extra: Any) -> Path:
    """A configuration with the SNMP device ``agent`` on ``port``, a ``broker``
    without SNMP, and ``dead`` on a port where nothing answers."""
    lines = [
        "devices:",
        "  - name: agent",
        "    snmp:",
        "      remote_host: 127.0.0.1",
        f"      remote_port: {port}",
        f"      version: {extra.get('version', 'V2C')}",
        f"      community: {community}",
        "      polling_oids: []",
        f"      request_timeout: {extra.get('timeout', 2)}",
        "      request_retry_count: 0",
        "  - name: mqtt-only",
        '    mqtt: {broker: plant, topic: "plant/#"}',
        "brokers:",
        "  - name: plant",
        "    host: 127.0.0.1",
        "    port: 1883",
    ]
    if "mib_paths" in extra:
        lines.append(f"mib_paths: [{extra['mib_paths']}]")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run_walk(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*FLEETTOP, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=dict(os.environ, PYTHONWARNINGS="ignore"),
        check=False,
    )


def test_text_lines_name_each_var_bind_like_snmpbulkwalk(snmpd: Snmpd, tmp_path: Path) -> None:
    config = write_config(tmp_path / "fleet.yaml", snmpd.port)
    done = run_walk(str(config), "agent", "system")  # a MIB name as the root
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    reference = snmpbulkwalk(snmpd.host, snmpd.port, "public", SYSTEM)
    lines = done.stdout.splitlines()
    assert [line.split(" ", 1)[0] for line in lines] == [v.oid for v in reference]
    assert "1.3.6.1.2.1.1.5.0 SNMPv2-MIB::sysName.0 = STRING: " in done.stdout
    assert "1.3.6.1.2.1.1.4.0 SNMPv2-MIB::sysContact.0 = STRING: ops@example.com" in lines
    uptime = r"^1\.3\.6\.1\.2\.1\.1\.3\.0 SNMPv2-MIB::sysUpTime\.0 = TIME_TICKS: "
    assert re.search(uptime + r"\d+d \d\d:\d\d:\d\d\.\d\d$", done.stdout, re.MULTILINE)
    assert SECRET not in done.stdout + done.stderr
    bare = run_walk(str(config), "agent", SYSTEM, "--no-names")
    assert bare.returncode == 0, bare.stderr
    assert "1.3.6.1.2.1.1.4.0 = STRING: ops@example.com" in bare.stdout.splitlines()
    assert "SNMPv2-MIB" not in bare.stdout


def test_json_lines_carry_the_bus_data_and_the_display(snmpd: Snmpd, tmp_path: Path) -> None:
    config = write_config(tmp_path / "fleet.yaml", snmpd.port, mib_paths=BASE_DIR)
    done = run_walk(str(config), "agent", "1.3.6.1.2.1.2", "--json", "-r", "7")
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert rows
    assert all(list(row) == ["oid", "name", "type", "value", "display"] for row in rows)
    reference = snmpbulkwalk(snmpd.host, snmpd.port, "public", "1.3.6.1.2.1.2")
    # interface counters move between two walks: compare OIDs and types
    assert [(v.oid, v.type) for v in (comparable(r["oid"], r) for r in rows)] == [
        (v.oid, v.type) for v in reference
    ]
    by_name = {row["name"]: row for row in rows}
    # the display as IF-MIB defines the value (docs/mibs.md): labels, MAC addresses
    assert by_name["IF-MIB::ifOperStatus.1"]["display"] == "up(1)"
    assert by_name["IF-MIB::ifType.1"]["display"] == "softwareLoopback(24)"
    macs = [row for row in rows if str(row["name"]).startswith("IF-MIB::ifPhysAddress.")]
    for row in macs:
        octets = bytes.fromhex(row["value"]) if row["type"] == "STRING_HEX" else b""
        assert row["display"] == ":".join(f"{octet:02x}" for octet in octets)
    # the values IF-MIB gives no form keep the plain one
    for row in rows:
        if row["name"].split("::")[-1].startswith(("ifInOctets", "ifMtu", "ifDescr")):
            assert row["display"] == format_value(row["type"], row["value"])
    assert by_name["IF-MIB::ifDescr.1"]["type"] == "STRING"
    assert by_name["IF-MIB::ifDescr.1"]["value"] == "lo"
    assert by_name["IF-MIB::ifNumber.0"]["type"] == "INTEGER"
    mac = next(
        row for row in rows if row["name"] and row["name"].startswith("IF-MIB::ifPhysAddress.")
    )
    assert mac["type"] in ("STRING", "STRING_HEX")


def test_a_whole_agent_walk_into_head_ends_quietly_with_141(snmpd: Snmpd, tmp_path: Path) -> None:
    """``fleettop walk CONFIG agent . | head -n 3``: no traceback, 141 as after SIGPIPE."""
    config = write_config(tmp_path / "fleet.yaml", snmpd.port)
    process = subprocess.Popen(
        [*FLEETTOP, str(config), "agent", ".", "--no-names", "-r", "5"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONWARNINGS="ignore"),
    )
    assert process.stdout is not None
    assert process.stderr is not None
    try:
        first = [process.stdout.readline() for _ in range(3)]
        process.stdout.close()  # the reader goes away mid-walk
        returncode = process.wait(timeout=60)
    finally:
        process.kill()
    stderr = process.stderr.read()
    assert first[0].startswith("1.3.6.1.2.1.1.1.0 = STRING: ")
    assert returncode == 141, stderr
    assert "Traceback" not in stderr
    assert "Exception" not in stderr


def test_ctrl_c_ends_the_walk_with_130(tmp_path: Path) -> None:
    """Interrupted while waiting for an agent that never answers: 130, one line."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        silent.settimeout(60)
        config = write_config(tmp_path / "fleet.yaml", silent.getsockname()[1], timeout=30)
        process = subprocess.Popen(
            [*FLEETTOP, str(config), "agent", "."],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=dict(os.environ, PYTHONWARNINGS="ignore"),
        )
        try:
            silent.recvfrom(65535)  # the first request: the command is connecting
            process.send_signal(signal.SIGINT)
            out, err = process.communicate(timeout=30)
        finally:
            process.kill()
    assert process.returncode == 130, err
    assert out == ""
    assert err == "fleettop walk: interrupted\n"


def test_an_agent_that_never_answers_exits_1_without_the_community(tmp_path: Path) -> None:
    config = write_config(tmp_path / "fleet.yaml", free_udp_port(), timeout=0.3)
    done = run_walk(str(config), "agent", ".")
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr == "fleettop walk: device 'agent': no response after 1 try (timeout 0.3 s)\n"
    assert SECRET not in done.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nope"], "fleettop walk: no device 'nope' in {config} (SNMP devices: agent)\n"),
        (["mqtt-only"], "fleettop walk: device 'mqtt-only' in {config} has no snmp: section\n"),
        (
            ["agent", "3"],
            "fleettop walk: bad ROOT: '3' is not a numeric OID: the first arc must be 0, 1 or 2,"
            " not 3\n",
        ),
        (
            ["agent", "1.3..6"],
            "fleettop walk: bad ROOT: '1.3..6' is not a numeric OID: arc 3 is"
            " empty (two dots in a row, or a trailing dot)\n",
        ),
        (
            ["agent", "sysNme"],
            "fleettop walk: bad ROOT: unknown MIB object 'sysNme'; did you mean 'sysName'?\n",
        ),
    ],
)
def test_bad_input_exits_2_with_the_reason(tmp_path: Path, args: list[str], message: str) -> None:
    config = write_config(tmp_path / "fleet.yaml", free_udp_port(), timeout=0.3)
    done = run_walk(str(config), *args)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == message.format(config=config)


def test_bad_options_and_configs_exit_2(tmp_path: Path) -> None:
    config = write_config(tmp_path / "fleet.yaml", free_udp_port())
    repetitions = run_walk(str(config), "agent", "-r", "0")
    assert repetitions.returncode == 2
    assert "max-repetitions must be an integer in 1..1000, not '0'" in repetitions.stderr
    broken = tmp_path / "broken.yaml"
    broken.write_text(config.read_text().replace("polling_oids: []", "polling_oids: [x]"))
    invalid = run_walk(str(broken), "agent")
    assert invalid.returncode == 2
    problem, summary = invalid.stderr.splitlines()
    assert problem.startswith(f"{broken}:8: devices[0].snmp.polling_oids[0]: ")
    assert summary == f"fleettop walk: {broken}: invalid configuration"
    missing = run_walk(str(tmp_path / "absent.yaml"), "agent")
    assert missing.returncode == 2
    assert "Traceback" not in missing.stderr


async def test_an_agent_too_big_for_one_var_bind_exits_1_with_the_reason(tmp_path: Path) -> None:
    from pysnmp.proto import rfc1902

    values = {f"1.3.6.1.4.1.99999.{index}.0": rfc1902.Integer32(index) for index in range(1, 9)}
    async with WalkAgent(values, community=SECRET, max_answer=0) as agent:
        config = write_config(tmp_path / "fleet.yaml", agent.port)
        process = await asyncio.create_subprocess_exec(
            *FLEETTOP,
            str(config),
            "agent",
            ".",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=dict(os.environ, PYTHONWARNINGS="ignore"),
        )
        async with asyncio.timeout(120):
            out, err = await process.communicate()
    assert process.returncode == 1
    assert out == b""
    assert err.decode() == (
        "fleettop walk: SNMP device 'agent': walk of .: GETBULK after 0.0 answered TOO_BIG"
        " even for max-repetitions 1\n"
    )
    # 25, 12, 6, 3, 1: fewer each time, then the end, never a loop
    assert [count for _kind, _oid, count in agent.walk_requests()] == [25, 12, 6, 3, 1]
    assert parse_oid(agent.walk_requests()[0][1]) == (0, 0)
