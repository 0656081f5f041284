"""A deterministic, realistic synthetic sales pipeline, and the bundled sample made with it.

:func:`generate_pipeline` returns two tables shaped like a CRM export (what a user would load from a
CSV, not a cleaned frame):

* **deals**: one row per deal ("Deal ID", "Deal Name", "Stage", "Amount", "Currency",
  "Expected Close Date", "Owner", "Product Line", "Country", "Segment", "Forecast Category",
  "Probability (%)", "Created Date", "Closed Date");
* **history**: one row per stage a deal entered ("Deal ID", "Stage", "Entered Date"), in
  chronological order per deal; a deal's last row is its current stage.

How the deals behave (the numbers drive demos and tests, so they are meant to make sense):

* deals are created over the two years before ``as_of`` (more of them recently: the team grows);
  about 15% start mid-funnel (at the 2nd or 3rd stage, never having been at the first one);
* from each stage a deal either moves on (step conversion about 0.55, 0.55, 0.60, 0.65 for
  Lead, Qualified, Proposal, Negotiation; a little higher for SMB, lower for Enterprise, and
  differing by product line and owner) or is lost *at that stage*; the time spent in a stage is
  lognormal (median 12-24 days, longer for Enterprise, longer before a loss is recorded);
* about 3% of deals move back one stage once (never to before the stage they started at),
  about 3% skip a stage;
* a deal whose next event would fall after ``as_of`` is still open at its current stage
  (censoring): recent deals are mostly open;
* amounts are lognormal by segment (median SMB 5k, Mid-Market 25k, Enterprise 120k), whole units;
  currency EUR (~70%) or USD (~30%, all US deals and a quarter of GB ones);
* "Probability (%)" is the CRM's *configured* stage probability (10/20/50/80, won 100, lost 0),
  deliberately not the learned one; "Forecast Category" follows the stage (Pipeline, Best Case,
  Commit; Closed for won, Omitted for lost).

With ``dirty=True`` the export carries the harmless mess real exports have: about 1% of amounts as
text ("12,500" or "12500.00"), about 1% of stage names with stray whitespace or another case in
both tables, a few blank owners, about 1% of expected close dates as Excel serial numbers.  Every
one of them can be read without losing meaning; nothing is truly invalid.

Everything is vectorised (a loop over *steps*, at most ``len(stages) + 2``, never over deals):
100,000 deals take well under a second, a million deals a few seconds.

The bundled sample (3,000 deals, seed 7, as of 2026-09-30) is in ``pipesheet/data``; read it with
:func:`sample_deals`, :func:`sample_history`, :func:`sample_rates`.  ``python -m pipesheet.sample``
(or :func:`write_sample`) rewrites it, byte for byte identical.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from pipesheet.errors import PipesheetError
from pipesheet.i18n import _

__all__ = [
    "DEAL_COLUMNS",
    "HISTORY_COLUMNS",
    "RATE_COLUMNS",
    "SAMPLE_AS_OF",
    "SAMPLE_LOST",
    "SAMPLE_N_DEALS",
    "SAMPLE_SEED",
    "SAMPLE_STAGES",
    "SAMPLE_WON",
    "generate_pipeline",
    "sample_deals",
    "sample_history",
    "sample_rates",
    "write_sample",
]

SAMPLE_STAGES: tuple[str, ...] = ("Lead", "Qualified", "Proposal", "Negotiation")
SAMPLE_WON = "Closed Won"
SAMPLE_LOST = "Closed Lost"
SAMPLE_AS_OF = "2026-09-30"
SAMPLE_N_DEALS = 3000
SAMPLE_SEED = 7

DEAL_COLUMNS: tuple[str, ...] = (
    "Deal ID",
    "Deal Name",
    "Stage",
    "Amount",
    "Currency",
    "Expected Close Date",
    "Owner",
    "Product Line",
    "Country",
    "Segment",
    "Forecast Category",
    "Probability (%)",
    "Created Date",
    "Closed Date",
)
HISTORY_COLUMNS: tuple[str, ...] = ("Deal ID", "Stage", "Entered Date")
RATE_COLUMNS: tuple[str, ...] = ("Currency", "Rate")

DATA_DIR = Path(__file__).resolve().parent / "data"
DEALS_FILE = "sample_deals.csv"
HISTORY_FILE = "sample_history.csv"
RATES_FILE = "sample_rates.csv"

# Reporting currency EUR: units of EUR per 1 unit of the currency.
_RATES = (("EUR", "1.0"), ("USD", "0.92"))

# --- the model's parameters ------------------------------------------------------------------

_HISTORY_DAYS = 730  # deals are created over the two years before as_of
_CREATION_SKEW = 1.3  # > 1: more deals created recently (a growing team)
_MID_FUNNEL = (0.10, 0.05)  # share starting at the 2nd, 3rd stage
_BACK_FLAG = 0.055  # share *flagged* to move back once (~3% of all deals get to do it)
_SKIP_FLAG = 0.055  # share flagged to skip a stage once (~3% get to do it)

# Shapes over the open stages, given at 4 points (first, ..., last stage) and interpolated for
# pipelines with another number of stages.
_BASE_CONVERSION = (0.55, 0.55, 0.60, 0.65)
_CONFIGURED_PROBABILITY = (10, 20, 50, 80)
_DWELL_MEDIAN_DAYS = (12.0, 18.0, 24.0, 16.0)
_EXPECTED_CLOSE_MEDIAN_DAYS = (110.0, 80.0, 50.0, 25.0)  # open deals: days from as_of
_DWELL_SIGMA = 0.6
_LOST_DWELL_FACTOR = 1.5  # losses are recorded later than moves forward
_BACK_DWELL_FACTOR = 0.7
_STUCK_SHARE = 0.04  # deals that crawl (stale pipeline)
_STUCK_FACTOR = 5.0
_OVERDUE_SHARE = 0.08  # open deals whose expected close date has passed

_SEGMENTS = ("SMB", "Mid-Market", "Enterprise")
_SEGMENT_WEIGHTS = (0.50, 0.35, 0.15)
_SEGMENT_MEDIAN_AMOUNT = (5_000.0, 25_000.0, 120_000.0)
_AMOUNT_SIGMA = 0.55
_MIN_AMOUNT = 300
_SEGMENT_LOGIT = (0.15, 0.0, -0.20)
_SEGMENT_DWELL = (0.7, 1.0, 1.7)
_SEGMENT_CLOSE_HORIZON = (0.8, 1.0, 1.3)

_PRODUCTS = ("Core Platform", "Analytics", "Integrations", "Services")
_PRODUCT_WEIGHTS = (0.40, 0.25, 0.20, 0.15)
_PRODUCT_LOGIT = (0.0, 0.10, -0.12, 0.20)

_COUNTRIES = ("DE", "FR", "ES", "NL", "GB", "US")
_COUNTRY_WEIGHTS = (0.28, 0.15, 0.10, 0.08, 0.12, 0.27)
_GB_USD_SHARE = 0.25
_LEGAL_FORMS = {
    "DE": ("GmbH", "AG", "GmbH & Co. KG"),
    "FR": ("SAS", "SA", "SARL"),
    "ES": ("S.L.", "S.A.", "S.L.U."),
    "NL": ("B.V.", "N.V.", "B.V."),
    "GB": ("Ltd", "plc", "Ltd"),
    "US": ("Inc.", "LLC", "Corp."),
}

# Territories: owner i sells in _OWNERS[i][1]; owners differ a little in conversion.
_OWNERS = (
    ("Zoë Müller", "DE", 0.15),
    ("Lukas Becker", "DE", -0.10),
    ("Camille Dubois", "FR", 0.05),
    ("José Núñez", "ES", 0.00),
    ("Sophie van Dijk", "NL", -0.05),
    ("James O'Connor", "GB", 0.10),
    ("Priya Raman", "US", 0.05),
    ("Ethan Brooks", "US", -0.15),
)

_NAME_FIRST = (
    "Nordwind", "Alpen", "Blue Harbor", "Solar", "Atlas", "Vega", "Grünfeld", "Côte", "Iberia",
    "Polder", "Thames", "Summit", "Rhein", "Lumen", "Kestrel", "Orion", "Brava", "Maple", "Falk",
    "Sierra", "Helix", "Nova", "Delta", "Linde", "Río Claro", "Oakridge", "Zenit", "Brightwater",
    "Fjord", "Sonne", "Aurora", "Granite", "Belle Rive", "Tulip", "Castell", "Quartz",
)  # fmt: skip
_NAME_SECOND = (
    "Logistics", "Foods", "Systems", "Medical", "Energy", "Retail", "Bau", "Textil", "Motors",
    "Pharma", "Software", "Finance", "Hotels", "Agrar", "Chemie", "Media", "Telecom", "Robotics",
    "Insurance", "Maschinenbau",
)  # fmt: skip
_DEAL_KINDS = ("", "", "", " (renewal)", " (expansion)", " (pilot)")

_DIRTY_AMOUNT_SHARE = 0.01
_DIRTY_STAGE_SHARE = 0.01
_BLANK_OWNER_SHARE = 0.005
_SERIAL_DATE_SHARE = 0.01
_EXCEL_EPOCH_OFFSET = 25569  # Excel serial of 1970-01-01 (1900 date system)


# --- helpers -----------------------------------------------------------------------------------


def _shape(points: Sequence[float], k: int) -> np.ndarray:
    """Values at k stages, interpolating the 4-point shape over the stage positions."""
    if k == 1:
        return np.array([float(points[0])])
    return np.interp(np.linspace(0.0, 1.0, k), np.linspace(0.0, 1.0, len(points)), points)


def _as_day(as_of: object) -> int:
    try:
        stamp = pd.Timestamp(as_of)
    except (ValueError, TypeError) as exc:
        raise PipesheetError(
            _("the as-of date is not a date"), value=as_of, expected=_("a date like 2026-09-30")
        ) from exc
    if pd.isna(stamp):
        raise PipesheetError(_("the as-of date is missing"), expected=_("a date like 2026-09-30"))
    return int(np.datetime64(stamp.date(), "D").astype(np.int64))


def _check_stages(stages: Sequence[str]) -> tuple[str, ...]:
    if isinstance(stages, str):
        raise PipesheetError(
            _("the stages must be a list of names, not one string"),
            table="stages",
            value=stages,
            expected=_("e.g. ('Lead', 'Qualified', 'Proposal', 'Negotiation')"),
        )
    names = tuple(str(s).strip() for s in stages)
    if not names or any(not s for s in names):
        raise PipesheetError(
            _("the stages list is empty or has a blank name"),
            table="stages",
            expected=_("at least one non-blank open stage name"),
        )
    folded = [s.casefold() for s in names]
    if len(set(folded)) != len(folded):
        raise PipesheetError(
            _("a stage name appears twice"),
            table="stages",
            value=names,
            expected=_("distinct names"),
        )
    if {SAMPLE_WON.casefold(), SAMPLE_LOST.casefold()} & set(folded):
        raise PipesheetError(
            _("the open stages include a closed stage"),
            table="stages",
            value=names,
            expected=_("open stages only ('{won}' and '{lost}' are added)").format(
                won=SAMPLE_WON, lost=SAMPLE_LOST
            ),
        )
    return names


def _thousands(values: np.ndarray) -> pd.Series:
    """Non-negative integers written with comma thousands separators ("12,500"), vectorised."""
    rest = np.asarray(values, dtype=np.int64)
    out = pd.Series(np.full(rest.size, "", dtype=object))
    alive = np.ones(rest.size, dtype=bool)  # still has digits to write (always the first group)
    first = True
    while alive.any():
        group = pd.Series(rest % 1000).astype(str)
        rest = rest // 1000
        more = pd.Series(rest > 0)
        text = group.where(~more, group.str.zfill(3))
        joined = text if first else text + "," + out
        out = joined.where(pd.Series(alive), out)
        alive = rest > 0
        first = False
    return out


def _dirty_case(names: pd.Series, rng: np.random.Generator, share: float) -> pd.Series:
    """Give about ``share`` of the names stray whitespace or another case."""
    pick = np.flatnonzero(rng.random(len(names)) < share)
    kind = rng.integers(0, 4, size=pick.size)
    picked = names.iloc[pick]
    variants = np.where(
        kind == 0,
        picked.str.lower() + " ",
        np.where(
            kind == 1,
            picked.str.upper(),
            np.where(kind == 2, " " + picked, picked.str.lower()),
        ),
    )
    out = names.to_numpy(dtype=object, copy=True)
    out[pick] = variants
    return pd.Series(out, index=names.index)


# --- the generator ----------------------------------------------------------------------------


def generate_pipeline(
    n_deals: int = 3000,
    *,
    seed: int = 7,
    as_of: str = SAMPLE_AS_OF,
    dirty: bool = True,
    stages: Sequence[str] = SAMPLE_STAGES,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Generate a synthetic CRM export: ``(deals, history)``.

    Args:
        n_deals: Number of deals (rows of the deals table); history has about 2.9 rows per deal.
        seed: Seed of the ``numpy`` PCG64 generator; the same arguments give identical frames.
        as_of: Export date; nothing happens after it, deals not closed by then are open.
        dirty: Add the harmless dirty values of a real export (see the module docstring).
        stages: Open stage names in funnel order; "Closed Won" / "Closed Lost" are added.

    Returns:
        ``(deals, history)`` with the columns :data:`DEAL_COLUMNS` and :data:`HISTORY_COLUMNS`,
        typed as ``pandas.read_csv`` reads the exported CSV: text columns as strings (blank cells
        missing), "Probability (%)" as integers, "Amount" as integers (``dirty=False``) or text
        (``dirty=True``, since some amounts are written as text), dates as ISO ``yyyy-mm-dd``
        text (and Excel serial numbers when dirty).
    """
    if isinstance(n_deals, bool) or not isinstance(n_deals, (int, np.integer)) or n_deals < 0:
        raise PipesheetError(
            _("the number of deals must be a whole number, 0 or more"),
            value=n_deals,
            expected=_("e.g. 3000"),
        )
    n = int(n_deals)
    stage_names = _check_stages(stages)
    k = len(stage_names)
    won, lost = k, k + 1  # stage codes of the terminal stages
    as_of_day = _as_day(as_of)
    rng = np.random.Generator(np.random.PCG64(seed))

    # Deal attributes.  Creation days first, sorted, so that deal IDs grow with creation.
    days_before = np.floor(_HISTORY_DAYS * rng.random(n) ** _CREATION_SKEW).astype(np.int64)
    created = np.sort(as_of_day - days_before)
    segment = rng.choice(len(_SEGMENTS), size=n, p=_SEGMENT_WEIGHTS)
    product = rng.choice(len(_PRODUCTS), size=n, p=_PRODUCT_WEIGHTS)
    country = rng.choice(len(_COUNTRIES), size=n, p=_COUNTRY_WEIGHTS)
    # Owner from the country's territory (one or two owners per country).
    owner_country = np.array([_COUNTRIES.index(c) for _, c, _ in _OWNERS])
    owners_by_country = [np.flatnonzero(owner_country == c) for c in range(len(_COUNTRIES))]
    n_owners_c = np.array([len(o) for o in owners_by_country])
    first_owner_c = np.array([o[0] for o in owners_by_country])
    owner = first_owner_c[country] + np.floor(rng.random(n) * n_owners_c[country]).astype(int)
    owner_logit = np.array([x for _, _, x in _OWNERS])

    start = np.zeros(n, dtype=np.int64)
    u = rng.random(n)
    if k >= 2:
        start[u < _MID_FUNNEL[0]] = 1
    if k >= 3:
        start[(u >= _MID_FUNNEL[0]) & (u < _MID_FUNNEL[0] + _MID_FUNNEL[1])] = 2
    back_pending = rng.random(n) < _BACK_FLAG
    skip_pending = rng.random(n) < _SKIP_FLAG
    pace = np.exp(0.25 * rng.standard_normal(n)) * np.where(
        rng.random(n) < _STUCK_SHARE, _STUCK_FACTOR, 1.0
    )
    pace *= np.asarray(_SEGMENT_DWELL)[segment]
    offset = (
        np.asarray(_SEGMENT_LOGIT)[segment]
        + np.asarray(_PRODUCT_LOGIT)[product]
        + owner_logit[owner]
    )
    base_logit = np.log(_shape(_BASE_CONVERSION, k) / (1.0 - _shape(_BASE_CONVERSION, k)))
    log_dwell = np.log(_shape(_DWELL_MEDIAN_DAYS, k))

    # Walk the funnel, one event per active deal per step.
    max_rows = k + 3
    stage_mat = np.full((n, max_rows), -1, dtype=np.int16)
    day_mat = np.zeros((n, max_rows), dtype=np.int64)
    stage_mat[:, 0] = start
    day_mat[:, 0] = created
    cur = start.copy()
    now = created.copy()
    active = np.ones(n, dtype=bool)
    for step in range(1, max_rows):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        i = cur[idx]
        go_back = back_pending[idx] & (i > start[idx])  # never back before its first stage
        p = 1.0 / (1.0 + np.exp(-(base_logit[i] + offset[idx])))
        advance = ~go_back & (rng.random(idx.size) < p)
        skip = advance & skip_pending[idx] & (i + 2 <= k)
        nxt = np.where(go_back, i - 1, np.where(advance, i + 1 + skip, lost))
        factor = np.where(go_back, _BACK_DWELL_FACTOR, np.where(advance, 1.0, _LOST_DWELL_FACTOR))
        dwell = np.exp(log_dwell[i] + _DWELL_SIGMA * rng.standard_normal(idx.size))
        days = np.maximum(1, np.rint(dwell * factor * pace[idx])).astype(np.int64)
        when = now[idx] + days
        happens = when <= as_of_day  # otherwise still open at its stage on as_of
        active[idx[~happens]] = False
        ok = idx[happens]
        stage_mat[ok, step] = nxt[happens]
        day_mat[ok, step] = when[happens]
        cur[ok] = nxt[happens]
        now[ok] = when[happens]
        back_pending[idx[go_back & happens]] = False
        skip_pending[idx[skip & happens]] = False
        active[ok[nxt[happens] >= won]] = False
    if active.any():  # pragma: no cover - the walk always ends within k + 2 events
        raise AssertionError("the synthetic pipeline walk did not finish")

    is_won = cur == won
    is_lost = cur == lost
    is_open = ~(is_won | is_lost)

    # Amounts, currency, expected close dates.
    amount = np.exp(
        np.log(np.asarray(_SEGMENT_MEDIAN_AMOUNT)[segment]) + _AMOUNT_SIGMA * rng.standard_normal(n)
    )
    amount = np.maximum(_MIN_AMOUNT, np.rint(amount)).astype(np.int64)
    usd = (country == _COUNTRIES.index("US")) | (
        (country == _COUNTRIES.index("GB")) & (rng.random(n) < _GB_USD_SHARE)
    )
    horizon = (
        np.exp(
            np.log(_shape(_EXPECTED_CLOSE_MEDIAN_DAYS, k)[np.minimum(cur, k - 1)])
            + 0.5 * rng.standard_normal(n)
        )
        * np.asarray(_SEGMENT_CLOSE_HORIZON)[segment]
    )
    future = as_of_day + np.clip(np.rint(horizon), 1, 270).astype(np.int64)
    overdue = as_of_day - rng.integers(1, 61, size=n)
    expected_open = np.where(rng.random(n) < _OVERDUE_SHARE, overdue, future)
    closed_day = now  # date of the last event; for closed deals, the close
    expected = np.where(is_open, expected_open, closed_day)

    # Text columns.
    lo = int(min(created.min(initial=as_of_day), expected.min(initial=as_of_day)))
    hi = int(max(as_of_day, expected.max(initial=as_of_day)))
    iso = np.datetime_as_string(np.arange(lo, hi + 1).astype("datetime64[D]"), unit="D")
    iso = iso.astype(object)

    width = max(6, len(str(n)))
    deal_id = ("D-" + pd.Series(np.arange(1, n + 1)).astype(str).str.zfill(width)).to_numpy(
        dtype=object
    )
    all_stages = np.array([*stage_names, SAMPLE_WON, SAMPLE_LOST], dtype=object)
    first = np.asarray(_NAME_FIRST, dtype=object)[rng.integers(0, len(_NAME_FIRST), n)]
    second = np.asarray(_NAME_SECOND, dtype=object)[rng.integers(0, len(_NAME_SECOND), n)]
    legal_pick = rng.integers(0, 3, n)
    legal = np.array([_LEGAL_FORMS[c] for c in _COUNTRIES], dtype=object)[country, legal_pick]
    kind = np.asarray(_DEAL_KINDS, dtype=object)[rng.integers(0, len(_DEAL_KINDS), n)]
    products = np.asarray(_PRODUCTS, dtype=object)
    deal_name = first + " " + second + " " + legal + " - " + products[product] + kind

    # Open stages: the last is Commit, the upper half Best Case, the rest Pipeline.
    positions = np.linspace(0.0, 1.0, k) if k > 1 else np.array([1.0])
    open_category = [
        "Commit" if x >= 1.0 else "Best Case" if x >= 0.5 else "Pipeline" for x in positions
    ]
    category = np.array([*open_category, "Closed", "Omitted"], dtype=object)[cur]
    configured = np.rint(_shape(_CONFIGURED_PROBABILITY, k) / 5.0).astype(np.int64) * 5
    probability = np.concatenate([configured, [100, 0]])[cur]

    owner_names = np.array([name for name, _, _ in _OWNERS], dtype=object)[owner]
    closed_text = np.where(is_open, None, iso[np.clip(closed_day - lo, 0, hi - lo)])

    deals = pd.DataFrame(
        {
            "Deal ID": deal_id,
            "Deal Name": deal_name,
            "Stage": all_stages[cur],
            "Amount": amount,
            "Currency": np.where(usd, "USD", "EUR").astype(object),
            "Expected Close Date": iso[expected - lo],
            "Owner": owner_names,
            "Product Line": products[product],
            "Country": np.asarray(_COUNTRIES, dtype=object)[country],
            "Segment": np.asarray(_SEGMENTS, dtype=object)[segment],
            "Forecast Category": category,
            "Probability (%)": probability,
            "Created Date": iso[created - lo],
            "Closed Date": closed_text,
        },
        columns=list(DEAL_COLUMNS),
    )

    rows = stage_mat.reshape(-1) >= 0
    row_deal = np.repeat(np.arange(n), max_rows)[rows]
    history = pd.DataFrame(
        {
            "Deal ID": deal_id[row_deal],
            "Stage": all_stages[stage_mat.reshape(-1)[rows]],
            "Entered Date": iso[day_mat.reshape(-1)[rows] - lo],
        },
        columns=list(HISTORY_COLUMNS),
    )

    if dirty:
        _make_dirty(deals, history, rng, expected)
    return deals, history


