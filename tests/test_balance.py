"""Pipeline balance: a hand-worked example, steady-state simulations, starvation, settings."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from pipeline_sim import Flow, simulate
from pipesheet import PipesheetError, StageList
from pipesheet.balance import TABLE_COLUMNS, pipeline_balance
from pipesheet.sample import sample_deals, sample_history, sample_rates

STAGES = StageList(("Lead", "Qualified", "Proposal"))
DAY = pd.Timedelta(days=1)


def hand_tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The example of docs/engine.md, "Pipeline balance".

    Every Lead visit lasts 8 days, every Qualified visit 4, every Proposal visit 10. Closed deals:
    2 won (8,000 and 12,000), 5 lost at Lead, 1 at Qualified, 2 at Proposal, so
    p = 2/10, 2/5, 2/4 = 0.2, 0.4, 0.5. Open on 2026-06-15: 20 at Lead, 3 at Qualified, 1 at
    Proposal, all of 10,000.
    """
    rows, deals = [], []

    def deal(i, path, start, amount, outcome):
        t = pd.Timestamp(start)
        for stage, days in path:
            rows.append((i, stage, t.date()))
            t += days * DAY
        if outcome:
            rows.append((i, outcome, t.date()))
        deals.append((i, outcome or path[-1][0], amount))

    lead, qual, prop = ("Lead", 8), ("Qualified", 4), ("Proposal", 10)
    deal("W1", [lead, qual, prop], "2026-01-05", 8000, "Won")
    deal("W2", [lead, qual, prop], "2026-02-02", 12000, "Won")
    for j in range(5):
        deal(f"LL{j}", [lead], f"2026-0{j + 1}-10", 10000, "Lost")
    deal("LQ", [lead, qual], "2026-03-02", 10000, "Lost")
    deal("LP1", [lead, qual, prop], "2026-03-09", 10000, "Lost")
    deal("LP2", [lead, qual, prop], "2026-04-06", 10000, "Lost")
    for j in range(20):
        deal(f"OL{j}", [lead], pd.Timestamp("2026-06-14") - (j % 8) * DAY, 10000, None)
    for j in range(3):
        deal(f"OQ{j}", [lead, qual], pd.Timestamp("2026-06-03") + j * DAY, 10000, None)
    deal("OP", [lead, qual, prop], "2026-05-25", 10000, None)
    history = pd.DataFrame(rows, columns=["Deal ID", "Stage", "Entered Date"])
    table = pd.DataFrame(deals, columns=["Deal ID", "Stage", "Amount"])
    return history, table


def hand_balance(**options):
    history, deals = hand_tables()
    options.setdefault("as_of", "2026-06-15")
    return pipeline_balance(
        history, deals, 90_000, "2026-06-01", "2026-06-30", stages=STAGES, **options
    )


# ---- the hand-worked example ------------------------------------------------------------------
def test_hand_worked_example():
    r = hand_balance()
    # pace R = 90,000 / 30 days = 3,000 a day; A = (8,000 + 12,000) / 2; λ_won = 0.3 a day
    assert r.period_days == 30
    assert r.pace == pytest.approx(3000)
    assert r.average_deal == pytest.approx(10000)
    assert r.won_per_day == pytest.approx(0.3)
    t = r.to_frame().set_index("stage")
    assert list(r.to_frame().columns) == list(TABLE_COLUMNS)
    assert t["win_probability"].tolist() == pytest.approx([0.2, 0.4, 0.5])
    # λ_s = 0.3 / p_s; W_s = 8, 4, 10 days; needed = λ_s · W_s
    assert t["deals_per_day"].tolist() == pytest.approx([1.5, 0.75, 0.6])
    assert t["days_in_stage"].tolist() == pytest.approx([8, 4, 10])
    assert t["visits_per_deal"].tolist() == [1, 1, 1]
    assert t["needed"].tolist() == pytest.approx([12, 3, 6])
    assert t["open"].tolist() == [20, 3, 1]
    assert t["gap"].tolist() == pytest.approx([8, 0, -5])
    assert t["noise"].tolist() == pytest.approx([math.sqrt(12), math.sqrt(3), math.sqrt(6)])
    # 8 > 2·√12 = 6.93: bloated; 0: balanced; −5 < −2·√6 = −4.90: thin
    assert t["status"].tolist() == ["bloated", "balanced", "thin"]
    assert t["needed_value"].tolist() == pytest.approx([120_000, 30_000, 60_000])
    assert t["open_value"].tolist() == pytest.approx([200_000, 30_000, 10_000])
    assert t["gap_value"].tolist() == pytest.approx([80_000, 0, -50_000], abs=1e-6)
    # won deals took 22, 14, 10 days from entering each stage to Won
    assert t["days_to_won"].tolist() == pytest.approx([22, 14, 10])
    p = t.loc["Proposal"]
    assert p["starves_won_date"] == pd.Timestamp("2026-06-25")
    assert p["starves_won_week"] == pd.Timestamp("2026-06-22")  # its Monday
    assert p["shortfall_won"] == pytest.approx(2.5)  # 5 deals × p 0.5
    assert p["shortfall_revenue"] == pytest.approx(25_000)  # × A
    assert t.loc[["Lead", "Qualified"], "starves_won_date"].isna().all()
    assert t.loc["Lead", "advice"].startswith("stop cold calling for now and work the deals")
    assert "Proposal" in t.loc["Lead", "advice"]
    assert t.loc["Qualified", "advice"] == "steady: keep the pace"
    assert t.loc["Proposal", "advice"].startswith("move and close deals further down")
    assert r.thin == ["Proposal"] and r.bloated == ["Lead"]
    assert any("stop cold calling" in a for a in r.advice)
    assert any("week of 2026-06-22" in a and "2.5 fewer won deals" in a for a in r.advice)
    text = str(r)
    assert "target 90,000 for 2026-06-01 to 2026-06-30 (30 days)" in text
    assert "week of 2026-06-22" in text
    assert any("Little's law" in n for n in r.notes)
    assert r.to_frame().attrs["won_per_day"] == pytest.approx(0.3)


