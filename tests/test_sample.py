"""Tests of the synthetic pipeline generator and the bundled sample (pipesheet.sample)."""

from __future__ import annotations

import itertools
import re
from datetime import date

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipesheet.errors import PipesheetError
from pipesheet.sample import (
    DATA_DIR,
    DEAL_COLUMNS,
    HISTORY_COLUMNS,
    SAMPLE_AS_OF,
    SAMPLE_LOST,
    SAMPLE_STAGES,
    SAMPLE_WON,
    generate_pipeline,
    sample_deals,
    sample_history,
    sample_rates,
    write_sample,
)

FILES = ("sample_deals.csv", "sample_history.csv", "sample_rates.csv")
EXCEL_EPOCH = pd.Timestamp("1899-12-30")


def fold(values: pd.Series) -> pd.Series:
    return values.str.strip().str.casefold()


def to_amount(values: pd.Series) -> pd.Series:
    """What a tolerant reader does: drop thousands separators, read as a number."""
    return pd.to_numeric(values.astype(str).str.replace(",", "", regex=False))


def to_date(values: pd.Series) -> pd.Series:
    """ISO dates, or Excel serial numbers (days since 1899-12-30)."""
    text = values.astype(str)
    serial = text.str.fullmatch(r"\d{5}")
    out = pd.to_datetime(text.where(~serial), format="%Y-%m-%d")
    days = pd.to_numeric(text.where(serial))
    out[serial] = EXCEL_EPOCH + pd.to_timedelta(days[serial], unit="D")
    return out


@pytest.fixture(scope="module")
def sample() -> tuple[pd.DataFrame, pd.DataFrame]:
    return generate_pipeline()


def stage_codes(history: pd.DataFrame, stages=SAMPLE_STAGES) -> pd.Series:
    order = [s.casefold() for s in (*stages, SAMPLE_WON, SAMPLE_LOST)]
    codes = fold(history["Stage"]).map({s: i for i, s in enumerate(order)})
    assert codes.notna().all(), "every history stage is a known stage after strip/casefold"
    return codes.astype(int)


def check_invariants(deals, history, stages=SAMPLE_STAGES, as_of=SAMPLE_AS_OF) -> None:
    """What must hold for any generated pipeline."""
    assert list(deals.columns) == list(DEAL_COLUMNS)
    assert list(history.columns) == list(HISTORY_COLUMNS)
    assert deals["Deal ID"].is_unique
    assert set(history["Deal ID"]) == set(deals["Deal ID"])
    k = len(stages)
    codes = stage_codes(history, stages)
    entered = pd.to_datetime(history["Entered Date"], format="%Y-%m-%d")
    as_of_ts = pd.Timestamp(as_of)
    assert (entered <= as_of_ts).all(), "nothing happens after the export date"
    # Chronological per deal, strictly (every move takes at least a day), rows grouped by deal.
    same_deal = history["Deal ID"].eq(history["Deal ID"].shift())
    assert (entered.diff()[same_deal] > pd.Timedelta(0)).all()
    assert history["Deal ID"].ne(history["Deal ID"].shift()).sum() == len(deals)
    # Terminal stages only as last rows; the last row is the deal's current stage.
    last = ~history["Deal ID"].eq(history["Deal ID"].shift(-1))
    assert (codes[~last] < k).all()
    by_deal = deals.set_index("Deal ID")
    last_rows = history[last].set_index("Deal ID")
    assert fold(last_rows["Stage"]).equals(fold(by_deal["Stage"]).loc[last_rows.index])
    first_rows = history[~same_deal].set_index("Deal ID")
    assert (first_rows["Entered Date"] == by_deal.loc[first_rows.index, "Created Date"]).all()
    # Closed dates: the terminal row's date for won/lost deals, blank for open ones.
    current = fold(deals["Stage"])
    closed = current.isin([SAMPLE_WON.casefold(), SAMPLE_LOST.casefold()])
    assert deals.loc[~closed, "Closed Date"].isna().all()
    assert deals.loc[closed, "Closed Date"].notna().all()
    closed_ids = deals.loc[closed, "Deal ID"]
    assert (
        last_rows.loc[closed_ids, "Entered Date"].to_numpy()
        == deals.loc[closed, "Closed Date"].to_numpy()
    ).all()
    expected = to_date(deals["Expected Close Date"])
    closed_date = pd.to_datetime(deals["Closed Date"], format="%Y-%m-%d")
    assert (expected[closed] == closed_date[closed]).all()
    # Forecast category and configured probability follow the stage.
    category = deals["Forecast Category"]
    assert (category[current == SAMPLE_WON.casefold()] == "Closed").all()
    assert (category[current == SAMPLE_LOST.casefold()] == "Omitted").all()
    assert category[~closed].isin(["Pipeline", "Best Case", "Commit"]).all()
    probability = deals["Probability (%)"]
    assert (probability[current == SAMPLE_WON.casefold()] == 100).all()
    assert (probability[current == SAMPLE_LOST.casefold()] == 0).all()
    assert probability[~closed].between(1, 99).all()
    for col in ("Stage", "Forecast Category", "Probability (%)"):
        pairs = pd.DataFrame({"s": current[~closed], "v": deals.loc[~closed, col]})
        if col == "Stage":
            continue
        assert (pairs.groupby("s")["v"].nunique() == 1).all(), f"{col} is one value per stage"
    amounts = to_amount(deals["Amount"])
    assert (amounts > 0).all() and (amounts == np.round(amounts)).all()
    assert deals["Currency"].isin(["EUR", "USD"]).all()
    assert deals["Segment"].isin(["SMB", "Mid-Market", "Enterprise"]).all()


