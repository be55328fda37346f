"""SNMP tables as operators read them (Net-SNMP's ``snmptable``): the shape of a table
from the MIB (:mod:`~console.tables.schema`), instance OIDs decoded into index values
(:mod:`~console.tables.index`), the grid of rows with per-second rates and sorting
(:mod:`~console.tables.grid`), and the built-in views such as Interfaces
(:mod:`~console.tables.views`). Pure Python: no Textual, no requests (the fetch is
:mod:`console.snmp.table`'s).
"""
