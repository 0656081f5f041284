"""Benchmark: stage probabilities on 1M, 10M and 100M-row histories, on each engine, against the
same aggregation written as one DuckDB SQL query — all in one run, printing ratios.

The histories (generated once, cached as Parquet under ``.cache/bench_scale/``, git-ignored):
the random walk of ``bench_stage_probabilities.py`` — ~10 rows per deal over 8 open stages plus
"Closed Won"/"Closed Lost", moves forward, back (≈20%) and skipping (≈10%), ~15% of deals still
open; deal ids are text (``OPP-0001234``), stage names text, entry dates ``DATE``. Rows are
grouped by deal (as exports list them); the *shuffled* case puts them in random order.

What is timed, each against the DuckDB query on the same data (its counts must be identical):

* **in memory (pandas)**: ``StageProbabilities().fit(frame)`` on the history as a pandas frame
  (``pd.read_parquet``: text ids and stages, datetime64 dates), and the DuckDB SQL query over that
  same frame (DuckDB scans it in place) — 1M, 1M shuffled, 10M, 10M shuffled. Target ≤ 1.0×.
* **DuckDB**: ``StageProbabilities().fit(con.read_parquet(path))`` — the counting runs in DuckDB
  (:mod:`pipesheet.summaries`), only small arrays come back — and the SQL query over the same
  Parquet file, each in a fresh subprocess whose peak RSS is measured: 1M, 10M, 100M. Target at
  100M: ≤ 1.2× and peak RSS ≤ 4 GB.
* **Polars** (``pl.scan_parquet``) at 1M and 10M; **Spark** (local mode) at 1M with ``--spark``.

pipesheet infers the stage order from the history (the query is given it) and checks every
label, id and date; the query does neither. DuckDB uses every core (``threads`` is printed).

Run::

    .venv/bin/python benchmarks/bench_scale.py                 # 1M, 10M, 100M (generates once)
    .venv/bin/python benchmarks/bench_scale.py --sizes 1000000 10000000 --repeat 3
    .venv/bin/python benchmarks/bench_scale.py --spark

The machine this was written on has 2 cores and 24 GB, shared with other jobs: the load average
is printed with the figures. Page faults: see ``bench_stage_probabilities.py``'s notes.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".cache" / "bench_scale"
OPEN_STAGES = (
    "1 - Prospect",
    "2 - Qualify",
    "3 - Discovery",
    "4 - Demo",
    "5 - Proposal",
    "6 - Negotiation",
    "7 - Verbal",
    "8 - Contract",
)
WON, LOST = "Closed Won", "Closed Lost"
CHUNK_DEALS = 500_000

DUCKDB_SQL = f"""
WITH final AS (
    SELECT deal, CASE arg_max(stage, entered) WHEN '{WON}' THEN 'won' WHEN '{LOST}' THEN 'lost'
                 ELSE 'open' END AS outcome
    FROM history GROUP BY deal
),
reached AS (SELECT DISTINCT deal, stage FROM history WHERE stage NOT IN ('{WON}', '{LOST}'))
SELECT r.stage, count(*) AS reached,
       count(*) FILTER (WHERE f.outcome = 'won') AS won,
       count(*) FILTER (WHERE f.outcome = 'lost') AS lost,
       count(*) FILTER (WHERE f.outcome = 'open') AS open
FROM reached r JOIN final f USING (deal) GROUP BY r.stage
"""
# the history's own headers, renamed for the query
HISTORY_VIEW = 'SELECT "Deal ID" AS deal, "Stage" AS stage, "Entered Date" AS entered FROM {source}'


# ---- the data ---------------------------------------------------------------------------------


def _walk(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(deal, stage code, day) rows of ``n`` deals, grouped by deal, in date order."""
    k = len(OPEN_STAGES)
    stage = np.where(rng.random(n) < 0.15, rng.integers(1, 3, n), 0)
    day = rng.integers(0, 730, n) + 20_000
    parts = [(np.arange(n), stage.copy(), day.copy())]
    active = np.ones(n, dtype=bool)
    for _ in range(200):
        idx = np.flatnonzero(active)
        if not len(idx):
            break
        s = stage[idx]
        u = rng.random(len(idx))
        p_won = 0.012 + 0.02 * s / (k - 1)
        won = u < p_won
        lost = (u >= p_won) & (u < p_won + 0.07)
        cens = (u >= p_won + 0.07) & (u < p_won + 0.082)
        move = ~(won | lost | cens)
        v = rng.random(len(idx))
        step = np.where(v < 0.2, -1, np.where(v < 0.3, 2, 1))
        nxt = np.clip(s + step, 0, k - 1)
        nxt = np.where(nxt == s, np.where(s == 0, 1, s - 1), nxt)
        new = np.where(won, k, np.where(lost, k + 1, nxt))
        rec = ~cens
        stage[idx[rec]] = new[rec]
        day[idx[rec]] += rng.integers(1, 21, len(idx))[rec]
        parts.append((idx[rec], new[rec], day[idx[rec]].copy()))
        active[idx[~move]] = False
    deal = np.concatenate([p[0] for p in parts])
    code = np.concatenate([p[1] for p in parts])
    days = np.concatenate([p[2] for p in parts])
    order = np.lexsort((days, deal))
    return deal[order], code[order], days[order]


