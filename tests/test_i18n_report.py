"""The demo and the report workbooks in the language asked for: translated sheet names, titles,
headings and Summary items; the same numbers as in English, as numeric cells with the same number
formats (never text), the same dates as dates."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
from pathlib import Path

import openpyxl
import pytest

from pipesheet.cli import main
from pipesheet.headings import column_name
from pipesheet.i18n import language
from pipesheet.sample import generate_pipeline


def _numbers_match(english: Path, other: Path) -> int:
    """Every number and date cell of ``english`` is the same value, of the same type and number
    format, at the same place in ``other`` (sheets by position); text may differ. Returns how
    many number cells were compared."""
    en, xx = openpyxl.load_workbook(english), openpyxl.load_workbook(other)
    assert len(en.worksheets) == len(xx.worksheets)
    compared = 0
    for ws_en, ws_xx in zip(en.worksheets, xx.worksheets, strict=True):
        assert ws_en.max_row == ws_xx.max_row and ws_en.max_column == ws_xx.max_column
        for row in ws_en.iter_rows():
            for cell in row:
                mine = ws_xx[cell.coordinate]
                where = f"{ws_xx.title}!{cell.coordinate}"
                if isinstance(cell.value, bool) or cell.value is None:
                    assert mine.value == cell.value, where
                elif isinstance(cell.value, (int, float, dt.datetime, dt.date)):
                    assert type(mine.value) is type(cell.value), (where, mine.value)
                    assert mine.value == cell.value, (where, mine.value, cell.value)
                    assert mine.number_format == cell.number_format, where
                    compared += 1
                else:
                    assert isinstance(mine.value, str), (where, mine.value)
    return compared


def _headers(ws) -> list[str]:
    return [c.value for c in next(ws.iter_rows(min_row=1, max_row=1)) if c.value is not None]


@pytest.fixture(scope="module")
def demo_books(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    books = {}
    for lang in ("en", "it"):
        books[lang] = out / f"demo-{lang}.xlsx"
        assert main(["demo", "--lang", lang, "--output", str(books[lang])]) == 0
    return books


def test_the_italian_demo_workbook_speaks_italian(demo_books):
    wb = openpyxl.load_workbook(demo_books["it"])
    assert wb.sheetnames == [
        "Probabilità di fase",
        "Previsione",
        "Intervallo",
        "Piano dei lead",
        "Trattative",
        "Storico",
    ]
    probabilities = _headers(wb["Probabilità di fase"])
    assert probabilities[:2] == ["fase", "raggiunte"]
    assert "probabilità di vincita" in probabilities
    assert _headers(wb["Previsione"]) == [
        "periodo",
        "trattative",
        "valore della pipeline",
        "ponderato",
        "deviazione standard",
    ]
    # the measures of the range are named in Italian too, their values numbers
    assert wb["Intervallo"]["A2"].value == "media"
    assert isinstance(wb["Intervallo"]["B2"].value, float)
    # the user's own data keeps its headers
    assert "Amount" in _headers(wb["Trattative"])
    # every heading reads back as the column it names
    assert [column_name(h) for h in probabilities][:2] == ["stage", "reached"]


def test_the_italian_demo_has_the_english_numbers_as_numbers(demo_books):
    assert _numbers_match(demo_books["en"], demo_books["it"]) > 1000


def test_the_english_demo_is_unchanged(demo_books):
    wb = openpyxl.load_workbook(demo_books["en"])
    assert wb.sheetnames == [
        "Stage probabilities",
        "Forecast",
        "Range",
        "Lead plan",
        "Deals",
        "History",
    ]
    assert _headers(wb["Forecast"]) == ["period", "deals", "pipeline", "weighted", "std_dev"]
    assert wb["Range"]["A2"].value == "mean"


SAID: dict[str, str] = {}  # what `pipesheet report` printed, by language


@pytest.fixture(scope="module")
def report_books(tmp_path_factory):
    src = tmp_path_factory.mktemp("exports")
    deals, history = generate_pipeline(400, seed=5, dirty=False)
    deals = deals.drop(columns=["Currency"])
    deals.to_csv(src / "deals.csv", index=False)
    history.to_csv(src / "history.csv", index=False)
    books = {}
    for lang in ("en", "sl"):
        books[lang] = src / f"report-{lang}.xlsx"
        argv = [
            "report",
            str(src / "deals.csv"),
            str(src / "history.csv"),
            "-o",
            str(books[lang]),
            "--quota",
            "1500000",
            "--no-progress",
            "--lang",
            lang,
        ]
        with contextlib.redirect_stdout(io.StringIO()) as said:
            assert main(argv) == 0
        SAID[lang] = said.getvalue()
    return books


def test_the_slovenian_report_speaks_slovenian(report_books):
    wb = openpyxl.load_workbook(report_books["sl"])
    assert wb.sheetnames[:4] == ["Povzetek", "Verjetnosti faz", "Napoved", "Razpon"]
    assert "Uravnoteženost" in wb.sheetnames and "Slap sprememb" in wb.sheetnames
    summary = wb["Povzetek"]
    assert summary["A1"].value == "Povzetek"
    assert [summary["A2"].value, summary["B2"].value] == ["postavka", "vrednost"]
    items = [r[0] for r in summary.iter_rows(min_row=3, values_only=True) if r[0]]
    assert "Odprti prodajni lijak" in items and "Utežena napoved" in items
    assert "Presečni datum" in items and "P(skupaj ≥ kvota)" in items
    # the as-of date stays a date, the open pipeline a number with the money format
    found = {r[0].value: r[1] for r in summary.iter_rows(min_row=3) if r[0].value}
    assert isinstance(found["Presečni datum"].value, dt.datetime)
    assert isinstance(found["Odprti prodajni lijak"].value, (int, float))
    assert found["Odprti prodajni lijak"].number_format == "#,##0.00"
    assert found["Skupna stopnja dobitkov"].number_format == "0.0%"
    forecast = wb["Napoved"]
    assert forecast["A1"].value == "Utežena napoved po četrtletjih"
    assert [c.value for c in forecast[2]][:3] == ["obdobje", "posli", "vrednost prodajnega lijaka"]
    assert forecast._charts and forecast._charts[0].title is not None


def test_the_slovenian_calibration_sheet_names_its_sources_and_verdicts_in_slovenian(report_books):
    """The probability sources and the calibrated forecast's verdict (found by its message, not
    by English words) are in Slovenian, where English has them in English."""
    rows = {}
    for lang, sheet in (("en", "Calibration"), ("sl", "Umerjanje")):
        ws = openpyxl.load_workbook(report_books[lang])[sheet]
        rows[lang] = [r for r in ws.iter_rows(values_only=True) if r[0] is not None]
    sources_en = {r[0] for r in rows["en"]}
    sources_sl = {r[0] for r in rows["sl"]}
    assert {"learned", "time-aware", "calibrated"} <= sources_en
    assert {"naučene", "časovno občutljiva", "umerjena"} <= sources_sl
    assert not {"learned", "time-aware", "calibrated"} & sources_sl
    verdict_en = next(r[-1] for r in rows["en"] if r[0] == "calibrated")
    verdict_sl = next(r[-1] for r in rows["sl"] if r[0] == "umerjena")
    assert "calibrated forecast: " in verdict_en
    assert "umerjena napoved: " in verdict_sl


def test_the_report_command_lists_the_sheets_by_their_names_in_the_workbook(report_books):
    for lang in ("en", "sl"):
        names = openpyxl.load_workbook(report_books[lang]).sheetnames
        assert SAID[lang].strip().endswith(f"({', '.join(names)})"), SAID[lang]
    assert SAID["sl"].startswith("zapisano: ")


def test_the_slovenian_report_has_the_english_numbers_as_numbers(report_books):
    assert _numbers_match(report_books["en"], report_books["sl"]) > 500


def test_the_report_api_keeps_english_names(tmp_path):
    """``report.sheets`` and ``report.summary`` are the Python API: English in every language;
    only the workbook is translated."""
    from pipesheet.report import build_report, sheet_name

    deals, history = generate_pipeline(150, seed=2, dirty=False)
    with language("ca"):
        report = build_report(deals.drop(columns=["Currency"]), history, progress=False)
        assert sheet_name("Forecast") == "Previsió"
    assert "Forecast" in report.sheets
    assert "Open pipeline" in set(report.summary["item"])
    assert "Pipeline obert" in report.summary.attrs["labels"]
