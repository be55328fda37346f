"""SnmpDevice over SNMPv3 (RFC 3414 USM, RFC 3826 AES, RFC 7860 SHA-2) against Debian
snmpd with v3 users created by ``createUser`` lines, Net-SNMP's snmpget as the
reference reader (tests/snmp_peers.py).

Net-SNMP answers a wrong authentication password with a ``usmStatsWrongDigests``
report and an unknown user with ``usmStatsUnknownUserNames``; it drops messages it
cannot decrypt (a wrong privacy password) without a report, and has no 3DES."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pysnmp.proto import errind

from console.config import SnmpAuthentication, SnmpContext, SnmpDeviceConfig, SnmpPrivacy
from console.events import EventManager
from console.secrets import Secret
from console.snmp import SnmpDevice, SnmpNotConnectedError, SnmpStatus
from console.snmp.codec import ERROR_NAMES, USM_ERROR_NAMES, error_data
from console.snmp.engine import loop_engines, usm_user_data
from console.snmp.link import usm_error_name
from tests.snmp_peers import DEFAULT_CONF, Snmpd, V3User, snmpget
from tests.waiting import EventRecorder

SYS_DESCR = "1.3.6.1.2.1.1.1.0"
SYS_OBJECT_ID = "1.3.6.1.2.1.1.2.0"
SYS_UPTIME = "1.3.6.1.2.1.1.3.0"
SYS_CONTACT = "1.3.6.1.2.1.1.4.0"
IF_NUMBER = "1.3.6.1.2.1.2.1.0"
MISSING = "1.3.6.1.2.1.1.9.99.0"
SNMP_ENGINE_ID = "1.3.6.1.6.3.10.2.1.1.0"
POLLED = (SYS_DESCR, SYS_OBJECT_ID, SYS_UPTIME, SYS_CONTACT, IF_NUMBER, MISSING)

# Passwords are distinctive so that a leak anywhere is found by substring.
SHA_AES = V3User("sha-aes", "SHA", "Sh4-auth-Secret-1", "AES", "Aes-priv-Secret-1")
MD5_DES = V3User("md5-des", "MD5", "Md5-auth-Secret-2", "DES", "Des-priv-Secret-2")
SHA_ONLY = V3User("sha-only", "SHA", "Sh4-only-Secret-3")
NO_AUTH = V3User("no-auth")
SHA224_DES = V3User("sha224-des", "SHA-224", "Sh224-auth-Secret-4", "DES", "Des-priv-Secret-4")
SHA256_AES192 = V3User(
    "sha256-aes192", "SHA-256", "Sh256-auth-Secret-5", "AES-192", "Aes192-priv-Secret-5"
)
SHA384_AES = V3User("sha384-aes", "SHA-384", "Sh384-auth-Secret-6", "AES", "Aes-priv-Secret-6")
SHA512_AES256 = V3User(
    "sha512-aes256", "SHA-512", "Sh512-auth-Secret-7", "AES-256", "Aes256-priv-Secret-7"
)
# SHA's 20-byte key is extended for AES-256 the Reeder way (Net-SNMP's "-C", Cisco's)
SHA_AES256C = V3User(
    "sha-aes256c", "SHA", "Sh4-auth-Secret-8", "AES-256-C", "Aes256c-priv-Secret-8"
)
RW_USER = V3User("rw-user", "SHA", "Rw-auth-Secret-9", "AES", "Rw-priv-Secret-9", access="rw")
USERS = (
    SHA_AES,
    MD5_DES,
    SHA_ONLY,
    NO_AUTH,
    SHA224_DES,
    SHA256_AES192,
    SHA384_AES,
    SHA512_AES256,
    SHA_AES256C,
    RW_USER,
)
PASSWORDS = tuple(
    password
    for user in USERS
    for password in (user.auth_password, user.priv_password)
    if password is not None
)
WRONG_PASSWORD = "Wr0ng-Secret-Pass"

# Net-SNMP's protocol names -> fleettop's (AES-256 and AES-256-C are both AES256
# here: fleettop extends keys the Reeder way, which equals Blumenthal's when the
# authentication key is long enough, as SHA-256 and longer are).
AUTH_NAMES = {
    "MD5": "MD5",
    "SHA": "SHA",
    "SHA-224": "SHA224",
    "SHA-256": "SHA256",
    "SHA-384": "SHA384",
    "SHA-512": "SHA512",
}
PRIV_NAMES = {
    "DES": "DES",
    "AES": "AES",
    "AES-192": "AES192",
    "AES-256": "AES256",
    "AES-192-C": "AES192",
    "AES-256-C": "AES256",
}


# -- fixtures and helpers ------------------------------------------------------------


@pytest.fixture(scope="module")
def snmpd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Snmpd]:
    with Snmpd(tmp_path_factory.mktemp("snmpd-v3"), v3_users=USERS) as agent:
        yield agent


class Recorder(EventRecorder):
    """Every event of the bus, queried per device (v3 handshakes are slower: 20 s)."""

    within = 20.0

    def of(self, device: str, kind: str, oid: str | None = None) -> list[dict[str, Any]]:
        found = []
        for event in self.events:
            if event.type[:3] != ("snmp", device, kind):
                continue
            if oid is not None and event.type[3:] != (oid,):
                continue
            assert isinstance(event.payload, dict)
            found.append(event.payload)
        return found

    def statuses(self, device: str) -> list[tuple[str, str | None]]:
        return [(p["status"], p["reason"]) for p in self.of(device, "status")]

    def has_status(self, device: str, status: str, reason: str | None = None) -> bool:
        return any(
            s == status and (reason is None or r == reason) for s, r in self.statuses(device)
        )

    def latest(self, device: str) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for e in self.events:
            if e.type[:3] == ("snmp", device, "read"):
                assert isinstance(e.payload, dict)
                assert isinstance(e.payload["data"], dict)
                found[e.type[3]] = e.payload["data"]
        return found

    def dump(self) -> str:
        return json.dumps([event.to_json() for event in self.events])


def v3_conf(
    port: int,
    user: V3User,
    oids: tuple[str, ...] = POLLED,
    *,
    name: str | None = None,
    auth_password: str | None = None,
    priv_password: str | None = None,
    priv: str | None = None,
    context: SnmpContext | None = None,
    **overrides: Any,
) -> SnmpDeviceConfig:
    """A V3 device configuration for ``user`` (Net-SNMP terms mapped to fleettop's),
    with passwords, privacy or the name replaced when given."""
    settings: dict[str, Any] = {
        "connect_delay": 0.3,
        "request_timeout": 0.5,
        "request_retry_count": 1,
        "request_retry_delay": 0.1,
        "polling_delay": 0.2,
    }
    settings.update(overrides)
    authentication = privacy = None
    if user.auth is not None:
        authentication = SnmpAuthentication(
            AUTH_NAMES[user.auth],  # type: ignore[arg-type]
            Secret(auth_password or str(user.auth_password)),
        )
    priv = priv or user.priv
    if priv is not None:
        privacy = SnmpPrivacy(
            PRIV_NAMES[priv],  # type: ignore[arg-type]
            Secret(priv_password or str(user.priv_password or WRONG_PASSWORD)),
        )
    return SnmpDeviceConfig(
        remote_host="127.0.0.1",
        remote_port=port,
        version="V3",
        community=None,
        polling_oids=oids,
        user=name or user.name,
        authentication=authentication,
        privacy=privacy,
        context=context,
        **settings,
    )


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        for secret in (*PASSWORDS, WRONG_PASSWORD):
            assert secret not in text


# -- values at every security level, against Net-SNMP ---------------------------------


@pytest.mark.parametrize(
    "user",
    [
        SHA_AES,
        MD5_DES,
        SHA_ONLY,
        NO_AUTH,
        SHA224_DES,
        SHA256_AES192,
        SHA384_AES,
        SHA512_AES256,
        SHA_AES256C,
    ],
    ids=lambda user: user.name,
)
async def test_polling_matches_net_snmp_at_every_level(
    snmpd: Snmpd, bus: EventManager, user: V3User
) -> None:
    before = snmpget(snmpd, POLLED, v3_user=user)
    assert before[SYS_CONTACT].value == b"ops@example.com"  # the peer answers this user
    recorder = Recorder(bus)
    # a generous timeout: "no failed try" below must not depend on the machine's load
    conf = v3_conf(snmpd.port, user, request_timeout=5.0)
    async with SnmpDevice("v3", conf, bus) as device:
        await recorder.wait_for(lambda: len(recorder.of("v3", "poll")) >= 1)
        assert device.status == SnmpStatus.CONNECTED
    after = snmpget(snmpd, POLLED, v3_user=user)
    ours = recorder.latest("v3")
    assert set(ours) == set(POLLED)
    for oid in POLLED:
        reference = before[oid]
        assert ours[oid]["type"] == reference.type, oid
        if reference.type == "STRING":
            assert ours[oid]["value"] == reference.value.decode(), oid
        elif reference.type == "TIME_TICKS":
            assert reference.value <= ours[oid]["value"] <= after[oid].value
        else:
            assert ours[oid]["value"] == reference.value, oid
    assert ours[MISSING] == {"type": "ERROR", "value": "NO_SUCH_OBJECT"}
    assert recorder.statuses("v3")[:2] == [("CONNECTING", None), ("CONNECTED", None)]
    # the missing OID is the only error of each cycle: no failed try
    assert all(p["errors"] == p["polls"] for p in recorder.of("v3", "poll"))
    assert all(p["values"] == len(POLLED) - 1 for p in recorder.of("v3", "poll"))


async def test_operator_read_and_context_of_the_agents_engine(
    snmpd: Snmpd, bus: EventManager
) -> None:
    engine_id = snmpget(snmpd, [SNMP_ENGINE_ID], v3_user=SHA_AES)[SNMP_ENGINE_ID].value.hex()
    context = SnmpContext(engine_id=engine_id, name="")
    recorder = Recorder(bus)
    conf = v3_conf(snmpd.port, RW_USER, (SYS_UPTIME,), context=context)
    async with SnmpDevice("ctx", conf, bus) as device:
        await recorder.wait_for(lambda: device.status == SnmpStatus.CONNECTED)
        payload = await device.read(SYS_CONTACT, session_id="op-1")
    assert payload == {
        "session_id": "op-1",
        "cause": "REQUESTED",
        "data": {"type": "STRING", "value": "ops@example.com"},
        "display": "ops@example.com",
    }
    assert recorder.of("ctx", "read", SYS_CONTACT) == [payload]


# -- credentials the agent rejects -------------------------------------------------------


async def test_wrong_auth_password_is_wrong_digests_and_disconnects(
    snmpd: Snmpd, bus: EventManager, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    recorder = Recorder(bus)
    conf = v3_conf(snmpd.port, SHA_AES, auth_password=WRONG_PASSWORD)
    reason = "authentication failed: WRONG_DIGESTS (wrong authentication password or protocol)"
    async with SnmpDevice("locked", conf, bus) as device:
        await recorder.wait_for(lambda: recorder.has_status("locked", "DISCONNECTED", reason))
        assert device.status == SnmpStatus.DISCONNECTED
        assert device.reason == reason
        # it keeps trying, after connect_delay, and fails the same way: every try
        # reports the values again (the cache is cleared on disconnect)
        await recorder.wait_for(lambda: len(recorder.of("locked", "read", POLLED[0])) >= 2)
        with pytest.raises(SnmpNotConnectedError):
            await device.read(SYS_CONTACT)
    # one outage, however many tries: it stays DISCONNECTED (issue 11 §5)
    assert recorder.statuses("locked") == [("CONNECTING", None), ("DISCONNECTED", reason)]
    # hat-gateway: the read events carry the USM report, for every polled OID, once
    # per connection attempt (the cache is cleared on disconnect)
    first = {oid: recorder.of("locked", "read", oid)[0] for oid in POLLED}
    assert first == {
        oid: {
            "session_id": None,
            "cause": "INTERROGATE",
            "data": {"type": "ERROR", "value": "WRONG_DIGESTS"},
            "display": "WRONG_DIGESTS",
        }
        for oid in POLLED
    }
    # no polling cycle completed; each failed one says how many errors so far
    polls = recorder.of("locked", "poll")
    assert len(polls) >= 2
    assert {p["polls"] for p in polls} == {0}
    assert {p["last_poll"] for p in polls} == {None}
    errors = [p["errors"] for p in polls]
    assert errors == sorted(errors)
    assert errors[0] < errors[-1]
    assert device.stats()["errors"] >= 2 * (1 + len(POLLED))  # a try and the values
    assert_no_secret(recorder.dump(), caplog.text, repr(conf), repr(device.reason))
    assert "SNMP device locked" in caplog.text  # the log was captured


async def test_unknown_user_is_unknown_user_names(
    snmpd: Snmpd, bus: EventManager, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    recorder = Recorder(bus)
    conf = v3_conf(snmpd.port, SHA_AES, (SYS_DESCR,), name="nobody")
    reason = "authentication failed: UNKNOWN_USER_NAMES (the agent has no user 'nobody')"
    async with SnmpDevice("stranger", conf, bus) as device:
        await recorder.wait_for(lambda: recorder.has_status("stranger", "DISCONNECTED", reason))
        assert device.reason == reason
    assert recorder.latest("stranger") == {
        SYS_DESCR: {"type": "ERROR", "value": "UNKNOWN_USER_NAMES"}
    }
    assert_no_secret(recorder.dump(), caplog.text)


async def test_unsupported_security_level_disconnects_with_the_reason(
    snmpd: Snmpd, bus: EventManager
) -> None:
    recorder = Recorder(bus)
    conf = v3_conf(snmpd.port, SHA_ONLY, (SYS_DESCR,), priv="AES")  # user has no privacy
    reason = "unsupported security level: the agent does not accept authPriv for user 'sha-only'"
    async with SnmpDevice("too-secure", conf, bus) as device:
        await recorder.wait_for(lambda: recorder.has_status("too-secure", "DISCONNECTED", reason))
        assert device.reason == reason
        # it keeps trying: each failed try is counted and published while disconnected
        await recorder.wait_for(lambda: len(recorder.of("too-secure", "poll")) >= 2)
        assert device.status == SnmpStatus.DISCONNECTED
    assert recorder.statuses("too-secure") == [("CONNECTING", None), ("DISCONNECTED", reason)]
    assert recorder.of("too-secure", "read") == []  # no ERROR name for it
    assert_no_secret(recorder.dump())


async def test_wrong_privacy_password_goes_unanswered(snmpd: Snmpd, bus: EventManager) -> None:
    recorder = Recorder(bus)
    conf = v3_conf(snmpd.port, SHA_AES, (SYS_DESCR,), priv_password=WRONG_PASSWORD)
    reason = (
        "no response after 2 tries (timeout 0.5 s; a wrong privacy password or protocol "
        "goes unanswered too)"
    )
    async with SnmpDevice("garbled", conf, bus) as device:
        await recorder.wait_for(lambda: recorder.has_status("garbled", "DISCONNECTED", reason))
        assert device.reason == reason
    assert_no_secret(recorder.dump())


async def test_operator_read_answered_by_a_usm_report_is_an_error_value(
    snmpd: Snmpd, bus: EventManager
) -> None:
    recorder = Recorder(bus)
    async with SnmpDevice("ops", v3_conf(snmpd.port, SHA_AES, (SYS_UPTIME,)), bus) as device:
        await recorder.wait_for(lambda: device.status == SnmpStatus.CONNECTED)
        # the agent stops knowing the device's user while it is connected (a swapped
        # user in place of an agent reconfigured between two requests)
        device._link._auth = usm_user_data(v3_conf(snmpd.port, NO_AUTH, name="forgotten"))
        payload = await device.read(SYS_CONTACT, session_id="op-2")
    assert payload == {
        "session_id": "op-2",
        "cause": "REQUESTED",
        "data": {"type": "ERROR", "value": "UNKNOWN_USER_NAMES"},
        "display": "UNKNOWN_USER_NAMES",
    }
    assert recorder.of("ops", "read", SYS_CONTACT) == [payload]


async def test_agent_reconfigured_with_another_password_then_fixed(
    snmpd: Snmpd, bus: EventManager, tmp_path: Path
) -> None:
    """The agent's password changes under a polling device: values turn to
    WRONG_DIGESTS and the device says why; once the agent is fixed it reconnects.

    Both agents keep one engine ID (``exactEngineID``), as a reconfigured device does:
    pysnmp caches an agent's engine ID for 300 s, and Net-SNMP does not answer a
    request for another engine ID."""
    user = SHA_AES
    conf_text = DEFAULT_CONF + "exactEngineID 0x80001f8880aabbcc0001\n"
    original = Snmpd(tmp_path / "original", conf_text, v3_users=[user])
    changed_user = V3User(user.name, "SHA", "Ch4nged-auth-Pass", "AES", "Ch4nged-priv-Pass")
    changed = Snmpd(tmp_path / "changed", conf_text, port=original.port, v3_users=[changed_user])
    reason = "authentication failed: WRONG_DIGESTS (wrong authentication password or protocol)"
    recorder = Recorder(bus)
    with original:
        conf = v3_conf(original.port, user, (SYS_CONTACT,), connect_delay=0.2)
        async with SnmpDevice("edge", conf, bus) as device:
            await recorder.wait_for(lambda: recorder.has_status("edge", "CONNECTED"))
            original.stop()
            with changed:
                await recorder.wait_for(lambda: recorder.has_status("edge", "DISCONNECTED", reason))
                assert recorder.latest("edge")[SYS_CONTACT] == error_data("WRONG_DIGESTS")
            seen = len(recorder.statuses("edge"))
            original.start()
            await recorder.wait_for(
                lambda: ("CONNECTED", None) in recorder.statuses("edge")[seen:], within=30
            )
            await recorder.wait_for(
                lambda: recorder.latest("edge")[SYS_CONTACT]["type"] == "STRING"
            )
            assert device.status == SnmpStatus.CONNECTED
    values = [p["data"] for p in recorder.of("edge", "read", SYS_CONTACT)]
    assert values[0] == {"type": "STRING", "value": "ops@example.com"}
    assert error_data("WRONG_DIGESTS") in values
    assert values[-1] == values[0]


# -- sharing pysnmp engines between users -------------------------------------------------


async def test_one_user_name_with_two_passwords_gets_two_engines(
    snmpd: Snmpd, bus: EventManager
) -> None:
    """pysnmp's USM table has one entry per user name: the wrong password, started
    first, must not make the right one fail (nor the reverse)."""
    recorder = Recorder(bus)
    wrong = SnmpDevice("wrong", v3_conf(snmpd.port, SHA_AES, auth_password=WRONG_PASSWORD), bus)
    right = SnmpDevice("right", v3_conf(snmpd.port, SHA_AES), bus)
    twin = SnmpDevice("twin", v3_conf(snmpd.port, SHA_AES), bus)
    other = SnmpDevice("other", v3_conf(snmpd.port, MD5_DES), bus)
    devices = (wrong, right, twin, other)
    try:
        for device in devices:
            await device.start()
        first, (spare,) = loop_engines()
        assert first is not None
        assert (first.users, spare.users) == (2, 2)  # wrong+other, right+twin
        await recorder.wait_for(
            lambda: all(len(recorder.of(name, "poll")) >= 2 for name in ("right", "twin", "other"))
        )
        await recorder.wait_for(lambda: recorder.has_status("wrong", "DISCONNECTED"))
        assert wrong.reason is not None
        assert wrong.reason.startswith("authentication failed: WRONG_DIGESTS")
        for name in ("right", "twin", "other"):
            assert recorder.latest(name)[SYS_CONTACT] == {
                "type": "STRING",
                "value": "ops@example.com",
            }
            assert not recorder.has_status(name, "DISCONNECTED")
    finally:
        for device in devices:
            await device.aclose()
    assert loop_engines() == (None, [])


async def test_v2c_and_v3_devices_share_one_engine(snmpd: Snmpd, bus: EventManager) -> None:
    recorder = Recorder(bus)
    v2c = SnmpDeviceConfig(
        remote_host="127.0.0.1",
        remote_port=snmpd.port,
        version="V2C",
        community=Secret("public"),
        polling_oids=(SYS_CONTACT,),
        polling_delay=0.2,
    )
    async with (
        SnmpDevice("old", v2c, bus),
        SnmpDevice("new", v3_conf(snmpd.port, SHA_AES, (SYS_CONTACT,)), bus),
    ):
        shared, spares = loop_engines()
        assert shared is not None
        assert shared.users == 2
        assert spares == []
        await recorder.wait_for(
            lambda: SYS_CONTACT in recorder.latest("old") and SYS_CONTACT in recorder.latest("new")
        )
    assert recorder.latest("old") == recorder.latest("new")


# -- mapping and checks, without a peer ---------------------------------------------------


@pytest.mark.parametrize(
    ("auth", "priv", "auth_oid", "priv_oid", "level"),
    [
        (
            None,
            None,
            (1, 3, 6, 1, 6, 3, 10, 1, 1, 1),
            (1, 3, 6, 1, 6, 3, 10, 1, 2, 1),
            "noAuthNoPriv",
        ),
        (
            "MD5",
            None,
            (1, 3, 6, 1, 6, 3, 10, 1, 1, 2),
            (1, 3, 6, 1, 6, 3, 10, 1, 2, 1),
            "authNoPriv",
        ),
        (
            "SHA",
            "DES",
            (1, 3, 6, 1, 6, 3, 10, 1, 1, 3),
            (1, 3, 6, 1, 6, 3, 10, 1, 2, 2),
            "authPriv",
        ),
        (
            "SHA224",
            "3DES",
            (1, 3, 6, 1, 6, 3, 10, 1, 1, 4),
            (1, 3, 6, 1, 6, 3, 10, 1, 2, 3),
            "authPriv",
        ),
        (
            "SHA256",
            "AES",
            (1, 3, 6, 1, 6, 3, 10, 1, 1, 5),
            (1, 3, 6, 1, 6, 3, 10, 1, 2, 4),
            "authPriv",
        ),
        (
            "SHA384",
            "AES192",
            (1, 3, 6, 1, 6, 3, 10, 1, 1, 6),
            (1, 3, 6, 1, 4, 1, 9, 12, 6, 1, 101),
            "authPriv",
        ),
        (
            "SHA512",
            "AES256",
            (1, 3, 6, 1, 6, 3, 10, 1, 1, 7),
            (1, 3, 6, 1, 4, 1, 9, 12, 6, 1, 102),
            "authPriv",
        ),
    ],
)
def test_usm_user_data_protocols(
    auth: str | None,
    priv: str | None,
    auth_oid: tuple[int, ...],
    priv_oid: tuple[int, ...],
    level: str,
) -> None:
    """RFC 3414 §6 / RFC 7860 §4 / RFC 3826 protocol OIDs; AES192/AES256 are the
    Reeder (Cisco, 1.3.6.1.4.1.9.12.6.1.101/102) protocols."""
    conf = SnmpDeviceConfig(
        remote_host="h",
        version="V3",
        community=None,
        polling_oids=(),
        user="ops",
        authentication=None if auth is None else SnmpAuthentication(auth, Secret("auth-Secret-A")),  # type: ignore[arg-type]
        privacy=None if priv is None else SnmpPrivacy(priv, Secret("priv-Secret-P")),  # type: ignore[arg-type]
    )
    data = usm_user_data(conf)
    assert tuple(data.authentication_protocol) == auth_oid
    assert tuple(data.privacy_protocol) == priv_oid
    assert data.security_level == level
    assert data.userName == "ops"
    assert "Secret" not in repr(data)


def test_usm_reports_are_named_as_hat_gateway() -> None:
    assert usm_error_name(errind.wrongDigest) == "WRONG_DIGESTS"
    assert usm_error_name(errind.unknownUserName) == "UNKNOWN_USER_NAMES"
    assert usm_error_name(errind.unknownEngineID) == "UNKNOWN_ENGINE_IDS"
    assert usm_error_name(errind.notInTimeWindow) == "NOT_IN_TIME_WINDOWS"
    assert usm_error_name(errind.decryptionError) == "DECRYPTION_ERRORS"
    assert usm_error_name(errind.requestTimedOut) is None
    assert usm_error_name(errind.unsupportedSecurityLevel) is None
    assert set(USM_ERROR_NAMES) <= ERROR_NAMES
    for name in USM_ERROR_NAMES:
        assert error_data(name) == {"type": "ERROR", "value": name}


def test_bad_v3_configurations_are_refused_without_secrets() -> None:
    async def build(conf: SnmpDeviceConfig) -> None:
        async with EventManager() as bus:
            SnmpDevice("bad", conf, bus)

    base = v3_conf(161, SHA_AES)
    cases: dict[str, dict[str, object]] = {
        "SNMPv3 needs a user": {"user": None},
        "privacy needs authentication": {"authentication": None},
        "the authentication password must be at least 8 characters long": {
            "authentication": SnmpAuthentication("SHA", Secret("Sh0rt!"))
        },
        "the privacy password must be at least 8 characters long": {
            "privacy": SnmpPrivacy("AES", Secret("Sh0rt!"))
        },
        "unknown privacy protocol 'AES128'": {
            "privacy": SnmpPrivacy("AES128", Secret("long-enough-Secret"))  # type: ignore[arg-type]
        },
    }
    for message, change in cases.items():
        conf = SnmpDeviceConfig(**{**_fields(base), **change})
        with pytest.raises(ValueError, match=message) as caught:
            asyncio.run(build(conf))
        assert_no_secret(str(caught.value))
        assert "Sh0rt!" not in str(caught.value)
        assert "long-enough-Secret" not in str(caught.value)
    v2c_without_community = SnmpDeviceConfig(**{**_fields(base), "version": "V2C"})
    with pytest.raises(ValueError, match="SNMP V2C needs a community"):
        asyncio.run(build(v2c_without_community))


def _fields(conf: SnmpDeviceConfig) -> dict[str, Any]:
    return {name: getattr(conf, name) for name in SnmpDeviceConfig.__dataclass_fields__}
