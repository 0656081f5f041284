"""One priced-deal path and one meaning everywhere for money (issue 8: 3, 4, 8, 11, 13, 15, 16, 21).

* blank amounts: read as blank, priced only by an explicit choice (error | skip | zero), counted;
* currencies: every money figure of a backtest is converted, or refused naming the currency;
* as-of and the deal set: the forecast range covers the weighted forecast's deals (mean = it);
* backtests start where the history allows and leave unscorable periods out of the averages;
* gap takes the cycle from the history, leads learns days in stage, waterfall infers stages from
  both snapshots.

The Salesforce fixture (tests/fixtures/salesforce_raw) is read here with pandas, its colliding
custom-field header dropped and its Spanish Won/Lost labels passed explicitly: reading the raw
file as it is belongs to the readers' own tests.
"""

from __future__ import annotations

import json
import math
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipesheet import (
    PipesheetError,
    StageList,
    StageProbabilities,
    backtest,
    leads_needed,
    pipeline_position,
    pipeline_range,
    read_deals,
    time_aware_forecast,
    weighted_forecast,
)
from pipesheet.cli import main
from pipesheet.diagnostics import cycle_time, stage_durations
from pipesheet.forecast import price_deals
from pipesheet.planning import days_in_stage_from_history
from pipesheet.sample import DATA_DIR, sample_deals, sample_history, sample_rates
from pipesheet.waterfall import pipeline_waterfall

DEALS = str(Path(DATA_DIR) / "sample_deals.csv")
HISTORY = str(Path(DATA_DIR) / "sample_history.csv")
RATES = str(Path(DATA_DIR) / "sample_rates.csv")
SF = Path(__file__).parent / "fixtures" / "salesforce_raw"
SF_STAGES = StageList(
    ("Prospección", "Calificación", "Propuesta/Presupuesto", "Negociación/Revisión"),
    won=("Cerrada ganada",),
    lost=("Cerrada perdida",),
)
AS_OF_DAYS = st.dates(
    min_value=pd.Timestamp("2025-01-15").date(), max_value=pd.Timestamp("2026-09-30").date()
)


# ---- helpers -------------------------------------------------------------------------------------
def run_json(capsys, *argv: str):
    assert main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def run_text(capsys, *argv: str) -> str:
    assert main(list(argv)) == 0
    return capsys.readouterr().out


def run_error(capsys, *argv: str) -> str:
    assert main(list(argv)) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err


def sf_tables() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The Salesforce export as its files hold it (latin-1, 55 columns with colliding custom-field
    headers, COP/MXN/PEN/USD, five blank amounts on open deals; the history with its own Id)."""
    deals = pd.read_csv(
        SF / "Opportunity.csv", encoding="latin-1", dtype=str, keep_default_na=False
    )
    history = pd.read_csv(
        SF / "OpportunityHistory.csv", encoding="latin-1", dtype=str, keep_default_na=False
    )
    rates = pd.read_csv(SF / "rates_usd.csv")
    return deals, history, rates


@pytest.fixture(scope="module")
def sf():
    return sf_tables()


@pytest.fixture(scope="module")
def blanked() -> tuple[pd.DataFrame, list[int]]:
    """The bundled sample with five open deals' amounts blank; their spreadsheet rows."""
    deals = sample_deals()
    table = read_deals(deals)
    open_rows = np.flatnonzero((table.frame["code"] < table.stages.k).to_numpy())[:5]
    deals.loc[open_rows, "Amount"] = None
    return deals, [int(r) + 2 for r in open_rows]


@pytest.fixture(scope="module")
def model() -> StageProbabilities:
    return StageProbabilities().fit(sample_history(), sample_deals())


# ---- 8.3 blank amounts ---------------------------------------------------------------------------
def test_blank_amounts_never_stop_stage_probabilities(blanked, capsys, tmp_path):
    deals, rows = blanked
    table = read_deals(deals)  # reading needs no amount
    assert table.frame.loc[rows, "amount"].isna().all()
    with_blanks = StageProbabilities().fit(sample_history(), deals)
    clean = StageProbabilities().fit(sample_history(), sample_deals())
    pd.testing.assert_frame_equal(with_blanks.table_, clean.table_)
    path = tmp_path / "deals.csv"
    deals.to_csv(path, index=False)
    rows_cli = run_json(capsys, "stages", str(path), HISTORY)
    assert [r["reached"] for r in rows_cli] == clean.table_["reached"].tolist()
    assert run_json(capsys, "health", str(path), HISTORY, "--show", "cycle")