# --- determinism and the bundled files ----------------------------------------------------------


def test_same_call_same_frames():
    d1, h1 = generate_pipeline(500, seed=3)
    d2, h2 = generate_pipeline(500, seed=3)
    pd.testing.assert_frame_equal(d1, d2)
    pd.testing.assert_frame_equal(h1, h2)
    d3, _ = generate_pipeline(500, seed=4)
    assert not d1.equals(d3)


def test_bundled_files_equal_a_fresh_write(tmp_path):
    write_sample(tmp_path)
    for name in FILES:
        fresh = (tmp_path / name).read_bytes()
        assert fresh == (DATA_DIR / name).read_bytes(), (
            f"{name} is stale: python -m pipesheet.sample"
        )
        assert b"\r" not in fresh
        fresh.decode("utf-8")
    write_sample(tmp_path / "again")
    for name in FILES:
        assert (tmp_path / "again" / name).read_bytes() == (tmp_path / name).read_bytes()


def test_bundled_tables_read_back_as_generated(sample):
    deals, history = sample
    pd.testing.assert_frame_equal(sample_deals(), deals)
    pd.testing.assert_frame_equal(sample_history(), history)


def test_rates():
    rates = sample_rates()
    assert list(rates.columns) == ["Currency", "Rate"]
    assert dict(zip(rates["Currency"], rates["Rate"], strict=True)) == {"EUR": 1.0, "USD": 0.92}
    assert (DATA_DIR / "sample_rates.csv").read_text(encoding="utf-8") == (
        "Currency,Rate\nEUR,1.0\nUSD,0.92\n"
    )


# --- shapes and consistency -------------------------------------------------------------------


def test_sample_shapes_and_invariants(sample):
    deals, history = sample
    assert deals.shape == (3000, len(DEAL_COLUMNS))
    assert 2.2 * len(deals) < len(history) < 3.5 * len(deals)
    assert deals["Deal ID"].str.fullmatch(r"D-\d{6}").all()
    assert deals["Deal ID"].is_monotonic_increasing
    check_invariants(deals, history)


def test_sample_on_disk_keeps_its_meaning():
    check_invariants(sample_deals(), sample_history())


def test_owners_products_countries(sample):
    deals, _ = sample
    owners = set(deals["Owner"].dropna())
    assert 6 <= len(owners) <= 10
    assert {"Zoë Müller", "José Núñez"} <= owners
    assert 3 <= deals["Product Line"].nunique() <= 4
    assert set(deals["Country"]) == {"DE", "FR", "ES", "US", "GB", "NL"}
    assert (deals.loc[deals["Country"] == "US", "Currency"] == "USD").all()


def test_currencies_mix(sample):
    deals, _ = sample
    eur = (deals["Currency"] == "EUR").mean()
    assert 0.62 < eur < 0.78


def test_amounts_depend_on_segment(sample):
    deals, _ = sample
    medians = to_amount(deals["Amount"]).groupby(deals["Segment"]).median()
    assert 3_500 < medians["SMB"] < 7_000
    assert 18_000 < medians["Mid-Market"] < 35_000
    assert 85_000 < medians["Enterprise"] < 170_000