def test_docs_show_the_real_output():
    """docs/engine.md quotes this example's output; it must be what the code prints."""
    from pathlib import Path

    doc = (Path(__file__).parents[1] / "docs" / "engine.md").read_text(encoding="utf-8")
    assert "```text\n" + str(hand_balance()) + "\n```" in doc


def test_as_of_rewinds_the_pipeline():
    # on 2026-06-01 OP was at Lead (Qualified from 2026-06-02, Proposal from 2026-06-06) and
    # the OL and OQ deals had not entered yet: only what was known then is used
    r = hand_balance(as_of="2026-06-01")
    t = r.to_frame().set_index("stage")
    assert t["open"].tolist() == [1, 0, 0]
    assert r.as_of == pd.Timestamp("2026-06-01")


def test_zero_target_needs_nothing():
    history, deals = hand_tables()
    r = pipeline_balance(history, deals, 0, "2026-06-01", "2026-06-30", stages=STAGES)
    t = r.to_frame()
    assert t["needed"].tolist() == [0, 0, 0]
    assert t["status"].tolist() == ["bloated", "bloated", "bloated"]
    assert t["z"].isna().all()  # gap ÷ 0 noise: blank, not infinite


# ---- steady-state simulations -----------------------------------------------------------------
FLOW = Flow(
    ("Lead", "Qualified", "Proposal", "Negotiation"),
    conversion=(0.6, 0.5, 0.6, 0.7),
    dwell=(8.0, 12.0, 10.0, 6.0),
)
PER_DAY = 3.0
AMOUNT = 20_000.0
AS_OF = "2026-05-15"
START, END = "2026-04-01", "2026-06-30"  # 91 days
#: The revenue the simulated flow wins in the period: λ · P(win | Lead) · mean amount · days.
TARGET = PER_DAY * FLOW.win_probability()[0] * AMOUNT * 91
SEEDS = range(12)


def _steady(seed: int, **options):
    history, deals = simulate(FLOW, per_day=PER_DAY, as_of=AS_OF, amount_mean=AMOUNT, seed=seed)
    return history, deals


def test_generator_matches_its_own_theory():
    """The generator's open deals per stage are Poisson with mean λ_s · dwell_s."""
    counts = []
    for seed in range(40):
        _, deals = simulate(FLOW, per_day=PER_DAY, as_of=AS_OF, years=1.0, seed=1000 + seed)
        counts.append(deals["Stage"].value_counts().reindex(FLOW.stages, fill_value=0))
    counts = np.array(counts, dtype=float)
    expected = FLOW.expected_open(PER_DAY)  # 24, 21.6, 9, 3.24
    se = np.sqrt(expected / len(counts))
    assert np.all(np.abs(counts.mean(axis=0) - expected) < 4 * se)