def test_blank_amounts_stop_money_with_the_rows_and_the_three_choices(blanked, model):
    deals, rows = blanked
    rates = sample_rates()
    with pytest.raises(PipesheetError) as err:
        weighted_forecast(deals, model, rates=rates)
    text = str(err.value)
    assert "amount is blank" in text and "column 'Amount'" in text
    assert f"rows {', '.join(map(str, rows))}" in text
    for choice in ("skip", "zero", "error", "--blank-amounts"):
        assert choice in text
    for call in (
        lambda: pipeline_range(deals, model, rates=rates),
        lambda: pipeline_position(deals, model, rates=rates),
        lambda: backtest(sample_history(), deals, "2025-01-01", 2, "quarter", rates=rates),
        lambda: time_aware_forecast(sample_history(), deals, "2026-12-31", rates=rates),
    ):
        with pytest.raises(PipesheetError, match="amount is blank"):
            call()


def test_skip_leaves_the_deals_out_and_zero_counts_them_as_0(blanked, model):
    deals, rows = blanked
    rates = sample_rates()
    dropped = deals.drop(index=[r - 2 for r in rows])
    skip = weighted_forecast(deals, model, period="quarter", rates=rates, blank_amounts="skip")
    want = weighted_forecast(dropped, model, period="quarter", rates=rates)
    pd.testing.assert_frame_equal(skip, want)
    note = f"5 deal(s) with a blank amount skipped (rows {', '.join(map(str, rows))})"
    assert note in skip.attrs["notes"]
    zero = weighted_forecast(deals, model, period=None, rates=rates, blank_amounts="zero")
    zeroed = deals.assign(Amount=deals["Amount"].fillna("0"))
    want0 = weighted_forecast(zeroed, model, period=None, rates=rates)
    pd.testing.assert_frame_equal(zero, want0)
    assert any("counted as 0" in n for n in zero.attrs["notes"])
    assert int(zero["deals"].iloc[0]) == int(want["deals"].sum()) + 5
    # the deprecated spelling still means skip
    with pytest.warns(DeprecationWarning):
        legacy = price_deals(deals, model, rates=rates, skip_blank_amounts=True)
    assert legacy.weighted == pytest.approx(float(skip["weighted"].sum()))


def test_blank_amounts_of_lost_deals_need_no_choice(model):
    deals = sample_deals()
    table = read_deals(deals)
    lost = np.flatnonzero((table.frame["code"] == table.stages.k + 1).to_numpy())[:3]
    deals.loc[lost, "Amount"] = None
    out = weighted_forecast(deals, model, period=None, rates=sample_rates())
    assert not any("blank amount" in n for n in out.attrs["notes"])


def test_a_deals_table_without_amounts_learns_but_does_not_forecast(model):
    deals = sample_deals().drop(columns=["Amount"])
    fitted = StageProbabilities().fit(sample_history(), deals)
    assert fitted.table_["win_probability"].notna().all()
    with pytest.raises(PipesheetError, match="missing required column for amount"):
        weighted_forecast(deals, model, rates=sample_rates())


def test_unknown_blank_amount_choice_is_refused(model):
    with pytest.raises(PipesheetError, match=r"error .*skip .*zero"):
        weighted_forecast(sample_deals(), model, rates=sample_rates(), blank_amounts="ignore")


