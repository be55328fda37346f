"""Configuration loader and validator (console/config.py, console/schemas/config.yaml).

Good files load into concrete dataclass values; every file in tests/data/configs/bad/
declares the problems it must produce in ``# expect: LINE: FIELD: MESSAGE`` comment
lines (``-`` for no line or no field), compared in order against ``check_config``.
"""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
import typing
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any, get_args

import jsonschema
import msgspec
import pytest
import yaml

from console.config import (
    MQTT_PROTOCOLS,
    SNMP_VERSIONS,
    AstarteDeviceConfig,
    AuthProtocol,
    BrokerConfig,
    BrokerTls,
    Config,
    ConfigError,
    DeviceConfig,
    DeviceRule,
    MqttDeviceConfig,
    MqttSubscription,
    PrivProtocol,
    Problem,
    ReconnectConfig,
    SnmpAuthentication,
    SnmpContext,
    SnmpDeviceConfig,
    SnmpPrivacy,
    StoreConfig,
    TrapsConfig,
    TrapUser,
    UiConfig,
    check_config,
    config_schema,
    load_config,
    parse_config,
)
from console.config.formats import split_host_port
from console.config.schema import acceptor, accepts, resolve, validator
from console.secrets import Secret

DATA = Path(__file__).parent / "data" / "configs"
GOOD = DATA / "good"
BAD = DATA / "bad"
DOCS = Path(__file__).parent.parent / "docs" / "configuration.md"
ENV = {
    "SNMP_COMMUNITY": "env-community-7Qx",
    "SNMP_AUTH_PASSWORD": "env-auth-pass-4Kd",
    "SNMP_PRIV_PASSWORD": "env-priv-pass-9Wz",
    "SNMP_WRITE_COMMUNITY": "env-write-community-2Hq",
    "TRAP_COMMUNITY": "env-trap-community-8Lm",
    "MQTT_PASSWORD": "env-mqtt-password-5Rt",
}

DEVICE = """\
devices:
  - name: core-sw1
    snmp:
      remote_host: 127.0.0.1
      version: V2C
      community: {community}
      polling_oids: [1.3.6.1.2.1.1.3.0]
{extra}"""


def problems_of(text: str, environ: dict[str, str] | None = None) -> list[Problem]:
    """The problems ``parse_config`` raises for ``text`` (fails if it succeeds)."""
    with pytest.raises(ConfigError) as caught:
        parse_config(text, source="t.yaml", environ={} if environ is None else environ)
    return caught.value.problems


def default_of(field: dataclasses.Field[Any]) -> Any:
    """A dataclass field's ``default``, or a fresh ``default_factory()`` when it has
    none (fails when it has neither)."""
    if field.default is not dataclasses.MISSING:
        return field.default
    assert field.default_factory is not dataclasses.MISSING, f"{field.name}: no default"
    return field.default_factory()


# --------------------------------------------------------------------------- good files


def test_minimal_file_takes_every_default() -> None:
    config = load_config(GOOD / "minimal.yaml", environ={})

    assert config.source == GOOD / "minimal.yaml"
    assert config.ui == UiConfig(theme="fleettop", keymap={})
    (device,) = config.devices
    assert device.name == "edge-rtr"
    snmp = device.snmp
    assert snmp is not None
    assert snmp.remote_host == "edge-rtr.example.net"
    assert snmp.version == "V1"
    assert snmp.community is not None
    assert snmp.community.reveal() == "public"
    assert snmp.polling_oids == ("1.3.6.1.2.1.1.3.0",)
    assert snmp.remote_port == 161
    assert snmp.connect_delay == 5.0
    assert snmp.request_timeout == 2.0
    assert snmp.request_retry_count == 1
    assert snmp.request_retry_delay == 0.5
    assert snmp.polling_delay == 5.0
    assert snmp.string_hex_oids == frozenset()
    assert snmp.max_varbinds_per_request == 32


def test_issue_example_loads() -> None:
    config = load_config(GOOD / "issue_example.yaml", environ={})

    assert config.devices == (
        DeviceConfig(
            name="core-sw1",
            snmp=SnmpDeviceConfig(
                remote_host="127.0.0.1",
                remote_port=16100,
                version="V2C",
                community=Secret("public"),
                polling_delay=2.0,
                polling_oids=("1.3.6.1.2.1.1.3.0", "1.3.6.1.2.1.1.5.0"),
            ),
        ),
    )
    assert config.ui.theme == "fleettop"
    assert dict(config.ui.keymap) == {"app.quit": "ctrl+q"}


def test_full_file_sets_every_field() -> None:
    config = load_config(GOOD / "full.yaml", environ=ENV)

    first, second = config.devices
    assert first.name == "core-sw1"
    snmp = first.snmp
    assert snmp is not None
    assert snmp.remote_host == "::1"
    assert snmp.remote_port == 16100
    assert snmp.community is not None
    assert snmp.community.reveal() == "env-community-7Qx"
    assert (snmp.connect_delay, snmp.request_timeout, snmp.polling_delay) == (10.0, 1.5, 0.25)
    assert type(snmp.connect_delay) is float
    assert (snmp.request_retry_count, snmp.request_retry_delay) == (0, 0.0)
    assert snmp.polling_oids == (
        "1.3.6.1.2.1.1.5.0",
        "1.3.6.1.2.1.2.2.1.6.1",
        "1.3.6.1.2.1.1.3.0",
    )
    assert snmp.string_hex_oids == frozenset({"1.3.6.1.2.1.2.2.1.6.1", "1.3.6.1.2.1.2.2.1.6.2"})
    assert snmp.max_varbinds_per_request == 256

    assert second.name == "lab_ups.2"
    assert second.snmp is not None
    assert second.snmp.version == "V1"
    assert second.snmp.polling_oids == ()
    assert second.snmp.community is not None
    assert second.snmp.community.reveal() == "literal ${NOT_A_VARIABLE} and pa$$word"

    assert config.ui.theme == "textual-dark"
    assert dict(config.ui.keymap) == {"app.quit": "ctrl+q,f10", "app.help": "?"}


def test_v3_file_loads_every_security_level() -> None:
    config = load_config(GOOD / "v3.yaml", environ=ENV)

    core, auth_only, no_auth, legacy = (device.snmp for device in config.devices)
    assert core == SnmpDeviceConfig(
        remote_host="core-sw1.example.net",
        version="V3",
        community=None,
        polling_oids=("1.3.6.1.2.1.1.3.0",),
        user="fleettop",
        authentication=SnmpAuthentication("SHA256", Secret("env-auth-pass-4Kd")),
        privacy=SnmpPrivacy("AES", Secret("env-priv-pass-9Wz")),
        context=SnmpContext(engine_id="80001f8880c7110000", name="bridge1"),
    )
    assert core.context is not None
    assert bytes.fromhex(core.context.engine_id) == b"\x80\x00\x1f\x88\x80\xc7\x11\x00\x00"
    assert auth_only is not None
    assert (auth_only.user, auth_only.privacy) == ("monitor", None)
    assert auth_only.authentication == SnmpAuthentication("MD5", Secret("md5-password"))
    assert no_auth is not None
    assert (no_auth.user, no_auth.authentication, no_auth.privacy) == ("public-v3", None, None)
    assert no_auth.context == SnmpContext(engine_id="", name="")
    assert no_auth.community is None
    assert legacy is not None
    assert (legacy.version, legacy.user, legacy.context) == ("V2C", None, None)
    assert legacy.write_community == Secret("env-write-community-2Hq")


