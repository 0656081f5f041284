"""Benchmark: the forecast range of 100,000 open deals, against a Monte Carlo reference.

Targets (the script exits with status 1 if one is missed):

* speed: ``forecast_range`` (default ``method="auto"``) on 100,000 open deals in ≤ 0.5 s
  (best of ``--repeat`` runs, input validation included);
* accuracy: P10, P50 and P90 within 0.5% of a Monte Carlo reference of ≥ 20,000 simulated
  pipelines (``--draws``), computed here independently of pipesheet.

Pipelines (seeded, reproducible):

* ``stages`` — 100,000 deals, lognormal amounts (mean 10,000, σ_log = 1), stage probabilities
  0.10 / 0.25 / 0.50 / 0.75 (40% / 30% / 20% / 10% of the deals);
* ``few_large`` — the same with 3 of the deals replaced by 5,000,000 deals at 0.2, 0.4, 0.6;
* ``lumpy`` — 100,000 deals of mean 1,000 plus the 3 deals of 5,000,000: the big deals dominate,
  the distribution has four humps (0, 1, 2 or 3 big deals won) and a normal approximation is
  badly wrong (shown).

The big deals' probabilities are deliberately not 0.25 / 0.5 / 0.75: with those, P(at most one
big deal won) is exactly 1/2, so in ``lumpy`` the CDF sits at 0.5 across the whole gap between two
humps and P50 is ill-conditioned for any method — the Monte Carlo reference included (its own 99%
band then spans the gap; pipesheet's ``error_bound`` says so too).

The reference draws every deal's Bernoulli for every simulated pipeline (float64 uniforms from
PCG64, in blocks of ``2**17`` numbers so memory stays bounded; two threads with independent
streams).  Its own uncertainty is printed: with 99% confidence (DKW) each reference quantile lies
within the quantiles at q ± ε, ε = sqrt(ln(200) / (2·draws)).

Run::

    .venv/bin/python benchmarks/bench_range.py
    .venv/bin/python benchmarks/bench_range.py --draws 50000 --repeat 7
"""

from __future__ import annotations

import argparse
import math
import sys
import threading
import time
from pathlib import Path

import numpy as np

try:
    from pipesheet.ranges import forecast_range
except ModuleNotFoundError:  # running from a checkout without an installed package
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from pipesheet.ranges import forecast_range

TARGET_SECONDS = 0.5
TARGET_RELATIVE = 0.005
LEVELS = (0.1, 0.5, 0.9)
NORMAL_Z = {0.1: -1.2815515655446004, 0.5: 0.0, 0.9: 1.2815515655446004}
BLOCK = 1 << 17


def pipelines(n: int, seed: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed)
    sigma = 1.0
    amounts = rng.lognormal(math.log(10_000) - sigma**2 / 2, sigma, n)
    probs = rng.choice([0.10, 0.25, 0.50, 0.75], size=n, p=[0.4, 0.3, 0.2, 0.1])
    big_a, big_p = np.array([5e6, 5e6, 5e6]), np.array([0.2, 0.4, 0.6])
    few_large = (np.concatenate([amounts[:-3], big_a]), np.concatenate([probs[:-3], big_p]))
    small = amounts / 10.0
    lumpy = (np.concatenate([small[:-3], big_a]), np.concatenate([probs[:-3], big_p]))
    return {"stages": (amounts, probs), "few_large": few_large, "lumpy": lumpy}


