"""fleettop configuration: YAML -> schema validation -> frozen dataclasses.

(The loader is being written; the dataclasses below are the contract other modules
build on.)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Literal

from console.secrets import Secret

SnmpVersion = Literal["V1", "V2C"]


@dataclass(frozen=True, slots=True)
class SnmpDeviceConfig:
    """The ``snmp:`` section of one device; field names follow hat-gateway's SNMP
    manager device schema. Durations are in seconds."""

    remote_host: str
    version: SnmpVersion
    community: Secret
    polling_oids: tuple[str, ...]
    remote_port: int = 161
    connect_delay: float = 5.0
    request_timeout: float = 2.0
    request_retry_count: int = 1
    request_retry_delay: float = 0.5
    polling_delay: float = 5.0
    string_hex_oids: frozenset[str] = frozenset()
    max_varbinds_per_request: int = 32


@dataclass(frozen=True, slots=True)
class DeviceConfig:
    """One device of the fleet: a unique ``name`` and one section per protocol."""

    name: str
    snmp: SnmpDeviceConfig | None = None


@dataclass(frozen=True, slots=True)
class UiConfig:
    """The ``ui:`` section: theme name and key remapping (binding id -> keys)."""

    theme: str = "fleettop"
    keymap: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True, slots=True)
class Config:
    """A whole validated configuration. ``source`` is the file it came from, if any."""

    devices: tuple[DeviceConfig, ...] = ()
    ui: UiConfig = field(default_factory=UiConfig)
    source: Path | None = None
