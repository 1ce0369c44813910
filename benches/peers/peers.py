#!/usr/bin/env python3
"""Run one peer table-diff tool against the local BigQuery REST emulator and report one JSON line.

    peers.py --tool reladiff-joindiff|reladiff-hashdiff|data-diff-joindiff \
             --project P --table-a P.D.T --table-b P.D.T --key id \
             [--columns c1,c2,...] [--jobs-project J]

Needs BIGQUERY_EMULATOR_HOST=127.0.0.1:PORT and the venv made by ./setup (run it with that
venv's python). Prints on stdout exactly one JSON object:

    {"tool", "wall_s", "jobs", "reads_a", "reads_b", "rows_to_client",
     "only_in_a", "only_in_b", "changed", "error"}

Each tool runs the way its CLI runs by default (see README.md): one connection per URI
(both tables share it, as the CLI does when both sides name the same database), 1 thread per
database and a thread pool of 2 (the CLIs' --threads default), unique-key validation on
(joindiff), the default bisection factor/threshold (hashdiff). Without --columns every column
the two tables share is compared (the CLIs' `-c %`).
"""
import argparse
import json
import os
import re
import sys
import threading
import time
import uuid
import warnings

# google-api-core warns about the Python version's end of life on every import; not our concern.
warnings.filterwarnings("ignore", category=FutureWarning, module=r"google\.")

TOOLS = ("reladiff-joindiff", "reladiff-hashdiff", "data-diff-joindiff")

# The CLIs' default `--threads`: 1 worker per database, and a thread pool of threads * 2.
CLI_THREADS = 1
CLI_POOL = CLI_THREADS * 2


class Counters:
    def __init__(self, table_a, table_b):
        self.lock = threading.Lock()
        self.jobs = 0
        self.reads_a = 0
        self.reads_b = 0
        self.rows = 0
        self.sql = []  # every statement, for --show-sql
        self.job_rows = []  # rows handed to the client, per statement
        self.re_a = table_regex(table_a)
        self.re_b = table_regex(table_b)

    def job(self, sql):
        """Counts one job; returns its index (for add_rows)."""
        with self.lock:
            self.jobs += 1
            self.sql.append(sql)
            self.job_rows.append(0)
            if self.re_a.search(sql):
                self.reads_a += 1
            if self.re_b.search(sql):
                self.reads_b += 1
            return len(self.sql) - 1

    def add_rows(self, index, n):
        with self.lock:
            self.rows += n
            self.job_rows[index] += n


def table_regex(path):
    """Matches P.D.T in SQL however it is quoted (`P.D.T`, `P`.`D`.`T`, P.D.T), as a whole name."""
    parts = [re.escape(p) for p in path.split(".")]
    dot = r"`?\s*\.\s*`?"
    return re.compile(r"(?<![\w-])`?" + dot.join(parts) + r"`?(?![\w-])", re.IGNORECASE)


class CountingRows:
    """Wraps a RowIterator: counts each row handed to the caller; everything else is delegated."""

    def __init__(self, inner, counters, index):
        self._inner = inner
        self._counters = counters
        self._index = index

    def __iter__(self):
        n = 0
        try:
            for row in self._inner:
                n += 1
                yield row
        finally:
            self._counters.add_rows(self._index, n)

    def __getattr__(self, name):
        return getattr(self._inner, name)


