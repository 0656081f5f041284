"""Benchmark: the Excel weighted forecast through xlwings' Office.js dispatcher, against an identity
function on the same table, in the same run.

What is timed: one full round trip of ``xlwings.server.custom_functions_call`` — the payload the
Office.js client sends (a 10,000-row deals table as a 2-D array with Excel serial dates and nulls,
a stage/probability table, a period) in, the spilled array out:

* **forecast**: ``PIPE_WEIGHTED_FORECAST(Deals[#All], Stages[#All], "month")`` — argument
  conversion, table → DataFrame, the core's validation and weighted forecast, result conversion.
* **identity**: ``IDENTITY(Deals[#All])`` — a custom function taking the same table with the same
  argument converter and returning it unchanged: the dispatcher's own cost of moving the table
  in (and back out).
* **input only** (for reference): ``ROWS(Deals[#All])`` — the same table in, one cell out; the
  forecast's extra time over it is pipesheet's own (table → DataFrame, validation, forecast).

Target: forecast ≤ 1.3 × identity. Each figure is the median of ``--repeat`` runs (interleaved).

Run::

    .venv/bin/python benchmarks/bench_excel_dispatch.py [--rows 10000] [--repeat 7]
"""

from __future__ import annotations

import os

# xlwings' Office.js dispatcher is PRO code: noncommercial licence key, for this benchmark only.
os.environ["XLWINGS_ON_SERVER"] = "true"
os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")

import argparse
import asyncio
import statistics
import sys
import time
import types
from typing import Any

import numpy as np
import pandas as pd
import xlwings as xw
import xlwings.server as xls

import pipesheet.excel as excel
from pipesheet.sample import SAMPLE_STAGES, generate_pipeline
from pipesheet.tables import parse_dates

TARGET = 1.3
EPOCH = np.datetime64("1899-12-30", "ns")


@xw.func
@xw.arg("table", doc="Any table.", **excel.TABLE)
def IDENTITY(table):
    """Returns its argument unchanged (the dispatcher's baseline)."""
    return table


@xw.func
@xw.arg("table", doc="Any table.", **excel.TABLE)
def ROWS(table):
    """Returns the number of rows of its argument (the input side of the dispatcher alone)."""
    return len(table)


def office_js_range(frame: pd.DataFrame) -> list[list[Any]]:
    """A frame as the Office.js client sends a range: header, serial dates, nulls for blanks."""
    out = frame.astype(object)
    for col in ("Expected Close Date", "Created Date", "Closed Date"):
        dates = parse_dates(frame[col], table="deals", column=col).to_numpy()
        serials = (dates - EPOCH) / np.timedelta64(1, "D")
        out[col] = np.where(np.isnan(serials), None, serials).astype(object)
    body = out.where(out.notna(), None).to_numpy().tolist()
    return [list(frame.columns), *body]


def call(module: types.ModuleType, name: str, args: list[Any]) -> Any:
    payload = {
        "client": "Office.js",
        "func_name": name,
        "args": args,
        "caller_address": "Forecast!A1",
        "culture_info_name": "en-US",
        "date_format": "M/d/yyyy",
        "version": xw.__version__,
        "runtime": "1.4",
    }
    return asyncio.run(xls.custom_functions_call(payload, module))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args(argv)

    deals, _ = generate_pipeline(args.rows, seed=11)
    table = office_js_range(deals)
    stages = [["Stage", "Probability"], *[[s, 0.1 + 0.2 * i] for i, s in enumerate(SAMPLE_STAGES)]]
    module = types.ModuleType("bench_functions")
    module.IDENTITY = IDENTITY
    module.ROWS = ROWS
    module.PIPE_WEIGHTED_FORECAST = excel.PIPE_WEIGHTED_FORECAST
    rates = [["Currency", "Rate"], ["EUR", 1.0], ["USD", 0.92]]
    forecast_args = [table, stages, [["month"]], None, rates]

    result = call(module, "PIPE_WEIGHTED_FORECAST", forecast_args)  # warm-up, and a check
    if len(result) < 2 or result[0][:2] != ["period", "deals"]:
        print("forecast failed:", result, file=sys.stderr)
        return 1
    echoed = call(module, "IDENTITY", [table])
    if len(echoed) != len(table):
        print("identity failed", file=sys.stderr)
        return 1

    times: dict[str, list[float]] = {"identity": [], "rows": [], "forecast": []}
    for _ in range(args.repeat):
        for name, fn, fargs in (
            ("identity", "IDENTITY", [table]),
            ("rows", "ROWS", [table]),
            ("forecast", "PIPE_WEIGHTED_FORECAST", forecast_args),
        ):
            t0 = time.perf_counter()
            call(module, fn, fargs)
            times[name].append(time.perf_counter() - t0)
    ident = statistics.median(times["identity"])
    fc = statistics.median(times["forecast"])
    ratio = fc / ident
    rows_only = statistics.median(times["rows"])
    cells = len(table) * len(table[0])
    print(f"deals table: {args.rows:,} rows × {len(table[0])} columns ({cells:,} cells)")
    print(f"identity round trip : {ident * 1000:8.1f} ms (median of {args.repeat})")
    print(f"input only (ROWS)   : {rows_only * 1000:8.1f} ms (table in, one cell out)")
    print(f"forecast round trip : {fc * 1000:8.1f} ms ({len(result) - 1} periods spilled)")
    print(
        f"ratio forecast / identity: {ratio:.2f}× (target ≤ {TARGET}×) — "
        + ("OK" if ratio <= TARGET else "MISSED")
    )
    print(f"for reference, forecast / input only: {fc / rows_only:.2f}×")
    return 0 if ratio <= TARGET else 2


if __name__ == "__main__":
    raise SystemExit(main())