def test_traps_and_mib_paths_load() -> None:
    config = load_config(GOOD / "v3.yaml", environ=ENV)

    assert config.traps == TrapsConfig(
        listen_host="::1",
        listen_port=11162,
        communities=(Secret("public"), Secret("env-trap-community-8Lm")),
        users=(
            TrapUser(
                user="trapper",
                engine_id="80001f8880aabbccddeeff",
                authentication=SnmpAuthentication("SHA512", Secret("trap-auth-password")),
                privacy=SnmpPrivacy("AES256", Secret("trap-priv-password")),
            ),
            TrapUser(user="informer"),
        ),
    )
    mibs = (GOOD / "mibs").absolute()
    assert config.mib_paths == (mibs, mibs)  # relative to the file, '..' collapsed
    assert all(path.is_absolute() and path.is_dir() for path in config.mib_paths)


def test_traps_section_defaults_and_absence() -> None:
    assert parse_config("devices: []\n", environ={}).traps is None
    assert parse_config("traps: {}\n", environ={}).traps == TrapsConfig()
    assert TrapsConfig() == TrapsConfig("127.0.0.1", 1162, (), ())


@pytest.mark.parametrize(
    ("listen", "host", "port"),
    [
        ("127.0.0.1:162", "127.0.0.1", 162),
        ("0.0.0.0:1162", "0.0.0.0", 1162),
        ("[::1]:11162", "::1", 11162),
        ("[::]:65535", "::", 65535),
        ("[fe80::1%eth0]:1", "fe80::1%eth0", 1),
        ("trap-host.example.net:1162", "trap-host.example.net", 1162),
        ("localhost:1162", "localhost", 1162),
    ],
)
def test_listen_forms(listen: str, host: str, port: int) -> None:
    traps = parse_config(f"traps: {{listen: '{listen}'}}\n", environ={}).traps
    assert traps is not None
    assert (traps.listen_host, traps.listen_port) == (host, port)


@pytest.mark.parametrize(
    ("listen", "reason"),
    [
        ("localhost", "the port is missing (like '127.0.0.1:1162')"),
        ("::1", "write an IPv6 address in brackets, then the port, like '[::1]:1162'"),
        ("[::1]", "the port is missing (like '[::1]:1162')"),
        ("[::1:1162", "']' is missing after the IPv6 address"),
        ("[::g]:1162", "'::g' is not an IPv6 address"),
        (":1162", "the host is missing (like '127.0.0.1:1162')"),
        ("10.0.0.256:1162", "'10.0.0.256' is not an IPv4 address"),
        ("bad_host:1162", "'bad_host' is not a host name or an IP address"),
        ("host:0", "the port 0 is not between 1 and 65535"),
        ("host:65536", "the port 65536 is not between 1 and 65535"),
        ("host:16x", "the port '16x' is not a number"),
        ("host:", "the port '' is not a number"),
    ],
)
def test_bad_listen_forms(listen: str, reason: str) -> None:
    (problem,) = problems_of(f"traps: {{listen: '{listen}'}}\n")
    assert (problem.line, problem.field) == (1, "traps.listen")
    assert problem.message == f"{listen!r} is not host:port: {reason}"


def test_listen_from_the_environment_is_not_echoed() -> None:
    (problem,) = problems_of("traps: {listen: '${LISTEN}'}\n", {"LISTEN": "hunter2-host:99999"})
    assert problem.message == "is not host:port (an IPv6 host goes in brackets)"


def test_relative_mib_paths_start_at_the_file(tmp_path: Path) -> None:
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "mibs").mkdir()
    (tmp_path / "shared").mkdir()
    path = tmp_path / "conf" / "fleet.yaml"
    path.write_text("mib_paths: [mibs, ../shared, '${HOME_MIBS}']\n")

    config = load_config(path, environ={"HOME_MIBS": str(tmp_path / "shared")})
    assert config.mib_paths == (
        tmp_path / "conf" / "mibs",
        tmp_path / "shared",
        tmp_path / "shared",
    )

    path.write_text("mib_paths: [mibs, missing, '${SECRET_DIR}']\n")
    problems = check_config(path, environ={"SECRET_DIR": "hunter2-dir"})
    assert [(p.line, p.field, p.message) for p in problems] == [
        (
            1,
            "mib_paths[1]",
            f"no such directory {str(tmp_path / 'conf' / 'missing')!r} "
            "(a relative path starts at the configuration file's directory)",
        ),
        (
            1,
            "mib_paths[2]",
            "no such directory (a relative path starts at the configuration file's directory)",
        ),
    ]
    assert "hunter2" not in str(problems)


def test_mib_paths_of_text_start_at_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "mibs").mkdir()
    monkeypatch.chdir(tmp_path)
    config = parse_config("mib_paths: [mibs, '~']\n", environ={})
    assert config.mib_paths == (tmp_path / "mibs", Path.home())


def test_anchors_merge_and_override() -> None:
    config = load_config(GOOD / "anchors.yaml", environ=ENV)

    snmps = [device.snmp for device in config.devices]
    assert [device.name for device in config.devices] == ["access-1", "access-2"]
    assert [s.remote_host for s in snmps if s] == ["10.0.0.1", "10.0.0.2"]
    assert [s.polling_delay for s in snmps if s] == [1.0, 30.0]
    assert all(
        s and s.community is not None and s.community.reveal() == "env-community-7Qx" for s in snmps
    )


def test_a_fleet_may_be_empty() -> None:
    config = load_config(GOOD / "no_devices.yaml", environ={})
    assert config.devices == ()
    assert config.ui.theme == "fleettop"


def test_result_is_frozen_with_tuples() -> None:
    config = load_config(GOOD / "issue_example.yaml", environ={})
    assert isinstance(config.devices, tuple)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.devices[0].snmp.remote_port = 1  # type: ignore[misc, union-attr]
    with pytest.raises(TypeError):
        config.ui.keymap["quit"] = "q"  # type: ignore[index]


def test_parse_config_has_no_source_path() -> None:
    config = parse_config(DEVICE.format(community="c", extra=""), environ={})
    assert config.source is None
    assert isinstance(config, Config)


# --------------------------------------------------------------------------- bad files

BAD_FILES = sorted(BAD.glob("*.yaml"))
EXPECT = re.compile(r"^# expect: (?P<line>\d+|-): (?P<field>\S+): (?P<message>.+)$", re.M)


def expectations(path: Path) -> list[tuple[int | None, str, str]]:
    """The ``# expect:`` lines of a bad file as (line, field, message)."""
    return [
        (
            None if m["line"] == "-" else int(m["line"]),
            "" if m["field"] == "-" else m["field"],
            m["message"],
        )
        for m in EXPECT.finditer(path.read_text(encoding="utf-8"))
    ]


def test_bad_corpus_is_there() -> None:
    assert len(BAD_FILES) >= 15


@pytest.mark.parametrize("path", BAD_FILES, ids=lambda path: path.stem)
def test_bad_file_reports_expected_problems(path: Path) -> None:
    expected = expectations(path)
    assert expected, f"{path.name} has no '# expect:' line"

    problems = check_config(path, environ={})

    assert [(p.line, p.field, p.message) for p in problems] == expected
    assert all(p.file == str(path) for p in problems)
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    assert caught.value.problems == problems


