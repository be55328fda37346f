"""MIB source sets for the MIB cache's tests and ``bench/bench_mibs.py``: real
sources (fleettop's vendored IETF base modules, the Net-SNMP MIBs Debian ships in
``/usr/share/snmp/mibs``, the test MIBs of ``tests/data/mibs``) and renamed copies of
them, to reach a few hundred modules with real texts and real import graphs.

A copy renames every module of its set consistently (``IF-MIB`` -> ``IF-MIB-C7``,
and ``FROM IF-MIB`` in the set's other modules likewise), so each copy is a set of
distinct modules importing each other as the originals do; the OIDs stay those of
the originals (pysnmp keeps each module's objects apart).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from console.snmp.mibs import BASE_DIR

__all__ = [
    "DATA",
    "DEBIAN_MIBS",
    "LOADING_SET",
    "copy_set",
    "module_of",
    "real_sources",
    "renamed_copies",
]

DATA = Path(__file__).parent / "data" / "mibs"
DEBIAN_MIBS = Path("/usr/share/snmp/mibs")

#: Sources whose every module compiles and loads with fleettop's base modules
#: alone: copied to make a large set (module name -> file).
LOADING_SET: tuple[Path, ...] = (
    BASE_DIR / "IANAifType-MIB.mib",
    BASE_DIR / "IF-MIB.mib",
    BASE_DIR / "RFC1213-MIB.mib",
    DATA / "FLEETTOP-TEST-MIB.txt",
    DEBIAN_MIBS / "NET-SNMP-TC.txt",
    DEBIAN_MIBS / "NET-SNMP-MIB.txt",
    DEBIAN_MIBS / "NET-SNMP-AGENT-MIB.txt",
    DEBIAN_MIBS / "NET-SNMP-EXTEND-MIB.txt",
)

_HEADER = re.compile(r"^\s*([A-Za-z][A-Za-z0-9-]*)\s+DEFINITIONS\s*::=\s*BEGIN", re.M)


def module_of(path: Path) -> str:
    """The module name of a MIB source (its ``DEFINITIONS`` header)."""
    match = _HEADER.search(path.read_text(encoding="utf-8", errors="replace"))
    if match is None:
        raise ValueError(f"{path} is not a MIB module")
    return match.group(1)


def real_sources() -> list[Path]:
    """The sources of :data:`LOADING_SET` that exist here (Debian's need ``snmp``)."""
    return [path for path in LOADING_SET if path.is_file()]


def copy_set(sources: Sequence[Path], directory: Path, suffix: str) -> list[str]:
    """Write ``sources`` into ``directory`` with every module renamed ``NAME-SUFFIX``
    (imports among them renamed alike); return the new module names."""
    directory.mkdir(parents=True, exist_ok=True)
    names = {module_of(path): f"{module_of(path)}-{suffix}" for path in sources}
    pattern = re.compile(
        r"(?<![A-Za-z0-9-])(" + "|".join(re.escape(n) for n in names) + r")(?![A-Za-z0-9-])"
    )
    for path in sources:
        text = path.read_text(encoding="utf-8", errors="replace")
        renamed = pattern.sub(lambda m: names[m.group(1)], text)
        (directory / f"{names[module_of(path)]}.txt").write_text(renamed, encoding="utf-8")
    return list(names.values())


def renamed_copies(
    sources: Sequence[Path], directory: Path, copies: Iterable[int], prefix: str = "C"
) -> list[str]:
    """One renamed copy of ``sources`` per number in ``copies`` (suffix
    ``PREFIX<number>``), all in ``directory``; return every new module name."""
    made: list[str] = []
    for number in copies:
        made.extend(copy_set(sources, directory, f"{prefix}{number}"))
    return made