@pytest.mark.parametrize(
    "argv",
    [
        ["forecast", "{deals}", HISTORY, "--rates", RATES],
        ["gap", "{deals}", HISTORY, "--rates", RATES, "--quota", "1000000"],
        ["leads", "{deals}", HISTORY, "--rates", RATES, "--target", "1000000"],
        ["backtest", HISTORY, "{deals}", "--rates", RATES, "--start", "2025-01-01"],
        ["waterfall", "{deals}", "{deals}", "--rates", RATES],
    ],
    ids=lambda a: a[0],
)
def test_every_money_command_offers_the_choice(argv, blanked, tmp_path, capsys):
    deals, _ = blanked
    path = tmp_path / "deals.csv"
    deals.to_csv(path, index=False)
    args = [str(path) if a == "{deals}" else a for a in argv]
    err = run_error(capsys, *args)
    assert "amount is blank" in err and "--blank-amounts" in err
    out = run_text(capsys, *args, "--blank-amounts", "skip")
    # counted among the deals the command prices (a backtest prices those open in its periods)
    assert re.search(r"[1-5] deal\(s\) with a blank amount skipped \(rows? \d", out)
    assert main([*args, "--blank-amounts", "zero"]) == 0
    assert "counted as 0" in capsys.readouterr().out


def test_cli_forecast_skip_equals_the_api(blanked, tmp_path, capsys):
    deals, _ = blanked
    path = tmp_path / "deals.csv"
    deals.to_csv(path, index=False)
    rows = run_json(
        capsys,
        "forecast",
        str(path),
        HISTORY,
        "--rates",
        RATES,
        "--blank-amounts",
        "skip",
        "--period",
        "none",
    )
    model = StageProbabilities().fit(sample_history(), deals)
    want = weighted_forecast(deals, model, period=None, rates=sample_rates(), blank_amounts="skip")
    assert rows[0]["weighted"] == pytest.approx(float(want["weighted"].iloc[0]))


def test_waterfall_skip_drops_the_deal_from_both_snapshots_and_reconciles():
    opening = pd.DataFrame(
        {
            "Deal ID": ["a", "b", "c"],
            "Stage": ["Lead", "Lead", "Proposal"],
            "Amount": [100.10, None, 300.0],
            "Close Date": ["2026-10-05"] * 3,
        }
    )
    closing = opening.assign(Amount=[120.0, 50.0, None], Stage=["Lead", "Lead", "Won"])
    with pytest.raises(PipesheetError, match="amount is blank"):
        pipeline_waterfall(opening, closing)
    w = pipeline_waterfall(opening, closing, blank_amounts="skip")
    assert w.deals["deal_id"].tolist() == ["c", "a"] or set(w.deals["deal_id"]) == {"a", "c"}
    t = w.table.set_index("step")
    assert int(t.loc["opening", "value_cents"]) == 10010 + 30000
    assert int(t.loc["closing", "value_cents"]) == 12000
    assert any("opening: 1 deal(s) with a blank amount skipped (row 3)" in n for n in w.notes)


# ---- 8.4 currencies in backtests -----------------------------------------------------------------
def _won_oracle(history: pd.DataFrame, deals: pd.DataFrame, rates: pd.DataFrame, start, end):
    """Σ over deals open the day before ``start`` and won by ``end``: their latest history
    amount by ``end`` × their currency's rate (independent of the engine's code)."""
    h = history.copy()
    h["day"] = pd.to_datetime(h["CreatedDate"]).dt.tz_localize(None).dt.normalize()
    h["amount"] = pd.to_numeric(h["Amount"].replace("", np.nan))
    h = h.reset_index().sort_values(["OpportunityId", "day", "index"])
    d = pd.Timestamp(start) - pd.Timedelta(days=1)
    e = pd.Timestamp(end)
    at_d = h[h["day"] <= d].groupby("OpportunityId")["StageName"].last()
    at_e = h[h["day"] <= e].groupby("OpportunityId")["StageName"].last()
    was_open = at_d[~at_d.isin(["Cerrada ganada", "Cerrada perdida"])].index
    won = at_e[at_e == "Cerrada ganada"].index.intersection(was_open)
    amount = h[h["day"] <= e].dropna(subset=["amount"]).groupby("OpportunityId")["amount"].last()
    rate = dict(zip(rates["Currency"], rates["Rate"], strict=True))
    cur = deals.set_index("Id")["CurrencyIsoCode"]
    return float(sum(amount[i] * rate[cur[i]] for i in won))