def test_no_bad_corpus_problem_shows_a_secret() -> None:
    """Every value under a secret key (community, write_community, password,
    communities) of every bad file stays out of its problems."""
    secret_keys = {"community", "write_community", "password", "communities"}

    def secrets(node: object) -> list[str]:
        found: list[str] = []
        if isinstance(node, dict):
            for key, value in node.items():
                if key in secret_keys:
                    values = value if isinstance(value, list) else [value]
                    # as the loader: short ones are only hidden when shown whole
                    found += [str(v) for v in values if len(str(v)) >= 6]
                found += secrets(value)
        elif isinstance(node, list):
            for item in node:
                found += secrets(item)
        return found

    checked = 0
    for path in BAD_FILES:
        if path.stem.startswith(("deep", "alias")):
            continue  # too deep for PyYAML's recursive composer, or recursive / huge data
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (yaml.YAMLError, ValueError):  # `!!int snmp`: PyYAML itself gives up
            continue
        text = "\n".join(str(problem) for problem in check_config(path, environ={}))
        for secret in secrets(data):
            checked += 1
            assert secret not in text, (path.name, secret)
    assert checked >= 15


def test_every_mistake_is_reported_at_once() -> None:
    problems = check_config(BAD / "three_mistakes.yaml", environ={})
    assert len(problems) == 3
    assert {p.field.split(".")[-1] for p in problems} == {
        "remote_port",
        "polling_oids[1]",
        "community",
    }


def test_good_files_have_no_problems() -> None:
    for path in sorted(GOOD.glob("*.yaml")):
        assert check_config(path, environ=ENV) == [], path.name


