"""Bad input is refused with a message that says what was wrong and where."""

import numpy as np
import pytest

import kullback as kb

FUNCS_PQ = [kb.kl, kb.cross_entropy, kb.js]


def _big(n=40_000):
    return np.full(n, 1.0 / n)


@pytest.mark.parametrize("f", FUNCS_PQ)
def test_negative_weight_is_named_with_its_index(path, f):
    with pytest.raises(ValueError, match=r"p has a negative weight \(-0\.1\) at index 1"):
        f([0.6, -0.1, 0.5], [0.3, 0.3, 0.4])
    with pytest.raises(ValueError, match=r"q has a negative weight \(-0\.2\) at index \(1, 0\)"):
        f([[0.5, 0.5], [0.5, 0.5]], [[0.5, 0.5], [-0.2, 1.2]])


def test_bad_values_in_large_arrays_are_found_by_the_fast_path_too(path):
    q = _big()
    p = _big()
    p[31_000] = -p[31_000]
    with pytest.raises(ValueError, match=r"p has a negative weight .* at index 31000"):
        kb.kl(p, q)
    p = _big()
    p[7] = np.nan
    with pytest.raises(ValueError, match=r"p has NaN \(nan\) at index 7"):
        kb.kl(p, q)
    p = _big()
    p[9] = np.inf
    with pytest.raises(ValueError, match=r"p has an infinite value \(inf\) at index 9"):
        kb.entropy(p)
    with pytest.raises(ValueError, match=r"q sums to 2\.0.*not 1.*normalize=True"):
        kb.js(_big(), 2 * _big())


@pytest.mark.parametrize("f", FUNCS_PQ)
def test_nan_and_inf_are_refused(path, f):
    with pytest.raises(ValueError, match=r"p has NaN \(nan\) at index 0"):
        f([np.nan, 1.0], [0.5, 0.5])
    with pytest.raises(ValueError, match=r"q has an infinite value \(inf\) at index 1"):
        f([0.5, 0.5], [0.0, np.inf])


def test_unnormalised_weights_are_refused_unless_asked(path):
    with pytest.raises(ValueError, match=r"p sums to 6\.0, not 1 .*pass normalize=True"):
        kb.kl([1, 2, 3], [1 / 3, 1 / 3, 1 / 3])
    with pytest.raises(ValueError, match=r"q sums to 0\.9 at batch index 1, not 1"):
        kb.kl([[0.5, 0.5], [0.5, 0.5]], [[0.5, 0.5], [0.5, 0.4]])
    with pytest.raises(ValueError, match=r"p sums to"):
        kb.entropy([0.5, 0.6])
    # rounding is not a reason to refuse
    assert kb.kl([0.1] * 10, [0.1] * 10) == 0.0
    assert kb.kl([0.1, 0.2, 0.3, 0.4 + 1e-12], [0.25] * 4) > 0
    # and normalize=True takes counts
    assert kb.kl([1, 2, 3], [2, 2, 2], normalize=True) == pytest.approx(kb.kl([1 / 6, 2 / 6, 3 / 6], [1 / 3] * 3), rel=1e-14)


def test_float32_tolerance_is_float32_rounding(path, rng):
    p = rng.dirichlet(np.ones(1000)).astype(np.float32)
    p[0] += np.float32(1e-5)  # within sqrt(eps32) ~ 3.5e-4
    assert np.isfinite(kb.entropy(p))
    p[0] += np.float32(1e-2)
    with pytest.raises(ValueError, match="sums to"):
        kb.entropy(p)


def test_all_zero_and_empty(path):
    with pytest.raises(ValueError, match="p is all zeros"):
        kb.kl([0.0, 0.0], [0.5, 0.5], normalize=True)
    with pytest.raises(ValueError, match=r"q is all zeros at batch index 1"):
        kb.kl(np.full((2, 2), 0.5), np.array([[0.5, 0.5], [0.0, 0.0]]))
    with pytest.raises(ValueError, match=r"p is empty \(shape \(0,\)\)"):
        kb.kl([], [])
    with pytest.raises(ValueError, match=r"p is empty"):
        kb.entropy(np.zeros((0, 3)))
    with pytest.raises(ValueError, match=r"all zeros"):
        kb.entropy(np.zeros(50_000), normalize=True)


def test_shape_mismatch(path):
    with pytest.raises(ValueError, match=r"same number of outcomes along axis -1: p has 2, q has 3"):
        kb.kl([0.5, 0.5], [0.2, 0.3, 0.5])
    with pytest.raises(ValueError, match=r"same number of outcomes along axis 0"):
        kb.kl(np.full((2, 3), 0.5), np.full((3, 3), 1 / 3), axis=0)
    with pytest.raises(ValueError, match=r"do not broadcast"):
        kb.kl(np.full((2, 2), 0.5), np.full((3, 2), 0.5))
    with pytest.raises(ValueError, match=r"p is a scalar"):
        kb.kl(1.0, [1.0])


def test_bad_arguments():
    with pytest.raises(ValueError, match="axis 2 is out of range for p with 1 dimension"):
        kb.kl([0.5, 0.5], [0.5, 0.5], axis=2)
    with pytest.raises(TypeError, match="axis must be an integer"):
        kb.kl([0.5, 0.5], [0.5, 0.5], axis=0.0)
    for base in (1, 0, -2, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="`base` must be a finite number above 1"):
            kb.kl([0.5, 0.5], [0.5, 0.5], base=base)
    with pytest.raises(TypeError, match="`base` must be a number"):
        kb.kl([0.5, 0.5], [0.5, 0.5], base="2")
    with pytest.raises(TypeError, match="normalize must be True or False"):
        kb.kl([0.5, 0.5], [0.5, 0.5], normalize=1)
    with pytest.raises(TypeError, match="must be an array or a sequence of numbers, not str"):
        kb.kl("ab", [0.5, 0.5])
    with pytest.raises(TypeError, match="must hold real numbers"):
        kb.kl(["a", "b"], [0.5, 0.5])
    with pytest.raises(TypeError, match="boolean"):
        kb.entropy(np.array([True, False]))
    with pytest.raises(TypeError, match="complex"):
        kb.entropy(np.array([0.5 + 0j, 0.5]))
    with pytest.raises(ValueError, match="not a rectangular array"):
        kb.entropy([[0.5, 0.5], [1.0]])
    with pytest.raises(TypeError, match="samples to kb.estimate_kl"):
        kb.entropy({1: 0.5})
