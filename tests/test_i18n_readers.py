"""Input in the users' languages, and the readers' messages in them (issue 12, item 4).

A deals file exported with Italian headers (``ID opportunità;Nome;Fase;Importo;…``, amounts
``1.234,50``, latin-1) and a Slovenian stage history in cp1250 (``ID posla;Faza;Datum vstopa``,
stages with č/š/ž) are read without any column mapping, by the engine and by the CLI; the numbers
are checked by hand.  A reader's error comes in Slovenian and in Vietnamese naming the table (the
engine's own table name translated), the column, the row and the value; in English it is what it
always was.
"""

from __future__ import annotations

import json
import unicodedata

import pandas as pd
import pytest

import pipesheet
from pipesheet.cli import main
from pipesheet.columns import DEAL_FIELDS, HISTORY_FIELDS, normalise_header, resolve_columns
from pipesheet.errors import PipesheetError
from pipesheet.history import HISTORY_CLOSE_ALIASES, HISTORY_PROBABILITY_ALIASES
from pipesheet.i18n import N_, Text, language, note
from pipesheet.labels import unaccented
from pipesheet.stages import terminal_matcher

# ---- the files -------------------------------------------------------------------------------

#: A Slovenian CRM's stage history, as its export writes it: cp1250, semicolons, dd.mm.yyyy.
HISTORY = """ID posla;Faza;Datum vstopa
P1;Začetni stik;02.03.2026
P1;Kvalificirano;09.03.2026
P1;Ožji izbor;16.03.2026
P1;Pošiljanje ponudbe;23.03.2026
P1;Pogajanja;30.03.2026
P1;Dobljeno;13.04.2026
P2;Začetni stik;03.03.2026
P2;Kvalificirano;10.03.2026
P2;Izgubljeno;17.03.2026
P3;Začetni stik;04.03.2026
P3;Izgubljeno;18.03.2026
P4;Začetni stik;05.03.2026
P4;Kvalificirano;12.03.2026
P4;Ožji izbor;19.03.2026
P4;Pošiljanje ponudbe;26.03.2026
P4;Izgubljeno;14.04.2026
P5;Začetni stik;06.03.2026
P5;Kvalificirano;13.03.2026
P5;Ožji izbor;20.03.2026
P5;Pošiljanje ponudbe;27.03.2026
P5;Pogajanja;03.04.2026
P5;Dobljeno;21.04.2026
P6;Začetni stik;07.03.2026
P6;Kvalificirano;14.03.2026
P7;Začetni stik;08.03.2026
P7;Kvalificirano;15.03.2026
P7;Ožji izbor;22.03.2026
P7;Izgubljeno;29.03.2026
"""

#: The same team's deals, exported from the CRM with Italian headers (Excel's "CSV (separatore
#: di elenco)": latin-1, semicolons, decimal comma, dd/mm/yyyy); the stage values are the CRM's.
DEALS = """ID opportunità;Nome;Fase;Importo;Valuta;Data di chiusura prevista;Proprietario
P1;Rinnovo Acme;Dobljeno;12.500,00;EUR;13/04/2026;Marco Rossi
P2;Ferretti Srl;Izgubljeno;3.000,00;EUR;17/03/2026;Giulia Bianchi
P3;Studio Conti;Izgubljeno;1.234,50;EUR;18/03/2026;Marco Rossi
P4;Gamma SpA;Izgubljeno;8.000,00;EUR;14/04/2026;Giulia Bianchi
P5;Lattoneria Bassi;Dobljeno;20.000,00;EUR;21/04/2026;Marco Rossi
P6;Officine Riva;Kvalificirano;10.000,00;EUR;30/06/2026;Giulia Bianchi
P7;Caffè Nero;Izgubljeno;2.500,00;EUR;29/03/2026;Marco Rossi
P8;Nuova Delta;Pogajanja;4.321,50;EUR;15/05/2026;Giulia Bianchi
"""

OPEN = ["Začetni stik", "Kvalificirano", "Ožji izbor", "Pošiljanje ponudbe", "Pogajanja"]

#: By hand, per stage: the closed deals that reached it (won + lost) and the won ones.
#: Začetni stik: P1–P5, P7 closed, P1 and P5 won → 2/6; Kvalificirano: P1, P2, P4, P5, P7 →
#: 2/5; Ožji izbor: P1, P4, P5, P7 → 2/4; Pošiljanje ponudbe: P1, P4, P5 → 2/3; Pogajanja: P1,
#: P5 → 2/2.  P6 (open at Kvalificirano) reached the first two stages.
EXPECTED = {
    "Začetni stik": (7, 2, 4, 1, 2 / 6),
    "Kvalificirano": (6, 2, 3, 1, 2 / 5),
    "Ožji izbor": (4, 2, 2, 0, 2 / 4),
    "Pošiljanje ponudbe": (3, 2, 1, 0, 2 / 3),
    "Pogajanja": (2, 2, 0, 0, 2 / 2),
}


