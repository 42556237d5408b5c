"""Bad input to estimate_kl / estimate_entropy / estimate_js: each a clear ValueError / TypeError naming the problem."""

import math
import warnings

import numpy as np
import pytest
import scipy.stats as st

import kullback as kb
from kullback.estimation._dispatch import estimate_entropy, estimate_js, estimate_kl

GRID = np.arange(30.0) * 0.37 % 5  # 30 distinct floats


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_continuous_samples(bad):
    x = GRID.copy()
    x[4] = bad
    with pytest.raises(ValueError, match=r"`x` holds a non-finite value .* row 4"):
        estimate_kl(x, GRID)
    with pytest.raises(ValueError, match=r"`y` holds a non-finite value .* row 4"):
        estimate_kl(GRID, x)
    with pytest.raises(ValueError, match="non-finite"):
        estimate_entropy(x)


def test_non_finite_samples_counted_as_categories():
    """method='plugin' on floats counts values; NaN is a missing value, not a category."""
    with pytest.raises(ValueError, match=r"`x` has a non-finite value \(nan\) at index 1"):
        estimate_kl(np.array([1.0, np.nan]), np.array([1.0, 2.0]), method="plugin")


@pytest.mark.parametrize("missing", [None, float("nan")])
def test_missing_values_in_discrete_samples(missing):
    with pytest.raises(ValueError, match="`y` has a missing value .* at index 2"):
        estimate_kl(["a", "b", "a"], ["a", "b", missing])


def test_fewer_points_than_k_plus_one():
    with pytest.raises(ValueError, match=r"`x` has 5 points; the kNN estimate needs at least"):
        estimate_kl(GRID[:5], GRID, k=5)
    with pytest.raises(ValueError, match="points"):
        estimate_entropy(GRID[:3], k=3)


def test_different_dimensions():
    x2 = np.column_stack([GRID, GRID**2])
    with pytest.raises(ValueError, match="`x` has dimension 2 but `y` has dimension 1"):
        estimate_kl(x2, GRID)
    with pytest.raises(ValueError, match="`x` has dimension 2 .* but `y` has dimension 3"):
        estimate_kl(np.ones((4, 2), dtype=int), np.ones((4, 3), dtype=int))
    with pytest.raises(ValueError, match="dimension"):
        estimate_js(x2, GRID)


def test_single_repeated_continuous_value():
    """No density to estimate: an error, never inf or NaN."""
    with pytest.raises(ValueError, match="single repeated value"):
        estimate_entropy(np.full(20, 1.5))
    with pytest.raises(ValueError, match="single repeated value"):
        estimate_kl(np.full(20, 1.5), GRID)


def test_single_repeated_discrete_value_is_valid():
    """A discrete sample of one value is a point mass: H = 0 exactly, D = 0 against itself."""
    h = estimate_entropy(np.full(20, 3))
    assert (h.value, h.stderr) == (0.0, 0.0)
    assert estimate_kl(["x"] * 5, ["x"] * 3).value == 0.0


@pytest.mark.parametrize(
    "x",
    [np.array([[1], [2, 3]], dtype=object), np.array([{1}, {2}], dtype=object), [[1], [2, 3]], [{"a": 1}, {"b": 2}]],
)
def test_object_arrays_of_unhashables(x):
    with pytest.raises(TypeError, match=r"`x` holds an unhashable (list|set|dict) at index 0"):
        estimate_kl(x, [1, 2])


def test_unhashable_in_y_is_named_with_its_own_index():
    with pytest.raises(TypeError, match="`y` holds an unhashable list at index 1"):
        estimate_kl(["a", "b"], np.array(["a", ["b"]], dtype=object))


class _NoSampling:
    """Has a log density but no rvs/sample: not a distribution kullback can draw from."""

    def logpdf(self, x):
        return -0.5 * np.asarray(x) ** 2


def test_object_without_rvs_or_sample():
    with pytest.raises(TypeError, match="`x` is of type _NoSampling: give samples .* `rvs`/`sample`"):
        estimate_kl(_NoSampling(), st.norm())
    with pytest.raises(TypeError, match="`y` is of type _NoSampling"):
        estimate_kl(np.arange(10.0), _NoSampling())


def test_torch_distribution_without_sample():
    """A torch Distribution subclass with log_prob but no sample: Monte Carlo refuses it, naming it."""
    torch = pytest.importorskip("torch")

    class LogOnly(torch.distributions.Distribution):
        arg_constraints = {}
        support = torch.distributions.constraints.real

        def __init__(self):
            super().__init__(validate_args=False)

        def log_prob(self, value):
            return -0.5 * value**2

    with pytest.raises(TypeError, match="LogOnly.*has no `sample` method"):
        estimate_kl(LogOnly(), torch.distributions.Normal(0.0, 1.0), rng=0)


def test_torch_samples_mix_with_numpy():
    """A torch tensor of samples with a NumPy array: converted, the same answer as two NumPy arrays."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    x, y = rng.integers(0, 4, 400), rng.integers(0, 4, 300)
    assert estimate_kl(torch.as_tensor(x), y) == estimate_kl(x, y)
    xf, yf = rng.normal(size=300), rng.normal(0.3, 1, size=300)
    assert estimate_kl(torch.as_tensor(xf), yf, rng=0).value == estimate_kl(xf, yf, rng=0).value


@pytest.mark.parametrize("empty", [[], np.array([]), np.empty((0, 2)), np.array([], dtype=int)])
def test_empty_samples(empty):
    with pytest.raises(ValueError, match="`x` is empty"):
        estimate_kl(empty, [1, 2])
    with pytest.raises(ValueError, match="`y` is empty"):
        estimate_kl([1, 2], empty)
    with pytest.raises(ValueError, match="`x` is empty"):
        estimate_entropy(empty)


@pytest.mark.parametrize("scalar", [3, 2.5, "abc", {"a": 1}, None])
def test_not_samples_at_all(scalar):
    with pytest.raises(TypeError, match="`x` is of type"):
        estimate_kl(scalar, [1, 2])


def test_strings_against_numbers():
    with pytest.raises(TypeError, match="`x` holds discrete samples but `y` continuous ones"):
        estimate_kl(["a", "b"], np.array([0.5, 1.5]))


def test_complex_samples():
    with pytest.raises(TypeError, match="complex"):
        estimate_kl(np.array([1j, 2j, 3j]), np.array([1j, 2j, 3j]))


def test_bad_smoothing():
    with pytest.raises(ValueError, match=r"`smoothing` must be one of \['jeffreys', 'laplace', 'perks'\]"):
        estimate_kl([1, 2], [1, 2], smoothing="jefreys")
    with pytest.raises(ValueError, match="non-negative pseudo-count"):
        estimate_kl([1, 2], [1, 2], smoothing=-1.0)
    with pytest.raises(TypeError, match="`smoothing` must be"):
        estimate_kl([1, 2], [1, 2], smoothing=[0.5])


def test_discrete_entropy_of_one_sample():
    with pytest.raises(ValueError, match="at least 2"):
        estimate_entropy(["a"])


def test_estimates_are_never_nan():
    """Support mismatch is inf (explained), never NaN; the plug-in JS stays finite."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", kb.AccuracyWarning)
        e = estimate_kl(["a", "b"], ["b", "c"])
    assert e.value == math.inf and not any(map(math.isnan, (e.value, e.stderr, *e.ci)))
    j = estimate_js(["a", "b"], ["b", "c"])
    assert math.isfinite(j.value) and not math.isnan(j.stderr)