def test_a_steady_pipeline_at_the_targets_pace_is_balanced():
    z, needed, status_3 = [], [], []
    for seed in SEEDS:
        history, deals = _steady(seed)
        r = pipeline_balance(
            history, deals, TARGET, START, END, as_of=AS_OF, stages=StageList(FLOW.stages)
        )
        t = r.to_frame()
        assert r.average_deal == pytest.approx(AMOUNT, rel=0.06)
        truth = FLOW.days_to_won()  # 36, 28, 16, 6 days; ~3 standard errors
        assert np.all(np.abs(t["days_to_won"].to_numpy() - truth) <= np.maximum(1, 0.08 * truth))
        z.append(t["z"].to_numpy())
        needed.append(t["needed"].to_numpy())
        wide = pipeline_balance(
            history, deals, TARGET, START, END, as_of=AS_OF, stages=StageList(FLOW.stages),
            noise_z=3,
        )  # fmt: skip
        status_3.append(wide.to_frame()["status"].tolist())
    z, needed = np.array(z), np.array(needed)
    # the learned needed counts are the theory's λ_s · W_s
    assert needed.mean(axis=0) == pytest.approx(FLOW.expected_open(PER_DAY), rel=0.08)
    # every gap within its stated noise: within ±3 noise at every stage of every run, within
    # ±2 noise for the ~95% a Poisson count gives (at least 85% of 48 gaps), centred on 0
    assert all(s == ["balanced"] * 4 for s in status_3)
    assert (np.abs(z) <= 2).mean() >= 0.85
    assert abs(z.mean()) < 0.4
    assert 0.6 < z.std() < 1.4


def test_removing_the_top_stage_starves_won_at_the_right_week():
    truth = pd.Timestamp(AS_OF) + FLOW.days_to_won()[0] * DAY  # as-of + 36 days
    for seed in range(4):
        history, deals = _steady(seed)
        top = deals.loc[deals["Stage"] == "Lead", "Deal ID"]
        history = history[~history["Deal ID"].isin(top)]
        deals = deals[~deals["Deal ID"].isin(top)]
        r = pipeline_balance(
            history, deals, TARGET, START, END, as_of=AS_OF, stages=StageList(FLOW.stages)
        )
        t = r.to_frame().set_index("stage")
        lead = t.loc["Lead"]
        assert lead["open"] == 0 and lead["status"] == "thin"
        assert lead["gap"] == pytest.approx(-lead["needed"])
        assert lead["needed"] == pytest.approx(FLOW.expected_open(PER_DAY)[0], rel=0.1)
        assert abs((lead["starves_won_date"] - truth) / DAY) <= 3
        assert lead["starves_won_week"].weekday() == 0
        assert lead["starves_won_week"] <= lead["starves_won_date"]
        assert (lead["starves_won_date"] - lead["starves_won_week"]) / DAY < 7
        # the shortfall: every missing Lead deal would have been won with p_Lead
        assert lead["shortfall_won"] == pytest.approx(lead["needed"] * lead["win_probability"])
        assert lead["shortfall_revenue"] == pytest.approx(lead["shortfall_won"] * r.average_deal)
        assert lead["advice"].startswith("prospect more: book meetings and add leads")
        assert r.advice[0].startswith("Thin at the top (Lead: 0 open")
        week = lead["starves_won_week"].date()
        assert any(f"Lead is {lead['needed']:,.0f} deals short" in a and str(week) in a
                   for a in r.advice)  # fmt: skip


def test_deals_that_come_back_to_a_stage_count_each_visit():
    # A back move from Proposal to Qualified: Qualified is visited twice by such deals
    flow = Flow(FLOW.stages, FLOW.conversion, FLOW.dwell, back=(0, 0, 0.3, 0))
    history, deals = simulate(flow, per_day=PER_DAY, as_of=AS_OF, seed=3)
    r = pipeline_balance(history, deals, TARGET, START, END, stages=StageList(FLOW.stages))
    t = r.to_frame().set_index("stage")
    assert t.loc["Qualified", "visits_per_deal"] > 1.1
    assert t.loc["Lead", "visits_per_deal"] == 1
    assert t.loc["Qualified", "needed"] == pytest.approx(
        t.loc["Qualified", "deals_per_day"]
        * t.loc["Qualified", "days_in_stage"]
        * t.loc["Qualified", "visits_per_deal"]
    )
    assert any("mean days per visit × visits per deal" in n for n in r.notes)


