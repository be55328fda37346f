"""The MIB compiling process: ``python -m console.snmp.mibs.worker``.

Reads one JSON request a line on standard input (``{"names", "dirs", "output",
"stubs"}``: the file stems to compile, the source directories, the output directory
and the modules taken as compiled already), compiles it with pysmi
(:func:`console.snmp.mibs.compile_chunk`) and writes one JSON answer a line on
standard output: ``{MODULE: [status, reason]}``. Ends at the end of its input.
:class:`console.snmp.mibs.CompileJob` runs it, so pysmi's parsing (pure Python, CPU
bound) never holds the GIL of the process that shows the console.
"""

from __future__ import annotations

import json
import sys

from console.snmp.mibs.process import compile_chunk


def main() -> int:
    """Serve requests until standard input ends; return the exit code."""
    for line in sys.stdin.buffer:
        request = json.loads(line)
        statuses = compile_chunk(
            request["names"], request["dirs"], request["output"], request["stubs"]
        )
        sys.stdout.write(json.dumps(statuses) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
