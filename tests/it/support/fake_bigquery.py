#!/usr/bin/env python3
"""A fake BigQuery that bills like BigQuery: a proxy in front of the local emulator.

The emulator runs GoogleSQL but bills nothing ("totalBytesProcessed": "0") and has no
`last_modified_time` in INFORMATION_SCHEMA.PARTITIONS. This proxy forwards every request to
it and adds what real BigQuery does there:

- Billing by partition pruning. For each table a query reads, it bills the bytes of the
  partitions whose rows the query's filter on that table admits (`FROM `t` AS t WHERE (...)`:
  the filters bqcheck writes; a table read with no filter is billed whole). It finds them by
  asking the emulator which partitions hold rows the filter admits, which is what pruning
  gives for filters on the partition column. A table's bytes per row are the emulator's
  `numBytes / numRows`. `totalBytesProcessed` is that sum; `totalBytesBilled` rounds each
  table up to a whole MiB with BigQuery's 10 MiB minimum per table. Dry runs get the same
  estimate. Metadata queries (INFORMATION_SCHEMA) bill 10 MiB.
- `require_partition_filter`: a query reading such a table without a filter on its
  partition column fails with BigQuery's HTTP 400 `invalidQuery`.
- `INFORMATION_SCHEMA.PARTITIONS` with `last_modified_time`: the proxy keeps a digest of each
  partition's rows and moves the partition's time when the digest changes (checked at each
  metadata query), as BigQuery moves it when a write lands in the partition.

It logs one JSON line per query job to --log: {"sql", "dry_run", "bytes_processed",
"bytes_billed", "tables": {table: [partition ids read]}}; and one per tables.get:
{"tables_get": path, "status"}.

Only DAY/MONTH/YEAR partitioning on a DATE or TIMESTAMP column is modelled (what the
benchmark and tests build); other tables are billed whole.

    fake_bigquery.py --port 9250 --emulator 127.0.0.1:9050 --log /tmp/billing.jsonl
"""

import argparse
import hashlib
import json
import re
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MIB = 1 << 20
MIN_BILLED = 10 * MIB

ARGS = None
LOCK = threading.Lock()
JOBS = {}  # jobId -> (bytes_processed, bytes_billed)
MODIFIED = {}  # table -> {partition id: (digest, ms)}

TABLE_REF = re.compile(r"`([A-Za-z0-9_.:-]+)\.([A-Za-z0-9_]+)\.([A-Za-z0-9_]+)`")
INFO_PARTITIONS = re.compile(
    r"`([A-Za-z0-9_.:-]+)\.([A-Za-z0-9_]+)\.INFORMATION_SCHEMA\.PARTITIONS`", re.I
)


def emulator(method, path, body=None):
    url = f"http://{ARGS.emulator}{path}"
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    req.add_header("Authorization", "Bearer fake")
    try:
        with urllib.request.urlopen(req, timeout=600) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def run(project, sql):
    """Rows of `sql` on the emulator, as lists of strings."""
    status, body = emulator(
        "POST",
        f"/bigquery/v2/projects/{project}/queries",
        {"query": sql, "useLegacySql": False, "timeoutMs": 600000},
    )
    v = json.loads(body or b"{}")
    if status != 200 or v.get("errors"):
        raise RuntimeError(f"{status} {body[:300]!r}")
    return [[c.get("v") for c in r.get("f", [])] for r in v.get("rows") or []]


def table_meta(project, dataset, table):
    status, body = emulator(
        "GET", f"/bigquery/v2/projects/{project}/datasets/{dataset}/tables/{table}"
    )
    return json.loads(body) if status == 200 else None


def partition_of(meta):
    """(column, SQL for a row's partition id over alias t, a filter admitting every row)
    or None."""
    tp = meta.get("timePartitioning")
    if not tp or not tp.get("field"):
        return None
    field = tp["field"]
    types = {f["name"].lower(): f["type"] for f in meta.get("schema", {}).get("fields", [])}
    ty = types.get(field.lower())
    fmt = {"DAY": "%Y%m%d", "MONTH": "%Y%m", "YEAR": "%Y"}.get(tp.get("type", "DAY"))
    if fmt is None:
        return None
    col = f"t.`{field}`"
    if ty == "DATE":
        f = f"FORMAT_DATE('{fmt}', {col})"
        low = "DATE '0001-01-01'"
    elif ty == "TIMESTAMP":
        f = f"FORMAT_TIMESTAMP('{fmt}', {col}, 'UTC')"
        low = "TIMESTAMP '0001-01-01 00:00:00+00'"
    else:
        return None
    # The fake's own queries need a partition filter too (the emulator enforces it).
    return field, f"IFNULL({f}, '__NULL__')", f"({col} IS NULL OR {col} >= {low})"