def test_unreadable_and_non_utf8_files(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    (problem,) = check_config(missing)
    assert (problem.file, problem.line, problem.field) == (str(missing), None, "")
    assert problem.message.startswith("cannot read the file")
    with pytest.raises(ConfigError):
        load_config(missing)

    latin = tmp_path / "latin.yaml"
    latin.write_bytes(b"devices: []\nui: {theme: caf\xe9}\n")
    (problem,) = check_config(latin)
    assert problem.message == "not UTF-8 text (bad byte at offset 27)"


# --------------------------------------------------------------------------- problems


def test_problem_str_is_file_line_field_message() -> None:
    assert str(Problem("a.yaml", 7, "devices[0].snmp.remote_port", "bad")) == (
        "a.yaml:7: devices[0].snmp.remote_port: bad"
    )
    assert str(Problem("a.yaml", None, "", "empty")) == "a.yaml: empty"
    assert str(Problem("a.yaml", 3, "", "not a mapping")) == "a.yaml:3: not a mapping"


def test_config_error_lists_every_problem() -> None:
    text = DEVICE.format(community="c", extra="ui: {theme: ''}\nsomething: 1\n")
    text = text.replace("127.0.0.1", "127.0.0.1\n      remote_port: 0")
    with pytest.raises(ConfigError) as caught:
        parse_config(text, source="t.yaml", environ={})
    lines = str(caught.value).splitlines()
    assert lines == [str(problem) for problem in caught.value.problems]
    assert lines == [
        "t.yaml:5: devices[0].snmp.remote_port: must be between 1 and 65535, got 0",
        "t.yaml:9: ui.theme: must not be empty",
        "t.yaml:10: something: unknown key 'something'; "
        "expected one of: devices, brokers, interfaces_dir, ui, traps, store, mib_paths, "
        "notifications, alarms, monitors",
    ]


def test_yaml_typed_values_are_named_by_kind() -> None:
    text = "devices: []\nui:\n  theme: 2024-01-01\n  keymap: {quit: !!binary aGk=}\n"
    assert [(p.line, p.field, p.message) for p in problems_of(text)] == [
        (3, "ui.theme", "expected a string, got a date"),
        (
            4,
            "ui.keymap.quit",
            "expected comma-separated key names like 'ctrl+q' or 'ctrl+q,f10', got binary data",
        ),
    ]


def test_key_lines_follow_flow_and_block_styles() -> None:
    text = "devices:\n  - {name: a, snmp: {remote_host: h, version: V2C,\n    colour: x}}\n"
    fields = {(p.line, p.field) for p in problems_of(text)}
    assert (3, "devices[0].snmp.colour") in fields
    assert (2, "devices[0].snmp.community") in fields


def test_aliases_report_an_unset_variable_once() -> None:
    text = (
        "x-snmp: &s {version: V2C, community: '${NOPE}', polling_oids: []}\n"
        "devices:\n"
        "  - {name: a, snmp: {<<: *s, remote_host: h}}\n"
        "  - {name: b, snmp: {<<: *s, remote_host: h}}\n"
    )
    assert [(p.line, p.message) for p in problems_of(text)] == [
        (1, "environment variable 'NOPE' is not set")
    ]


def test_recursive_and_exploding_aliases_are_problems() -> None:
    recursive = problems_of("x-a: &a [*a]\ndevices: []\n")
    assert [p.message for p in recursive] == ["an alias refers to its own anchor (recursive data)"]

    rows = ["x-0: &l0 [a, a, a, a, a, a, a, a, a, a]"]
    rows += [f"x-{n}: &l{n} [{', '.join([f'*l{n - 1}'] * 10)}]" for n in range(1, 6)]
    (problem,) = problems_of("\n".join(rows) + "\n")
    assert problem.message == "the document expands to more than 100000 values"


# --------------------------------------------------------------------------- secrets

SECRET = "s3cr3t-community"


@pytest.mark.parametrize(
    ("community", "extra"),
    [
        pytest.param(f"[{SECRET}]", "", id="list"),
        pytest.param(f"{{value: {SECRET}}}", "", id="mapping"),
        pytest.param(f"!vault {SECRET}", "", id="unknown-tag"),
        pytest.param(f'"{SECRET}', "", id="unterminated-quote"),
        pytest.param(f"{SECRET}\n      community: {SECRET}", "", id="duplicate-key"),
        pytest.param(f"${{X}}{SECRET}${{", "", id="malformed-reference"),
        pytest.param(SECRET, f"  - {{name: core-sw1, snmp: {SECRET}}}\n", id="elsewhere"),
    ],
)
def test_problems_never_show_the_community(community: str, extra: str) -> None:
    text = DEVICE.format(community=community, extra="").replace("\nui", "") + extra

    with pytest.raises(ConfigError) as caught:
        parse_config(text, environ={"X": "x"})

    assert caught.value.problems
    assert SECRET not in str(caught.value)
    assert SECRET not in repr(caught.value.problems)


V3_DEVICE = """\
devices:
  - name: core-rtr
    snmp:
      remote_host: 127.0.0.1
      version: V3
      user: ops
      authentication: {{type: SHA, password: {auth}}}
      privacy: {{type: {priv_type}, password: {priv}}}
      polling_oids: []
"""


@pytest.mark.parametrize(
    ("auth", "priv", "priv_type"),
    [
        pytest.param("hunter2", "hunter2-priv", "AES", id="short-auth"),
        pytest.param("hunter2-auth", "'${PRIV}'", "AES", id="short-priv-from-env"),
        pytest.param("hunter2-auth", "hunter2-priv", "hunter2-auth", id="password-as-type"),
        pytest.param("[hunter2-auth]", "{v: hunter2-priv}", "AES", id="wrong-types"),
        pytest.param("!vault hunter2-auth", "hunter2-priv", "AES", id="unknown-tag"),
    ],
)
def test_problems_never_show_a_password(auth: str, priv: str, priv_type: str) -> None:
    text = V3_DEVICE.format(auth=auth, priv=priv, priv_type=priv_type)
    with pytest.raises(ConfigError) as caught:
        parse_config(text, environ={"PRIV": "hunt2"})

    assert caught.value.problems
    assert "hunter2" not in str(caught.value)
    assert "hunt2" not in str(caught.value)
    assert "hunter2" not in repr(caught.value.problems)


def test_short_passwords_are_reported_by_rfc() -> None:
    text = V3_DEVICE.format(auth="'1234567'", priv="'${PRIV}'", priv_type="DES")
    problems = problems_of(text, {"PRIV": "7chars!"})
    rule = (
        "must be at least 8 characters long (USM derives its keys from passwords of at "
        "least 8 characters, RFC 3414 §11.2)"
    )
    assert [(p.line, p.field, p.message) for p in problems] == [
        (7, "devices[0].snmp.authentication.password", rule),
        (8, "devices[0].snmp.privacy.password", rule),
    ]
    config = parse_config(
        V3_DEVICE.format(auth="'12345678'", priv="'${PRIV}'", priv_type="DES"),
        environ={"PRIV": "8 chars!"},
    )
    snmp = config.devices[0].snmp
    assert snmp is not None
    assert snmp.privacy is not None
    assert snmp.privacy.password.reveal() == "8 chars!"


def test_loaded_v3_config_never_prints_its_passwords() -> None:
    config = load_config(GOOD / "v3.yaml", environ=ENV)
    printed = repr(config) + str(config)
    for secret in (*ENV.values(), "md5-password", "trap-auth-password", "trap-priv-password"):
        assert secret not in printed


@pytest.mark.parametrize(
    ("written", "security"),
    [
        ("", ("ops", None, None)),
        ("authentication: {type: SHA512, password: p4ssw0rd}", ("ops", "SHA512", None)),
        (
            "authentication: {type: SHA224, password: p4ssw0rd}\n"
            "      privacy: {type: 3DES, password: p4ssw0rd}",
            ("ops", "SHA224", "3DES"),
        ),
    ],
)
def test_security_level_follows_from_what_is_given(
    written: str, security: tuple[str, str | None, str | None]
) -> None:
    text = (
        "devices:\n  - name: r\n    snmp:\n      remote_host: h\n      version: V3\n"
        f"      user: ops\n      polling_oids: []\n      {written}\n"
    )
    snmp = parse_config(text, environ={}).devices[0].snmp
    assert snmp is not None
    auth = snmp.authentication.type if snmp.authentication else None
    priv = snmp.privacy.type if snmp.privacy else None
    assert (snmp.user, auth, priv) == security


def test_a_numeric_community_is_not_echoed() -> None:
    (problem,) = problems_of(DEVICE.format(community="73519", extra=""))
    assert problem.field == "devices[0].snmp.community"
    assert "73519" not in str(problem)


def test_values_from_the_environment_are_not_echoed() -> None:
    text = DEVICE.format(community="c", extra="").replace(
        "127.0.0.1", "127.0.0.1\n      remote_port: ${PORT}\n      polling_delay: '${D}'"
    )
    problems = problems_of(text, {"PORT": "hunter2-port", "D": "hunter2-delay"})
    assert [p.field for p in problems] == [
        "devices[0].snmp.remote_port",
        "devices[0].snmp.polling_delay",
    ]
    assert problems[0].message == "expected an integer, got a string"
    assert all("hunter2" not in str(p) for p in problems)


def test_no_bad_corpus_problem_shows_a_community() -> None:
    for path in BAD_FILES:
        text = "\n".join(problem.message for problem in check_config(path, environ={}))
        assert "s3cr3t-community" not in text, path.name
        assert "73519" not in text, path.name


def test_loaded_config_never_prints_its_community() -> None:
    config = load_config(GOOD / "full.yaml", environ=ENV)
    assert ENV["SNMP_COMMUNITY"] not in repr(config)
    assert ENV["SNMP_COMMUNITY"] not in str(config)
    assert config.devices[0].snmp is not None
    assert isinstance(config.devices[0].snmp.community, Secret)


# --------------------------------------------------------------------------- environment


def test_environment_substitution_inside_strings() -> None:
    text = DEVICE.format(community="${COMMUNITY}", extra="ui: {theme: 'fleet-${THEME}'}\n")
    text = text.replace("127.0.0.1", "sw-${SITE}.example.net")
    config = parse_config(text, environ={"COMMUNITY": "pw", "SITE": "7", "THEME": "dark"})

    snmp = config.devices[0].snmp
    assert snmp is not None
    assert snmp.community is not None
    assert snmp.community.reveal() == "pw"
    assert snmp.remote_host == "sw-7.example.net"
    assert config.ui.theme == "fleet-dark"


def test_environment_defaults_to_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLEETTOP_TEST_COMMUNITY", "from-os-environ")
    config = parse_config(DEVICE.format(community="${FLEETTOP_TEST_COMMUNITY}", extra=""))
    assert config.devices[0].snmp is not None
    assert config.devices[0].snmp.community is not None
    assert config.devices[0].snmp.community.reveal() == "from-os-environ"


@pytest.mark.parametrize(
    ("written", "loaded"),
    [
        ("$${NAME}", "${NAME}"),
        ("a$b", "a$b"),
        ("pa$$word", "pa$$word"),
        ("$$", "$$"),
        ("${NAME}-$${NAME}", "v-${NAME}"),
    ],
)
def test_dollar_escapes(written: str, loaded: str) -> None:
    config = parse_config(DEVICE.format(community=f"'{written}'", extra=""), environ={"NAME": "v"})
    assert config.devices[0].snmp is not None
    assert config.devices[0].snmp.community is not None
    assert config.devices[0].snmp.community.reveal() == loaded


def test_missing_variables_are_each_named() -> None:
    problems = problems_of(DEVICE.format(community="${USER_A}:${USER_B}", extra=""), {})
    assert [(p.line, p.message) for p in problems] == [
        (6, "environment variable 'USER_A' is not set"),
        (6, "environment variable 'USER_B' is not set"),
    ]


# --------------------------------------------------------------------------- OIDs
# The OID rules and messages are tested in tests/test_oid.py; here only how the loader
# uses them.


def test_oids_are_normalised_and_may_be_padded_when_quoted() -> None:
    text = DEVICE.format(community="c", extra="").replace(
        "[1.3.6.1.2.1.1.3.0]", "[' .1.3.6.1.2.1.1.3.0 ', 1.3.6.1.2.1.1.05.0]"
    )
    (device,) = parse_config(text, environ={}).devices
    assert device.snmp is not None
    assert device.snmp.polling_oids == ("1.3.6.1.2.1.1.3.0", "1.3.6.1.2.1.1.5.0")


def test_an_oid_from_the_environment_is_not_echoed() -> None:
    text = DEVICE.format(community="c", extra="").replace("[1.3.6.1.2.1.1.3.0]", "['${OID}']")
    problems = problems_of(text, {"OID": "1.3.sekrit"})
    assert [(p.line, p.message) for p in problems] == [(7, "is not a numeric OID")]


# --------------------------------------------------------------------------- schema


def walk_properties(schema: Any, where: str = "") -> list[tuple[str, str, dict[str, Any], bool]]:
    """Every ``properties`` entry of the schema: (where, name, subschema, required)."""
    found = []
    if isinstance(schema, dict):
        required = set(schema.get("required", []))
        for name, sub in schema.get("properties", {}).items():
            found.append((where, name, sub, name in required))
        for key, value in schema.items():
            found += walk_properties(value, f"{where}/{key}")
    elif isinstance(schema, list):
        for item in schema:
            found += walk_properties(item, where)
    return found


def test_schema_ships_as_package_data() -> None:
    text = resources.files("console").joinpath("schemas", "config.yaml").read_text("utf-8")
    assert yaml.safe_load(text) == config_schema()


def test_schema_is_valid_json_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(dict(config_schema()))


def test_every_property_is_described_and_optional_ones_have_defaults() -> None:
    protocol_sections = {"snmp", "mqtt"}  # a device needs one of these (anyOf): no default
    properties = walk_properties(config_schema())
    assert len(properties) >= 18
    for where, name, sub, required in properties:
        if where.endswith("/if"):
            continue  # the `if` of a conditional, not a field
        assert sub.get("description"), f"{where}/{name} has no description"
        if not required and name not in protocol_sections | {"community"}:
            assert "default" in sub, f"{where}/{name} has no default"


def test_schema_defaults_are_the_dataclass_defaults() -> None:
    schema = config_schema()
    snmp = schema["$defs"]["snmp"]["properties"]
    defaults = {f.name: f.default for f in dataclasses.fields(SnmpDeviceConfig)}
    for name, sub in snmp.items():
        if "default" in sub:
            expected = defaults[name]
            value = sub["default"]
            assert (frozenset(value) if isinstance(value, list) else value) == expected, name
    ui = schema["$defs"]["ui"]["properties"]
    assert UiConfig(theme=ui["theme"]["default"], keymap=ui["keymap"]["default"]) == UiConfig()
    assert schema["properties"]["devices"]["default"] == list(Config().devices)


def test_schema_versions_match_the_type() -> None:
    assert tuple(config_schema()["$defs"]["snmp_version"]["enum"]) == SNMP_VERSIONS


def test_schema_protocols_match_the_types() -> None:
    defs = config_schema()["$defs"]
    auth = defs["usm_authentication"]["properties"]["type"]
    priv = defs["usm_privacy"]["properties"]["type"]
    assert tuple(auth["enum"]) == get_args(AuthProtocol)
    assert tuple(priv["enum"]) == get_args(PrivProtocol)
    assert set(auth["x-aliases"].values()) <= set(auth["enum"])
    assert set(priv["x-aliases"].values()) <= set(priv["enum"])
    for sub in (defs["usm_authentication"], defs["usm_privacy"]):
        assert set(sub["properties"]) == {"type", "password"}
    assert {f.name for f in dataclasses.fields(SnmpAuthentication)} == {"type", "password"}
    assert {f.name for f in dataclasses.fields(SnmpPrivacy)} == {"type", "password"}


def test_schema_v3_and_traps_defaults_are_the_dataclass_defaults() -> None:
    defs = config_schema()["$defs"]
    context = defs["snmp_context"]["properties"]
    assert set(context) == {f.name for f in dataclasses.fields(SnmpContext)}
    assert SnmpContext(**{k: v["default"] for k, v in context.items()}) == SnmpContext()

    user = defs["trap_user"]["properties"]
    assert set(user) == {f.name for f in dataclasses.fields(TrapUser)}
    defaults = {f.name: f.default for f in dataclasses.fields(TrapUser)}
    for name, sub in user.items():
        if name != "user":
            assert sub["default"] == defaults[name], name

    traps = defs["traps"]["properties"]
    assert set(traps) == {"listen", "communities", "users"}
    loaded = parse_config("traps: {}\n", environ={}).traps
    assert loaded == TrapsConfig()
    explicit = parse_config(
        f"traps: {{listen: '{traps['listen']['default']}', communities: "
        f"{traps['communities']['default']}, users: {traps['users']['default']}}}\n",
        environ={},
    ).traps
    assert explicit == TrapsConfig()

    top = config_schema()["properties"]
    assert top["traps"]["default"] is None is Config().traps
    assert tuple(top["mib_paths"]["default"]) == Config().mib_paths
    assert set(top) == {
        "devices",
        "brokers",
        "interfaces_dir",
        "ui",
        "traps",
        "store",
        "mib_paths",
        "notifications",
        "alarms",
        "monitors",
    }


def test_store_section_defaults_paths_and_bounds(tmp_path: Path) -> None:
    store = config_schema()["$defs"]["store"]["properties"]
    assert set(store) == {f.name for f in dataclasses.fields(StoreConfig)}
    assert StoreConfig(**{k: v["default"] for k, v in store.items()}) == StoreConfig()
    assert parse_config("devices: []\n", environ={}).store == StoreConfig()
    config_file = tmp_path / "site" / "fleet.yaml"
    config_file.parent.mkdir()
    config_file.write_text("store: {path: ../data/fleet.db, batch_window: 0.05}\n")
    loaded = load_config(config_file, environ={}).store
    assert loaded.path == tmp_path / "data" / "fleet.db"
    assert (loaded.batch_window, loaded.batch_size, loaded.enabled) == (0.05, 1000, True)
    assert parse_config("store: {enabled: false}\n", environ={}).store.enabled is False
    problems = [str(p) for p in problems_of("store:\n  batch_windw: 2\n  batch_size: 0\n")]
    assert problems == [
        "t.yaml:2: store.batch_windw: unknown key 'batch_windw'; did you mean 'batch_window'?",
        "t.yaml:3: store.batch_size: must be between 1 and 100000, got 0",
    ]


def test_schema_fields_match_the_dataclass_fields() -> None:
    snmp = set(config_schema()["$defs"]["snmp"]["properties"])
    assert snmp == {f.name for f in dataclasses.fields(SnmpDeviceConfig)}
    device = set(config_schema()["$defs"]["device"]["properties"])
    assert device == {f.name for f in dataclasses.fields(DeviceConfig)}


# --------------------------------------------------------------------------- docs


def test_docs_describe_every_field() -> None:
    docs = DOCS.read_text(encoding="utf-8")
    for where, name, _, _ in walk_properties(config_schema()):
        if not where.endswith("/if"):
            assert f"`{name}`" in docs, name


def test_docs_examples_are_valid(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    docs = DOCS.read_text(encoding="utf-8")
    blocks = re.findall(r"```yaml\n(.*?)```", docs, re.S)
    complete = [
        block
        for block in blocks
        if re.match(
            r"(#.*\n)*(devices|ui|traps|brokers|interfaces_dir|notifications|alarms|monitors"
            r"|x-[\w-]+):",
            block,
        )
    ]
    assert len(complete) >= 8
    # the files the examples name, relative to the working directory
    monkeypatch.chdir(tmp_path)
    (tmp_path / "certs").mkdir()
    for name in ("ca.pem", "fleettop.pem", "fleettop.key"):
        (tmp_path / "certs" / name).write_text("")
    (tmp_path / "interfaces").mkdir()
    names = set(re.findall(r"\$\{(\w+)\}", docs))
    for block in complete:
        parse_config(block, source="docs", environ=dict.fromkeys(names, "docs-secret"))


# --------------------------------------------------------------------------- hygiene


def test_config_module_does_not_import_textual() -> None:
    code = "import sys, console.config; print('textual' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


# --------------------------------------------------------------------------- MQTT


def test_mqtt_file_loads_brokers_devices_and_interfaces() -> None:
    config = load_config(GOOD / "mqtt.yaml", environ=ENV)

    interfaces = (DATA.parent / "interfaces").resolve()
    assert config.interfaces_dir == interfaces
    plant, cloud = config.brokers
    assert plant == BrokerConfig(
        name="plant",
        host="127.0.0.1",
        port=1883,
        subscriptions=(MqttSubscription("site/#", 1),),
    )
    assert (plant.protocol, plant.clean_start, plant.client_id, plant.tls) == (
        "5",
        True,
        None,
        None,
    )
    assert plant.reconnect == ReconnectConfig(1.0, 4.0, 0.2)
    assert cloud.transport == "websockets"
    assert cloud.websocket_path == "/ws"
    assert cloud.tls == BrokerTls(ca_certs=interfaces / "org.example.Commands.json", insecure=True)
    assert cloud.username == "fleettop"
    assert cloud.password == Secret("env-mqtt-password-5Rt")
    assert (cloud.client_id, cloud.keepalive, cloud.protocol) == ("fleettop-noc-1", 30, "3.1.1")
    assert (cloud.clean_start, cloud.session_expiry, cloud.display_limit) == (False, 86400, 1024)
    assert cloud.subscriptions == (
        MqttSubscription("plant/+/status", 2),
        MqttSubscription("plant/#", 0),
    )
    assert cloud.reconnect == ReconnectConfig(0.5, 30.0, 0.3)
    assert cloud.device_rules == (
        DeviceRule("site/{device}/telemetry/#", 15.0),
        DeviceRule("demo/{device}/{interface}/#", 60.0),
    )

    sensor, lamp, thermostat, switch = config.devices
    assert sensor.mqtt == MqttDeviceConfig(broker="plant", topic="site/sensor-7/#")
    assert sensor.snmp is None
    assert lamp.mqtt == MqttDeviceConfig(
        broker="plant",
        topic="site/lamp-2/#",
        qos=2,
        status_topic="site/lamp-2/status",
        online_payload="1",
        offline_payload="0",
        timeout=5.0,
    )
    assert thermostat.mqtt is not None
    assert thermostat.mqtt.astarte == AstarteDeviceConfig("demo", "2TBn-jNESuuHamE2Zo1anA")
    assert thermostat.mqtt.filter == "demo/2TBn-jNESuuHamE2Zo1anA/#"
    assert switch.snmp is not None
    assert switch.mqtt is not None
    assert switch.mqtt.filter == "site/core-sw1/#"


def test_issue_broker_example_loads() -> None:
    text = """\
brokers:
  - name: plant
    host: 127.0.0.1
    port: 1883
    subscriptions: [{topic: "site/#", qos: 1}]
devices:
  - name: sensor-7
    mqtt: {broker: plant, topic: "site/sensor-7/#"}
"""
    config = parse_config(text, environ={})
    assert config.brokers[0].subscriptions == (MqttSubscription("site/#", 1),)
    assert config.devices[0] == DeviceConfig(
        "sensor-7", mqtt=MqttDeviceConfig(broker="plant", topic="site/sensor-7/#")
    )


def test_protocol_5_may_be_written_unquoted() -> None:
    config = parse_config("brokers: [{name: b, host: h, protocol: 5}]\n", environ={})
    assert config.brokers[0].protocol == "5"
    assert set(MQTT_PROTOCOLS) == {"3.1.1", "5"}


def test_broker_password_never_printed() -> None:
    config = load_config(GOOD / "mqtt.yaml", environ=ENV)
    assert ENV["MQTT_PASSWORD"] not in repr(config) + str(config)
    text = (
        "brokers: [{name: b, host: h, username: u, password: hunter2-mqtt, port: hunter2-mqtt}]\n"
    )
    problems = problems_of(text)
    assert [p.field for p in problems] == ["brokers[0].port"]
    assert "hunter2" not in str(problems)


def test_schema_broker_defaults_are_the_dataclass_defaults() -> None:
    defs = config_schema()["$defs"]
    broker = defs["broker"]["properties"]
    assert set(broker) == {f.name for f in dataclasses.fields(BrokerConfig)}
    defaults = {f.name: f for f in dataclasses.fields(BrokerConfig)}
    for name, sub in broker.items():
        if name in {"name", "host"}:
            continue
        field = defaults[name]
        expected = default_of(field)
        value = sub["default"]
        if name == "reconnect":
            value = ReconnectConfig(**value)
        elif isinstance(value, list):
            value = tuple(value)
        assert value == expected, name
    assert parse_config("brokers: [{name: b, host: h}]\n", environ={}).brokers[0] == BrokerConfig(
        "b", "h"
    )
    reconnect = defs["reconnect"]["properties"]
    assert ReconnectConfig(**{k: v["default"] for k, v in reconnect.items()}) == ReconnectConfig()
    tls = defs["broker_tls"]["properties"]
    assert BrokerTls(**{k: v["default"] for k, v in tls.items()}) == BrokerTls()
    device = defs["device_mqtt"]["properties"]
    assert set(device) == {f.name for f in dataclasses.fields(MqttDeviceConfig)}
    mqtt_defaults = {f.name: f.default for f in dataclasses.fields(MqttDeviceConfig)}
    for name, sub in device.items():
        if name != "broker":
            assert sub["default"] == mqtt_defaults[name], name
    assert {f.name for f in dataclasses.fields(DeviceRule)} == set(
        defs["device_rule"]["properties"]
    )
    assert tuple(str(v) for v in broker["protocol"]["enum"][:2]) == MQTT_PROTOCOLS
    assert config_schema()["properties"]["interfaces_dir"]["default"] is Config().interfaces_dir


def test_interfaces_dir_must_exist(tmp_path: Path) -> None:
    path = tmp_path / "fleet.yaml"
    path.write_text("interfaces_dir: missing\n")
    (problem,) = check_config(path, environ={})
    assert (problem.line, problem.field) == (1, "interfaces_dir")
    assert problem.message == f"no such directory {str(tmp_path / 'missing')!r}"


# --------------------------------------------------------------------------- notifications


def test_notification_sections_default_when_absent() -> None:
    from console.config import AlarmsConfig, NotificationsConfig, RetentionConfig

    config = parse_config("devices: []\n", environ={})
    assert config.notifications == NotificationsConfig(10_000, 500, RetentionConfig(604800, 10**6))
    assert config.alarms == AlarmsConfig(traps="warning", disconnected="error", rules=())
    assert config.monitors == ()


def test_notification_schema_defaults_are_the_dataclass_defaults() -> None:
    from console.config import (
        SEVERITY_NAMES,
        AlarmRule,
        AlarmsConfig,
        MonitorConfig,
        NotificationsConfig,
        RecordConfig,
        RetentionConfig,
    )

    defs = config_schema()["$defs"]
    pairs: list[tuple[str, Any]] = [
        ("notifications", NotificationsConfig()),
        ("retention", RetentionConfig()),
        ("alarms", AlarmsConfig()),
        ("alarm_rule", AlarmRule(name="r")),
        ("monitor", MonitorConfig(name="m")),
        ("record", RecordConfig(path=Path("x"))),
    ]
    for name, instance in pairs:
        properties = defs[name]["properties"]
        splits = {key for key, sub in properties.items() if sub.get("x-convert") == "host-port"}
        names = (set(properties) - splits) | {f"{k}_{p}" for k in splits for p in ("host", "port")}
        assert names == {f.name for f in dataclasses.fields(instance)}, name
        for key, sub in properties.items():
            if "default" not in sub or key in ("retention", "retry", *splits):
                continue
            value = getattr(instance, key)
            expected = sub["default"]
            if isinstance(expected, list):
                expected = tuple(expected)
            assert value == expected, (name, key)
    assert tuple(defs["severity"]["enum"]) == SEVERITY_NAMES
    top = config_schema()["properties"]
    assert top["monitors"]["default"] == list(Config().monitors)


def test_alarm_rules_and_monitors_load(tmp_path: Path) -> None:
    from console.config import AlarmRule, MonitorConfig, RecordConfig, topic_pattern

    path = tmp_path / "fleet.yaml"
    path.write_text(
        "alarms:\n"
        "  traps: null\n"
        "  rules:\n"
        "    - {name: link, trap: IF-MIB::linkDown, clear_trap: .1.3.6.1.6.3.1.1.5.4,\n"
        "       index: ifIndex, severity: error}\n"
        "    - {name: temp, oid: .1.3.6.1.4.1.318.1.1.1.2.2.2, above: 40, deadband: 2,\n"
        "       device: 'ups-*'}\n"
        "    - {name: tank, interface: org.astarte-platform.Tank, path: /+/level, below: 10}\n"
        "    - {name: errs, topic: site/+/error, message: boom}\n"
        "monitors:\n"
        "  - name: temps\n"
        "    events: ['snmp/?/trap/*', [mqtt, '?', property, org.x.Y, /a/b]]\n"
        "    topics: [site/+/temp, site/#]\n"
        "    batch_size: 5\n"
        "    batch_duration: 0\n"
        "    policy: block\n"
        "    record: {path: rec/temps.jsonl, max_bytes: 1000, backups: 0}\n"
    )
    config = load_config(path, environ={})
    link, temp, tank, errs = config.alarms.rules
    assert config.alarms.traps is None
    assert config.alarms.disconnected == "error"
    assert link == AlarmRule(
        name="link",
        trap="IF-MIB::linkDown",
        clear_trap="1.3.6.1.6.3.1.1.5.4",
        index="ifIndex",
        severity="error",
    )
    assert (link.source, temp.source, tank.source, errs.source) == (
        "trap",
        "oid",
        "interface",
        "topic",
    )
    assert temp.oid == "1.3.6.1.4.1.318.1.1.1.2.2.2"
    assert (temp.above, temp.below, temp.deadband, temp.device) == (40.0, None, 2.0, "ups-*")
    assert type(temp.above) is float
    assert (tank.interface, tank.path, tank.below, tank.has_threshold) == (
        "org.astarte-platform.Tank",
        "/+/level",
        10.0,
        True,
    )
    assert (errs.message, errs.has_threshold) == ("boom", False)
    (monitor,) = config.monitors
    assert monitor == MonitorConfig(
        name="temps",
        events=(("snmp", "?", "trap", "*"), ("mqtt", "?", "property", "org.x.Y", "/a/b")),
        topics=("site/+/temp", "site/#"),
        batch_size=5,
        batch_duration=0.0,
        policy="block",
        record=RecordConfig(path=tmp_path / "rec" / "temps.jsonl", max_bytes=1000, backups=0),
    )
    assert monitor.patterns[2:] == (
        ("mqtt", "?", "message", "site", "?", "temp"),
        ("mqtt", "?", "message", "site", "*"),
    )
    assert topic_pattern("#") == ("mqtt", "?", "message", "*")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("snmp/?/trap/*", ("snmp", "?", "trap", "*")),
        ("*", ("*",)),
        (["mqtt", "?", "property", "x", "/a/b"], ("mqtt", "?", "property", "x", "/a/b")),
    ],
)
def test_event_patterns(text: Any, expected: tuple[str, ...]) -> None:
    from console.config import event_pattern

    assert event_pattern(text) == expected


