"""The MIB compiling process and its handle.

:class:`CompileJob` runs ``python -m console.snmp.mibs.worker`` (a child process
that serves :func:`compile_chunk` requests, one JSON line each way) and kills it on
:meth:`CompileJob.cancel`; :func:`compile_chunk` is one pysmi
``MibCompiler.compile`` call with fleettop's settings (see :mod:`console.snmp.mibs`),
which also writes each generated module's code object beside it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import subprocess
import sys
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

__all__ = ["COMPILE_ENV", "CompileJob", "compile_chunk"]

mlog = logging.getLogger("console.snmp.mib")

#: Environment variable: ``inline`` compiles in the calling process (default: a child).
COMPILE_ENV: Final = "FLEETTOP_MIB_COMPILE"

#: pysmi's SMI parser, built once per process (PLY builds its parsing tables in
#: ~0.5 s each time) and used by one compile at a time: :data:`_PARSER_LOCK` is held
#: for the whole of each ``MibCompiler.compile`` call.
_parser: Any = None
_PARSER_LOCK: Final = threading.Lock()


class CompileJob:
    """A handle on a running compile: :meth:`cancel` from any thread stops it at the
    next chunk and ends the child process at once (its chunk is lost; what earlier
    chunks compiled stays cached).

    The child is ``python -m console.snmp.mibs.worker``: one JSON request a line on
    its standard input, one JSON answer a line on its standard output.
    """

    def __init__(self) -> None:
        self._cancelled = threading.Event()
        self._lock = threading.Lock()
        self._child: subprocess.Popen[bytes] | None = None

    @property
    def cancelled(self) -> bool:
        """True once :meth:`cancel` was called."""
        return self._cancelled.is_set()

    def cancel(self) -> None:
        """Stop compiling (idempotent): the child process is killed."""
        self._cancelled.set()
        with self._lock:
            child = self._child
        if child is not None and child.poll() is None:
            child.kill()

    def _start(self) -> subprocess.Popen[bytes]:
        root = str(Path(__file__).resolve().parents[3])
        path = os.environ.get("PYTHONPATH")
        env = {**os.environ, "PYTHONPATH": root + (os.pathsep + path if path else "")}
        return subprocess.Popen(
            [sys.executable, "-m", "console.snmp.mibs.worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
        )

    def _run(
        self, names: list[str], dirs: list[str], output: str, stubs: list[str]
    ) -> dict[str, tuple[str, str]]:
        """One chunk: in the child process (started on first use), or inline."""
        if self._cancelled.is_set():
            raise _Cancelled
        if os.environ.get(COMPILE_ENV) == "inline":
            return compile_chunk(names, dirs, output, stubs)
        with self._lock:
            if self._child is None:
                self._child = self._start()
            child = self._child
        assert child.stdin is not None
        assert child.stdout is not None
        request = {"names": names, "dirs": dirs, "output": output, "stubs": stubs}
        try:
            child.stdin.write(json.dumps(request).encode() + b"\n")
            child.stdin.flush()
            line = child.stdout.readline()
        except OSError:
            line = b""
        if self._cancelled.is_set():
            raise _Cancelled
        if not line:
            with self._lock:
                self._child = None
            code = child.wait()
            # a crashed child (out of memory...): this chunk inline, the next in a new child
            mlog.warning("the MIB compiler process ended (exit %s): compiling inline", code)
            return compile_chunk(names, dirs, output, stubs)
        answer = json.loads(line)
        return {str(k): (str(v[0]), str(v[1])) for k, v in answer.items()}

    def close(self) -> None:
        """End the child process (after a compile)."""
        with self._lock:
            child, self._child = self._child, None
        if child is None:
            return
        with contextlib.suppress(OSError):
            if child.stdin is not None:
                child.stdin.close()
        try:
            child.wait(timeout=5)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


class _Cancelled(Exception):
    """The compile was cancelled."""


class _ParseCache:
    """pysmi's parser, remembering each text's parse: the modules every chunk
    imports (SNMPv2-SMI, SNMPv2-TC...) are parsed once per process, not per chunk."""

    def __init__(self, parser: Any) -> None:
        self._parser = parser
        self._trees: dict[bytes, Any] = {}

    def parse(self, data: Any, **options: Any) -> Any:
        key = hashlib.sha256(data.encode() if isinstance(data, str) else data).digest()
        trees = self._trees.get(key)
        if trees is None:
            trees = self._trees[key] = self._parser.parse(data, **options)
        return trees

    def __getattr__(self, name: str) -> Any:
        return getattr(self._parser, name)


def compile_chunk(
    names: Sequence[str], dirs: Sequence[str], output: str, stubs: Sequence[str]
) -> dict[str, tuple[str, str]]:
    """One ``MibCompiler.compile`` call over ``names`` (file stems) into ``output``,
    the modules ``stubs`` taken as compiled already; returns module -> (status,
    reason). If pysmi itself crashes (an exception other than its reported
    failures), each name again alone so one file cannot spoil the others. Runs in
    the compiling process."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        _share_jinja_environments()
        try:
            return _with_code(_run_pysmi(names, dirs, output, stubs), output)
        except Exception as exc:
            mlog.debug("pysmi failed on the batch (%s); compiling file by file", exc)
            statuses: dict[str, tuple[str, str]] = {}
            for name in names:
                try:
                    statuses.update(_run_pysmi([name], dirs, output, stubs))
                except Exception as one:
                    statuses[name] = ("crashed", f"pysmi crashed: {one!r}")
            return _with_code(statuses, output)


