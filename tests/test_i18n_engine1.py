"""The engine speaks the user's language: the lead plan's explanation, the quota gap, the balance's
advice, the stage design check, notes and errors — translated, with numbers in the language's
format; the numbers themselves (every table, every figure) are the same in every language, and
English is what it has always been."""

from __future__ import annotations

import pandas as pd
import pytest

from pipesheet import PipesheetError, StageList
from pipesheet.balance import pipeline_balance
from pipesheet.i18n import LANGUAGES, language
from pipesheet.losses import NO_REASON, lost_reasons
from pipesheet.planning import leads_needed, quota_gap
from pipesheet.ranges import forecast_range
from pipesheet.stage_design import stage_design_check

#: The glossary's worked example.
CONVERSIONS = {"Lead": 0.5, "Qualified": 0.4, "Proposal": 0.25}
STAGES = StageList(("Lead", "Qualified", "Proposal"))
DAY = pd.Timedelta(days=1)


def plan(lang: str, **options):
    with language(lang):
        return leads_needed(1_000_000, 25_000, CONVERSIONS, **options)


def small_pipeline() -> tuple[pd.DataFrame, pd.DataFrame]:
    """A stage history and deals table small enough to count by hand: 2 won deals, 8 lost ones
    (5 at Lead, 1 at Qualified, 2 at Proposal), 20 open at Lead, 3 at Qualified, 1 at Proposal;
    every Lead visit lasts 8 days, Qualified 4, Proposal 10 (as in tests/test_balance.py)."""
    rows, deals = [], []

    def deal(i, path, start, amount, outcome, reason=None):
        t = pd.Timestamp(start)
        for stage, days in path:
            rows.append((i, stage, t.date()))
            t += days * DAY
        if outcome:
            rows.append((i, outcome, t.date()))
        deals.append((i, outcome or path[-1][0], amount, reason))

    lead, qual, prop = ("Lead", 8), ("Qualified", 4), ("Proposal", 10)
    deal("W1", [lead, qual, prop], "2026-01-05", 8000, "Won")
    deal("W2", [lead, qual, prop], "2026-02-02", 12000, "Won")
    for j in range(5):
        deal(f"LL{j}", [lead], f"2026-0{j + 1}-10", 10000, "Lost", "Price" if j % 2 else None)
    deal("LQ", [lead, qual], "2026-03-02", 10000, "Lost", "Price")
    deal("LP1", [lead, qual, prop], "2026-03-09", 10000, "Lost", "Competitor")
    deal("LP2", [lead, qual, prop], "2026-04-06", 10000, "Lost", None)
    for j in range(20):
        deal(f"OL{j}", [lead], pd.Timestamp("2026-06-14") - (j % 8) * DAY, 10000, None)
    for j in range(3):
        deal(f"OQ{j}", [lead, qual], pd.Timestamp("2026-06-03") + j * DAY, 10000, None)
    deal("OP", [lead, qual, prop], "2026-05-25", 10000, None)
    history = pd.DataFrame(rows, columns=["Deal ID", "Stage", "Entered Date"])
    table = pd.DataFrame(deals, columns=["Deal ID", "Stage", "Amount", "Loss Reason"])
    return history, table


def balance(lang: str):
    history, deals = small_pipeline()
    with language(lang):
        return pipeline_balance(
            history,
            deals,
            90_000,
            "2026-06-01",
            "2026-06-30",
            as_of="2026-06-15",
            stages=STAGES,
            currency="EUR",
        )


# ---- the lead plan ----------------------------------------------------------------------------
def test_the_lead_plan_in_english_is_what_it_always_was():
    assert plan("en", currency="EUR").explanation == [
        "Target 1,000,000 EUR ÷ average deal 25,000 EUR = 40 → 40 won deals (rounded up).",
        "To close 40 deals at a 25% win rate from Proposal you need 160 deals at Proposal.",
        "To get 160 to Proposal at 40% conversion from Qualified you need 400 at Qualified "
        "(40 ÷ 10% overall, rounded up).",
        "To get 400 to Qualified at 50% conversion from Lead you need 800 at Lead "
        "(40 ÷ 5% overall, rounded up).",
    ]


