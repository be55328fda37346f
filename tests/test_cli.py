"""The ``fleettop`` command line, run as a real subprocess the way an operator runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from console.headless import parse_filter
from tests.conftest import free_udp_port

FLEETTOP = [sys.executable, "-m", "console.cli"]


def run_fleettop(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    return subprocess.run(
        [*FLEETTOP, *args], capture_output=True, text=True, timeout=timeout, env=env, check=False
    )


def events_of(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def snmp_of(events: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    """The ``("snmp", DEVICE, kind, ...)`` events among ``events``."""
    return [e for e in events if e["type"][0] == "snmp" and e["type"][2:3] == [kind]]


def test_parse_filter_splits_on_slashes_so_oids_stay_whole() -> None:
    assert parse_filter("snmp/?/read/1.3.6.1.2.1.1.3.0") == (
        "snmp",
        "?",
        "read",
        "1.3.6.1.2.1.1.3.0",
    )
    assert parse_filter("snmp/*") == ("snmp", "*")


@pytest.mark.parametrize("bad", ["", "snmp//read", "*/snmp", "snmp/*/read"])
def test_parse_filter_rejects_malformed_patterns(bad: str) -> None:
    with pytest.raises(ValueError, match="invalid filter"):
        parse_filter(bad)


def test_check_accepts_a_valid_file(tmp_path: Path) -> None:
    config = tmp_path / "fleet.yaml"
    config.write_text(
        textwrap.dedent(
            """\
            devices:
              - name: core-sw1
                snmp:
                  remote_host: 127.0.0.1
                  version: V2C
                  community: public
                  polling_oids: [1.3.6.1.2.1.1.3.0]
            """
        )
    )
    result = run_fleettop("check", str(config))
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout


def test_check_reports_every_problem_with_file_and_line_and_exits_2(tmp_path: Path) -> None:
    config = tmp_path / "fleet.yaml"
    config.write_text(
        textwrap.dedent(
            """\
            devices:
              - name: core-sw1
                snmp:
                  remote_host: 127.0.0.1
                  remote_port: 70000
                  version: V2C
                  community: public
                  polling_oids: [1.3.x]
            """
        )
    )
    result = run_fleettop("check", str(config))
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert any(f"{config}:5:" in line and "remote_port" in line for line in lines), lines
    assert any(f"{config}:8:" in line and "1.3.x" in line for line in lines), lines


def test_run_refuses_an_invalid_config_before_starting(tmp_path: Path) -> None:
    config = tmp_path / "fleet.yaml"
    config.write_text("devices:\n  - name: a\n    snmp: {remote_host: 127.0.0.1}\n")
    result = run_fleettop("run", str(config), "--headless", "--seconds", "1")
    assert result.returncode == 2
    assert f"{config}:" in result.stderr
    assert result.stdout == ""


def test_demo_headless_prints_changing_snmp_reads_as_json_lines() -> None:
    result = run_fleettop("demo", "--headless", "--seconds", "5")
    assert result.returncode == 0, result.stderr
    events = events_of(result.stdout)
    seqs = [e["seq"] for e in events]
    assert seqs == sorted(seqs)
    assert len(set(seqs)) == len(seqs)
    reads = snmp_of(events, "read")
    causes = {e["payload"]["cause"] for e in reads}
    assert "INTERROGATE" in causes
    assert "CHANGE" in causes
    statuses = [e["payload"]["status"] for e in snmp_of(events, "status")]
    assert "CONNECTED" in statuses
    some_read = reads[0]["payload"]
    assert set(some_read) == {"session_id", "cause", "data", "display"}
    assert set(some_read["data"]) == {"type", "value"}


def test_headless_filter_prints_only_matching_events() -> None:
    result = run_fleettop("demo", "--headless", "--seconds", "3", "--filter", "snmp/?/status")
    assert result.returncode == 0, result.stderr
    events = events_of(result.stdout)
    assert events, "the demo devices announce their status"
    assert all(e["type"][0] == "snmp" and e["type"][2] == "status" for e in events)
    assert all(len(e["type"]) == 3 for e in events)


def test_headless_run_never_prints_the_community(tmp_path: Path) -> None:
    """An unreachable agent with a distinctive community: the events and the log say
    what went wrong, and the secret appears nowhere."""
    secret = "s3cr3t-Community-42"
    port = free_udp_port()  # nothing listens there
    config = tmp_path / "fleet.yaml"
    config.write_text(
        textwrap.dedent(
            f"""\
            devices:
              - name: ghost
                snmp:
                  remote_host: 127.0.0.1
                  remote_port: {port}
                  version: V2C
                  community: "${{GHOST_COMMUNITY}}"
                  request_timeout: 0.2
                  request_retry_count: 0
                  connect_delay: 0.2
                  polling_oids: [1.3.6.1.2.1.1.3.0]
            """
        )
    )
    env_result = subprocess.run(
        [*FLEETTOP, "run", str(config), "--headless", "--seconds", "2", "--verbose"],
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(os.environ, GHOST_COMMUNITY=secret, PYTHONWARNINGS="ignore"),
        check=False,
    )
    assert env_result.returncode == 0, env_result.stderr
    statuses = [e["payload"]["status"] for e in snmp_of(events_of(env_result.stdout), "status")]
    assert "DISCONNECTED" in statuses
    assert secret not in env_result.stdout
    assert secret not in env_result.stderr


def test_headless_stops_quietly_when_the_reader_goes_away() -> None:
    """``fleettop demo --headless | head -1``: fleettop ends by itself, no traceback."""
    process = subprocess.Popen(
        [*FLEETTOP, "demo", "--headless"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONWARNINGS="ignore"),
    )
    assert process.stdout is not None
    first = process.stdout.readline()
    assert json.loads(first)["seq"] == 1
    process.stdout.close()  # the reader goes away; the next write hits a broken pipe
    try:
        returncode = process.wait(timeout=30)
    finally:
        process.kill()
    assert process.stderr is not None
    stderr = process.stderr.read()
    assert returncode == 0, stderr
    assert "Traceback" not in stderr


@pytest.mark.parametrize(("flags", "read_only"), [([], False), (["--read-only"], True)])
def test_read_only_flag_reaches_the_app(flags: list[str], read_only: bool) -> None:
    from console.cli import build_parser, make_app
    from console.runtime import Runtime

    args = build_parser().parse_args(["demo", *flags])
    app = make_app(Runtime(demo=True), args)
    assert app.read_only is read_only
    assert app.freeze_heap  # the product runs with the startup heap frozen


def fresh_python(code: str) -> str:
    """What ``code`` prints (stripped), run by a fresh interpreter from the repository."""
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(root)},
        cwd=root,
    )
    return done.stdout.strip()


def test_the_ui_draws_before_importing_the_backends() -> None:
    """``fleettop demo``'s first frame needs only Textual: the command line and the
    app import neither the configuration, the runtime nor pysnmp (they come after
    the first frame, in the app's start worker), nor the package metadata."""
    code = textwrap.dedent(
        """
        import sys
        from console.cli import build_parser, make_app
        args = build_parser().parse_args(["demo"])
        app = make_app(lambda: None, args)
        heavy = sorted(
            name for name in sys.modules
            if name.split(".")[0] == "pysnmp"
            or name in ("console.config", "console.runtime", "console.fleet", "screens.devices")
            or name == "importlib.metadata"  # the version, read only for --version
        )
        print(",".join(heavy))
        """
    )
    assert fresh_python(code) == ""


def test_version_is_printed_and_exits_0() -> None:
    """``--version`` reads the installed package's version (only when asked)."""
    from importlib.metadata import version

    done = run_fleettop("--version")
    assert (done.returncode, done.stdout) == (0, f"fleettop {version('fleettop')}\n")


def test_the_devices_screen_needs_none_of_the_other_screens() -> None:
    """What the app imports before it shows the Devices screen (``UI_MODULES``)
    leaves out the Properties, Notifications, Topics and help screens: they are
    imported once the runtime has started (``LATER_MODULES``), or when shown."""
    code = textwrap.dedent(
        """
        import importlib, sys
        from console.app import UI_MODULES
        for name in UI_MODULES:
            importlib.import_module(name)
        later = ("screens.properties", "screens.notifications", "screens.topics", "screens.help")
        print(",".join(sorted(name for name in later if name in sys.modules)))
        """
    )
    assert fresh_python(code) == ""