def patch_bigquery(endpoint, counters):
    """Make every google.cloud.bigquery.Client talk to the emulator, anonymously, and count jobs."""
    from google.api_core.client_options import ClientOptions
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import bigquery

    base = bigquery.Client

    def sql_text(query):
        # PATCH (reladiff 0.6.0, through sqeleton 0.1.7): sqeleton's apply_query() wraps every
        # statement in a CompiledCode(code, args, type) and its BigQuery._query_atom hands that
        # object, not its text, to Client.query(), which fails on the very first query with
        # "expected string or bytes-like object, got 'CompiledCode'". Unwrap it to its SQL text.
        # BigQuery's dialect binds no arguments (args == []); anything else is refused.
        if not isinstance(query, str) and hasattr(query, "code") and hasattr(query, "args"):
            if query.args:
                raise ValueError(f"unexpected bound arguments for BigQuery: {query.args!r}")
            return query.code
        return query

    class EmulatorClient(base):
        def __init__(self, project=None, credentials=None, *args, **kw):
            # Whatever credentials the tool passes (None, a keyfile's, ...): anonymous, to the emulator.
            kw["client_options"] = ClientOptions(api_endpoint=endpoint)
            super().__init__(project, AnonymousCredentials(), *args, **kw)

        def query(self, query, *args, **kwargs):
            query = sql_text(query)
            index = counters.job(query)
            job = super().query(query, *args, **kwargs)
            inner_result = job.result

            def result(*a, **k):
                return CountingRows(inner_result(*a, **k), counters, index)

            job.result = result
            return job

        def query_and_wait(self, query, *args, **kwargs):
            query = sql_text(query)
            index = counters.job(query)
            return CountingRows(super().query_and_wait(query, *args, **kwargs), counters, index)

        # Job-running APIs the tools do not use today; counted (no SQL text) if they ever do.
        def _count_other(name):
            def method(self, *args, **kwargs):
                counters.job("")
                return getattr(base, name)(self, *args, **kwargs)
            return method

        load_table_from_uri = _count_other("load_table_from_uri")
        load_table_from_file = _count_other("load_table_from_file")
        load_table_from_dataframe = _count_other("load_table_from_dataframe")
        load_table_from_json = _count_other("load_table_from_json")
        copy_table = _count_other("copy_table")
        extract_table = _count_other("extract_table")
        del _count_other

    bigquery.Client = EmulatorClient


def summarize(diff, n_keys):
    """('-', row) / ('+', row) tuples -> (only_in_a, only_in_b, changed), keyed on the key columns."""
    minus, plus = set(), set()
    for sign, row in diff:
        key = tuple(row[:n_keys])
        (minus if sign == "-" else plus).add(key)
    return len(minus - plus), len(plus - minus), len(minus & plus)


def run_reladiff(algorithm, uri, table_a, table_b, keys, columns):
    from reladiff import HashDiffer, JoinDiffer, TableSegment
    from reladiff.databases import connect
    from reladiff.hashdiff_tables import DEFAULT_BISECTION_FACTOR, DEFAULT_BISECTION_THRESHOLD
    from reladiff.__main__ import _get_schema
    from sqeleton.schema import create_schema

    db = connect(uri, CLI_THREADS)  # the CLI: db2 = db1 when both URIs are the same
    if algorithm == "joindiff":
        differ = JoinDiffer(threaded=True, max_threadpool_size=CLI_POOL, validate_unique_key=True)
    else:
        differ = HashDiffer(
            bisection_factor=DEFAULT_BISECTION_FACTOR,
            bisection_threshold=DEFAULT_BISECTION_THRESHOLD,
            threaded=True,
            max_threadpool_size=CLI_POOL,
        )
    paths = [db.parse_table_name(t) for t in (table_a, table_b)]
    raw = list(differ._thread_map(_get_schema, [(db, p) for p in paths]))
    schemas = [create_schema(db, p, s, False) for p, s in zip(paths, raw)]
    cols = pick_columns(columns, schemas, keys)
    segments = [
        TableSegment(db, p, tuple(keys), None, cols, case_sensitive=False)._with_raw_schema(s)
        for p, s in zip(paths, raw)
    ]
    return db, differ.diff_tables(*segments)


def run_data_diff(uri, table_a, table_b, keys, columns):
    import data_diff
    from data_diff import JoinDiffer, TableSegment
    from data_diff.databases._connect import connect
    from data_diff.__main__ import _get_schema
    from data_diff.schema import create_schema

    data_diff.disable_tracking()  # no usage events sent to its vendor (no network here anyway)
    db = connect(uri, CLI_THREADS)
    differ = JoinDiffer(threaded=True, max_threadpool_size=CLI_POOL, validate_unique_key=True)
    paths = [db.dialect.parse_table_name(t) for t in (table_a, table_b)]
    raw = list(differ._thread_map(_get_schema, [(db, p) for p in paths]))
    schemas = [create_schema(db.name, p, s, False) for p, s in zip(paths, raw)]
    cols = pick_columns(columns, schemas, keys)
    segments = [
        TableSegment(db, p, tuple(keys), None, cols, case_sensitive=False)._with_raw_schema(s)
        for p, s in zip(paths, raw)
    ]
    return db, differ.diff_tables(*segments)


def pick_columns(columns, schemas, keys):
    lower_keys = {k.lower() for k in keys}
    if columns:
        return tuple(c for c in columns if c.lower() not in lower_keys)
    mutual = schemas[0].keys() & schemas[1].keys()
    # Keep table A's column order, as a user listing them would.
    return tuple(c for c in schemas[0].keys() if c in mutual and c.lower() not in lower_keys)