def history_file(n_rows: int, shuffled: bool = False) -> Path:
    """The cached Parquet history of about ``n_rows`` rows (generated on first use)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"history_{n_rows}{'_shuffled' if shuffled else ''}.parquet"
    if path.exists():
        return path
    if shuffled:  # the same rows in random order (DuckDB shuffles; pipesheet reads it as is)
        import duckdb

        source = history_file(n_rows)
        con = duckdb.connect()
        con.execute(
            f"COPY (SELECT * FROM read_parquet('{source}') ORDER BY hash(\"Deal ID\", "
            f'"Entered Date", "Stage")) TO \'{path}\' (FORMAT parquet)'
        )
        return path
    print(f"  generating {n_rows:,} rows → {path} (once)", flush=True)
    rng = np.random.default_rng(1)
    names = pa.array([*OPEN_STAGES, WON, LOST])
    writer = None
    n_deals = max(n_rows // 10, 1)
    for start in range(0, n_deals, CHUNK_DEALS):
        n = min(CHUNK_DEALS, n_deals - start)
        deal, code, days = _walk(n, rng)
        ids = pc.binary_join_element_wise(
            "OPP-", pc.utf8_lpad(pc.cast(pa.array(deal + start), pa.string()), 7, "0"), ""
        )
        stage = pc.take(names, pa.array(code))
        dates = pa.array(days.astype("datetime64[D]"), type=pa.date32())
        table = pa.table({"Deal ID": ids, "Stage": stage, "Entered Date": dates})
        if writer is None:
            writer = pq.ParquetWriter(str(path) + ".part", table.schema)
        writer.write_table(table)
    writer.close()
    os.replace(str(path) + ".part", path)
    return path


# ---- the runs ---------------------------------------------------------------------------------


def canon(frame: pd.DataFrame) -> list[tuple]:
    """(stage, reached, won, lost, open) rows, sorted by stage."""
    rows = frame[["stage", "reached", "won", "lost", "open"]].itertuples(index=False)
    return sorted((str(r[0]), *(int(x) for x in r[1:])) for r in rows)


def run_query(source_sql: str, con) -> list[tuple]:
    view = HISTORY_VIEW.format(source=source_sql)
    return canon(con.execute(f"WITH history AS ({view}), {DUCKDB_SQL.strip()[5:]}").df())


def run_pipesheet(history) -> list[tuple]:
    from pipesheet import StageProbabilities

    model = StageProbabilities().fit(history)
    assert model.stages_.open == OPEN_STAGES, model.stages_.open
    return canon(model.table_)


def best_of(fn, repeat: int) -> tuple[float, object]:
    best, result = np.inf, None
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


CHILD = r"""
import json, os, resource, sys, time
sys.path.insert(0, {src!r})
sys.path.insert(0, {bench!r})
import duckdb
from bench_scale import run_pipesheet, run_query
import narwhals, pipesheet.summaries, pipesheet.probabilities  # imports are not timed
con = duckdb.connect()
con.execute("SET enable_progress_bar = false")
path, what = {path!r}, {what!r}
t0 = time.perf_counter()
if what == "query":
    out = run_query(f"read_parquet('{{path}}')", con)
elif what == "polars":
    import polars as pl
    out = run_pipesheet(pl.scan_parquet(path))
else:
    out = run_pipesheet(con.read_parquet(path))