def test_backtest_converts_the_historys_amounts(sf):
    deals, history, rates = sf
    result = backtest(
        history,
        deals,
        "2025-07-01",
        4,
        "quarter",
        rates=rates,
        stages=SF_STAGES,
        blank_amounts="skip",
    )
    assert result.currency == "USD"
    t = result.table[result.table["method"] == "time-aware"]
    raw_sum = 0.0
    for _, row in t.iterrows():
        want = _won_oracle(history, deals, rates, row["period_start"], row["period_end"])
        assert row["actual"] == pytest.approx(want, rel=1e-9)
        raw_sum += want
    assert raw_sum > 0
    assert any("converted into USD" in n for n in result.notes)
    # the forecast side too: each deal's amount in USD, as the time-aware forecast gives it
    pred = result.predictions
    ta = time_aware_forecast(
        history,
        deals,
        "2025-09-30",
        as_of="2025-06-30",
        rates=rates,
        stages=SF_STAGES,
        blank_amounts="skip",
    )
    first = pred[pred["period"] == t["period"].iloc[0]].set_index("deal_id")["amount"]
    mine = ta.deals.set_index("deal_id")["amount"]
    pd.testing.assert_series_equal(first.sort_index(), mine.sort_index(), check_names=False)
    usd = deals.set_index("Id")
    cop = [i for i in mine.index if usd.loc[i, "CurrencyIsoCode"] == "COP"]
    assert cop and all(mine[i] < 1e6 for i in cop)  # COP millions became USD thousands


def test_backtest_refuses_a_currency_without_rate(sf):
    deals, history, rates = sf
    no_pen = rates[rates["Currency"] != "PEN"]
    with pytest.raises(PipesheetError, match="no exchange rate for PEN"):
        backtest(history, deals, "2025-07-01", 2, "quarter", rates=no_pen, stages=SF_STAGES)
    with pytest.raises(PipesheetError, match="several currencies"):
        backtest(history, deals, "2025-07-01", 2, "quarter", stages=SF_STAGES)
    # the history's amounts alone carry no currency: the rates cannot convert them
    with pytest.raises(PipesheetError, match="carry no currency"):
        time_aware_forecast(
            history, None, "2025-09-30", as_of="2025-06-30", rates=rates, stages=SF_STAGES
        )


def test_cli_backtest_with_rates_equals_the_api(sf, tmp_path, capsys):
    deals, history, rates = sf
    d, h, r = tmp_path / "Opportunity.csv", tmp_path / "OpportunityHistory.csv", tmp_path / "r.csv"
    deals.to_csv(d, index=False, encoding="latin-1")
    history.to_csv(h, index=False, encoding="latin-1")
    rates.to_csv(r, index=False)
    stages = [
        "--stages",
        ",".join(SF_STAGES.open),
        "--won",
        "Cerrada ganada",
        "--lost",
        "Cerrada perdida",
    ]
    rows = run_json(
        capsys,
        "backtest",
        str(h),
        str(d),
        "--rates",
        str(r),
        "--start",
        "2025-07-01",
        "--periods",
        "4",
        "--period",
        "quarter",
        "--show",
        "detail",
        "--blank-amounts",
        "skip",
        *stages,
    )
    api = backtest(
        history,
        deals,
        "2025-07-01",
        4,
        "quarter",
        rates=rates,
        stages=SF_STAGES,
        blank_amounts="skip",
    )
    assert [x["actual"] for x in rows] == pytest.approx(api.table["actual"].tolist())
    got = [float("nan") if x["forecast"] is None else x["forecast"] for x in rows]
    assert got == pytest.approx(api.table["forecast"].tolist(), nan_ok=True)  # blank: None


# ---- 8.8 as_of and the deal set: the range covers the weighted forecast's deals ----------------
def test_the_issue_example_range_mean_is_the_weighted_forecast(capsys):
    argv = [
        "forecast",
        DEALS,
        HISTORY,
        "--period",
        "none",
        "--rates",
        RATES,
        "--as-of",
        "2026-03-31",
    ]
    weighted = run_json(capsys, *argv)[0]
    assert weighted["deals"] == 11 and round(weighted["weighted"]) == 434_149
    rng = {r["measure"]: r["value"] for r in run_json(capsys, *argv, "--range")}
    assert rng["mean"] == pytest.approx(weighted["weighted"], rel=1e-12)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(day=AS_OF_DAYS, window=st.booleans())