def crlf(text: str) -> str:
    return text.replace("\n", "\r\n")


@pytest.fixture
def files(tmp_path):
    history = tmp_path / "zgodovina.csv"
    history.write_bytes(crlf(HISTORY).encode("cp1250"))
    deals = tmp_path / "opportunita.csv"
    deals.write_bytes(crlf(DEALS).encode("latin-1"))
    return history, deals


def check_table(table: pd.DataFrame) -> None:
    assert table["stage"].tolist() == OPEN
    for row in table.itertuples():
        reached, won, lost, open_, p = EXPECTED[row.stage]
        assert (row.reached, row.won, row.lost, row.open) == (reached, won, lost, open_), row
        assert row.win_probability == pytest.approx(p)


# ---- read without any mapping ---------------------------------------------------------------


def test_the_files_are_read_as_their_crm_wrote_them(files):
    history, deals = (pipesheet.read_table(p) for p in files)
    assert history.attrs["encoding"] == "cp1250"
    assert list(history.columns) == ["ID posla", "Faza", "Datum vstopa"]
    assert "Ožji izbor" in set(history["Faza"]) and "Pošiljanje ponudbe" in set(history["Faza"])
    assert deals.columns[0] == "ID opportunità"
    assert deals["Importo"].tolist() == [
        12500.0,
        3000.0,
        1234.5,
        8000.0,
        20000.0,
        10000.0,
        2500.0,
        4321.5,
    ]
    read = pipesheet.read_deals(
        deals, stages=pipesheet.StageList(tuple(OPEN), ("Dobljeno",), ("Izgubljeno",))
    )
    assert read.columns == {
        "deal_id": "ID opportunità",
        "stage": "Fase",
        "amount": "Importo",
        "close_date": "Data di chiusura prevista",
        "owner": "Proprietario",
        "currency": "Valuta",
    }
    assert read.frame.loc[4, "amount"] == 1234.5  # P3, spreadsheet row 4
    assert read.frame.loc[9, "close_date"] == pd.Timestamp("2026-05-15")


def test_stage_probabilities_learned_from_them_without_a_mapping(files):
    history, deals = (pipesheet.read_table(p) for p in files)
    model = pipesheet.StageProbabilities().fit(history, deals)
    assert list(model.stages_.open) == OPEN  # inferred from the history's first entries
    check_table(model.table_)
    k = model.stages_.k  # the CRM's closed labels are Won and Lost without being declared
    assert (model.stages_.code("Dobljeno"), model.stages_.code("Izgubljeno")) == (k, k + 1)