def test_configured_probabilities_and_categories(sample):
    deals, _ = sample
    current = fold(deals["Stage"])
    expected = {
        "lead": (10, "Pipeline"),
        "qualified": (20, "Pipeline"),
        "proposal": (50, "Best Case"),
        "negotiation": (80, "Commit"),
        "closed won": (100, "Closed"),
        "closed lost": (0, "Omitted"),
    }
    got = deals.assign(s=current).groupby("s")[["Probability (%)", "Forecast Category"]].first()
    assert {s: tuple(v) for s, v in got.iterrows()} == expected


# --- the funnel's behaviour ---------------------------------------------------------------------


def reached_table(history: pd.DataFrame, stages=SAMPLE_STAGES) -> pd.DataFrame:
    codes = stage_codes(history, stages)
    hit = pd.crosstab(history["Deal ID"], codes) > 0
    return hit.reindex(columns=range(len(stages) + 2), fill_value=False)


def test_mid_funnel_starts(sample):
    _, history = sample
    codes = stage_codes(history)
    first = codes[~history["Deal ID"].eq(history["Deal ID"].shift())]
    share = (first > 0).mean()
    assert 0.12 < share < 0.18
    assert set(first.unique()) == {0, 1, 2}
    # A deal created mid-funnel never visits the first stage.
    reached = reached_table(history)
    mid_ids = history.loc[first.index[first > 0], "Deal ID"]
    assert not reached.loc[mid_ids, 0].any()
    # ...and some of them are won, which the "won passes every stage" option must not be fooled by.
    assert reached.loc[mid_ids, len(SAMPLE_STAGES)].sum() > 20


def test_backward_moves_and_skips(sample):
    _, history = sample
    codes = stage_codes(history)
    k = len(SAMPLE_STAGES)
    same = history["Deal ID"].eq(history["Deal ID"].shift())
    prev = codes.shift()
    back = same & (codes < prev)
    skip = same & (codes - prev >= 2) & (codes <= k)
    back_deals = history.loc[back, "Deal ID"]
    assert back_deals.is_unique, "a deal moves back at most once"
    assert 0.015 < back_deals.nunique() / 3000 < 0.05
    assert 0.015 < history.loc[skip, "Deal ID"].nunique() / 3000 < 0.05


def test_step_conversions_and_win_rates_make_sense(sample):
    deals, history = sample
    reached = reached_table(history)
    k = len(SAMPLE_STAGES)
    closed = reached[k] | reached[k + 1]
    conversions, win_rates = [], []
    for s in range(k):
        base = reached[s] & closed
        onward = reached[k] if s == k - 1 else reached[s + 1] | reached[k]
        conversions.append((onward & base).sum() / base.sum())
        win_rates.append((reached[k] & base).sum() / base.sum())
    assert all(0.4 < c < 0.8 for c in conversions), conversions
    assert all(a < b for a, b in itertools.pairwise(win_rates)), win_rates
    assert 0.07 < win_rates[0] < 0.2
    # Learned rates differ from the configured ones (10/20/50/80) somewhere noticeably.
    assert max(abs(w - c) for w, c in zip(win_rates, (0.1, 0.2, 0.5, 0.8), strict=True)) > 0.05
    open_share = (~fold(deals["Stage"]).isin(["closed won", "closed lost"])).mean()
    assert 0.05 < open_share < 0.3


def test_censoring_recent_deals_are_open(sample):
    deals, _ = sample
    created = pd.to_datetime(deals["Created Date"])
    age = (pd.Timestamp(SAMPLE_AS_OF) - created).dt.days
    is_open = ~fold(deals["Stage"]).isin(["closed won", "closed lost"])
    assert is_open[age <= 14].mean() > 0.7
    assert is_open[age > 365].mean() < 0.03
    assert age.max() <= 730 and age.min() >= 0


def test_open_deals_expected_close_mostly_future(sample):
    deals, _ = sample
    is_open = ~fold(deals["Stage"]).isin(["closed won", "closed lost"])
    expected = to_date(deals.loc[is_open, "Expected Close Date"])
    as_of = pd.Timestamp(SAMPLE_AS_OF)
    future = (expected > as_of).mean()
    assert 0.8 < future < 0.99, "mostly in the future, a few overdue"
    assert (expected <= as_of + pd.Timedelta(days=300)).all()


def test_dwell_longer_for_enterprise(sample):
    deals, _ = sample
    closed = deals["Closed Date"].notna()
    cycle = (pd.to_datetime(deals["Closed Date"]) - pd.to_datetime(deals["Created Date"])).dt.days
    median = cycle[closed].groupby(deals.loc[closed, "Segment"]).median()
    assert median["SMB"] < median["Mid-Market"] < median["Enterprise"]


