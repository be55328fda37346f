"""The snmpsim peer itself: a real-device recording answers as recorded, and Net-SNMP's
``snmpget`` reads it (the reference the recording tests compare with)."""

from __future__ import annotations

import subprocess

import pytest

from tests.conftest import require_program
from tests.snmpsim_peers import Snmpsim, recording_lines

pytestmark = pytest.mark.peer("snmpsim")

UPS = "UPS/apc-8932"


def test_a_recording_answers_its_recorded_sysdescr() -> None:
    recorded = next(line for line in recording_lines(UPS) if line.startswith("1.3.6.1.2.1.1.1.0|"))
    _oid, tag, value = recorded.split("|", 2)
    if tag.endswith("x"):  # .snmprec: a tag suffixed "x" has its value in hex
        value = bytes.fromhex(value).decode()
    snmpget = require_program("snmpget")
    with Snmpsim({"apc": UPS}) as agent:
        out = subprocess.run(
            [
                snmpget,
                "-v2c",
                "-c",
                "apc",
                "-On",
                "-Oqv",
                f"{agent.host}:{agent.port}",
                "1.3.6.1.2.1.1.1.0",
            ],
            capture_output=True,
            text=True,
            timeout=20,
            check=True,
            env={"MIBS": "", "PATH": "/usr/bin:/bin"},
        ).stdout.strip()
    assert out.strip('"') == value