def balanced(text, start):
    """The text inside the parenthesis opening at text[start] ('(')."""
    depth, i, quote = 0, start, None
    while i < len(text):
        c = text[i]
        if quote:
            if c == "\\":
                i += 1
            elif c == quote:
                quote = None
        elif c in "'\"":
            quote = c
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return text[start + 1 : i]
        i += 1
    return None


def bill(project, sql):
    """(bytes processed, bytes billed, {table: partitions read}) or raises QueryError."""
    if INFO_PARTITIONS.search(sql) or "INFORMATION_SCHEMA" in sql.upper():
        return MIN_BILLED, MIN_BILLED, {}
    refs = {}
    for m in TABLE_REF.finditer(sql):
        key = ".".join(m.groups())
        after = sql[m.end() :]
        w = re.match(r"\s+AS\s+t\s+WHERE\s+\(", after)
        pred = balanced(after, w.end() - 1) if w else None
        refs.setdefault(key, []).append(pred)
    processed = billed = 0
    read = {}
    for key, preds in refs.items():
        p, d, t = key.split(".")
        meta = table_meta(p, d, t)
        if meta is None:
            continue
        rows = int(meta.get("numRows") or 0)
        per_row = int(meta.get("numBytes") or 0) / rows if rows else 0
        part = partition_of(meta)
        if part is None:
            b = int(meta.get("numBytes") or 0)
            read[key] = None
        else:
            field, pid, everything = part
            if meta.get("requirePartitionFilter") and any(
                pr is None or f"`{field}`".lower() not in pr.lower() for pr in preds
            ):
                raise QueryError(
                    f"Cannot query over table '{d}.{t}' without a filter over column(s) "
                    f"'{field}' that can be used for partition elimination"
                )
            ids = set()
            n = 0
            for pr in preds:
                where = f"WHERE ({pr}) AND {everything}" if pr else f"WHERE {everything}"
                got = run(
                    p,
                    f"SELECT {pid} AS p, COUNT(*) AS n FROM `{key}` AS t {where} GROUP BY p",
                )
                ids.update(r[0] for r in got)
            if ids:
                counts = run(
                    p,
                    f"SELECT {pid} AS p, COUNT(*) AS n FROM `{key}` AS t "
                    f"WHERE {everything} GROUP BY p",
                )
                n = sum(int(c[1]) for c in counts if c[0] in ids)
            b = int(n * per_row)
            read[key] = sorted(ids)
        processed += b
        billed += max(MIN_BILLED, -(-b // MIB) * MIB)
    return processed, billed, read


class QueryError(Exception):
    pass


def partitions_rows(project, dataset, table):
    """INFORMATION_SCHEMA.PARTITIONS rows of one table, with last_modified_time."""
    key = f"{project}.{dataset}.{table}"
    meta = table_meta(project, dataset, table)
    part = partition_of(meta or {})
    if part is None:
        return []
    _, pid, everything = part
    got = run(
        project,
        f"SELECT {pid} AS p, COUNT(*) AS n, "
        f"SUM(CAST(CONCAT('0x', SUBSTR(TO_HEX(MD5(TO_JSON_STRING(t))), 1, 12)) AS INT64)) AS h "
        f"FROM `{key}` AS t WHERE {everything} GROUP BY p",
    )
    now = int(time.time() * 1000)
    with LOCK:
        seen = MODIFIED.setdefault(key, {})
        out = []
        for p, n, h in got:
            digest = f"{n}:{h}"
            old = seen.get(p)
            if old is None or old[0] != digest:
                seen[p] = (digest, now)
            out.append((p, int(n), seen[p][1]))
    return out


def rewrite_info_partitions(sql):
    """Replace `p.d.INFORMATION_SCHEMA.PARTITIONS` with a literal table that has
    last_modified_time, for the table named in `table_name = '...'`."""
    m = INFO_PARTITIONS.search(sql)
    name = re.search(r"table_name\s*=\s*'([A-Za-z0-9_]+)'", sql)
    if not m or not name:
        return sql
    project, dataset = m.groups()
    rows = partitions_rows(project, dataset, name.group(1))
    structs = [
        f"STRUCT('{project}' AS table_catalog, '{dataset}' AS table_schema, "
        f"'{name.group(1)}' AS table_name, '{p}' AS partition_id, {n} AS total_rows, "
        f"TIMESTAMP_MILLIS({ms}) AS last_modified_time)"
        for p, n, ms in rows
    ]
    if not structs:
        structs = [
            "STRUCT('' AS table_catalog, '' AS table_schema, '' AS table_name, "
            "'' AS partition_id, 0 AS total_rows, TIMESTAMP_MILLIS(0) AS last_modified_time)"
        ]
        table = f"(SELECT * FROM UNNEST([{structs[0]}]) WHERE FALSE)"
    else:
        table = f"(SELECT * FROM UNNEST([{', '.join(structs)}]))"
    return sql[: m.start()] + table + sql[m.end() :]


# tables.get (not tabledata.list, not tables.list).
TABLES_GET = re.compile(r"/bigquery/v2/projects/[^/]+/datasets/[^/]+/tables/[^/?]+(\?.*)?$")


def log(entry):
    if ARGS.log:
        with LOCK, open(ARGS.log, "a") as f:
            f.write(json.dumps(entry) + "\n")


def patch_counts(v, processed, billed, dry_run):
    v["totalBytesProcessed"] = str(processed)
    if not dry_run:
        v["totalBytesBilled"] = str(billed)
    st = v.setdefault("statistics", {}) if "statistics" in v else None
    if st is not None:
        st["totalBytesProcessed"] = str(processed)
        q = st.setdefault("query", {})
        q["totalBytesProcessed"] = str(processed)
        if not dry_run:
            q["totalBytesBilled"] = str(billed)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, status, body):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else None

    def do_GET(self):
        status, body = emulator("GET", self.path)
        if TABLES_GET.match(self.path):
            log({"tables_get": self.path.split("?")[0], "status": status})
        m = re.search(r"/(?:queries|jobs)/([^/?]+)", self.path)
        if status == 200 and m and m.group(1) in JOBS:
            v = json.loads(body)
            processed, billed = JOBS[m.group(1)]
            patch_counts(v, processed, billed, False)
            if "/jobs/" in self.path:
                st = v.setdefault("statistics", {})
                st["totalBytesProcessed"] = str(processed)
                q = st.setdefault("query", {})
                q["totalBytesProcessed"] = str(processed)
                q["totalBytesBilled"] = str(billed)
            body = json.dumps(v).encode()
        self.reply(status, body)

    def do_DELETE(self):
        status, body = emulator("DELETE", self.path)
        self.reply(status, body)

    def do_PATCH(self):
        raw = self.body()
        status, body = emulator("PATCH", self.path, json.loads(raw) if raw else None)
        self.reply(status, body)

    def do_POST(self):
        raw = self.body()
        req = json.loads(raw) if raw else None
        m = re.match(r"/bigquery/v2/projects/([^/]+)/queries/?(\?.*)?$", self.path)
        if not m or not isinstance(req, dict) or "query" not in req:
            status, body = emulator("POST", self.path, req)
            return self.reply(status, body)
        project, sql = m.group(1), req["query"]
        dry_run = bool(req.get("dryRun"))
        if re.match(r"\s*(CREATE|INSERT|UPDATE|DELETE|MERGE|DROP|ALTER)\b", sql, re.I):
            status, body = emulator("POST", self.path, req)
            return self.reply(status, body)
        try:
            processed, billed, read = bill(project, sql)
            if INFO_PARTITIONS.search(sql):
                req = dict(req, query=rewrite_info_partitions(sql))
        except QueryError as e:
            err = {"code": 400, "message": str(e), "status": "INVALID_ARGUMENT",
                   "errors": [{"reason": "invalidQuery", "message": str(e)}]}
            return self.reply(400, json.dumps({"error": err}).encode())
        except Exception as e:  # the fake's own trouble: say so, as a 500
            err = {"code": 500, "message": f"fake_bigquery: {e}", "status": "INTERNAL",
                   "errors": [{"reason": "backendError", "message": str(e)}]}
            return self.reply(500, json.dumps({"error": err}).encode())
        if dry_run:
            # The emulator may not do dry runs; BigQuery answers with the estimate only.
            v = {"kind": "bigquery#queryResponse", "jobComplete": True,
                 "totalBytesProcessed": str(processed), "schema": {"fields": []},
                 "jobReference": {"projectId": project, "jobId": ""}}
            log({"sql": sql, "dry_run": True, "bytes_processed": processed,
                 "bytes_billed": 0, "tables": read})
            return self.reply(200, json.dumps(v).encode())
        status, body = emulator("POST", self.path, req)
        if status == 200:
            v = json.loads(body)
            job = (v.get("jobReference") or {}).get("jobId")
            if job:
                JOBS[job] = (processed, billed)
            patch_counts(v, processed, billed, False)
            body = json.dumps(v).encode()
            log({"sql": sql, "dry_run": False, "bytes_processed": processed,
                 "bytes_billed": billed, "tables": read})
        self.reply(status, body)


def main():
    global ARGS
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--emulator", required=True, help="HOST:PORT of the emulator")
    ap.add_argument("--log", help="append one JSON line per query here")
    ARGS = ap.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", ARGS.port), Handler)
    print(f"fake_bigquery: on 127.0.0.1:{ARGS.port} in front of {ARGS.emulator}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
