"""Files larger than memory: CSV and Parquet read by DuckDB, where the counting then runs.

The pandas loader (:func:`pipesheet.exports.read_export`) reads a whole file into memory. A
history of a hundred million rows does not fit, and need not: the estimators that have a
summary path (:mod:`pipesheet.summaries` — stage probabilities, the weighted forecast and its
range) run on a DuckDB relation, and only small arrays come back. :func:`read_large` opens each
file as a DuckDB relation (nothing is read yet), tells the deals table from the history by the
pandas loader's own rule (:func:`pipesheet.exports.sources.table_role`) on the first rows, and
:func:`duckdb_progress` shows a progress bar while DuckDB works.

**Which engine** (``--engine`` on the command line): ``pandas`` reads into memory (every
command, every file type); ``duckdb`` reads CSV and Parquet through DuckDB (the optional extra
``pip install 'pipesheet[duckdb]'``); ``auto`` (the default) uses DuckDB when it is installed,
the command has a summary path, every file is CSV or Parquet and together they are at least
:data:`AUTO_BYTES` (256 MiB) or one is Parquet (which the pandas loader does not read) — pandas
otherwise.

**CSV through DuckDB.** DuckDB's reader detects the delimiter and the column types; dates are
taken as dates only in ISO form (``2026-09-30``, ``2026-09-30 14:05:00``) — any other date text
stays text and is read by pipesheet's own rule, per distinct value (day/month order, Excel
serials…). Encodings: UTF-8 (default), UTF-16 and latin-1; other code pages (cp1250…) need the
pandas engine or a conversion first.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipesheet.errors import PipesheetError

__all__ = ["AUTO_BYTES", "ENGINES", "LargeExport", "choose_engine", "duckdb_progress", "read_large"]

#: The column holding each row's spreadsheet number (header = row 1) in the relations opened here
#: — :data:`pipesheet.summaries.ROW`, which reads it (that module sits above this one).
ROW = "__pipesheet_row"
#: Input size from which ``auto`` reads through DuckDB.
AUTO_BYTES = 256 * 2**20
ENGINES = ("pandas", "duckdb", "auto")
_SUFFIXES = (".csv", ".tsv", ".txt", ".parquet", ".pq", ".csv.gz")
_SAMPLE_ROWS = 50_000


def _kind(path: str) -> str | None:
    name = Path(path).name.casefold()
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    if name.endswith((".csv", ".tsv", ".txt", ".csv.gz")):
        return "csv"
    return None


def _duckdb() -> Any:
    try:
        import duckdb
    except ImportError:
        return None
    return duckdb


def choose_engine(paths: Sequence[str], engine: str, *, supported: bool, command: str) -> str:
    """``"pandas"`` or ``"duckdb"`` for these files (see the module docstring).

    Raises:
        PipesheetError: ``duckdb`` asked for but not installed, for a command without a summary
            path, or for a file that is neither CSV nor Parquet.
    """
    engine = str(engine or "auto").strip().casefold()
    if engine not in ENGINES:
        raise PipesheetError(
            "unknown engine",
            table="options",
            column="--engine",
            value=engine,
            expected="pandas, duckdb or auto",
        )
    if engine == "pandas":
        return "pandas"
    kinds = [_kind(p) for p in paths]
    if engine == "duckdb":
        if not supported:
            raise PipesheetError(
                f"{command} runs on the pandas engine only (its computation needs every row)",
                table="options",
                column="--engine",
                value="duckdb",
                expected="--engine pandas, or stage-probabilities / forecast, which run in DuckDB",
            )
        if _duckdb() is None:
            raise PipesheetError(
                "the duckdb engine needs DuckDB",
                table="options",
                column="--engine",
                value="duckdb",
                expected="pip install 'pipesheet[duckdb]'",
            )
        bad = [p for p, k in zip(paths, kinds, strict=True) if k is None]
        if bad:
            raise PipesheetError(
                "the duckdb engine reads CSV and Parquet files",
                table="options",
                column="--engine",
                value=bad[0],
                expected="a .csv or .parquet file (or --engine pandas for workbooks)",
            )
        return "duckdb"
    if not supported or _duckdb() is None or None in kinds:
        return "pandas"
    if "parquet" in kinds:  # the pandas loader reads no Parquet
        return "duckdb"
    size = sum(Path(p).stat().st_size for p in paths if Path(p).exists())
    return "duckdb" if size >= AUTO_BYTES else "pandas"


@dataclass
class LargeExport:
    """The files as DuckDB relations: the deals table and/or the stage history (None when the
    files hold none), the connection they live on, and what the reader noticed."""

    deals: Any
    history: Any
    connection: Any
    notes: list[str] = field(default_factory=list)


def read_large(
    paths: Sequence[str],
    *,
    encoding: str | None = None,
    columns: dict[str, str] | None = None,
    connection: Any = None,
) -> LargeExport:
    """Open CSV/Parquet files as DuckDB relations and tell their roles (deals or history)."""
    from pipesheet.exports.sources import table_role

    duckdb = _duckdb()
    if duckdb is None:  # pragma: no cover - choose_engine checked it
        raise PipesheetError("the duckdb engine needs DuckDB", expected="pip install duckdb")
    con = connection or duckdb.connect()
    notes: list[str] = []
    deals = history = None
    for path in paths:
        if not Path(path).exists():
            raise PipesheetError("file not found", table=str(path), expected="an existing file")
        rel = _open(con, path, encoding)
        sample = rel.limit(_SAMPLE_ROWS).df()
        role, why = table_role(sample, mapping=columns)
        size = Path(path).stat().st_size / 2**20
        notes.append(f"{Path(path).name}: read through DuckDB ({size:,.0f} MB), {role} ({why})")
        if role == "history":
            if history is not None:
                raise PipesheetError(
                    "two stage-history files", table=str(path), expected="one history file"
                )
            history = rel
        else:
            if deals is not None:
                raise PipesheetError(
                    "two deals files", table=str(path), expected="one deals file (and a history)"
                )
            deals = rel
    return LargeExport(deals, history, con, notes)


def _open(con: Any, path: str, encoding: str | None) -> Any:
    kind = _kind(path)
    if kind == "parquet":  # the file's row order, numbered as a spreadsheet's (header = 1)
        rel = con.read_parquet(str(path), file_row_number=True)
        return rel.project(f'* EXCLUDE (file_row_number), file_row_number + 2 AS "{ROW}"')
    enc = None
    if encoding:
        key = encoding.strip().casefold().replace("_", "-")
        known = {
            "utf-8": "utf-8",
            "utf8": "utf-8",
            "utf-16": "utf-16",
            "latin-1": "latin-1",
            "latin1": "latin-1",
            "iso-8859-1": "latin-1",
        }
        if key not in known:
            raise PipesheetError(
                "the duckdb engine reads CSV in UTF-8, UTF-16 or latin-1",
                table=str(path),
                value=encoding,
                expected="--engine pandas for this encoding (or convert the file to UTF-8)",
            )
        enc = known[key]
    options: dict[str, Any] = {
        "header": True,
        "date_format": "%Y-%m-%d",
        "timestamp_format": "%Y-%m-%d %H:%M:%S",
    }
    if enc:
        options["encoding"] = enc
    try:  # row_number() OVER (): DuckDB's streaming window, in the file's order
        rel = con.read_csv(str(path), **options)
        return rel.project(f'*, row_number() OVER () + 1 AS "{ROW}"')
    except Exception as err:  # DuckDB's own sniffing error, said in one sentence
        raise PipesheetError(
            f"DuckDB cannot read this CSV: {str(err).splitlines()[0]}",
            table=str(path),
            expected="a CSV with a header row (or --engine pandas)",
        ) from err


@contextlib.contextmanager
def duckdb_progress(connection: Any, enabled: bool = True, what: str = "DuckDB") -> Iterator[None]:
    """A tqdm progress bar of the query DuckDB is running (polled from a thread; one bar per
    query, restarting when the next one starts), on a terminal and when ``enabled``."""
    if not enabled or connection is None or not sys.stderr.isatty():
        yield
        return
    try:
        from tqdm import tqdm
    except ImportError:  # the duckdb extra brings tqdm; without it, no bar
        yield
        return
    stop = threading.Event()
    bar = tqdm(total=100, desc=what, unit="%", leave=False, file=sys.stderr)

    def poll() -> None:
        last = 0.0
        while not stop.wait(0.2):
            try:
                done = float(connection.query_progress())
            except Exception:  # the bar is best effort
                return
            if done < 0:
                continue
            if done < last:
                bar.reset(total=100)
            bar.n = round(done, 1)
            bar.refresh()
            last = done

    thread = threading.Thread(target=poll, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        bar.close()
