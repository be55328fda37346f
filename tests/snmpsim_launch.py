"""Run snmpsim's command responder (``snmpsim-command-responder``), with the standard
library modules it loads lazily imported first.

snmpsim refuses to run as root and drops to ``--process-user`` (``nobody``); after
that it imports ``dbm.dumb`` (its index) and text codecs (``Latin-1``) on first use,
which fails when the Python installation lives in a directory that user cannot read
(``/root/.pyenv`` here). Importing them while still root makes them resident.

Usage: ``python tests/snmpsim_launch.py ARGS...`` (the responder's own arguments).
"""

import dbm
import dbm.dumb
import encodings.ascii
import encodings.base64_codec
import encodings.hex_codec
import encodings.idna
import encodings.latin_1
import encodings.utf_8
import sys

from snmpsim.commands.responder import main

#: The modules above, imported for their side effect (resident before the drop).
RESIDENT = [dbm, dbm.dumb, encodings.ascii, encodings.base64_codec, encodings.hex_codec]
RESIDENT += [encodings.idna, encodings.latin_1, encodings.utf_8]

if __name__ == "__main__":
    sys.exit(main())