def test_the_lead_plan_explained_in_vietnamese():
    text = plan("vi").explanation
    assert text[0] == (
        "Mục tiêu 1.000.000 ÷ thương vụ trung bình 25.000 = 40 → 40 thương vụ thắng (làm tròn lên)."
    )
    assert text[1] == (
        "Để chốt 40 thương vụ với tỷ lệ thắng 25% từ giai đoạn Proposal, "
        "bạn cần 160 thương vụ ở giai đoạn Proposal."
    )
    assert "800 thương vụ ở Lead" in text[3] and "5%" in text[3]
    # with a currency: the language's own money format (no-break space before the symbol)
    assert plan("vi", currency="EUR").explanation[0].startswith("Mục tiêu 1.000.000\u00a0€ ÷")


def test_the_lead_plan_explained_in_italian():
    text = plan("it").explanation
    assert text[0] == (
        "Obiettivo 1.000.000 ÷ valore medio della trattativa 25.000 = 40 → 40 trattative vinte "
        "(arrotondato per eccesso)."
    )
    assert "servono 160 trattative in Proposal" in text[1]
    assert "tasso di vincita del 25%" in text[1]
    # decimals follow the language too (comma), the plan's deadline sentence as well
    with language("it"):
        lines = leads_needed(
            1_000_001.5,
            333.3,
            {"A": 0.333, "B": 0.1234567},
            deadline="2026-12-31",
            days_in_stage={"A": 14.5, "B": 7},
        ).explanation
    assert lines[0].startswith("Obiettivo 1.000.001,50 ÷ valore medio della trattativa 333,30 =")
    assert "12,35%" in lines[1] and "24.309" in lines[1]
    assert lines[-1] == (
        "Per chiudere entro il 2026-12-31, le 72.998 trattative in fase A devono entrare entro "
        "il 2026-12-09 (21,5 giorni di ciclo)."
    )


def test_the_plan_has_the_same_numbers_in_every_language():
    tables = {
        lang: plan(lang, deadline="2026-12-31", days_in_stage={s: 10 for s in CONVERSIONS})
        for lang in LANGUAGES
    }
    for lang, p in tables.items():
        pd.testing.assert_frame_equal(p.to_frame(), tables["en"].to_frame(), obj=lang)
        assert (p.won_needed, p.leads) == (40, 800)
        assert len(p.explanation) == len(tables["en"].explanation)


def test_the_quota_gap_explained_in_italian_with_the_same_figures():
    def gap(lang):
        with language(lang):
            return quota_gap(
                1_000_000,
                100_000,
                250_000,
                average_deal=25_000,
                lead_to_win_rate=0.0625,
                as_of="2026-09-30",
                period_end="2026-12-31",
                cycle_days=30,
                open_pipeline=2_000_000,
            )

    english, italian = gap("en"), gap("it")
    assert english.to_frame().equals(italian.to_frame())
    assert italian.explanation[0] == (
        "Quota 1.000.000 − chiuso 100.000 − atteso dalle trattative aperte 250.000 = divario "
        "650.000."
    )
    assert "416 nuovi lead" in italian.explanation[1] and "6,25%" in italian.explanation[1]
    assert italian.explanation[2].endswith("= 47,0 nuovi lead a settimana.")
    assert italian.explanation[-1] == (
        "Copertura: pipeline aperta 2.000.000 ÷ quota residua 900.000 = 2,22×."
    )
    assert english.explanation[-1] == (
        "Coverage: open pipeline 2,000,000 ÷ remaining quota 900,000 = 2.22×."
    )


# ---- errors -----------------------------------------------------------------------------------
def test_an_engine_error_in_catalan_names_the_value_and_the_row():
    with language("ca"):
        with pytest.raises(PipesheetError) as err:
            forecast_range([1000, "x"], [0.5, 0.2])
    text = str(err.value)
    assert "l'import no és un nombre" in text
    assert "'x'" in text and "3" in text  # the value and its spreadsheet row
    assert err.value.problem == "l'import no és un nombre"
    assert err.value.expected == "un nombre"
    assert err.value.table == "open deals" and err.value.column == "amount"  # the API names


def test_a_planning_error_in_catalan():
    with language("ca"), pytest.raises(PipesheetError) as err:
        leads_needed(1_000_000, 25_000, {"Lead": 0.5, "Proposal": 0})
    assert err.value.problem == (
        "la conversió és zero per a l'etapa 'Proposal': cap nombre d'oportunitats no arriba a "
        "l'objectiu a través seu"
    )
    assert err.value.rows == [3]