@pytest.mark.parametrize("text", ["", "a//b", "*/x", "a/*/b", []])
def test_bad_event_patterns(text: Any) -> None:
    from console.config import event_pattern

    with pytest.raises(ValueError, match="pattern"):
        event_pattern(text)


# --------------------------------------------------------------------------- defaults


def _dataclasses_in(hint: Any) -> list[type]:
    """The dataclasses a field's type names (``tuple[X, ...]``, ``X | None``...)."""
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        return [hint]
    return [found for arg in get_args(hint) for found in _dataclasses_in(arg)]


def _object_schema(schema: Any) -> dict[str, Any] | None:
    """The object schema a property describes, through ``$ref`` and ``items``."""
    schema = resolve(schema)
    if "items" in schema and "properties" not in schema:
        schema = resolve(schema["items"])
    return dict(schema) if "properties" in schema else None


def _schema_sections() -> list[tuple[str, dict[str, Any], type]]:
    """Every (schema path, object schema, dataclass) pair reachable from the top."""
    pairs: list[tuple[str, dict[str, Any], type]] = []
    todo: list[tuple[str, Any, type]] = [("", config_schema(), Config)]
    seen: set[type] = set()
    while todo:
        where, schema, cls = todo.pop()
        if cls in seen:
            continue
        seen.add(cls)
        section = _object_schema(schema)
        assert section is not None, where
        pairs.append((where or "/", section, cls))
        hints = typing.get_type_hints(cls)
        for name, sub in section["properties"].items():
            for inner in _dataclasses_in(hints.get(name)):
                todo.append((f"{where}/{name}", sub, inner))
    return pairs


