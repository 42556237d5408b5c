"""A long numeric Parquet column is read in batches (bounded memory): the same Profile and Comparison, to the bit."""

import numpy as np
import pytest

import kullback as kb
from kullback.data import _read

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")


def _write(path, rng, shift, n=5000):
    x = rng.normal(shift, 1, n)
    x[::97] = np.nan
    x[5::211] = np.inf
    x[7::307] = -np.inf
    ties = np.round(rng.normal(0, 1, n), 1)  # many repeated values
    ints = rng.poisson(3 + shift, n).astype(np.int64)
    few = rng.integers(0, 4, n).astype(np.float32)  # a bin per value
    mask = np.zeros(n, bool)
    mask[3::13] = True
    table = pa.table(
        {
            "x": pa.array(x, mask=mask),
            "ties": pa.array(ties),
            "ints": pa.array(ints, mask=mask[::-1].copy()),
            "few": pa.array(few),
            "c": pa.array(rng.choice(["a", "b", "c"], n)),
        }
    )
    pq.write_table(table, path, row_group_size=700)


def test_batched_parquet_profile_and_compare_equal_whole(tmp_path, monkeypatch):
    rng = np.random.default_rng(5)
    ref, cur = tmp_path / "ref.parquet", tmp_path / "cur.parquet"
    _write(ref, rng, 0.0)
    _write(cur, rng, 0.3)
    whole_ref, whole = kb.profile(str(ref)), kb.compare(str(ref), str(cur))
    monkeypatch.setattr(_read, "STREAM_ROWS", 0)
    monkeypatch.setattr(_read, "BATCH_ROWS", 333)
    cols, _ = _read.read_columns(str(ref))
    kinds = {c.name: type(c.values).__name__ for c in cols}
    assert kinds["x"] == kinds["ties"] == kinds["ints"] == kinds["few"] == "Batches"  # the batched path is taken
    assert kb.profile(str(ref)).to_dict() == whole_ref.to_dict()
    assert kb.profile(str(cur), bins=whole_ref).to_dict() == kb.profile(str(cur), bins=whole_ref).to_dict()
    batched = kb.compare(str(ref), str(cur))
    assert batched.to_json() == whole.to_json()
    # a glob of two files reads both in turn
    monkeypatch.setattr(_read, "STREAM_ROWS", 1 << 40)
    both = kb.profile(str(tmp_path / "*.parquet")).to_dict()
    monkeypatch.setattr(_read, "STREAM_ROWS", 0)
    assert kb.profile(str(tmp_path / "*.parquet")).to_dict() == both


def test_short_columns_are_read_whole(tmp_path):
    rng = np.random.default_rng(1)
    _write(tmp_path / "a.parquet", rng, 0.0, n=100)
    cols, _ = _read.read_columns(str(tmp_path / "a.parquet"))
    assert all(not isinstance(c.values, _read.Batches) for c in cols)
