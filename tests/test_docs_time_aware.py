"""docs/time-aware.md's worked example of the calibrated forecast is the real output."""

from pathlib import Path

import pytest

from pipesheet.calibrated import calibrated_forecast
from pipesheet.sample import sample_deals, sample_history, sample_rates

DOC = Path(__file__).resolve().parents[1] / "docs" / "time-aware.md"


@pytest.fixture(scope="module")
def example():
    return calibrated_forecast(
        sample_history(),
        sample_deals(),
        "quarter",
        as_of="2026-08-15",
        rates=sample_rates(),
        quota=2_500_000,
    )


def test_worked_example_numbers_are_the_real_output(example):
    text = " ".join(DOC.read_text(encoding="utf-8").split())
    for value in (example.forecast, example.p10, example.p90, example.closed):
        assert f"{value:,.0f}" in text
    assert f"{example.p_quota * 100:.1f}%" in text
    for _, row in example.evidence.iterrows():
        line = (
            f"{row['as_of'].date()} {row['period_end'].date()} {row['forecast']:,.0f} "
            f"{row['actual']:,.0f} {row['error'] * 100:+.1f}% {row['weight']:.2f}"
        )
        assert " ".join(line.split()) in text
    assert "```text\n" + str(example) + "\n```" in DOC.read_text(encoding="utf-8")
