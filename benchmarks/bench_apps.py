"""Apps benchmark: how long an input change takes to re-render, on a 10,000-deal pipeline.

Measures the widget-level update (set a widget's value → every observer has recomputed with the
core and re-rendered its tables and PNG charts), which is what the browser waits for before the
kernel sends the new state. Prints the median of several repeats, the ratio to the 300 ms target
(≤ 1 passes) and, as a baseline measured in the same run, the core call alone behind it.

    .venv/bin/python benchmarks/bench_apps.py [--deals 10000] [--repeats 5]

First render in a browser (≤ 5 s) is measured by tests/e2e/test_voila_apps.py
(artifacts/first_render.json); this script also prints the in-kernel construction time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time

TARGET_S = 0.300


def _median(fn, repeats: int) -> float:
    times = []
    for i in range(repeats):
        start = time.perf_counter()
        fn(i)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deals", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)

    from pipesheet import StageProbabilities, weighted_forecast
    from pipesheet.apps import Dashboard, LeadPlanner
    from pipesheet.sample import generate_pipeline, sample_rates

    deals, history = generate_pipeline(args.deals, seed=11)
    rates = sample_rates()
    start = time.perf_counter()
    app = Dashboard(deals, history, rates, source="benchmark")
    build = time.perf_counter() - start
    assert app.error == "", app.error
    print(f"pipeline: {len(deals):,} deals, {len(history):,} history rows")
    print(f"dashboard construction (first render in the kernel): {build * 1000:.0f} ms")

    sp = StageProbabilities().fit(history, deals)
    rate_map = rates.set_index("Currency")["Rate"].to_dict()
    baseline = _median(
        lambda _i: weighted_forecast(sp.deals_, sp, period="quarter", rates=rate_map),
        args.repeats,
    )
    print(f"baseline (core weighted_forecast alone): {baseline * 1000:.0f} ms\n")

    owners = [o for o in app.filter.options]  # filled once grouped by owner
    periods = list(app.range_period.options)
    rows = []

    def change(widget, values):
        return lambda i: setattr(widget, "value", values[i % len(values)])

    def uncached(step):
        """The same change with the time-aware fits forgotten (a period not seen before)."""

        def run(i):
            app._time_aware_cache.clear()
            app._naive_cache.clear()
            step(i)

        return run

    cases = [
        ("quota", change(app.quota, [2_500_000, 3_000_000, 3_500_000])),
        ("range period", change(app.range_period, periods[:3] or periods)),
        ("range period, no cache", uncached(change(app.range_period, periods[:3] or periods))),
        ("group by", change(app.group, ["owner", "segment", "country", ""])),
    ]
    for name, fn in cases:
        rows.append((name, _median(fn, args.repeats)))
    app.group.value = "owner"
    owners = list(app.filter.options)[1:4]
    rows.append(("filter (owner)", _median(change(app.filter, owners), args.repeats)))
    app.group.value = ""
    rows.append(("period", _median(change(app.period, ["month", "quarter"]), args.repeats)))
    rows.append(
        ("probabilities", _median(change(app.method, ["configured", "cohort"]), args.repeats))
    )

    planner = LeadPlanner(today=dt.date(2026, 10, 1))
    targets = [1_500_000, 2_000_000, 2_500_000]
    rows.append(("lead planner: target", _median(change(planner.target, targets), args.repeats)))

    print(f"{'input change':<24}{'median ms':>10}{'vs 300 ms':>11}{'vs baseline':>13}")
    worst = 0.0
    for name, seconds in rows:
        ratio = seconds / TARGET_S
        worst = max(worst, ratio)
        print(f"{name:<24}{seconds * 1000:>10.0f}{ratio:>10.2f}x{seconds / baseline:>12.1f}x")
    print(f"\nworst ratio to the 300 ms target: {worst:.2f} ({'met' if worst <= 1 else 'NOT met'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