# ---- inputs, currencies, unknowns -------------------------------------------------------------
def test_average_deal_given_and_counts_without_a_deals_table():
    history, _ = hand_tables()
    r = pipeline_balance(
        history, None, 90_000, "2026-06-01", "2026-06-30", as_of="2026-06-15", stages=STAGES,
        average_deal=10_000,
    )  # fmt: skip
    t = r.to_frame()
    assert t["needed"].tolist() == pytest.approx([12, 3, 6])
    assert t["open"].tolist() == [20, 3, 1]
    assert t["needed_value"].isna().all() and t["open_value"].isna().all()
    assert r.average_deal_source == "given"
    with pytest.raises(PipesheetError, match="average won deal"):
        pipeline_balance(history, None, 90_000, "2026-06-01", "2026-06-30", stages=STAGES)


def test_no_won_deal_to_learn_the_average_from():
    history, deals = hand_tables()
    history = history[~history["Deal ID"].isin(["W1", "W2"])]
    deals = deals[~deals["Deal ID"].isin(["W1", "W2"])]
    with pytest.raises(PipesheetError, match="no won deal with an amount") as err:
        pipeline_balance(history, deals, 90_000, "2026-06-01", "2026-06-30", stages=STAGES)
    assert "average_deal" in str(err.value)


def test_a_stage_without_closed_deals_is_unknown():
    history, deals = hand_tables()
    stages = StageList(("Lead", "Qualified", "Proposal", "Contract"))
    history = pd.concat(
        [history, pd.DataFrame([("OP", "Contract", "2026-06-10")], columns=history.columns)]
    )
    r = pipeline_balance(
        history, deals.assign(Stage=deals["Stage"].replace({"Proposal": "Contract"})),
        90_000, "2026-06-01", "2026-06-30", as_of="2026-06-15", stages=stages,
    )  # fmt: skip
    t = r.to_frame().set_index("stage")
    assert t.loc["Contract", "status"] == "unknown"
    assert math.isnan(t.loc["Contract", "needed"])
    assert t.loc["Contract", "open"] == 1
    assert t.loc["Contract", "advice"].startswith("not enough history")
    assert any(n.startswith("Contract: no closed deal reached it") for n in r.notes)


def test_currencies_are_converted_to_the_reporting_currency():
    history, deals = hand_tables()
    # the won deals in USD at 0.5 EUR per USD: 16,000 and 24,000 USD = 8,000 and 12,000 EUR
    deals["Currency"] = "EUR"
    won = deals["Deal ID"].isin(["W1", "W2"])
    deals.loc[won, "Currency"] = "USD"
    deals.loc[won, "Amount"] *= 2
    rates = pd.DataFrame({"Currency": ["EUR", "USD"], "Rate": [1.0, 0.5]})
    r = pipeline_balance(
        history, deals, 90_000, "2026-06-01", "2026-06-30", as_of="2026-06-15", stages=STAGES,
        rates=rates,
    )  # fmt: skip
    assert r.currency == "EUR"
    assert r.average_deal == pytest.approx(10_000)
    assert r.to_frame()["needed"].tolist() == pytest.approx([12, 3, 6])
    with pytest.raises(PipesheetError, match="several currencies"):
        pipeline_balance(history, deals, 90_000, "2026-06-01", "2026-06-30", stages=STAGES)


def test_blank_amounts_follow_the_choice():
    history, deals = hand_tables()
    deals.loc[deals["Deal ID"] == "OQ0", "Amount"] = None
    with pytest.raises(PipesheetError, match="amount is blank") as err:
        pipeline_balance(history, deals, 90_000, "2026-06-01", "2026-06-30", stages=STAGES)
    assert "row" in str(err.value)
    r = pipeline_balance(
        history, deals, 90_000, "2026-06-01", "2026-06-30", as_of="2026-06-15", stages=STAGES,
        blank_amounts="skip",
    )  # fmt: skip
    t = r.to_frame().set_index("stage")
    assert t.loc["Qualified", "open"] == 3  # still a deal at the stage
    assert t.loc["Qualified", "open_value"] == pytest.approx(20_000)
    assert any("no amount" in n for n in r.notes)


def test_open_deals_without_history_count_at_their_current_stage():
    history, deals = hand_tables()
    extra = pd.DataFrame([("NEW1", "Proposal", 10_000)], columns=deals.columns)
    r = pipeline_balance(
        history, pd.concat([deals, extra], ignore_index=True), 90_000, "2026-06-01",
        "2026-06-30", as_of="2026-06-15", stages=STAGES,
    )  # fmt: skip
    assert r.to_frame().set_index("stage").loc["Proposal", "open"] == 2
    assert any("no history row" in n for n in r.notes)


