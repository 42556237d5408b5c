"""Dask DataFrames: partition profiles merged on a 2-worker LocalCluster equal one process's numbers."""

import numpy as np
import pandas as pd
import pytest

import kullback as kb

dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")


def test_local_cluster_gives_the_numbers_of_one_process():
    rng = np.random.default_rng(0)
    n = 20000
    pdf = pd.DataFrame(
        {
            "x": np.r_[rng.normal(size=n - 3), np.nan, np.inf, 99.0],
            "c": rng.choice(list("abcde"), n),
            "t": pd.date_range("2020-01-01", periods=n, freq="min"),
        }
    )
    ddf = dd.from_pandas(pdf, npartitions=5)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        with distributed.Client(cluster):
            prof = kb.profile(ddf)
            cmp_dask = kb.compare(prof, ddf.assign(x=ddf.x + 0.1))
    one = kb.profile(pdf, bins=prof)  # the same edges, counted in one process
    assert prof.to_dict() == one.to_dict()
    # pandas cannot tell NaN from missing: its NaN counts as missing
    assert prof["x"].missing == 1 and prof["x"].posinf == 1 and sum(prof["x"].counts) == n - 2
    cmp_one = kb.compare(prof, pdf.assign(x=pdf.x + 0.1))
    assert cmp_dask.to_dict() == cmp_one.to_dict()
