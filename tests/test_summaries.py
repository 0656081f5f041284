"""The summary path: the same estimators over Polars, PyArrow, DuckDB and Spark frames give the
pandas path's results — identical counts (``table_``: reached, won, lost, open per stage and
group), identical time-aware and weighted forecasts — and the same errors.

Frames of each engine are made from the same pandas tables (the bundled sample, and generated
histories with same-day rows at different stages and rows out of order). A lazy frame (DuckDB,
Spark, a Polars LazyFrame) gets the table order as a ``row`` column; without one, same-day rows
at different stages are an error.
"""

from __future__ import annotations

import importlib
import os
import shutil
import warnings

import numpy as np
import pandas as pd
import pytest

from conftest import in_ci
from pipesheet import StageProbabilities, TimeAwareForecast, pipeline_range, weighted_forecast
from pipesheet.errors import PipesheetError
from pipesheet.sample import sample_deals, sample_history, sample_rates


def need(module: str):
    """The module, or a skip (a failure under CI, except in the core-only job)."""
    try:
        return importlib.import_module(module)
    except ImportError:
        message = f"needs {module} (pip install -e '.[scale-test]')"
        if in_ci() and not os.environ.get("PIPESHEET_CORE_ONLY"):
            pytest.fail(message + " — scripts/test.sh installs it")
        pytest.skip(message)


# ---- frames of each engine ----------------------------------------------------------------------


def with_row(frame: pd.DataFrame) -> pd.DataFrame:
    """The table with its order as a ``row`` column (the spreadsheet row: header = 1)."""
    out = frame.copy()
    out.insert(0, "row", np.arange(2, 2 + len(frame), dtype=np.int64))
    return out


def as_polars(frame: pd.DataFrame):
    pl = need("polars")
    return pl.from_pandas(frame)


def as_polars_lazy(frame: pd.DataFrame):
    return as_polars(with_row(frame)).lazy()


def as_pyarrow(frame: pd.DataFrame):
    pa = need("pyarrow")
    return pa.Table.from_pandas(frame, preserve_index=False)


_DUCK = {}


def as_duckdb(frame: pd.DataFrame, row: bool = True):
    duckdb = need("duckdb")
    con = _DUCK.setdefault("con", duckdb.connect())
    return con.from_arrow(as_pyarrow(with_row(frame) if row else frame))


ENGINES = {
    "polars": as_polars,
    "polars-lazy": as_polars_lazy,
    "pyarrow": as_pyarrow,
    "duckdb": as_duckdb,
}


# ---- generated histories with ties and rows out of order ---------------------------------------

STAGES = ["Lead", "Qualified", "Proposal", "Negotiation"]