def test_every_section_is_walked() -> None:
    names = {cls.__name__ for _, _, cls in _schema_sections()}
    assert len(names) >= 20, names
    assert {"TrapUser", "RecordConfig", "RetentionConfig", "DeviceRule"} <= names


@pytest.mark.parametrize(
    ("where", "section", "cls"),
    _schema_sections(),
    ids=lambda v: v.__name__ if isinstance(v, type) else v if isinstance(v, str) else "schema",
)
def test_every_schema_default_is_the_dataclass_default(
    where: str, section: dict[str, Any], cls: type
) -> None:
    """For every section, every property is a field, every field a property, and
    each schema ``default`` reads (as the loader reads it) to the field's default."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    expected_names = set(fields) - {"source"}
    schema_names: set[str] = set()
    for name, sub in section["properties"].items():
        if sub.get("x-convert") == "host-port":
            schema_names |= {f"{name}_host", f"{name}_port"}
        else:
            schema_names.add(name)
    assert schema_names == expected_names, where
    for name, sub in section["properties"].items():
        if "default" not in sub:
            continue
        if sub.get("x-convert") == "host-port":
            host, port = (None, None) if sub["default"] is None else split_host_port(sub["default"])
            assert (host, port) == (fields[f"{name}_host"].default, fields[f"{name}_port"].default)
            continue
        field = fields[name]
        assert field.default is not dataclasses.MISSING or field.default_factory is not (
            dataclasses.MISSING
        ), f"{where}/{name}: a schema default but no dataclass default"
        wanted = default_of(field)
        value = sub["default"]
        if sub.get("x-convert") == "str" and value is not None:
            value = str(value)
        loaded = msgspec.convert(value, hints[name], dec_hook=lambda kind, text: kind(text))
        if isinstance(wanted, Mapping):
            loaded, wanted = dict(loaded), dict(wanted)
        assert loaded == wanted, f"{where}/{name}"


# --------------------------------------------------------------------------- corpus
# Every malformed file is problems, never a traceback: `file:line: ...` or, where no
# line applies, `file: ...`; `fleettop check` and `run` exit 2 with them.

UNDECODABLE = DATA / "undecodable"
CORPUS = sorted([*BAD.glob("*.yaml"), *UNDECODABLE.glob("*.yaml")])


def _generated(tmp_path: Path, name: str) -> Path:
    """Broken files too large or too deep to keep in the repository."""
    device = (
        "  - name: sw{n}\n    snmp: {{remote_host: 10.0.0.1, version: V2C, polling_oids: []}}\n"
    )
    texts = {
        "deep_10000_flow": "devices: " + "[" * 10_000 + "]" * 10_000 + "\n",
        "deep_5000_dashes": "devices:\n" + "- " * 5_000 + "x\n",
        "deep_3000_block": "x-deep:\n"
        + "".join(" " * (i + 1) + f"k{i}:\n" for i in range(3_000))
        + "devices: []\n",
        "long_name": "devices:\n  - name: " + "n" * 1_000_000 + "\n",
        "many_unknown_keys": "".join(f"key{n}: 1\n" for n in range(20_000)) + "devices: []\n",
        "many_devices": "devices:\n" + "".join(device.format(n=n) for n in range(5_000)),
        "controls_after_a_megabyte": "devices: []\n" + "# padding\n" * 100_000 + "\x1b\n",
    }
    path = tmp_path / f"{name}.yaml"
    path.write_text(texts[name], encoding="utf-8")
    return path


GENERATED = [
    "deep_10000_flow",
    "deep_5000_dashes",
    "deep_3000_block",
    "long_name",
    "many_unknown_keys",
    "many_devices",
    "controls_after_a_megabyte",
]


def _assert_reported(path: Path, problems: list[Problem]) -> None:
    prefix = re.compile(rf"^{re.escape(str(path))}(:\d+)?: \S")
    assert problems, f"{path.name}: no problem found"
    for problem in problems:
        assert prefix.match(str(problem)), str(problem)


def test_broken_corpus_is_large_and_varied() -> None:
    assert len(CORPUS) >= 60
    names = {path.stem for path in CORPUS}
    for topic in ("control", "deep", "alias", "oid", "port", "topic", "env", "unknown", "utf"):
        assert any(topic in name for name in names), topic


@pytest.mark.parametrize("path", CORPUS, ids=lambda path: path.stem)
def test_broken_file_is_problems_not_a_traceback(path: Path) -> None:
    _assert_reported(path, check_config(path, environ={}))
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    _assert_reported(path, caught.value.problems)


@pytest.mark.parametrize("name", GENERATED)
def test_large_and_deep_files_are_problems_not_a_traceback(tmp_path: Path, name: str) -> None:
    path = _generated(tmp_path, name)
    _assert_reported(path, check_config(path, environ={}))


def test_undecodable_files_name_the_byte() -> None:
    for path in sorted(UNDECODABLE.glob("*.yaml")):
        (problem,) = check_config(path, environ={})
        assert problem.line is None
        assert problem.message.startswith("not UTF-8 text (bad byte at offset "), problem


def test_control_characters_and_depth_are_worded() -> None:
    (bel,) = check_config(BAD / "control_bel.yaml", environ={})
    assert "U+0007 (BEL)" in bel.message
    assert bel.line == 3
    (deep,) = check_config(BAD / "deep_block.yaml", environ={})
    assert deep.message == "invalid YAML: nested more than 64 levels deep"


def test_a_large_fleet_still_reports_its_duplicate_and_its_bad_device(tmp_path: Path) -> None:
    """5,000 devices: most skip jsonschema (the compiled acceptor), the broken one is
    worded by jsonschema at its own line, and the repeated name is found."""
    rows = ["devices:"]
    for n in range(5_000):
        name = "sw0" if n == 4_999 else f"sw{n}"
        port = "remote_port: 0, " if n == 2_500 else ""
        rows.append(
            f"  - {{name: {name}, snmp: {{remote_host: 10.0.0.1, {port}version: V2C, "
            "community: c, polling_oids: [1.3.6.1.2.1.1.3.0]}}"
        )
    path = tmp_path / "fleet.yaml"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    assert [(p.line, p.field, p.message) for p in check_config(path, environ={})] == [
        (2502, "devices[2500].snmp.remote_port", "must be between 1 and 65535, got 0"),
        (5001, "devices[4999].name", "duplicate device name 'sw0' (first defined at line 2)"),
    ]


def _device_schemas_agree(data: object) -> None:
    """The compiled acceptor never accepts a device jsonschema rejects."""
    accept = acceptor("#/$defs/device")
    assert accept is not None
    alone = validator().evolve(schema={"$ref": "#/$defs/device"})
    devices = data.get("devices") if isinstance(data, dict) else None
    for device in devices if isinstance(devices, list) else []:
        if accepts(accept, device):
            assert not list(alone.iter_errors(device)), device


def test_the_acceptor_never_accepts_what_jsonschema_rejects() -> None:
    checked = 0
    for path in [*BAD_FILES, *sorted(GOOD.glob("*.yaml"))]:
        if path.stem.startswith("deep"):
            continue  # nested deeper than PyYAML's own recursive composer goes
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (yaml.YAMLError, ValueError):
            continue
        _device_schemas_agree(data)
        checked += 1
    assert checked >= 50


FLEETTOP = [sys.executable, "-m", "console.cli"]
CLI_RUNS = [
    ("check", BAD / "control_bel.yaml"),
    ("check", BAD / "control_nul.yaml"),
    ("check", BAD / "deep_flow.yaml"),
    ("check", BAD / "alias_bomb.yaml"),
    ("check", BAD / "keymap_unknown_id.yaml"),
    ("run", BAD / "control_esc.yaml"),
    ("run", UNDECODABLE / "utf16.yaml"),
]


@pytest.mark.parametrize(("command", "path"), CLI_RUNS, ids=lambda v: getattr(v, "stem", v))
def test_fleettop_reports_a_broken_file_with_exit_2(command: str, path: Path) -> None:
    """The real command: problems on stderr, each line naming the file, exit 2."""
    result = subprocess.run(
        [*FLEETTOP, command, str(path)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert lines
    assert all(line.startswith(f"{path}:") for line in lines), lines
    assert result.stdout == ""


def test_keymap_ids_are_checked_with_a_suggestion() -> None:
    (problem,) = check_config(BAD / "keymap_unknown_id.yaml", environ={})
    assert problem.message == "unknown binding id 'app.qiut'; did you mean 'app.quit'?"