def test_the_cli_reads_them_without_a_mapping(files, capsys):
    history, deals = files
    assert main(["stage-probabilities", str(history), str(deals), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    check_table(pd.DataFrame(rows))
    # the open deals weighted by those probabilities: P6 10.000,00 × 2/5 + P8 4.321,50 × 1
    assert main(["forecast", str(history), str(deals), "--json"]) == 0
    periods = json.loads(capsys.readouterr().out)
    assert sum(r["weighted"] for r in periods) == pytest.approx(10_000 * 0.4 + 4_321.5)
    assert sum(r["pipeline"] for r in periods) == pytest.approx(14_321.5)


def test_the_numbers_are_the_same_in_every_language(files):
    history, deals = (pipesheet.read_table(p) for p in files)
    tables = {}
    for lang in ("en", "it", "sl", "vi", "ca"):
        with language(lang):
            tables[lang] = pipesheet.StageProbabilities().fit(history, deals).table_
    for lang, table in tables.items():
        pd.testing.assert_frame_equal(table, tables["en"], obj=lang)


def test_the_notes_are_in_the_language_spoken_and_still_recognised(files, capsys):
    history, _ = files
    assert main(["stage-probabilities", str(history), "--lang", "sl"]) == 0
    err = capsys.readouterr()
    said = err.out + err.err
    assert "vrstni red faz izpeljan iz zgodovine" in said  # "stage order inferred from …"
    assert "prebrano kot zgodovina faz" in said  # "read as the stage history"
    with language("it"):
        model = pipesheet.StageProbabilities().fit(pipesheet.read_table(history))
    order = model.notes_[0]
    assert order.startswith("ordine delle fasi dedotto dallo storico")
    assert order.startswith("stage order inferred")  # what other code looks for, in English


# ---- errors in the user's language ---------------------------------------------------------


def bad_history(tmp_path):
    path = tmp_path / "zgodovina.csv"
    path.write_bytes(
        crlf(HISTORY.replace("P1;Ožji izbor;16.03.2026", "P1;Ožji izbor;31.02.2026")).encode(
            "cp1250"
        )
    )
    return pipesheet.read_table(path)


def test_a_reader_error_in_slovenian_names_table_column_row_and_value(tmp_path):
    table = bad_history(tmp_path)
    with language("sl"), pytest.raises(PipesheetError) as err:
        pipesheet.StageProbabilities().fit(table)
    assert str(err.value) == (
        "tabela 'zgodovina', stolpec 'Datum vstopa', vrstica 4: ni veljaven datum "
        "(vrednost '31.02.2026'); pričakovano: koledarski datum, npr. 2026-09-30."
    )
    with pytest.raises(PipesheetError) as err:  # English: as it always was
        pipesheet.StageProbabilities().fit(table)
    assert str(err.value) == (
        "table 'history', column 'Datum vstopa', row 4: not a real date (value '31.02.2026'); "
        "expected a calendar date such as 2026-09-30."
    )


VIETNAMESE = pd.DataFrame(
    {
        "Mã thương vụ": ["TV-01", "TV-02", "TV-03"],
        "Tên": ["Công ty An Phát", "Cửa hàng Minh Long", "Nhà hàng Hương Sen"],
        "Giai đoạn": ["Tiếp cận", "Đàm phán", "Đã chốt thành công"],
        "Giá trị": ["250.000.000", "mười triệu", "120.000.000"],
        "Tiền tệ": ["VND", "VND", "VND"],
        "Ngày dự kiến chốt": ["30/10/2026", "15/11/2026", "20/09/2026"],
        "Người phụ trách": ["Nguyễn Văn An", "Trần Thị Bình", "Nguyễn Văn An"],
    }
)


def test_a_reader_error_in_vietnamese_names_table_column_row_and_value():
    with language("vi"), pytest.raises(PipesheetError) as err:
        pipesheet.read_deals(VIETNAMESE)
    text = str(err.value)
    assert text.startswith("bảng 'thương vụ', cột 'Giá trị', dòng 3: số tiền không phải là số")
    assert "(giá trị 'mười triệu')" in text and "; cần: " in text
    with pytest.raises(PipesheetError) as err:
        pipesheet.read_deals(VIETNAMESE)
    assert str(err.value).startswith(
        "table 'deals', column 'Giá trị', row 3: amount is not a number (value 'mười triệu')"
    )


def test_vietnamese_headers_and_labels_read_without_a_mapping():
    good = VIETNAMESE.assign(**{"Giá trị": ["250.000.000", "10.000.000", "120.000.000"]})
    deals = pipesheet.read_deals(good)
    assert deals.columns["amount"] == "Giá trị" and deals.columns["owner"] == "Người phụ trách"
    assert deals.frame["amount"].tolist() == [250e6, 10e6, 120e6]
    assert deals.frame["code"].tolist() == [0, 1, deals.stages.k]  # "Đã chốt thành công" is Won


def test_a_cli_error_in_slovenian(tmp_path, capsys):
    path = tmp_path / "zgodovina.csv"
    path.write_bytes(
        crlf(HISTORY.replace("P1;Ožji izbor;16.03.2026", "P1;Ožji izbor;31.02.2026")).encode(
            "cp1250"
        )
    )
    assert main(["stage-probabilities", str(path), "--lang", "sl"]) == 2
    err = capsys.readouterr().err
    assert "stolpec 'Datum vstopa', vrstica 4: ni veljaven datum (vrednost '31.02.2026')" in err
    assert "Traceback" not in err


# ---- the aliases --------------------------------------------------------------------------


def keys(fields: dict[str, tuple[str, ...]]) -> dict[str, set[str]]:
    """Each field's headers as compared: normalised, and without accents."""
    out: dict[str, set[str]] = {}
    for field, aliases in fields.items():
        for alias in (field, *aliases):
            key = normalise_header(alias)
            out.setdefault(field, set()).update({key, unaccented(key)})
    return out


@pytest.mark.parametrize(
    "fields",
    [
        DEAL_FIELDS,
        {
            **HISTORY_FIELDS,
            "close_date": HISTORY_CLOSE_ALIASES,
            "probability": HISTORY_PROBABILITY_ALIASES,
        },
    ],
    ids=["deals", "history"],
)
def test_no_alias_names_two_fields(fields):
    seen: dict[str, str] = {}
    clashes = []
    for field, names in keys(fields).items():
        for key in names:
            if seen.setdefault(key, field) != field:
                clashes.append((key, seen[key], field))
    assert not clashes


@pytest.mark.parametrize(
    ("lang", "headers"),
    [
        (
            "it",
            [
                "ID opportunità",
                "Fase",
                "Importo",
                "Data di chiusura prevista",
                "Proprietario",
                "Valuta",
                "Data di creazione",
                "Probabilità (%)",
            ],
        ),
        (
            "sl",
            [
                "ID posla",
                "Faza",
                "Znesek",
                "Predviden datum zaključka",
                "Lastnik",
                "Valuta",
                "Datum nastanka",
                "Verjetnost",
            ],
        ),
        (
            "vi",
            [
                "Mã thương vụ",
                "Giai đoạn",
                "Số tiền",
                "Ngày dự kiến chốt",
                "Người phụ trách",
                "Tiền tệ",
                "Ngày tạo",
                "Xác suất",
            ],
        ),
        (
            "ca",
            [
                "ID oportunitat",
                "Etapa",
                "Import",
                "Data de tancament prevista",
                "Propietari",
                "Moneda",
                "Data de creació",
                "Probabilitat",
            ],
        ),
    ],
)
def test_deals_headers_in_each_language(lang, headers):
    found = resolve_columns(
        pd.DataFrame(columns=headers), DEAL_FIELDS, ("deal_id",), table_name=lang
    )
    fields = [
        "deal_id",
        "stage",
        "amount",
        "close_date",
        "owner",
        "currency",
        "created_date",
        "probability",
    ]
    assert [found[f] for f in fields] == headers


@pytest.mark.parametrize(
    "headers",
    [
        ["ID posla", "Faza", "Datum vstopa"],
        ["ID opportunità", "Fase", "Data di ingresso"],
        ["Mã thương vụ", "Giai đoạn", "Ngày vào giai đoạn"],
        ["ID oportunitat", "Etapa", "Data d'entrada"],
        ["Id", "ID posla", "Nova faza", "Datum spremembe"],  # the history row's own Id is not it
    ],
)
def test_history_headers_in_each_language(headers):
    found = resolve_columns(
        pd.DataFrame(columns=headers),
        HISTORY_FIELDS,
        ("deal_id", "stage", "entered_date"),
        table_name="history",
    )
    assert [found[f] for f in ("deal_id", "stage", "entered_date")] == headers[-3:]


def test_headers_without_accents_or_with_combining_accents():
    plain = ["Ma thuong vu", "Giai doan", "Gia tri", "Ngay du kien chot", "Probabilita"]
    found = resolve_columns(pd.DataFrame(columns=plain), DEAL_FIELDS, ("deal_id",), table_name="x")
    assert [found[f] for f in ("deal_id", "stage", "amount", "close_date", "probability")] == plain
    decomposed = [unicodedata.normalize("NFD", h) for h in ("Giai đoạn", "Mã thương vụ")]
    found = resolve_columns(
        pd.DataFrame(columns=decomposed), DEAL_FIELDS, ("deal_id",), table_name="x"
    )
    assert (found["stage"], found["deal_id"]) == tuple(decomposed)


def test_an_accent_is_never_dropped_the_other_way():
    # an alias without accents does not take a header that carries other letters
    found = resolve_columns(
        pd.DataFrame(columns=["ID", "Stagé"]), DEAL_FIELDS, ("deal_id",), table_name="x"
    )
    assert "stage" not in found


@pytest.mark.parametrize(
    ("won", "lost"),
    [
        (["Vinta", "Chiusa vinta", "Chiuso/Vinto"], ["Persa", "Chiusa persa"]),
        (
            ["Dobljeno", "Zaprto – dobljeno", "Zakljuceno - dobljeno"],
            ["Izgubljeno", "Posel izgubljen"],
        ),
        (["Thắng", "Đã chốt thành công", "Da chot thanh cong"], ["Thua", "Đã chốt thất bại"]),
        (["Guanyada", "Tancada guanyada", "Oportunitat guanyada"], ["Perduda", "Tancada perduda"]),
    ],
    ids=["it", "sl", "vi", "ca"],
)
def test_won_and_lost_labels_in_each_language(won, lost):
    matcher = terminal_matcher()
    assert [matcher.match(w) for w in won] == [0] * len(won)
    assert [matcher.match(x) for x in lost] == [1] * len(lost)
    assert matcher.match("Kvalificirano") == -1 and matcher.match("Pogajanja") == -1


# ---- notes that remember their English -------------------------------------------------------


def test_a_note_remembers_its_english():
    with language("it"):
        said = note(
            N_("{count} deal(s) with a blank amount skipped ({rows})"), count=2, rows="row 3"
        )
    assert (
        isinstance(said, Text) and said.english == "2 deal(s) with a blank amount skipped (row 3)"
    )
    assert said.startswith("2 trattativa/e") and "blank amount" in said
    assert str(said) == "2 trattativa/e con importo vuoto esclusa/e (row 3)"
    assert json.dumps([said]) == json.dumps([str(said)])
