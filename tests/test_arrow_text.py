"""Text kept in Arrow by pandas (pandas 3's ``str`` dtype, ``string[pyarrow]``) is factorised in
Arrow — or through its bytes, for ids of one length — with exactly ``pd.factorize``'s codes and
uniques (first-appearance order), so the history reads the same whatever the column's dtype."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipesheet import StageProbabilities
from pipesheet.cells import _factorize_runs, arrow_strings
from pipesheet.sample import sample_history

pa = pytest.importorskip("pyarrow")

TEXTS = st.lists(
    st.one_of(
        st.sampled_from(["OPP-0000001", "OPP-0000002", "OPP-0000010", "opp-0000001"]),
        st.text(alphabet="ab é\u200b", max_size=5),
        st.none(),
    ),
    max_size=60,
)


@settings(max_examples=200, deadline=None)
@given(TEXTS)
def test_arrow_factorisation_is_pandas_factorisation(values):
    series = pd.Series(values, dtype="string[pyarrow]")
    assert arrow_strings(series) is not None
    codes, uniques = _factorize_runs(series)
    ref_codes, ref_uniques = pd.factorize(np.array(values, dtype=object), use_na_sentinel=True)
    assert codes.tolist() == ref_codes.tolist()
    assert list(uniques) == list(ref_uniques)


@pytest.mark.parametrize("dtype", ["string[pyarrow]", "object"])
def test_history_reads_the_same_from_arrow_text(dtype):
    history = sample_history()
    shuffled = history.sample(frac=1, random_state=4).reset_index(drop=True)
    ref = StageProbabilities(method="markov").fit(shuffled.astype(object))
    got = StageProbabilities(method="markov").fit(shuffled.astype(dtype))
    pd.testing.assert_frame_equal(got.table_, ref.table_, check_exact=True)
