"""Benchmark: ``pipesheet report`` on 100,000 deals / 1,000,000 history rows vs just reading.

Baseline (same run): reading the two input workbooks with pandas' calamine engine
(``pd.read_excel(engine="calamine")``).  Measured: read the exports + compute every sheet + write
the report workbook (:func:`pipesheet.report.build_report` + :func:`write_report`).
Target: ≤ 3× the baseline.  The inputs are generated once (``pipesheet.sample.generate_pipeline``;
the history carries OpportunityHistory-like repeated rows with amounts, to reach 1,000,000 rows)
and cached in ``--cache`` (default: the system temp folder).

    python benchmarks/bench_report.py [--deals 100000] [--history-rows 1000000] [--repeat 1]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd


def _write_xlsx(frame: pd.DataFrame, path: Path) -> None:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Data")
    ws.append([str(c) for c in frame.columns])
    cols = [frame[c].to_numpy(dtype=object) for c in frame.columns]
    for i in range(len(frame)):
        ws.append([None if (isinstance(v, float) and v != v) else v for v in (c[i] for c in cols)])
    tmp = path.with_suffix(".part.xlsx")
    wb.save(tmp)
    tmp.replace(path)


def make_inputs(n_deals: int, n_history: int, cache: Path) -> tuple[Path, Path]:
    from pipesheet.sample import generate_pipeline

    deals_path = cache / f"bench_deals_{n_deals}.xlsx"
    hist_path = cache / f"bench_history_{n_deals}_{n_history}.xlsx"
    if deals_path.exists() and hist_path.exists():
        return deals_path, hist_path
    deals, history = generate_pipeline(n_deals, seed=1, dirty=False)
    deals = deals.drop(columns=["Currency"])  # one currency: no rates file needed
    # OpportunityHistory-like: a deal's row is repeated (amount edits on the same stage visit)
    reps = max(1, int(np.ceil(n_history / len(history))))
    rng = np.random.default_rng(1)
    extra = np.clip(rng.poisson(reps - 1, len(history)), 0, 3 * reps)
    history = history.loc[history.index.repeat(1 + extra)].reset_index(drop=True)[:n_history]
    history["Amount"] = history["Deal ID"].map(deals.set_index("Deal ID")["Amount"])
    for col in ("Expected Close Date", "Created Date", "Closed Date"):
        deals[col] = pd.to_datetime(deals[col])
    history["Entered Date"] = pd.to_datetime(history["Entered Date"])
    print(f"writing inputs: {len(deals):,} deals, {len(history):,} history rows (once)")
    _write_xlsx(deals, deals_path)
    _write_xlsx(history, hist_path)
    return deals_path, hist_path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--deals", type=int, default=100_000)
    ap.add_argument("--history-rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--cache", default=tempfile.gettempdir())
    args = ap.parse_args()
    from pipesheet.report import build_report, write_report

    deals_path, hist_path = make_inputs(args.deals, args.history_rows, Path(args.cache))
    base, full = [], []
    out = Path(tempfile.mkdtemp()) / "report.xlsx"
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        d = pd.read_excel(deals_path, engine="calamine")
        h = pd.read_excel(hist_path, engine="calamine")
        base.append(time.perf_counter() - t0)
        assert len(d) == args.deals and len(h) == args.history_rows
        t0 = time.perf_counter()
        report = build_report(deals_path, hist_path, progress=False)
        write_report(report, out, force=True)
        full.append(time.perf_counter() - t0)
    b, f = min(base), min(full)
    print(f"deals {args.deals:,}, history rows {args.history_rows:,}")
    print(f"read inputs with calamine:           {b:8.2f} s")
    print(f"read + compute + write the report:   {f:8.2f} s")
    print(f"ratio: {f / b:.2f}x (target <= 3x) -> {'OK' if f / b <= 3 else 'OVER TARGET'}")


if __name__ == "__main__":
    main()