# --- dirty values -----------------------------------------------------------------------------


def test_dirty_values_present_and_readable(sample):
    deals, history = sample
    amount = deals["Amount"]
    assert amount.str.contains(",", regex=False).sum() >= 5
    assert amount.str.endswith(".00").sum() >= 5
    assert amount.str.fullmatch(r"\d{1,3}(,\d{3})*|\d+(\.00)?").all()
    canonical = {*SAMPLE_STAGES, SAMPLE_WON, SAMPLE_LOST}
    for table in (deals, history):
        odd = ~table["Stage"].isin(canonical)
        assert 0.003 < odd.mean() < 0.03
    assert 1 <= deals["Owner"].isna().sum() <= 60
    serial = deals["Expected Close Date"].str.fullmatch(r"\d{5}")
    assert 10 <= serial.sum() <= 60
    iso = deals["Expected Close Date"].str.fullmatch(r"\d{4}-\d{2}-\d{2}")
    assert (serial | iso).all()
    assert to_date(deals["Expected Close Date"]).notna().all()
    for col in ("Created Date", "Entered Date"):
        table = deals if col in deals else history
        assert table[col].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()


def test_clean_export():
    deals, history = generate_pipeline(2000, dirty=False)
    canonical = {*SAMPLE_STAGES, SAMPLE_WON, SAMPLE_LOST}
    assert deals["Stage"].isin(canonical).all() and history["Stage"].isin(canonical).all()
    assert deals["Amount"].dtype == np.int64 and (deals["Amount"] > 0).all()
    assert deals["Owner"].notna().all()
    assert deals["Expected Close Date"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
    check_invariants(deals, history)
    # Dirtiness changes only the spelling, not the deals.
    dirty, dirty_history = generate_pipeline(2000, dirty=True)
    assert (to_amount(dirty["Amount"]) == deals["Amount"]).all()
    assert fold(dirty["Stage"]).equals(fold(deals["Stage"]))
    assert fold(dirty_history["Stage"]).equals(fold(history["Stage"]))
    assert (to_date(dirty["Expected Close Date"]) == to_date(deals["Expected Close Date"])).all()


# --- other stage lists, arguments, edge cases ----------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(0, 300),
    seed=st.integers(0, 2**32 - 1),
    k=st.integers(1, 7),
    dirty=st.booleans(),
    as_of=st.dates(min_value=date(2001, 1, 1), max_value=date(2099, 12, 31)),
)
def test_invariants_hold_for_any_call(n, seed, k, dirty, as_of):
    stages = tuple(f"Stage {i + 1}" for i in range(k))
    deals, history = generate_pipeline(n, seed=seed, stages=stages, dirty=dirty, as_of=str(as_of))
    assert len(deals) == n
    if n:
        check_invariants(deals, history, stages=stages, as_of=str(as_of))


def test_custom_stages():
    stages = ("Discovery", "Demo", "Trial", "Proposal", "Legal", "Signature")
    deals, history = generate_pipeline(3000, stages=stages, dirty=False)
    check_invariants(deals, history, stages=stages)
    probs = deals.groupby("Stage")["Probability (%)"].first()
    assert list(probs[list(stages)]) == sorted(probs[list(stages)])
    assert probs["Discovery"] == 10 and probs["Signature"] == 80


def test_large_ids_widen():
    deals, _ = generate_pipeline(5, seed=1)
    assert deals["Deal ID"].tolist() == [f"D-{i:06d}" for i in range(1, 6)]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"stages": "Lead"},
        {"stages": ()},
        {"stages": ("Lead", "lead")},
        {"stages": ("Lead", "Closed Won")},
        {"as_of": "not a date"},
        {"n_deals": -1},
        {"n_deals": 2.5},
    ],
)
def test_bad_arguments(kwargs):
    kwargs = dict(kwargs)
    n = kwargs.pop("n_deals", 10)
    with pytest.raises(PipesheetError):
        generate_pipeline(n, **kwargs)


def test_generation_at_100k():
    """100,000 deals are generated whole (the time it takes is benchmarks' business)."""
    deals, _history = generate_pipeline(100_000, seed=11)
    assert len(deals) == 100_000
    ids = deals["Deal ID"]
    assert re.fullmatch(r"D-\d{6}", ids.iloc[-1])