def _make_dirty(
    deals: pd.DataFrame, history: pd.DataFrame, rng: np.random.Generator, expected: np.ndarray
) -> None:
    """Add the harmless dirty values of a real export, in place."""
    n = len(deals)
    # Amounts: the column becomes text (as read from a CSV), ~1% "12,500" or "12500.00".
    amount = deals["Amount"].to_numpy(dtype=np.int64)
    text = pd.Series(amount).astype(str).to_numpy(dtype=object)
    pick = np.flatnonzero(rng.random(n) < _DIRTY_AMOUNT_SHARE)
    commas = rng.random(pick.size) < 0.5
    text[pick[commas]] = _thousands(amount[pick[commas]]).to_numpy(dtype=object)
    text[pick[~commas]] = (pd.Series(amount[pick[~commas]]).astype(str) + ".00").to_numpy(
        dtype=object
    )
    deals["Amount"] = pd.Series(text, index=deals.index)

    deals["Stage"] = _dirty_case(deals["Stage"], rng, _DIRTY_STAGE_SHARE)
    history["Stage"] = _dirty_case(history["Stage"], rng, _DIRTY_STAGE_SHARE)

    owners = deals["Owner"].to_numpy(dtype=object, copy=True)
    owners[rng.random(n) < _BLANK_OWNER_SHARE] = None
    deals["Owner"] = pd.Series(owners, index=deals.index)

    dates = deals["Expected Close Date"].to_numpy(dtype=object, copy=True)
    pick = np.flatnonzero(rng.random(n) < _SERIAL_DATE_SHARE)
    dates[pick] = pd.Series(expected[pick] + _EXCEL_EPOCH_OFFSET).astype(str).to_numpy(object)
    deals["Expected Close Date"] = pd.Series(dates, index=deals.index)


