"""The core stays free of Textual (harlequin's import-hygiene test).

Every module under ``console/`` except ``console.app`` and ``console.bridge`` (the
two Textual-aware ones) is imported in a fresh interpreter; none may pull in
``textual``. Modules are discovered, so a new core module is checked automatically.
"""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import console

TEXTUAL_AWARE = frozenset({"console.app", "console.bridge"})

_PROBE = """
import importlib, json, sys
names = json.loads(sys.argv[1])
for name in names:
    importlib.import_module(name)
    leaked = sorted(m for m in sys.modules if m == "textual" or m.startswith("textual."))
    if leaked:
        print(json.dumps({"module": name, "leaked": leaked[:5]}))
        sys.exit(1)
print(json.dumps({"module": None, "count": len(names)}))
"""


def core_modules() -> list[str]:
    """Every importable module of the ``console`` package but the Textual-aware ones."""
    names = ["console"]
    for info in pkgutil.walk_packages(console.__path__, prefix="console."):
        if info.name not in TEXTUAL_AWARE and not info.name.endswith("__main__"):
            names.append(info.name)
    return sorted(names)


def test_core_modules_are_discovered() -> None:
    names = core_modules()
    assert {"console.events", "console.runtime", "console.config", "console.format"} <= set(names)
    assert not TEXTUAL_AWARE & set(names)


def test_core_does_not_import_textual() -> None:
    names = core_modules()
    result = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(names)],
        capture_output=True,
        text=True,
        timeout=90,
        cwd=Path(console.__file__).parent.parent,
        check=False,
    )
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report == {"module": None, "count": len(names)}


def test_the_textual_aware_modules_do_import_textual() -> None:
    """Sanity check of the probe itself: it does notice Textual."""
    result = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(["console.format", "console.bridge"])],
        capture_output=True,
        text=True,
        timeout=90,
        cwd=Path(console.__file__).parent.parent,
        check=False,
    )
    assert result.returncode == 1
    assert json.loads(result.stdout.strip())["module"] == "console.bridge"


def test_the_store_package_exports_each_name_from_its_submodule_on_first_use() -> None:
    """``console.store`` imports its submodules lazily (PEP 562): every name of
    ``__all__`` resolves, to the object its submodule defines, and ``lock`` and
    ``errors`` (checked before the first frame) import no other store module."""
    code = (
        "import sys, console.store.lock, console.store.errors\n"
        "print(sorted(m for m in sys.modules if m.startswith('console.store.')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.split("\n")[0] == str(["console.store.errors", "console.store.lock"])

    import importlib

    import console.store as store

    for name in store.__all__:
        module = importlib.import_module(store._HOMES[name])
        assert getattr(store, name) is getattr(module, name), name


def test_paho_is_imported_without_dnspython_which_stays_importable() -> None:
    """paho's DNS SRV support (dnspython, ~60 ms at start) is left out
    (console/mqtt/pahoclient.py); dnspython itself still imports afterwards."""
    code = (
        "import sys, console.mqtt.client as c\n"
        "print('dns.resolver' in sys.modules, c.paho.HAVE_DNS)\n"
        "import dns.resolver\n"
        "print(dns.resolver.Resolver.__name__)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.split("\n")[:2] == ["False False", "Resolver"]


def test_pysnmp_is_imported_without_pysmi_which_fleettop_still_uses() -> None:
    """pysnmp's on-demand MIB compiler (pysmi, requests, jinja2: ~0.2 s at start) is
    left out (console/importhooks.py); fleettop's own compiler still imports pysmi."""
    code = (
        "import sys, console.snmp.engine\n"
        "print(sorted({'pysmi', 'requests', 'jinja2'} & set(sys.modules)))\n"
        "import pysmi.compiler\n"
        "print(pysmi.compiler.MibCompiler.__name__)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.split("\n")[:2] == ["[]", "MibCompiler"]
