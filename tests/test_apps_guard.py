"""The apps' one guard: a problem inside a widget callback reaches the viewer as one clear
sentence on the page — never lost in a log, never an exception type (issue 10.7)."""

from __future__ import annotations

import pytest

pytest.importorskip("ipywidgets")
pytest.importorskip("matplotlib")

from pipesheet.apps import Dashboard, LeadPlanner
from pipesheet.apps.common import INTERNAL_ERROR, guard
from pipesheet.errors import PipesheetError


def test_guard_shows_the_message_or_one_sentence(capfd):
    shown: list[str] = []

    def bad_input(_change):
        raise PipesheetError("amount is not a number", table="deals", value="lots")

    def bug(_change):
        raise ZeroDivisionError("division by zero")

    guard(shown.append, bad_input)(None)
    guard(shown.append, bug)(None)
    assert shown == [
        str(PipesheetError("amount is not a number", table="deals", value="lots")),
        INTERNAL_ERROR,
    ]
    assert "ZeroDivisionError" not in INTERNAL_ERROR
    assert "ZeroDivisionError" in capfd.readouterr().err  # the details go to the server's log


def test_dashboard_callback_bug_is_shown_not_lost(monkeypatch):
    app = Dashboard()
    assert app.error == ""

    def broken():
        raise KeyError("range")

    monkeypatch.setattr(app, "_rerange", broken)
    app.quota.value = 2_500_000  # would raise out of the observer without the guard
    assert app.error == INTERNAL_ERROR
    assert "Something went wrong inside pipesheet" in app.error_html.value
    assert "KeyError" not in app.error_html.value


def test_dashboard_download_button_bug_is_shown(monkeypatch):
    app = Dashboard()

    def broken():
        raise ValueError("cannot write")

    monkeypatch.setattr(app, "results_xlsx", broken)
    app.download_button.click()
    assert app.error == INTERNAL_ERROR and app.download_link.value == ""


def test_lead_planner_callback_bug_is_shown(monkeypatch):
    app = LeadPlanner()

    def broken():
        raise RuntimeError("boom")

    monkeypatch.setattr(app, "update", broken)
    app.target.value = 1_500_000
    assert app.error == INTERNAL_ERROR
    assert "Something went wrong" in app.status.value
