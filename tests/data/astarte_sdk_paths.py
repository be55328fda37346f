"""The Astarte device SDK for Python as the oracle of path validation: for each
interface and path given, whether the SDK's own ``Interface.validate_path`` accepts
it. Run by tests/test_astarte_control.py in the SDK's virtual environment.

Usage: python astarte_sdk_paths.py < [[INTERFACE, [[PATH, OBJECT_OR_NULL], ...]], ...]

Prints one JSON list: for each interface, for each path, ``true`` (accepted) or
``false`` (``ValidationError``).
"""

from __future__ import annotations

import json
import sys

from astarte.device.exceptions import ValidationError
from astarte.device.interface import Interface


def main() -> None:
    cases = json.load(sys.stdin)
    out = []
    for definition, paths in cases:
        interface = Interface(definition)
        answers = []
        for path, payload in paths:
            try:
                interface.validate_path(path, payload)
            except ValidationError:
                answers.append(False)
            else:
                answers.append(True)
        out.append(answers)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
