"""An input for OIDs and MIB names, completing names as the operator types.

:class:`MibSuggester` is the Input's suggester: it asks
:meth:`~widgets.mib_names.MibNames.complete` (in a thread: the first call may load
the MIB modules) and offers the first name that extends what was typed; right arrow
accepts it. :class:`OidInput` is an ``Input`` with that suggester, meant for the
prompts of ``g`` (get) and ``W`` (walk).
"""

from __future__ import annotations

import asyncio

from textual.suggester import Suggester

from widgets.form_fields import FormInput
from widgets.mib_names import MibNames

__all__ = ["COMPLETIONS", "MibSuggester", "OidInput", "suggestion"]

#: How many names a prompt lists under its input.
COMPLETIONS = 6


def suggestion(value: str, names: list[str]) -> str | None:
    """The first of ``names`` (``MODULE::object``) that extends ``value``, written as
    the operator started it: ``sysU`` -> ``sysUpTime`` (from
    ``SNMPv2-MIB::sysUpTime``), ``IF-MIB::ifIn`` -> ``IF-MIB::ifInErrors``; the case
    of what was typed is kept."""
    folded = value.casefold()
    for name in names:
        for candidate in (name, name.rpartition("::")[2]):
            if len(candidate) > len(value) and candidate.casefold().startswith(folded):
                return value + candidate[len(value) :]
    return None


class MibSuggester(Suggester):
    """Suggest the first MIB name that completes the input (see :func:`suggestion`).

    Args:
        mib_names: the shared MIB names (its resolver completes).
    """

    def __init__(self, mib_names: MibNames) -> None:
        super().__init__(use_cache=True, case_sensitive=True)
        self._mib_names = mib_names

    async def get_suggestion(self, value: str) -> str | None:
        """The completion of ``value``, or ``None``."""
        names = await asyncio.to_thread(self._mib_names.complete, value, COMPLETIONS)
        return suggestion(value, names)


class OidInput(FormInput):
    """A one-line input of a numeric OID or a MIB name, with name completion (keys
    applied in the order typed, see :class:`~widgets.form_fields.FormInput`).

    Args:
        mib_names: the shared MIB names.
        value: the start text.
        id: the widget id.
    """

    def __init__(self, mib_names: MibNames, value: str = "", *, id: str | None = None) -> None:
        super().__init__(
            value=value,
            placeholder="numeric OID or MIB name (a scalar ends in .0): SNMPv2-MIB::sysName.0",
            suggester=MibSuggester(mib_names),
            id=id,
        )
