#!/usr/bin/env python3
"""Runs the SQL of docs/fleet.md with DuckDB on a JSON Lines file written by mqpcap.

    python3 tests/fleet_queries.py docs/fleet.md fleet.jsonl           # results as one JSON object
    python3 tests/fleet_queries.py docs/fleet.md fleet.jsonl --print   # each query and its table

Every ```sql block of the document is run in order, in one DuckDB database, with the file name
'fleet.jsonl' in it replaced by the given file. A block that holds a SELECT is a query (one
SELECT a block): its result is keyed by the block's first line, a comment (`-- records by kind`).
tests/fleet_duckdb.rs runs this on the lab captures, so the document's queries are the tested ones.
Needs the PyPI package duckdb (the version .ci/run installs).
"""

import json
import re
import sys

import duckdb


def sql_blocks(doc_text):
    return re.findall(r"^```sql\n(.*?)^```", doc_text, flags=re.S | re.M)


def main(argv):
    if len(argv) < 3 or len(argv) > 4 or (len(argv) == 4 and argv[3] != "--print"):
        sys.exit("usage: fleet_queries.py DOC.md FILE.jsonl [--print]")
    doc, jsonl = argv[1], argv[2]
    show = len(argv) == 4
    with open(doc, encoding="utf-8") as f:
        blocks = sql_blocks(f.read())
    if not blocks:
        sys.exit(f"no ```sql block in {doc}")
    if not any("'fleet.jsonl'" in b for b in blocks):
        sys.exit(f"no block of {doc} reads 'fleet.jsonl'")
    quoted = "'" + jsonl.replace("'", "''") + "'"
    con = duckdb.connect()
    results = {}
    for block in blocks:
        name = block.splitlines()[0].lstrip("-").strip() if block.startswith("--") else None
        selects = 0
        for statement in duckdb.extract_statements(block.replace("'fleet.jsonl'", quoted)):
            if statement.type != duckdb.StatementType.SELECT:
                con.execute(statement)
                continue
            selects += 1
            if name is None or selects > 1:
                sys.exit(f"a query block of {doc} must hold one SELECT after a -- comment:\n{block}")
            if name in results:
                sys.exit(f"two query blocks of {doc} are named {name!r}")
            rel = con.sql(statement)
            results[name] = {"columns": rel.columns, "rows": rel.fetchall()}
            if show:
                print(block.rstrip())
                rel.show(max_rows=100, max_width=120)
                print()
    if not show:
        json.dump(
            {"duckdb": duckdb.__version__, "results": results}, sys.stdout, default=str
        )
        print()


if __name__ == "__main__":
    main(sys.argv)