def _simulate(a: np.ndarray, p: np.ndarray, out: np.ndarray, rng: np.random.Generator) -> None:
    """out[i] = Σ_d a_d·[U_id < p_d] for each simulated pipeline i (blocks of ≤ BLOCK uniforms)."""
    n = a.size
    if n <= BLOCK:
        rows = max(1, BLOCK // n)
        buf = np.empty((rows, n))
        for start in range(0, out.size, rows):
            u = buf[: min(rows, out.size - start)]
            rng.random(out=u)
            np.less(u, p, out=u)
            out[start : start + u.shape[0]] = u @ a
    else:
        buf = np.empty(BLOCK)
        for i in range(out.size):
            total = 0.0
            for c0 in range(0, n, BLOCK):
                u = buf[: min(BLOCK, n - c0)]
                rng.random(out=u)
                np.less(u, p[c0 : c0 + u.size], out=u)
                total += float(u @ a[c0 : c0 + u.size])
            out[i] = total


def monte_carlo_reference(a: np.ndarray, p: np.ndarray, draws: int, seed: int) -> np.ndarray:
    """Sorted simulated totals; two threads, each with its own independent PCG64 stream."""
    totals = np.empty(draws)
    halves = np.array_split(np.arange(draws), 2)
    streams = [
        np.random.Generator(np.random.PCG64(s)) for s in np.random.SeedSequence(seed).spawn(2)
    ]
    threads = [
        threading.Thread(target=_simulate, args=(a, p, out, rng))
        for out, rng in zip(
            (totals[halves[0][0] : halves[0][-1] + 1], totals[halves[1][0] :]), streams, strict=True
        )
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    totals.sort()
    return totals


def empirical_quantile(sorted_totals: np.ndarray, q: float) -> float:
    """min{x : F_draws(x) ≥ q}."""
    n = sorted_totals.size
    i = min(n - 1, max(0, math.ceil(q * n - 1e-9) - 1))
    return float(sorted_totals[i])


def best_time(a: np.ndarray, p: np.ndarray, repeat: int):
    best, result = math.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = forecast_range(a, p)
        best = min(best, time.perf_counter() - t0)
    return best, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deals", type=int, default=100_000)
    parser.add_argument("--draws", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=2024)
    args = parser.parse_args()
    if args.draws < 20_000:
        parser.error("the reference needs at least 20,000 draws")

    eps = math.sqrt(math.log(2 / 0.01) / (2 * args.draws))
    print(
        f"forecast_range benchmark: {args.deals:,} open deals; reference: {args.draws:,} draws "
        f"(DKW ε = {eps:.4f} at 99%); target ≤ {TARGET_SECONDS} s and ≤ {TARGET_RELATIVE:.1%}"
    )
    failed = []
    for name, (a, p) in pipelines(args.deals, args.seed).items():
        seconds, r = best_time(a, p, args.repeat)
        t0 = time.perf_counter()
        ref = monte_carlo_reference(a, p, args.draws, args.seed + 1)
        ref_seconds = time.perf_counter() - t0
        print(
            f"\n[{name}] method={r.method}  time {seconds * 1000:.1f} ms "
            f"(best of {args.repeat}; {seconds / TARGET_SECONDS:.2f}× the {TARGET_SECONDS} s "
            f"target)  reference {ref_seconds:.1f} s"
        )
        print(
            f"  mean {r.mean:,.0f}  std_dev {r.std_dev:,.0f}  error_bound {r.error_bound:,.0f} "
            f"({r.error_bound / r.std_dev:.3f} σ)"
        )
        print(
            f"  {'':4} {'pipesheet':>15} {'reference':>15} {'rel. diff':>10} "
            f"{'ref. 99% band (rel.)':>22} {'normal approx':>14}"
        )
        if seconds > TARGET_SECONDS:
            failed.append(f"{name}: {seconds:.3f} s > {TARGET_SECONDS} s")
        for q in LEVELS:
            ours = r.quantile(q)
            theirs = empirical_quantile(ref, q)
            rel = (ours - theirs) / theirs
            band_lo = empirical_quantile(ref, max(q - eps, 0.0)) / theirs - 1
            band_hi = empirical_quantile(ref, min(q + eps, 1.0)) / theirs - 1
            normal = r.mean + NORMAL_Z[q] * r.std_dev
            print(
                f"  P{int(q * 100):<3} {ours:>15,.0f} {theirs:>15,.0f} {rel:>+10.5%} "
                f"{f'{band_lo:+.4%} … {band_hi:+.4%}':>22} {(normal - theirs) / theirs:>+14.4%}"
            )
            if abs(rel) > TARGET_RELATIVE:
                failed.append(f"{name}: P{int(q * 100)} differs by {rel:+.3%}")
    if failed:
        print("\nTARGET MISSED:\n  " + "\n  ".join(failed))
        return 1
    print("\nall targets met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
