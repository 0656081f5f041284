"""Time-aware forecast and backtest on 100,000 generated deals, as a ratio to reading the tables.

Run: .venv/bin/python benchmarks/bench_timeaware.py [n_deals]
"""

import sys
import time

from pipesheet import backtest, read_deals, read_history, time_aware_forecast
from pipesheet.sample import generate_pipeline

RATES = {"EUR": 1.0, "USD": 0.92}


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    deals, history = generate_pipeline(n, seed=1, dirty=False)
    t = time.perf_counter()
    hist = read_history(history)
    table = read_deals(deals, stages=hist.stages)
    read = time.perf_counter() - t
    t = time.perf_counter()
    time_aware_forecast(hist, table, "quarter", as_of="2026-08-15", rates=RATES)
    forecast = time.perf_counter() - t
    t = time.perf_counter()
    backtest(hist, table, "2026-01-01", periods=6, rates=RATES)
    bt = time.perf_counter() - t
    print(f"{n:,} deals, {len(history):,} history rows")
    print(f"read (baseline)        {read:7.2f} s")
    print(f"time-aware forecast    {forecast:7.2f} s  ({forecast / read:.1f}x read)")
    print(f"backtest, 6 months     {bt:7.2f} s  ({bt / read:.1f}x read)")


if __name__ == "__main__":
    main()