elapsed = time.perf_counter() - t0
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({{"seconds": elapsed, "rss": rss, "counts": out, "pid": os.getpid()}}))
"""


def in_subprocess(path: Path, what: str) -> dict:
    """Run one measurement in a fresh Python: its time and its peak RSS."""
    code = CHILD.format(
        src=str(ROOT / "src"), bench=str(Path(__file__).parent), path=str(path), what=what
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    if proc.returncode:
        raise RuntimeError(f"{what} on {path.name} failed:\n{proc.stderr[-3000:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["counts"] = [tuple(r) for r in out["counts"]]
    return out


def best_subprocess(path: Path, what: str, repeat: int) -> dict:
    runs = [in_subprocess(path, what) for _ in range(repeat)]
    best = min(runs, key=lambda r: r["seconds"])
    best["rss"] = max(r["rss"] for r in runs)
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000, 100_000_000]
    )
    parser.add_argument("--repeat", type=int, default=3, help="best of (at most 2 at 100M)")
    parser.add_argument("--memory-max", type=int, default=10_000_000, help="largest in-memory size")
    parser.add_argument("--polars-max", type=int, default=10_000_000)
    parser.add_argument("--spark", action="store_true", help="also Spark (local) at the smallest")
    args = parser.parse_args(argv)

    import duckdb

    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    threads = con.execute("SELECT current_setting('threads')").fetchall()[0][0]
    print(
        f"cores: {os.cpu_count()}, load average: {', '.join(f'{x:.1f}' for x in os.getloadavg())}"
        f", duckdb {duckdb.__version__} (threads {threads}), pandas {pd.__version__}, "
        f"numpy {np.__version__}"
    )
    status = 0
    rows_out = []

    def report(label: str, t_ps: float, t_db: float, same: bool, rss: float | None = None):
        nonlocal status
        extra = f", peak RSS {rss / 2**30:.2f} GB" if rss is not None else ""
        print(
            f"  {label:<34} pipesheet {t_ps:8.2f} s   query {t_db:8.2f} s   "
            f"ratio {t_ps / t_db:5.2f}{extra}   identical: {'yes' if same else 'NO'}",
            flush=True,
        )
        rows_out.append((label, t_ps, t_db, t_ps / t_db, rss, same))
        if not same:
            status = 1

    for n_rows in args.sizes:
        path = history_file(n_rows)
        n = pq_rows(path)
        print(
            f"\n== {n:,} history rows ({path.stat().st_size / 2**20:,.0f} MB Parquet)", flush=True
        )
        repeat = args.repeat if n_rows <= 10_000_000 else min(args.repeat, 2)
        if n_rows <= args.memory_max:
            for shuffled in (False, True):
                frame = pd.read_parquet(history_file(n_rows, shuffled))
                con.register("frame", frame)
                t_ps, r_ps = best_of(lambda f=frame: run_pipesheet(f), repeat)
                t_db, r_db = best_of(lambda: run_query("frame", con), repeat)
                con.unregister("frame")
                label = f"in memory (pandas){' shuffled' if shuffled else ''}"
                report(label, t_ps, t_db, r_ps == r_db)
                del frame
                gc.collect()
        query = best_subprocess(path, "query", repeat)
        mine = best_subprocess(path, "duckdb", repeat)
        report(
            "DuckDB (Parquet, subprocess)",
            mine["seconds"],
            query["seconds"],
            mine["counts"] == query["counts"],
            mine["rss"],
        )
        print(f"  {'':<34} (the query alone: peak RSS {query['rss'] / 2**30:.2f} GB)")
        if n_rows <= args.polars_max:
            pol = best_subprocess(path, "polars", repeat)
            report(
                "Polars (scan_parquet, subprocess)",
                pol["seconds"],
                query["seconds"],
                pol["counts"] == query["counts"],
                pol["rss"],
            )
        if args.spark and n_rows == min(args.sizes):
            t_sp, same = spark_run(path, query["counts"])
            report("Spark (local[2], Parquet)", t_sp, query["seconds"], same)
    print(f"\nload average at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    return status


def pq_rows(path: Path) -> int:
    import pyarrow.parquet as pq

    return pq.ParquetFile(str(path)).metadata.num_rows


def spark_run(path: Path, expected) -> tuple[float, bool]:
    import warnings

    from pyspark.sql import SparkSession

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        spark = (
            SparkSession.builder.master("local[2]")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.shuffle.partitions", "8")
            .getOrCreate()
        )
    spark.sparkContext.setLogLevel("ERROR")
    frame = spark.read.parquet(str(path))
    t0 = time.perf_counter()
    out = run_pipesheet(frame)
    elapsed = time.perf_counter() - t0
    spark.stop()
    return elapsed, out == expected


if __name__ == "__main__":
    sys.exit(main())
