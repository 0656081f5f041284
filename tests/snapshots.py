"""Two small deals snapshots (September and October) shared by the waterfall tests of the CLI and
the Excel functions."""

import pandas as pd

SEPT = pd.DataFrame(
    {
        "Deal ID": ["A", "B", "C", "D", "E", "F"],
        "Stage": ["Lead", "Proposal", "Proposal", "Qualified", "Lead", "Proposal"],
        "Amount": [1000.10, 2500.25, 4000.00, 700.35, 1200.00, 333.33],
        "Expected Close Date": [
            "2026-10-15",
            "2026-11-30",
            "2026-12-01",
            "2027-02-01",
            "2026-10-20",
            "2026-12-31",
        ],
    }
)
OCT = pd.DataFrame(
    {
        "Deal ID": ["A", "B", "C", "D", "E", "G"],
        "Stage": ["Qualified", "Won", "Lost", "Proposal", "Lead", "Lead"],
        "Amount": [1100.10, 2500.25, 4000.00, 700.35, 1200.00, 999.99],
        "Expected Close Date": [
            "2026-10-15",
            "2026-10-31",
            "2026-10-28",
            "2026-12-15",
            "2027-01-20",
            "2026-11-11",
        ],
    }
)
