"""Data coming in: customer lists, order exports and DNC lists read, checked and stored.

Modules, from the file to the store (each imports only the ones above it):

- :mod:`calls.ingest.readers` — ``read_table(path)``: CSV/TSV/XLSX/JSON/NDJSON as text rows;
- :mod:`calls.ingest.values` — cell values: amounts, dates, refs;
- :mod:`calls.ingest.phones` — ``normalise_phone`` / ``phone_parts``: E.164, region, zones;
- :mod:`calls.ingest.tiers` — the 80/20 tier rule (``assign_tiers``, ``recompute_tiers``);
- :mod:`calls.ingest.pipeline` — what both imports share: column matching, chunks,
  worker processes, rejects, the ``imports`` record;
- :mod:`calls.ingest.customers` — ``import_customers`` (``carecall import``);
- :mod:`calls.ingest.orders` — ``import_orders`` (``carecall import-orders``).

Nothing is re-exported here: importing the package costs nothing, and each caller imports
the module it needs (phonenumbers' metadata loads only with :mod:`calls.ingest.phones`).
"""