@pytest.mark.parametrize(
    ("option", "value", "column"),
    [
        ("target", -1, "target"),
        ("target", "lots", "target"),
        ("target", float("inf"), "target"),
        ("noise_z", 0, "noise_z"),
        ("average_deal", 0, "average_deal"),
        ("period_start", "not a date", "period_start"),
        ("period_end", "2026-05-01", "period_end"),
    ],
)
def test_bad_settings_are_named(option, value, column):
    history, deals = hand_tables()
    args = {
        "target": 90_000,
        "period_start": "2026-06-01",
        "period_end": "2026-06-30",
        "noise_z": 2.0,
        "average_deal": None,
    }
    args[option] = value
    with pytest.raises(PipesheetError) as err:
        pipeline_balance(history, deals, stages=STAGES, **args)
    assert err.value.column == column


def test_history_deal_missing_from_the_deals_table_is_refused():
    history, deals = hand_tables()
    with pytest.raises(PipesheetError, match="not in the deals table"):
        pipeline_balance(
            history, deals[deals["Deal ID"] != "W1"], 90_000, "2026-06-01", "2026-06-30",
            stages=STAGES,
        )  # fmt: skip


def test_the_bundled_sample():
    r = pipeline_balance(
        sample_history(), sample_deals(), 2_000_000, "2026-07-01", "2026-09-30",
        rates=sample_rates(),
    )  # fmt: skip
    t = r.to_frame()
    assert r.currency == "EUR"
    assert t["stage"].tolist() == ["Lead", "Qualified", "Proposal", "Negotiation"]
    assert set(t["status"]) <= {"thin", "balanced", "bloated"}
    assert np.isfinite(t["needed"]).all() and (t["needed"] > 0).all()
    assert (t["gap"] == t["open"] - t["needed"]).all()


# ---- any small history ends in a result or one clear error ------------------------------------
_paths = st.tuples(
    st.lists(st.tuples(st.sampled_from(STAGES.open), st.integers(0, 9)), min_size=1, max_size=4),
    st.sampled_from([None, "Won", "Lost"]),
    st.integers(0, 9),
).map(lambda p: p[0] + ([(p[1], p[2])] if p[1] else []))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    paths=st.lists(_paths, min_size=1, max_size=25),
    amounts=st.lists(st.one_of(st.none(), st.floats(1, 1e6)), min_size=25, max_size=25),
    target=st.floats(0, 1e7),
    as_of_day=st.integers(5, 120),
    noise_z=st.floats(0.5, 4),
)
def test_any_small_history(paths, amounts, target, as_of_day, noise_z):
    rows, deals = [], []
    for i, path in enumerate(paths):
        t = pd.Timestamp("2026-01-01") + i * DAY
        for stage, gap in path:
            t += gap * DAY
            rows.append((f"d{i}", stage, t))
        deals.append((f"d{i}", path[-1][0], amounts[i]))
    history = pd.DataFrame(rows, columns=["Deal ID", "Stage", "Entered Date"])
    table = pd.DataFrame(deals, columns=["Deal ID", "Stage", "Amount"])
    as_of = pd.Timestamp("2026-01-01") + as_of_day * DAY
    try:
        r = pipeline_balance(
            history, table, target, "2026-04-01", "2026-06-30", as_of=as_of, stages=STAGES,
            blank_amounts="skip", noise_z=noise_z,
        )  # fmt: skip
    except PipesheetError as err:
        event(f"refused: {err.problem[:30]}")
        return
    event("computed")
    t = r.to_frame()
    known = t["status"] != "unknown"
    assert (t.loc[known, "gap"] == t.loc[known, "open"] - t.loc[known, "needed"]).all()
    assert (t.loc[known, "noise"] == np.sqrt(t.loc[known, "needed"])).all()
    thin = t["gap"] < -noise_z * t["noise"]
    bloated = t["gap"] > noise_z * t["noise"]
    assert (t.loc[known & thin, "status"] == "thin").all()
    assert (t.loc[known & bloated, "status"] == "bloated").all()
    assert (t.loc[known & ~thin & ~bloated, "status"] == "balanced").all()
    assert t.loc[t["status"] == "thin", "shortfall_won"].ge(0).all()
    assert t.loc[t["status"] != "thin", "starves_won_date"].isna().all()
    # every deal open on the day is counted once, at its stage on the day
    known_rows = history[history["Entered Date"] < as_of + DAY].sort_values(
        "Entered Date", kind="stable"
    )
    last = known_rows.groupby("Deal ID")["Stage"].last()
    assert t["open"].sum() == last.isin(STAGES.open).sum()
    assert r.average_deal > 0 and np.isfinite(r.won_per_day)
    str(r)