def test_api_range_mean_equals_weighted_for_any_as_of(model, day, window):
    rates = sample_rates()
    when = pd.Timestamp(day)
    start, end = (
        (when - pd.Timedelta(days=45), when + pd.Timedelta(days=45)) if window else (None, None)
    )
    kw = dict(as_of=day, start=start, end=end, rates=rates)
    total = weighted_forecast(sample_deals(), model, period=None, **kw)
    rng = pipeline_range(sample_deals(), model, quota=1_000_000, **kw)
    assert rng.mean == pytest.approx(float(total["weighted"].iloc[0]), rel=1e-12, abs=1e-6)
    assert rng.deals == int(total["deals"].iloc[0])
    pos = pipeline_position(
        sample_deals(),
        model,
        start,
        end,
        **{k: v for k, v in kw.items() if k not in ("start", "end")},
    )
    assert pos.expected_open == pytest.approx(rng.mean, rel=1e-12, abs=1e-6)
    if window:  # P(≥ quota) = P(closed so far + range ≥ quota)
        assert rng.closed == pytest.approx(pos.closed)
        rest = pipeline_range(sample_deals(), model, quota=1_000_000 - pos.closed, closed=0, **kw)
        assert rng.p_quota == pytest.approx(rest.p_quota, abs=1e-12)
        assert rng.to_frame().set_index("measure").loc["closed", "value"] == pos.closed
    else:
        assert rng.closed is None


