"""pysnmp's MIB modules are compiled once per machine: the code objects are shared by
every builder of a process and kept on disk for the next start
(console/snmp/mibcode.py)."""

from __future__ import annotations

import builtins
from pathlib import Path
from typing import Any

import pytest

from console.snmp import mibcode
from console.snmp.engine import new_engine

SNMPV2_SMI = Path(__import__("pysnmp.smi.mibs", fromlist=["x"]).__path__[0]) / "SNMPv2-SMI.py"


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty memory cache and a private disk cache."""
    monkeypatch.setenv("FLEETTOP_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(mibcode, "_disk", None)
    monkeypatch.setattr(mibcode, "_CODE", {})
    return tmp_path


def _compiles(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record every ``compile`` of a MIB source from now on."""
    seen: list[str] = []
    real = builtins.compile

    def counting(source: Any, filename: Any, *args: Any, **kwargs: Any) -> Any:
        if str(filename).endswith(".py"):
            seen.append(str(filename))
        return real(source, filename, *args, **kwargs)

    monkeypatch.setattr(builtins, "compile", counting)
    return seen


def test_a_second_start_compiles_no_mib_module(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    compiled = _compiles(monkeypatch)
    new_engine()
    first = len(compiled)
    assert first > 10  # SNMPv2-SMI, SNMP-FRAMEWORK-MIB...: each once
    assert len(set(compiled)) == first, "a module compiled twice in one process"
    new_engine()  # a second engine of the same process: memory
    assert len(compiled) == first
    monkeypatch.setattr(mibcode, "_CODE", {})  # as a new process: disk only
    engine = new_engine()
    assert len(compiled) == first
    builder = engine.get_mib_builder()
    (sys_descr,) = builder.import_symbols("SNMPv2-MIB", "sysDescr")
    assert sys_descr.name == (1, 3, 6, 1, 2, 1, 1, 1)
    assert len(list((cache / "pysnmp-code").rglob("*.code"))) == first


def test_a_damaged_cache_file_is_compiled_again(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = mibcode._code(str(SNMPV2_SMI))
    (file,) = (cache / "pysnmp-code").rglob("*.code")
    file.write_bytes(file.read_bytes()[:40])  # truncated
    monkeypatch.setattr(mibcode, "_CODE", {})
    compiled = _compiles(monkeypatch)
    again = mibcode._code(str(SNMPV2_SMI))
    assert compiled == [str(SNMPV2_SMI)]
    assert again.co_names == code.co_names
    monkeypatch.setattr(mibcode, "_CODE", {})
    mibcode._code(str(SNMPV2_SMI))  # rewritten whole: read back without compiling
    assert compiled == [str(SNMPV2_SMI)]


def test_an_unwritable_cache_still_loads(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocked = cache / "pysnmp-code"
    blocked.write_text("a file where the directory should be")
    engine = new_engine()
    (sys_descr,) = engine.get_mib_builder().import_symbols("SNMPv2-MIB", "sysDescr")
    assert sys_descr.name == (1, 3, 6, 1, 2, 1, 1, 1)
    assert blocked.read_text() == "a file where the directory should be"