def venv_python():
    base = os.environ.get("BQCHECK_PEERS_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "bqcheck", "peers")
    return os.path.join(base, "venv", "bin", "python")


def main():
    # Run under the venv ./setup made, whatever python started this script.
    py = venv_python()
    if os.path.realpath(sys.prefix) != os.path.realpath(os.path.dirname(os.path.dirname(py))) \
            and os.path.exists(py) and not os.environ.get("BQCHECK_PEERS_NO_REEXEC"):
        os.execv(py, [py, os.path.abspath(__file__)] + sys.argv[1:])
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tool", required=True, choices=TOOLS)
    ap.add_argument("--project", required=True, help="project of the tables (default job project)")
    ap.add_argument("--table-a", required=True, help="P.D.T")
    ap.add_argument("--table-b", required=True, help="P.D.T")
    ap.add_argument("--key", required=True, help="key column(s), comma-separated")
    ap.add_argument("--columns", help="columns to compare, comma-separated (default: all shared)")
    ap.add_argument("--jobs-project",
                    help="project the tool runs its jobs in (default: a fresh one per run, "
                         "'<project>-peers-<8 hex>', so each run's jobs are listed apart)")
    ap.add_argument("--show-sql", action="store_true", help="also print every statement to stderr")
    args = ap.parse_args()

    out = dict(tool=args.tool, wall_s=None, jobs=0, reads_a=0, reads_b=0, rows_to_client=0,
               only_in_a=None, only_in_b=None, changed=None, error=None)

    host = os.environ.get("BIGQUERY_EMULATOR_HOST", "").strip()
    if not host:
        out["error"] = "BIGQUERY_EMULATOR_HOST is not set (want 127.0.0.1:PORT)"
        print(json.dumps(out))
        return 2
    endpoint = host if host.startswith(("http://", "https://")) else "http://" + host

    for t in (args.table_a, args.table_b):
        if len(t.split(".")) != 3:
            out["error"] = f"table {t!r} is not P.D.T"
            print(json.dumps(out))
            return 2
    keys = [k.strip() for k in args.key.split(",") if k.strip()]
    columns = [c.strip() for c in args.columns.split(",") if c.strip()] if args.columns else None
    jobs_project = args.jobs_project or f"{args.project}-peers-{uuid.uuid4().hex[:8]}"
    # The tools' BigQuery URI is bigquery://<project>/<dataset>: <project> is the client's, so
    # the one jobs run in; fully qualified table names let it differ from the tables' project.
    dataset = args.table_a.split(".")[1]
    uri = f"bigquery://{jobs_project}/{dataset}"

    counters = Counters(args.table_a, args.table_b)
    # Imports (including the tool's own) happen before the clock starts: start-up is not timed.
    patch_bigquery(endpoint, counters)
    if args.tool.startswith("reladiff"):
        import reladiff  # noqa: F401
        import reladiff.__main__  # noqa: F401
    else:
        import data_diff  # noqa: F401
        import data_diff.__main__  # noqa: F401

    db = None
    t0 = time.perf_counter()
    try:
        if args.tool == "data-diff-joindiff":
            db, diff = run_data_diff(uri, args.table_a, args.table_b, keys, columns)
        else:
            algorithm = args.tool.split("-", 1)[1]
            db, diff = run_reladiff(algorithm, uri, args.table_a, args.table_b, keys, columns)
        only_a, only_b, changed = summarize(diff, len(keys))
        out.update(only_in_a=only_a, only_in_b=only_b, changed=changed)
    except BaseException as e:  # noqa: BLE001 — report whatever the tool raised
        msg = f"{type(e).__name__}: {e}"
        out["error"] = re.sub(r"\s+", " ", msg).strip()[:2000]
    out["wall_s"] = round(time.perf_counter() - t0, 3)
    try:
        if db is not None:
            db.close()
    except Exception:
        pass
    out.update(jobs=counters.jobs, reads_a=counters.reads_a, reads_b=counters.reads_b,
               rows_to_client=counters.rows)
    if args.show_sql:
        for i, (s, n) in enumerate(zip(counters.sql, counters.job_rows), 1):
            print(f"-- job {i}: {n} rows to client\n{s}\n", file=sys.stderr)
    print(json.dumps(out))
    return 0 if out["error"] is None else 1


if __name__ == "__main__":
    sys.exit(main())
