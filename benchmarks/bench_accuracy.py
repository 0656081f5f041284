"""Forecast accuracy on generated pipelines with known processes (issue 9).

For every scenario of :data:`pipesheet.simulate.SCENARIOS` (a stationary pipeline; deals that
stay open far past any closed deal's age; quarter-end pushes; reps with different win rates;
slipping close dates; stage skipping; win rates drifting; a few very large deals; all at once),
forecast the last periods of generated pipelines as of the day before each period with the naive
weighted pipeline, the time-aware forecast and the calibrated forecast, and print per scenario:
MAPE, bias, P10–P90 coverage, share above P50 and Brier skill — all from one run.

Targets (calibrated): mean |error| ≤ 15% and coverage 70–90% on every scenario.

Run: .venv/bin/python benchmarks/bench_accuracy.py [--seeds 4] [--periods 6] [--period quarter]
"""

from __future__ import annotations

import argparse
import time

import pandas as pd

from pipesheet.simulate import SCENARIOS, accuracy_table, evaluate_forecasts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=4, help="generated pipelines per scenario")
    parser.add_argument("--periods", type=int, default=6, help="periods forecast per pipeline")
    parser.add_argument("--period", choices=["quarter", "month"], default="quarter")
    parser.add_argument("--scenario", action="append", help="only these scenarios")
    args = parser.parse_args()
    names = args.scenario or list(SCENARIOS)
    started = time.perf_counter()
    frames = []
    for name in names:
        t = time.perf_counter()
        frames.append(
            evaluate_forecasts(
                name, tuple(range(1, args.seeds + 1)), period=args.period, periods=args.periods
            )
        )
        print(f"  {name:12s} {time.perf_counter() - t:6.1f} s", flush=True)
    table = accuracy_table(pd.concat(frames, ignore_index=True))
    pd.set_option("display.width", 160)
    shown = table.copy()
    for col in ("mape", "bias", "coverage", "above_p50", "brier_skill"):
        shown[col] = shown[col].map(lambda v: f"{v * 100:6.1f}%")
    print()
    print(shown.to_string(index=False))
    cal = table[table["method"] == "calibrated"]
    ok_mape = (cal["mape"] <= 0.15).all()
    ok_cov = cal["coverage"].between(0.70, 0.90).all()
    print()
    print(
        f"calibrated: mean |error| ≤ 15% on every scenario: {'yes' if ok_mape else 'NO'} "
        f"(worst {cal['mape'].max() * 100:.1f}%); coverage 70–90% on every scenario: "
        f"{'yes' if ok_cov else 'NO'} (range {cal['coverage'].min() * 100:.0f}–"
        f"{cal['coverage'].max() * 100:.0f}%)"
    )
    print(f"total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