@settings(
    max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(day=AS_OF_DAYS)
def test_cli_range_mean_equals_weighted_for_any_as_of(capsys, day):
    argv = [
        "forecast",
        DEALS,
        HISTORY,
        "--rates",
        RATES,
        "--period",
        "quarter",
        "--as-of",
        day.isoformat(),
    ]
    rows = run_json(capsys, *argv)
    weighted = sum(r["weighted"] for r in rows)
    rng = {r["measure"]: r["value"] for r in run_json(capsys, *argv, "--range")}
    assert rng["mean"] == pytest.approx(weighted, rel=1e-9, abs=1e-6)


def test_cli_range_window_and_closed_so_far(capsys):
    argv = [
        "forecast",
        DEALS,
        HISTORY,
        "--rates",
        RATES,
        "--as-of",
        "2026-08-15",
        "--period-start",
        "2026-07-01",
        "--period-end",
        "2026-09-30",
    ]
    rows = run_json(capsys, *argv)
    model = StageProbabilities(as_of="2026-08-15").fit(sample_history(), sample_deals())
    pos = pipeline_position(
        sample_deals(), model, "2026-07-01", "2026-09-30", as_of="2026-08-15", rates=sample_rates()
    )
    assert sum(r["weighted"] for r in rows) == pytest.approx(pos.expected_open)
    rng = {r["measure"]: r["value"] for r in run_json(capsys, *argv, "--quota", "2500000")}
    assert rng["mean"] == pytest.approx(pos.expected_open)
    assert rng["closed"] == pytest.approx(pos.closed) and pos.closed > 0
    text = run_text(capsys, *argv, "--quota", "2500000")
    assert "P(≥ quota) = P(closed so far" in text


def test_as_of_leaves_out_what_the_table_cannot_show_and_says_so(model):
    out = weighted_forecast(
        sample_deals(), model, period=None, as_of="2026-03-31", rates=sample_rates()
    )
    notes = " ".join(out.attrs["notes"])
    assert re.search(r"\d+ deal\(s\) won or lost after 2026-03-31 are left out", notes)
    assert re.search(r"\d+ deal\(s\) created after 2026-03-31 are left out", notes)


def test_a_bare_as_of_date_covers_its_whole_day(model):
    deals = sample_deals()
    table = read_deals(deals)
    i = int(np.flatnonzero((table.frame["code"] < table.stages.k).to_numpy())[0])
    deals.loc[i, "Created Date"] = "2026-05-01T15:30:00"
    on_the_day = price_deals(deals, model, as_of="2026-05-01", rates=sample_rates())
    before = price_deals(deals, model, as_of="2026-04-30", rates=sample_rates())
    assert on_the_day.open[i] and not before.open[i]


# ---- 8.11 backtests where the history allows, unscorable periods left out -------------------
def _young_history() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Twelve deals enter in January; the first closes in March: a backtest of February has
    open deals and nothing learned to forecast them with."""
    ids = [f"d{i:02d}" for i in range(12)]
    rows = [(d, "Lead", "2026-01-05") for d in ids]
    rows += [(d, "Proposal", "2026-01-20") for d in ids[:8]]
    outcome = ["Won", "Lost"] * 4
    rows += [
        (d, o, f"2026-03-{10 + i:02d}")
        for i, (d, o) in enumerate(zip(ids[:8], outcome, strict=True))
    ]
    rows += [(d, "Won", f"2026-04-{10 + i:02d}") for i, d in enumerate(ids[8:11])]
    rows += [("d11", "Lost", "2026-05-20")]
    history = pd.DataFrame(rows, columns=["Deal ID", "Stage", "Entered Date"])
    deals = pd.DataFrame(
        {
            "Deal ID": ids,
            "Stage": "Won",
            "Amount": [1000.0 * (i + 1) for i in range(12)],
            "Close Date": "2026-04-30",
        }
    )
    return history, deals


def test_backtest_marks_unscorable_periods_and_leaves_them_out():
    history, deals = _young_history()
    stages = StageList(("Lead", "Proposal"))
    result = backtest(history, deals, "2025-12-01", 5, "month", stages=stages)
    t = result.table.set_index(["period", "method"])
    # December: its as-of date (30 Nov) precedes the history
    assert t.loc["2025-12", "forecast"].isna().all()
    assert t.loc["2025-12", "note"].str.contains("no history on or before 2025-11-30").all()
    # February: deals are open on 31 Jan but none has closed: nothing learned to forecast with
    feb = t.loc["2026-02"]
    assert feb["forecast"].isna().all() and (feb["open_deals"] == 0).all()
    assert feb["note"].str.contains("no learned probability on 2026-01-31").all()
    # April is scored (probabilities learned from March's closes) and is what MAPE rests on
    april = t.loc["2026-04"].loc[["time-aware", "weighted pipeline"]]
    assert april["forecast"].notna().all() and (april["actual"] > 0).all()
    # the calibrated forecast has no past period to rest on: blank, and said
    assert "too few past periods" in t.loc[("2026-04", "calibrated"), "note"]
    table = result.table
    for method in ("time-aware", "weighted pipeline"):
        part = table[table["method"] == method]
        scored = part[part["forecast"].notna() & (part["actual"] > 0)]
        row = result.summary.set_index("method").loc[method]
        assert row["periods"] == len(scored) >= 1
        assert row["mape"] == pytest.approx(scored["abs_error"].mean())
        assert row["bias"] == pytest.approx(scored["error"].mean())
        assert row["unscored"] == int(part["forecast"].isna().sum()) >= 2
        known = part[part["forecast"].notna()]
        assert row["total_forecast"] == pytest.approx(known["forecast"].sum())
    assert not (table["error"] == -1.0).any()  # never scored −100% for lack of probabilities
    wide = result.wide.set_index("period")
    assert (
        wide.loc["2026-02", "note"] == "no learned probability on 2026-01-31 for its deals' stages"
    )
    assert any("not scored" in n for n in result.notes)


# ---- 8.13 the cycle from the history -------------------------------------------------------------
def test_gap_takes_the_cycle_from_the_history_when_deals_have_no_created_date(tmp_path, capsys):
    path = tmp_path / "deals.csv"
    sample_deals().drop(columns=["Created Date", "Closed Date"]).to_csv(path, index=False)
    argv = [
        "gap",
        str(path),
        HISTORY,
        "--rates",
        RATES,
        "--quota",
        "9000000",
        "--as-of",
        "2026-09-30",
        "--period-start",
        "2026-07-01",
        "--period-end",
        "2026-12-31",
    ]
    text = run_text(capsys, *argv)
    won = cycle_time(sample_history(), as_of="2026-09-30").set_index("outcome").loc["won"]
    assert f"Cycle length {won['mean_days']:.1f} days: mean days to Won over the" in text
    assert "the 0-day cycle" not in text
    rows = {r["measure"]: r["value"] for r in run_json(capsys, *argv)}
    days_left = (pd.Timestamp("2026-12-31") - pd.Timestamp("2026-09-30")).days
    assert rows["selling_weeks"] == pytest.approx((days_left - won["mean_days"]) / 7)


def test_gap_says_where_the_cycle_came_from_with_created_dates(capsys):
    text = run_text(
        capsys,
        "gap",
        DEALS,
        HISTORY,
        "--rates",
        RATES,
        "--quota",
        "9000000",
        "--as-of",
        "2026-09-30",
        "--period-end",
        "2026-12-31",
    )
    assert "over the won deals in the deals file" in text


# ---- 8.15 leads with a deadline ------------------------------------------------------------------
def test_leads_deadline_learns_days_in_stage_from_the_history(capsys):
    rows = run_json(
        capsys,
        "leads",
        DEALS,
        HISTORY,
        "--rates",
        RATES,
        "--target",
        "1000000",
        "--deadline",
        "2026-12-31",
    )
    won = stage_durations(sample_history(), outcome="won").set_index("stage")["median_days"]
    assert [r["days_in_stage"] for r in rows[:-1]] == pytest.approx(won.tolist())
    remaining = np.cumsum(won.to_numpy()[::-1])[::-1]
    want = (pd.Timestamp("2026-12-31") - pd.to_timedelta(remaining, unit="D")).normalize()
    assert [r["enter_by"] for r in rows[:-1]] == [d.date().isoformat() for d in want]
    text = run_text(
        capsys,
        "leads",
        DEALS,
        HISTORY,
        "--rates",
        RATES,
        "--target",
        "1000000",
        "--deadline",
        "2026-12-31",
    )
    assert "Days in stage: median days of the completed visits" in text
    assert "Lead requirements (reverse funnel, EUR)" in text  # 8.21: its currency
    assert "Target 1,000,000 EUR" in text


def test_leads_deadline_takes_days_in_stage_as_an_option(capsys):
    rows = run_json(
        capsys,
        "leads",
        "--target",
        "1000000",
        "--average-deal",
        "25000",
        "--conversions",
        "Lead=0.5,Qualified=0.4,Proposal=0.25",
        "--deadline",
        "2026-12-31",
        "--days-in-stage",
        "Lead=10,Qualified=20,Proposal=30",
    )
    assert [r["enter_by"] for r in rows] == ["2026-11-01", "2026-11-11", "2026-12-01", "2026-12-31"]
    err = run_error(
        capsys,
        "leads",
        "--target",
        "1000000",
        "--average-deal",
        "25000",
        "--conversions",
        "Lead=0.5,Qualified=0.4",
        "--deadline",
        "2026-12-31",
        "--days-in-stage",
        "Lead=10",
    )
    assert "days in stage missing for stage 'Qualified'" in err and "--days-in-stage" in err


def test_days_in_stage_fall_back_to_every_visit_and_say_so():
    h = pd.DataFrame(
        {
            "Deal": ["a", "a", "a", "b", "b", "b"],
            "Stage": ["Lead", "Proposal", "Won", "Lead", "Qualified", "Lost"],
            "Date": [
                "2026-01-01",
                "2026-01-11",
                "2026-01-31",
                "2026-01-01",
                "2026-01-05",
                "2026-01-25",
            ],
        }
    )
    stages = StageList(("Lead", "Qualified", "Proposal"))
    days = days_in_stage_from_history(h, stages=stages)
    assert days.set_index("stage")["days_in_stage"].to_dict() == {
        "Lead": 10.0,
        "Qualified": 20.0,
        "Proposal": 20.0,
    }
    assert days.set_index("stage").loc["Qualified", "basis"] == "all deals"
    assert "Qualified: no won deal has left it yet" in days.attrs["source"]
    plan = leads_needed(
        100,
        10,
        {"Lead": 0.5, "Qualified": 0.5, "Proposal": 0.5},
        deadline="2026-12-31",
        days_in_stage=days,
    )
    assert plan.table["enter_by"].iloc[0] == pd.Timestamp("2026-11-11")  # 10 + 20 + 20 days


# ---- 8.16 waterfall with new early-stage deals -------------------------------------------------
def test_waterfall_with_stages_only_in_the_closing_snapshot(tmp_path, capsys):
    opening = pd.DataFrame(
        {
            "Deal ID": ["a", "b", "c"],
            "Stage": ["Qualified", "Proposal", "Proposal"],
            "Amount": [1000.10, 2000.20, 3000.30],
            "Close Date": ["2026-10-05", "2026-11-05", "2026-12-05"],
        }
    )
    closing = pd.DataFrame(
        {
            "Deal ID": ["a", "b", "n1", "n2"],
            "Stage": ["Proposal", "Closed Won", "Lead", "Discovery"],
            "Amount": [1100.00, 2000.20, 500.05, 0.01],
            "Close Date": ["2026-10-05", "2026-10-20", "2026-12-01", "2026-12-15"],
        }
    )
    w = pipeline_waterfall(opening, closing)
    t = w.table.set_index("step")
    assert int(t.loc["opening", "value_cents"]) == 600060
    assert int(t.loc["closing", "value_cents"]) == 110000 + 50005 + 1
    cents = (t["value_cents"] * t["sign"]).drop("closing").sum()
    assert int(cents) == int(t.loc["closing", "value_cents"])  # exact to the cent
    by_deal = w.deals.set_index("deal_id")
    assert (
        by_deal.loc["c", "closing_stage"] == "(removed)" and by_deal.loc["c", "step"] == "removed"
    )
    assert by_deal.loc["n1", "opening_stage"] == "(new)" and by_deal.loc["n1", "step"] == "new"
    assert any("both snapshots" in n and "Lead" in n for n in w.notes)
    a, b = tmp_path / "sep.csv", tmp_path / "oct.csv"
    opening.to_csv(a, index=False)
    closing.to_csv(b, index=False)
    rows = run_json(capsys, "waterfall", str(a), str(b), "--show", "deals")
    assert {r["closing_stage"] for r in rows if r["step"] == "removed"} == {"(removed)"}
    assert all(r["closing_stage"] is not None for r in rows)
    text = run_text(capsys, "waterfall", str(a), str(b), "--show", "deals")
    assert "NaN" not in text and "(removed)" in text


def test_waterfall_still_refuses_a_misspelt_stage():
    opening = pd.DataFrame({"Deal ID": ["a"], "Stage": ["Proposal"], "Amount": [1.0]})
    closing = pd.DataFrame({"Deal ID": ["a"], "Stage": ["Propsal"], "Amount": [1.0]})
    with pytest.raises(PipesheetError, match="did you mean 'Proposal'"):
        pipeline_waterfall(opening, closing)


# ---- 8.21 counts are whole numbers; the lead plan's currency -------------------------------------
def test_counts_are_ints_in_the_api_tables(model):
    for col in ("reached", "won", "lost", "open"):
        assert model.table_[col].dtype == np.int64, col
    by_owner = StageProbabilities(by="owner").fit(sample_history(), sample_deals())
    assert by_owner.table_["reached"].dtype == np.int64
    markov = StageProbabilities(method="markov").fit(sample_history(), sample_deals())
    assert markov.table_["won"].dtype == np.int64
    fc = weighted_forecast(sample_deals(), model, rates=sample_rates(), total=True)
    assert fc["deals"].dtype == np.int64


def test_lead_plan_carries_its_currency(model):
    pos = pipeline_position(sample_deals(), model, rates=sample_rates())
    plan = leads_needed(1_000_000, pos.average_won_deal, model, currency=pos.currency)
    assert plan.currency == "EUR" and "Target 1,000,000 EUR" in plan.explanation[0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert math.isfinite(pos.average_won_deal)