def generated(
    n_deals: int = 400, seed: int = 3, ties: bool = True, spellings: bool = True
) -> tuple[pd.DataFrame, ...]:
    """A history (shuffled rows; with ``ties`` many same-day rows at different stages; stage
    labels in several spellings) and its deals table."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_deals):
        deal = f"G-{i:04d}"
        day = pd.Timestamp("2025-01-01") + pd.Timedelta(days=int(rng.integers(0, 300)))
        stage = 0
        for _ in range(int(rng.integers(1, 7))):
            label = STAGES[stage]
            if spellings:
                label = rng.choice([label, label.upper(), f" {label.lower()} ", label + "\u200b"])
            rows.append((deal, label, day))
            if not ties or rng.random() > 0.4:
                day += pd.Timedelta(days=int(rng.integers(1, 30)))
            stage = int(np.clip(stage + rng.choice([-1, 1, 1, 2]), 0, 3))
        end = rng.random()
        if end < 0.35:
            rows.append((deal, rng.choice(["Closed Won", "Cerrada ganada"]), day))
        elif end < 0.8:
            rows.append((deal, rng.choice(["Closed Lost", "closed - lost"]), day))
    history = pd.DataFrame(rows, columns=["Deal ID", "Stage", "Entered Date"])
    history = history.sample(frac=1, random_state=seed).reset_index(drop=True)
    ids = [f"G-{i:04d}" for i in range(n_deals)]
    deals = pd.DataFrame(
        {
            "Deal ID": ids,
            "Stage": "Lead",
            "Amount": rng.integers(1, 100, n_deals) * 1000.0,
            "Owner": rng.choice(["Ana", "Bo", " ana ", None], n_deals),
            "Expected Close Date": pd.Timestamp("2025-10-01")
            + pd.to_timedelta(rng.integers(0, 200, n_deals), unit="D"),
        }
    )
    return history, deals


# ---- stage probabilities ------------------------------------------------------------------------

OPTIONS = [
    {},
    {"method": "markov"},
    {"by": "Owner"},
    {"by": "Owner", "method": "markov", "as_of": "2025-08-31"},
    {"won_passes_all": True, "shrinkage": 4, "by": "Owner"},
]


@pytest.mark.parametrize("engine", list(ENGINES))
@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: ",".join(o) or "default")
def test_stage_table_identical_on_generated_ties(engine, options):
    history, deals = generated()
    reference = StageProbabilities(**options).fit(history, deals)
    make = ENGINES[engine]
    model = StageProbabilities(**options).fit(make(history), make(deals))
    pd.testing.assert_frame_equal(model.table_, reference.table_, check_exact=True)
    pd.testing.assert_frame_equal(model.overall_, reference.overall_, check_exact=True)
    assert model.stages_ == reference.stages_
    assert model.notes_ == reference.notes_


@pytest.mark.parametrize("engine", list(ENGINES))
def test_stage_table_identical_on_the_sample(engine):
    history, deals = sample_history(), sample_deals()
    make = ENGINES[engine]
    for options in ({}, {"by": "Segment", "method": "markov", "as_of": "2026-03-31"}):
        reference = StageProbabilities(**options).fit(history, deals)
        model = StageProbabilities(**options).fit(make(history), make(deals))
        pd.testing.assert_frame_equal(model.table_, reference.table_, check_exact=True)
        assert model.notes_ == reference.notes_
        assert "configured_probability" in model.table_  # the deals' Probability (%) column


def test_lazy_frame_without_an_ordering_column_and_same_day_rows_is_refused():
    history, _ = generated()
    with pytest.raises(PipesheetError) as err:
        StageProbabilities().fit(as_duckdb(history, row=False))
    message = str(err.value)
    assert "same date" in message and "order_by" in message
    assert "column 'Entered Date'" in message


def test_lazy_frame_without_ties_needs_no_ordering_column():
    # (without a table order, a stage spelt several ways is named by its first spelling in
    # sort order — not necessarily the table's first: one spelling per stage here)
    history, _ = generated(ties=False, spellings=False)
    reference = StageProbabilities(method="markov").fit(history)
    model = StageProbabilities(method="markov").fit(as_duckdb(history, row=False))
    pd.testing.assert_frame_equal(model.table_, reference.table_, check_exact=True)
    tref = TimeAwareForecast(as_of="2025-09-30").fit(history)
    tnew = TimeAwareForecast(as_of="2025-09-30").fit(as_duckdb(history, row=False))
    pd.testing.assert_frame_equal(tnew.table_, tref.table_, check_exact=True)


def test_order_by_names_the_ordering_column():
    history, _ = generated()
    frame = with_row(history).rename(columns={"row": "Export Order"})
    duck = need("duckdb").connect().from_arrow(as_pyarrow(frame))
    reference = StageProbabilities(method="markov").fit(history)
    model = StageProbabilities(method="markov", order_by="Export Order").fit(duck)
    pd.testing.assert_frame_equal(model.table_, reference.table_, check_exact=True)
    with pytest.raises(PipesheetError, match="ordering column is not in the table"):
        StageProbabilities(order_by="Nope").fit(duck)


# ---- the same errors ----------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ["polars", "duckdb"])
def test_errors_name_the_column_and_value(engine):
    history, _ = generated(40)
    make = ENGINES[engine]
    bad = history.copy()
    bad.loc[5, "Stage"] = "Prpoosal"
    stages = StageProbabilities().fit(history).stages_
    with pytest.raises(PipesheetError) as err:
        StageProbabilities(stages=stages).fit(make(bad))
    text = str(err.value)
    assert "unknown stage" in text and "'Prpoosal'" in text and "column 'Stage'" in text
    if engine == "polars":  # an eager frame has spreadsheet rows
        assert err.value.rows == [7]
    else:  # a lazy one names the deal instead
        assert repr(bad.loc[5, "Deal ID"]) in text and "no spreadsheet row numbers" in text
    look = history.copy()
    look.loc[3, "Stage"] = "Рroposal"  # Cyrillic Р
    with pytest.raises(PipesheetError, match="look the same"):
        StageProbabilities().fit(make(look))
    blank = history.copy()
    blank.loc[2, "Deal ID"] = "  "
    with pytest.raises(PipesheetError, match="deal id is blank"):
        StageProbabilities().fit(make(blank))


def test_history_deal_missing_from_the_deals_table():
    history, deals = generated(50)
    with pytest.raises(PipesheetError, match="not in the deals table"):
        StageProbabilities().fit(as_duckdb(history), as_duckdb(deals.iloc[1:]))


def test_mixed_engines_are_refused():
    history, deals = generated(50)
    with pytest.raises(PipesheetError, match="same engine"):
        StageProbabilities().fit(as_duckdb(history), as_polars(deals))


# ---- time-aware forecast ------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ["polars", "polars-lazy", "duckdb"])
def test_time_aware_identical(engine):
    history, deals, rates = sample_history(), sample_deals(), sample_rates()
    make = ENGINES[engine]
    for options in ({"as_of": "2026-06-30"}, {"as_of": "2026-03-31", "bin_days": 1}):
        ref = TimeAwareForecast(rates=rates, **options).fit(history, deals)
        got = TimeAwareForecast(rates=rates, **options).fit(make(history), make(deals))
        pd.testing.assert_frame_equal(got.table_, ref.table_, check_exact=True)
        pd.testing.assert_frame_equal(got.curves_, ref.curves_, check_exact=True)
        assert got.forecast_ == ref.forecast_
        assert got.notes_ == ref.notes_
        # a lazy deals table has no spreadsheet rows: same deals, in deal id order
        a = ref.deals_.reset_index(drop=True)
        b = got.deals_.reset_index(drop=True)
        pd.testing.assert_frame_equal(b, a, check_exact=True)
        if engine == "polars":
            assert got.deals_.index.equals(ref.deals_.index)


def test_time_aware_recency_weights_agree_to_rounding():
    history = sample_history()
    ref = TimeAwareForecast(as_of="2026-06-30", half_life=180).fit(history)
    got = TimeAwareForecast(as_of="2026-06-30", half_life=180).fit(as_polars(history))
    pd.testing.assert_frame_equal(got.curves_, ref.curves_, check_exact=False, rtol=1e-12)
    assert got.forecast_ == pytest.approx(ref.forecast_, rel=1e-12)


def test_time_aware_generated_ties():
    history, deals = generated()
    ref = TimeAwareForecast(as_of="2025-08-31").fit(history, deals)
    for make in (as_polars, as_duckdb):
        got = TimeAwareForecast(as_of="2025-08-31").fit(make(history), make(deals))
        pd.testing.assert_frame_equal(got.table_, ref.table_, check_exact=True)
        assert got.forecast_ == ref.forecast_


# ---- Spark, for real: a local session (needs Java) ----------------------------------------------


@pytest.fixture(scope="module")
def spark(tmp_path_factory):
    need("pyspark")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        message = "PySpark needs a Java runtime (scripts/test.sh installs default-jre-headless)"
        if in_ci() and not os.environ.get("PIPESHEET_CORE_ONLY"):
            pytest.fail(message)
        pytest.skip(message)
    from pyspark.sql import SparkSession

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        session = (
            SparkSession.builder.master("local[2]")
            .appName("pipesheet-tests")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.shuffle.partitions", "2")
            .config("spark.sql.session.timeZone", "UTC")
            .getOrCreate()
        )
    session.sparkContext.setLogLevel("ERROR")
    folder = tmp_path_factory.mktemp("spark")

    def frame(table: pd.DataFrame, name: str):
        path = folder / f"{name}.parquet"
        as_pyarrow_parquet(with_row(table), path)
        return session.read.parquet(str(path))

    yield frame
    session.stop()


def as_pyarrow_parquet(table: pd.DataFrame, path) -> None:
    pq = need("pyarrow.parquet")
    pq.write_table(as_pyarrow(table), str(path))


def test_spark_identical(spark):
    history, deals = sample_history(), sample_deals()
    dated = history.assign(**{"Entered Date": pd.to_datetime(history["Entered Date"])})
    sh, sd = spark(dated, "history"), spark(deals, "deals")
    for options in ({}, {"by": "Owner", "method": "markov", "as_of": "2026-03-31"}):
        ref = StageProbabilities(**options).fit(history, deals)
        got = StageProbabilities(**options).fit(sh, sd)
        pd.testing.assert_frame_equal(got.table_, ref.table_, check_exact=True)
        assert got.notes_ == ref.notes_
    ref = TimeAwareForecast(as_of="2026-06-30", rates=sample_rates()).fit(history, deals)
    got = TimeAwareForecast(as_of="2026-06-30", rates=sample_rates()).fit(sh, sd)
    pd.testing.assert_frame_equal(got.table_, ref.table_, check_exact=True)
    assert got.forecast_ == ref.forecast_
    gen, gen_deals = generated(150)
    ref = StageProbabilities(method="markov", by="Owner").fit(gen, gen_deals)
    got = StageProbabilities(method="markov", by="Owner").fit(
        spark(gen, "gen"), spark(gen_deals, "gen_deals")
    )
    pd.testing.assert_frame_equal(got.table_, ref.table_, check_exact=True)


# ---- weighted forecast and range ----------------------------------------------------------------


@pytest.mark.parametrize("engine", ["polars", "polars-lazy", "duckdb"])
def test_weighted_forecast_and_range_agree(engine):
    history, deals, rates = sample_history(), sample_deals(), sample_rates()
    make = ENGINES[engine]
    by_owner = StageProbabilities(by="Owner").fit(history, deals)
    cases = [
        ({"period": "quarter"}, by_owner),
        (
            {
                "period": "month",
                "by": ["Segment", "Owner"],
                "as_of": "2026-06-30",
                "start": "2026-07-01",
                "end": "2026-12-31",
                "total": True,
            },
            "configured",
        ),
        (
            {"period": None, "fiscal_year_start": 4},
            {"Lead": 0.1, "Qualified": 0.25, "Proposal": 0.5, "Negotiation": 0.7},
        ),
    ]
    frame = make(deals)
    for options, probabilities in cases:
        ref = weighted_forecast(deals, probabilities, rates=rates, **options)
        got = weighted_forecast(frame, probabilities, rates=rates, **options)
        # the same cells and counts; sums of money agree up to the order of the additions
        pd.testing.assert_frame_equal(got, ref, check_exact=False, rtol=1e-12)
        assert got["deals"].tolist() == ref["deals"].tolist()
        assert got.attrs == ref.attrs
    window = {"start": "2026-07-01", "end": "2026-09-30", "as_of": "2026-06-30"}
    ref = pipeline_range(deals, by_owner, rates=rates, quota=500_000, **window)
    got = pipeline_range(frame, by_owner, rates=rates, quota=500_000, **window)
    for name in ("mean", "std_dev", "p10", "p50", "p90", "closed", "p_quota"):
        assert getattr(got, name) == pytest.approx(getattr(ref, name), rel=1e-9, abs=1e-6)


def test_blank_amounts_count_deals_on_a_lazy_table():
    _, deals = generated(60)
    deals.loc[[3, 7, 8], "Amount"] = np.nan
    probabilities = {s: 0.5 for s in STAGES}
    with pytest.raises(PipesheetError, match=r"amount is blank \(3 deal\(s\)\)") as err:
        weighted_forecast(as_duckdb(deals), probabilities)
    assert "G-0003" in str(err.value)
    ref = weighted_forecast(deals, probabilities, blank_amounts="skip", period="quarter")
    got = weighted_forecast(as_duckdb(deals), probabilities, blank_amounts="skip", period="quarter")
    pd.testing.assert_frame_equal(got, ref, check_exact=False, rtol=1e-12)
    assert "3 deal(s) with a blank amount skipped" in got.attrs["notes"]


@pytest.mark.parametrize("engine", ["polars-lazy", "duckdb"])
def test_ids_cleaned_as_pandas_cleans_them(engine):
    """Ids with stray spaces or invisible characters are one deal, as in the pandas path (they
    are checked per deal first and cleaned row by row only when some need it)."""
    history, deals = generated(80)
    messy = history.copy()
    messy.loc[::7, "Deal ID"] = " " + messy.loc[::7, "Deal ID"] + "  "
    messy.loc[3::11, "Deal ID"] = messy.loc[3::11, "Deal ID"] + "\u200b"
    make = ENGINES[engine]
    for options in ({}, {"method": "markov", "by": "Owner"}):
        ref = StageProbabilities(**options).fit(messy, deals)
        got = StageProbabilities(**options).fit(make(messy), make(deals))
        pd.testing.assert_frame_equal(got.table_, ref.table_, check_exact=True)
    ref = TimeAwareForecast(as_of="2025-08-31").fit(messy)
    got = TimeAwareForecast(as_of="2025-08-31").fit(make(messy))
    pd.testing.assert_frame_equal(got.table_, ref.table_, check_exact=True)


def test_the_row_column_of_large_files_is_the_one_summaries_reads():
    from pipesheet import summaries
    from pipesheet.exports import large

    assert large.ROW == summaries.ROW


@pytest.mark.parametrize(
    ("header", "what"), [("Pipeline", "pipelines"), ("Override %", "overrides")]
)
def test_pipelines_and_overrides_on_another_engine_are_refused_by_name(header, what):
    pl = need("polars")
    deals = sample_deals()
    deals[header] = "New business" if header == "Pipeline" else 0.5
    with pytest.raises(PipesheetError) as err:
        weighted_forecast(pl.from_pandas(deals), {"Lead": 0.1, "Qualified": 0.2})
    text = str(err.value)
    assert what in text and header in text and "pandas" in text
