"""The ``:`` command line, as in k9s: type a screen's name (or ``q``) and Enter.

``:devices``, ``:properties``, ``:notifications``, ``:topics`` show those screens; ``:mibs``
the MIB browser (``:mibs TEXT`` searching for ``TEXT``); ``:walk OID``
walks a subtree (a numeric OID or a MIB name) of the device highlighted on the
Devices screen (or ``:walk OID DEVICE``); ``:help`` lists the keys; ``:q`` (or
``:quit``) quits. A command may be shortened to any prefix that names one command
(``:prop``), and the line completes the command as you type (``→`` or ``tab`` takes
the suggestion). ``ctrl+p`` (the command palette) stays.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Final

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import ModalScreen
from textual.suggester import SuggestFromList
from textual.widgets import Input

__all__ = ["COMMANDS", "Command", "CommandLineScreen", "parse_command"]

COMMANDS: Final = (
    "devices",
    "properties",
    "notifications",
    "topics",
    "mibs",
    "walk",
    "help",
    "quit",
)
"""The commands, as completed."""
_ALIASES: Final = {"q": "quit", "q!": "quit", "?": "help"}
_NEEDS_ARGUMENT: Final = {"walk"}
_OPTIONAL_ARGUMENT: Final = {"mibs"}


@dataclass(frozen=True, slots=True)
class Command:
    """A parsed command line: one of :data:`COMMANDS` and its arguments."""

    name: str
    args: tuple[str, ...] = ()


def parse_command(text: str) -> Command:
    """Read ``text`` (without the ``:``) as a command.

    Raises:
        ValueError: an operator-readable reason (unknown, ambiguous, missing or
            extra arguments).
    """
    words = text.strip().removeprefix(":").split()
    if not words:
        raise ValueError(f"type a command: {', '.join(COMMANDS)}")
    word, args = words[0].lower(), tuple(words[1:])
    name = _ALIASES.get(word)
    if name is None:
        matches = [command for command in COMMANDS if command.startswith(word)]
        if len(matches) != 1:
            kind = "ambiguous" if matches else "unknown"
            raise ValueError(f"{kind} command {word!r}: {', '.join(matches or COMMANDS)}")
        name = matches[0]
    if name in _NEEDS_ARGUMENT and not 1 <= len(args) <= 2:
        raise ValueError(f"{name} needs an OID or a MIB name (and a device): :walk OID [DEVICE]")
    if name in _OPTIONAL_ARGUMENT:
        return Command(name, (" ".join(args),) if args else ())
    if name not in _NEEDS_ARGUMENT and args:
        raise ValueError(f"{name} takes no argument")
    return Command(name, args)


class CommandLineScreen(ModalScreen[str | None]):
    """A one-line prompt at the bottom; Enter returns the text, escape ``None``."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="command.cancel", tooltip="Close the line"),
        Binding(
            "tab", "complete", "Complete", id="command.complete", tooltip="Take the suggestion"
        ),
    ]

    def compose(self) -> ComposeResult:
        """The input, completing the commands."""
        yield Input(
            placeholder=" | ".join(COMMANDS),
            suggester=SuggestFromList(COMMANDS, case_sensitive=False),
            id="command-line",
        )

    def on_mount(self) -> None:
        """Type at once."""
        self.query_one(Input).focus()

    @on(Input.Submitted, "#command-line")
    def _submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    def action_complete(self) -> None:
        """Take the suggested completion."""
        line = self.query_one(Input)
        line.cursor_position = len(line.value)
        line.action_cursor_right()

    def action_cancel(self) -> None:
        """Close without a command."""
        self.dismiss(None)