# --- the bundled sample -------------------------------------------------------------------------


def _rates_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {"Currency": [c for c, _ in _RATES], "Rate": [float(r) for _, r in _RATES]},
        columns=list(RATE_COLUMNS),
    )


def _csv_text(frame: pd.DataFrame) -> str:
    return frame.to_csv(index=False, lineterminator="\n")


def write_sample(directory: str | Path = DATA_DIR) -> None:
    """Write the bundled sample CSVs (UTF-8, "\\n" line ends) into ``directory``.

    The bytes are the same on every run: 3,000 deals, seed 7, as of :data:`SAMPLE_AS_OF`.
    """
    from pipesheet.writer import atomic_write_bytes

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    deals, history = generate_pipeline(
        SAMPLE_N_DEALS, seed=SAMPLE_SEED, as_of=SAMPLE_AS_OF, dirty=True, stages=SAMPLE_STAGES
    )
    rates = "".join(f"{c},{r}\n" for c, r in _RATES)
    for name, text in (
        (DEALS_FILE, _csv_text(deals)),
        (HISTORY_FILE, _csv_text(history)),
        (RATES_FILE, ",".join(RATE_COLUMNS) + "\n" + rates),
    ):
        atomic_write_bytes(out / name, text.encode("utf-8"))  # never half a file


def sample_deals() -> pd.DataFrame:
    """The bundled deals table, exactly as ``pandas.read_csv`` reads it (not cleaned)."""
    return pd.read_csv(DATA_DIR / DEALS_FILE)


def sample_history() -> pd.DataFrame:
    """The bundled stage history, exactly as ``pandas.read_csv`` reads it (not cleaned)."""
    return pd.read_csv(DATA_DIR / HISTORY_FILE)


def sample_rates() -> pd.DataFrame:
    """The bundled exchange rates: "Currency", "Rate" (EUR per 1 unit; EUR is 1.0)."""
    return pd.read_csv(DATA_DIR / RATES_FILE)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m pipesheet.sample [DIRECTORY]``: rewrite the bundled sample CSVs."""
    args = list(sys.argv[1:] if argv is None else argv)
    target = Path(args[0]) if args else DATA_DIR
    write_sample(target)
    print(f"wrote {DEALS_FILE}, {HISTORY_FILE}, {RATES_FILE} to {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
