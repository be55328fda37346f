"""The command palette's view of the current screen: one command per key binding.

:class:`BindingCommands` lists the actions the operator could reach by key on the
screen the palette was opened from, taken from the same :class:`~textual.binding.
Binding` definitions as the footer and the help (those with an ``id`` and a
description, enabled right now, and bound on the screen or its widgets), with the
key in force (the keymap applies) as help text. Choosing one runs the binding's
action where it is bound.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial

from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.dom import DOMNode

__all__ = ["BindingCommand", "BindingCommands", "binding_commands", "key_hint"]

#: Bindings that make no sense as palette commands (opening the palette itself).
EXCLUDED_IDS = frozenset({"app.commands"})


@dataclass(frozen=True, slots=True)
class BindingCommand:
    """One palette command: a binding and the node it is bound on."""

    node: DOMNode
    binding: Binding
    keys: str

    @property
    def title(self) -> str:
        """What the palette shows: the binding's description."""
        return self.binding.description

    @property
    def help(self) -> str:
        """The key and the tooltip (or the binding id)."""
        detail = self.binding.tooltip or self.binding.id or ""
        return f"{self.keys}  ·  {detail}" if detail else self.keys


def binding_commands(node: DOMNode) -> Iterator[BindingCommand]:
    """Yield the commands of the screen ``node`` belongs to, one per binding id, in
    the order the footer has them (focused widget first, then the screen). The app's
    own bindings (quit, help) are left to the palette's system commands."""
    screen = node.screen
    seen: set[str] = set()
    keys: dict[str, list[str]] = {}
    active = list(screen.active_bindings.values())
    for item in active:
        if item.binding.id:
            keys.setdefault(item.binding.id, []).append(screen.app.get_key_display(item.binding))
    for item in active:
        binding = item.binding
        if not (binding.id and binding.description and item.enabled) or item.node is screen.app:
            continue
        if binding.id in seen or binding.id in EXCLUDED_IDS:
            continue
        seen.add(binding.id)
        yield BindingCommand(item.node, binding, " / ".join(keys[binding.id]))


def key_hint(node: DOMNode) -> str:
    """``y Confirm  ·  n / escape Cancel``: the keys bound on ``node`` itself (a
    dialog), as they are in force (keymap applied)."""
    return "  ·  ".join(
        f"{command.keys} {command.title}"
        for command in binding_commands(node)
        if command.node is node
    )


class BindingCommands(Provider):
    """Command palette provider: the current screen's key bindings as commands."""

    def _commands(self) -> list[BindingCommand]:
        return list(binding_commands(self.screen))

    async def discover(self) -> Hits:
        """Every command of the screen, in footer order."""
        for command in self._commands():
            yield DiscoveryHit(
                command.title,
                partial(self.app.run_action, command.binding.action, command.node),
                help=command.help,
            )

    async def search(self, query: str) -> Hits:
        """The commands whose description matches ``query`` (fuzzy)."""
        matcher = self.matcher(query)
        for command in self._commands():
            score = matcher.match(command.title)
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(command.title),
                    partial(self.app.run_action, command.binding.action, command.node),
                    text=command.title,
                    help=command.help,
                )
