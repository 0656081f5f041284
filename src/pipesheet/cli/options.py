"""The options several commands share, defined once: the input files and how to read them, the
date order, the money settings (rates, currency, blank amounts), the fiscal year.

The option names follow the engine's parameter names (``--columns`` ↔ ``columns=``,
``--blank-amounts`` ↔ ``blank_amounts=``…); the older spellings are kept as aliases.
"""

from __future__ import annotations

import argparse

from pipesheet.cells import read_date_order
from pipesheet.errors import PipesheetError
from pipesheet.tables import BLANK_AMOUNTS


def date_order_arg(value: str) -> bool | None:
    """``--date-order dmy|mdy`` as ``dayfirst`` (True: day first; ``auto``: from the data)."""
    try:
        return read_date_order(value, "--date-order")
    except PipesheetError:
        raise argparse.ArgumentTypeError(
            "expected dmy (day first: 25/03/2027) or mdy (month first: 03/25/2027)"
        ) from None


def add_date_order(p: argparse.ArgumentParser) -> None:
    """The one day/month setting of every command that reads files (see pipesheet.cells)."""
    p.add_argument(
        "--date-order",
        dest="dayfirst",
        type=date_order_arg,
        default=None,
        metavar="dmy|mdy",
        help="order of dates such as 03/04/2027 when no date in the file tells (a part above "
        "12); without it such dates are refused",
    )


def add_file_options(
    p: argparse.ArgumentParser,
    files: str = "+",
    *,
    as_of: bool = True,
    by: bool = True,
    columns: bool = True,
) -> None:
    """The input files (deals and/or stage history, any order) and how to read them: the stage
    list (``--stages``, ``--won``, ``--lost``), ``--as-of``, ``--by``, the column mapping
    (``--columns FIELD=HEADER``, alias ``--col``), ``--sheet``, ``--table``, ``--encoding``,
    ``--date-order``, and ``--json``."""
    p.add_argument(
        "files", nargs=files, metavar="FILE", help="deals and/or stage-history table (CSV or XLSX)"
    )
    p.add_argument("--stages", help="ordered open stages, e.g. Lead,Qualified,Proposal")
    p.add_argument("--won", action="append", metavar="LABEL", help="label meaning Won (repeatable)")
    p.add_argument(
        "--lost", action="append", metavar="LABEL", help="label meaning Lost (repeatable)"
    )
    if as_of:
        p.add_argument(
            "--as-of", dest="as_of", metavar="DATE", help="use only what was known on this date"
        )
    if by:
        p.add_argument("--by", metavar="COLUMN", help="one table per group of this deals column")
    if columns:
        p.add_argument(
            "--columns",
            "--col",
            dest="columns",
            action="append",
            metavar="FIELD=HEADER",
            help="map a field to your header, e.g. --columns stage=Fase (repeatable; --col is "
            "the older spelling)",
        )
    p.add_argument(
        "--pipeline",
        metavar="NAME",
        help="only the deals of this pipeline (the deals file's pipeline column) and their "
        "history rows",
    )
    p.add_argument("--sheet", help="worksheet to read from XLSX files")
    p.add_argument("--table", help="Excel Table to read from XLSX files")
    p.add_argument(
        "--encoding",
        metavar="NAME",
        help="text encoding of CSV files (default: detected and named in a note), e.g. cp1250",
    )
    add_date_order(p)
    p.add_argument("--json", action="store_true", help="print JSON rows instead of tables")
    p.add_argument(
        "--engine",
        choices=["pandas", "duckdb", "auto"],
        default="auto",
        help="how files are read: pandas (into memory), duckdb (CSV/Parquet larger than memory, "
        "computed in DuckDB: stage-probabilities and forecast; needs pipesheet[duckdb]) or auto "
        "(default: duckdb for those commands when installed and the CSV/Parquet files are "
        "256 MiB or more)",
    )


def add_money_options(p: argparse.ArgumentParser) -> None:
    """``--rates``, ``--currency`` and ``--blank-amounts``: a command that sums amounts."""
    p.add_argument("--rates", help="currency rates file (currency, rate)")
    p.add_argument("--currency", help="reporting currency code")
    blank_amounts_option(p)


def add_forecast_options(p: argparse.ArgumentParser) -> None:
    """``--probabilities`` (instead of learning them) and the money options."""
    p.add_argument(
        "--probabilities",
        metavar="PRESET|configured|FILE",
        help="use these stage probabilities instead of learning them",
    )
    add_money_options(p)


def blank_amounts_option(p: argparse.ArgumentParser) -> None:
    """``--blank-amounts error|skip|zero`` on a command that computes money."""
    p.add_argument(
        "--blank-amounts",
        choices=list(BLANK_AMOUNTS),
        default="error",
        help="what a blank amount on an open or won deal means: error (stop and name the rows; "
        "default), skip (leave those deals out of the money figures) or zero (count them as "
        "0) — skipped/zeroed deals are counted in a note",
    )


def fiscal_year_start_option(p: argparse.ArgumentParser, note: str = "") -> None:
    """``--fiscal-year-start MONTH`` (1–12, default 1)."""
    p.add_argument(
        "--fiscal-year-start",
        type=int,
        default=1,
        metavar="MONTH",
        help=f"first month of the fiscal year, 1-12 (default 1{note})",
    )