class _SharedJinja:
    """Stands in for the ``jinja2`` module inside pysmi's pysnmp code generator:
    ``Environment(...)`` returns one environment per loader path and options, so
    its template is compiled once per process. pysmi 2.0 makes a new environment,
    and so compiles its template again, for every module it generates: measured,
    70% of a compile's time. Everything else is the real ``jinja2``."""

    def __init__(self, jinja2: Any) -> None:
        self._jinja2 = jinja2
        self._environments: dict[Any, Any] = {}

    def Environment(self, loader: Any, **options: Any) -> Any:
        key = (tuple(getattr(loader, "searchpath", ())), tuple(sorted(options.items())))
        environment = self._environments.get(key)
        if environment is None:
            environment = self._jinja2.Environment(loader=loader, **options)
            self._environments[key] = environment
        return environment

    def __getattr__(self, name: str) -> Any:
        return getattr(self._jinja2, name)


def _share_jinja_environments() -> None:
    """Install :class:`_SharedJinja` in pysmi's code generator (once)."""
    import pysmi.codegen.pysnmp as codegen

    if not isinstance(codegen.jinja2, _SharedJinja):
        codegen.jinja2 = _SharedJinja(codegen.jinja2)


def _with_code(statuses: dict[str, tuple[str, str]], output: str) -> dict[str, tuple[str, str]]:
    """Compile each generated module's Python into a code file beside it
    (``NAME.code``: the interpreter's magic number + ``marshal``, read by
    :func:`console.snmp.mibcode.compiled_mib_source`), so the first load after a
    compile does not compile Python either."""
    import importlib.util
    import marshal

    for name, (status, _) in statuses.items():
        path = Path(output) / f"{name}.py"
        if status != "compiled" or not path.is_file():
            continue
        with contextlib.suppress(OSError, SyntaxError, ValueError):
            code = compile(path.read_text(encoding="utf-8"), str(path), "exec")
            data = importlib.util.MAGIC_NUMBER + marshal.dumps(code)
            (Path(output) / f"{name}.code").write_bytes(data)
    return statuses


def _run_pysmi(
    names: Sequence[str], dirs: Sequence[str], output: str, stubs: Sequence[str]
) -> dict[str, tuple[str, str]]:
    """One ``MibCompiler.compile`` call (with the process's one parser, under
    :data:`_PARSER_LOCK`); returns module -> (status, reason)."""
    from pysmi.codegen.pysnmp import PySnmpCodeGen
    from pysmi.compiler import MibCompiler
    from pysmi.parser.dialect import smiV1Relaxed
    from pysmi.parser.smi import parserFactory
    from pysmi.reader.localfile import FileReader
    from pysmi.searcher.stub import StubSearcher
    from pysmi.writer.pyfile import PyFileWriter

    global _parser
    with _PARSER_LOCK:
        if _parser is None:
            _parser = _ParseCache(parserFactory(**smiV1Relaxed)())
        compiler = MibCompiler(_parser, PySnmpCodeGen(), PyFileWriter(output))
        compiler.add_sources(*(FileReader(directory) for directory in dirs))
        compiler.add_searchers(StubSearcher(*stubs))
        processed = compiler.compile(*names, ignoreErrors=True, genTexts=False)
    result: dict[str, tuple[str, str]] = {}
    for name, status in processed.items():
        error = getattr(status, "error", None)
        result[str(name)] = (str(status), str(error) if error is not None else "")
    return result