# ---- the pipeline balance ---------------------------------------------------------------------
def test_the_balance_advice_in_slovenian():
    sl = balance("sl")
    assert sl.advice == [
        "Preveč na vrhu (Lead) in premalo nižje (Proposal): za zdaj prenehajte s hladnimi klici "
        "in delajte na poslih, ki jih imate — premaknite jih naprej in jih zaključite.",
        "V fazi Proposal manjka 5 poslov: približno 2,5 dobljenih poslov manj (25.000\u00a0€) od "
        "tedna 2026-06-22.",
    ]
    assert sl.table["advice"].tolist()[1] == "enakomerno: ohranite tempo"
    with language("sl"):  # the printout is in the language spoken when it is printed
        text = str(sl)
    assert text.splitlines()[0] == (
        "Uravnoteženost prodajnega lijaka na presečni datum 2026-06-15: cilj 90.000\u00a0€ za "
        "obdobje od 2026-06-01 do 2026-06-30 (30 dni)"
    )
    assert "prenatrpana" in text and "prešibka" in text and "teden od 2026-06-22" in text
    assert "opomba: predpostavljeno stacionarno stanje" in text


def test_the_balance_numbers_and_codes_do_not_change_with_the_language():
    english = balance("en")
    for lang in ("it", "sl", "vi", "ca"):
        other = balance(lang)
        pd.testing.assert_frame_equal(
            other.table.drop(columns="advice"), english.table.drop(columns="advice"), obj=lang
        )
        assert other.thin == english.thin == ["Proposal"]  # the status codes stay codes
        assert other.average_deal == english.average_deal == 10_000
    assert english.advice[1] == (
        "Proposal is 5 deals short: about 2.5 fewer won deals (25,000 EUR) from the week of "
        "2026-06-22."
    )


# ---- the stage design check, lost reasons -----------------------------------------------------
def test_the_stage_design_check_in_slovenian_uses_its_plural_forms():
    history, deals = small_pipeline()
    with language("sl"):
        result = stage_design_check(history, deals, as_of="2026-06-15", stages=STAGES)
        head = str(result).splitlines()[0]
    # 3 → Slovenian's third form ("odprte faze"); every stage has too few closed deals
    assert head == (
        "Preverjanje zasnove faz na presečni datum 2026-06-15: 3 odprte faze, opozorila: 3"
    )
    assert result.flags["check"].tolist() == ["too_few_closed"] * 3  # codes, not words
    assert result.flags["evidence"].iloc[2] == (
        "dosegli so jo 4 zaključeni posli (dobljeni 2, izgubljeni 2): premalo za učenje "
        "verjetnosti dobitka"
    )
    with language("en"):
        english = str(stage_design_check(history, deals, as_of="2026-06-15", stages=STAGES))
    assert english.splitlines()[0] == (
        "Stage design check as of 2026-06-15: 3 open stages, 3 flag(s)"
    )


def test_lost_reasons_in_italian_show_the_blank_reason_in_italian():
    history, deals = small_pipeline()
    with language("it"):
        result = lost_reasons(deals, history)
    blank = "(nessun motivo indicato)"
    assert blank in result.by_reason["reason"].tolist()
    assert f"trattative perse senza motivo indicato: 4; mostrate come {blank}" in result.notes
    english = lost_reasons(deals, history)
    assert NO_REASON in english.by_reason["reason"].tolist()
    assert english.by_reason["lost_deals"].tolist() == result.by_reason["lost_deals"].tolist()


def test_won_deals_of_zero_amount_are_a_clear_error_not_a_division_by_zero():
    history, deals = small_pipeline()
    deals.loc[deals["Stage"] == "Won", "Amount"] = 0
    for lang, words in (("en", "have an average amount of 0"), ("ca", "un import mitjà de 0")):
        with language(lang), pytest.raises(PipesheetError) as err:
            pipeline_balance(history, deals, 90_000, "2026-06-01", "2026-06-30", as_of="2026-06-15")
        assert words in str(err.value) and "2026-06-15" in str(err.value)
        assert err.value.column == "Amount"


def test_huge_amounts_are_written_not_refused():
    # beyond 1e28 a decimal context of 28 digits could not hold the number
    with language("it"):
        text = leads_needed(1e300, 1e290, {"A": 1.0}).explanation[0]
    assert text.startswith("Obiettivo 1.000.000.000.") and "→ 10.000.000.000 trattative" in text
