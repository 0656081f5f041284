"""Money in the dashboard's logic (as test_apps.py): the range covers the forecast row's open
deals (mean = its weighted value) with what is already won as closed so far, and blank amounts
are a choice on the page."""

from __future__ import annotations

import datetime as dt
import io

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("ipywidgets")

from pipesheet import StageProbabilities, period_labels, read_deals, weighted_forecast
from pipesheet.apps.dashboard import ALL, Dashboard
from pipesheet.forecast import price_deals
from pipesheet.sample import sample_deals, sample_history, sample_rates


@pytest.fixture(scope="module")
def app():
    return Dashboard()


def _row(app: Dashboard) -> pd.DataFrame:
    """The forecast rows of the chosen period (all groups shown)."""
    table = app.forecast
    return table[table["period"] == app.range_period.value]


@pytest.mark.parametrize("period", ["quarter", "month", "year"])
def test_range_mean_is_the_forecast_rows_weighted_value(app, period):
    app.group.value = ""
    app.period.value = period
    labels = list(app.range_period.options)
    assert labels
    for label in labels[:: max(1, len(labels) // 6)]:
        app.range_period.value = label
        row = _row(app)
        assert app.range_.mean == pytest.approx(float(row["weighted"].sum()), rel=1e-12)
        assert app.range_.deals == int(row["deals"].sum())


def test_range_follows_the_group_filter_and_adds_what_is_already_won(app):
    app.period.value = "quarter"
    app.group.value = "owner"
    priced = price_deals(sample_deals(), app.fitted, rates=sample_rates())
    frame = priced.deals.frame
    closed_on = frame["closed_date"].fillna(frame["close_date"])
    won_label = period_labels(closed_on, "quarter").to_numpy()
    open_label = period_labels(frame["close_date"], "quarter").to_numpy()
    checked = 0
    for owner in app.filter.options[1:4]:
        app.filter.value = owner
        mine = (frame["owner"].fillna("(blank)") == owner).to_numpy()
        for label in app.range_period.options:
            app.range_period.value = label
            row = _row(app)
            assert set(row["owner"]) == {owner}
            assert app.range_.mean == pytest.approx(float(row["weighted"].sum()), rel=1e-12)
            # closed so far: the owner's deals won in the period (reporting currency)
            won = priced.won & (won_label == label) & mine
            assert app.range_.closed == pytest.approx(float(priced.amount[won].sum()))
            open_ = (open_label == label) & mine
            rest = priced.range(app.quota.value - app.range_.closed, where=open_, closed=0.0)
            assert app.range_.p_quota == pytest.approx(rest.p_quota, abs=1e-12)
            checked += int(won.any())
    assert checked > 0  # some of those periods had won deals to add
    assert "range-closed" in app.range_html.value
    assert "the deals of the weighted forecast" in app.range_html.value
    app.group.value = ""
    assert app.filter.value == ALL


def test_blank_amounts_are_a_choice_on_the_page():
    deals = sample_deals()
    table = read_deals(deals)
    rows = np.flatnonzero((table.frame["code"] < table.stages.k).to_numpy())[:4]
    deals.loc[rows, "Amount"] = None
    app = Dashboard()  # on the sample
    content = deals.to_csv(index=False).encode()
    upload = {
        "name": "deals.csv",
        "type": "",
        "size": len(content),
        "content": memoryview(content),
        "last_modified": dt.datetime(2026, 10, 1, tzinfo=dt.UTC),
    }
    history = sample_history().to_csv(index=False).encode()
    rates = io.BytesIO()
    sample_rates().to_csv(rates, index=False)
    for kind, data, name in (
        ("history", history, "history.csv"),
        ("rates", rates.getvalue(), "rates.csv"),
    ):
        getattr(app, f"{kind}_upload").value = (
            {**upload, "name": name, "size": len(data), "content": memoryview(data)},
        )
    app.deals_upload.value = (upload,)
    assert "amount is blank" in app.error and "Blank amounts" in app.error
    assert "bundled sample" in app.source_html.value  # the page keeps the sample
    app.blank_amounts.value = "skip"
    assert app.error == ""
    model = StageProbabilities().fit(sample_history(), deals)
    want = weighted_forecast(
        deals, model, period="quarter", rates=sample_rates(), blank_amounts="skip"
    )
    pd.testing.assert_frame_equal(app.forecast, want)
    assert any("blank amount skipped" in n for n in app.forecast.attrs["notes"])
    app.blank_amounts.value = "zero"
    zero = weighted_forecast(
        deals, model, period="quarter", rates=sample_rates(), blank_amounts="zero"
    )
    pd.testing.assert_frame_equal(app.forecast, zero)
    assert app.results()["Settings"].set_index("setting").loc["blank amounts", "value"] == "zero"


def test_dashboard_given_blank_amounts_and_a_choice():
    deals = sample_deals()
    table = read_deals(deals)
    rows = np.flatnonzero((table.frame["code"] < table.stages.k).to_numpy())[:2]
    deals.loc[rows, "Amount"] = None
    stopped = Dashboard(deals, sample_history(), sample_rates())
    assert "amount is blank" in stopped.error
    stopped.blank_amounts.value = "skip"  # the choice retries the data it stopped
    assert stopped.error == "" and stopped.priced is not None
    direct = Dashboard(deals, sample_history(), sample_rates(), blank_amounts="skip")
    pd.testing.assert_frame_equal(stopped.forecast, direct.forecast)
