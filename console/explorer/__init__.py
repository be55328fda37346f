"""The MQTT explorer's core: the topic tree (:mod:`console.explorer.tree`), payload
diffs (:mod:`console.explorer.diff`) and the cleanup of retained messages
(:mod:`console.explorer.retained`). Plain Python: no Textual, no backend imports at
load time; the tree is fed from the bus only."""
