"""Can q's sample resolve q where p puts its mass?  The evidence behind kNN divergence estimates' honesty.

The kNN estimate of D(p||q) reads log q(x_i) off the distance from x_i to q's sample.  Where p puts mass
beyond q's sample (p wider than q, or far from it), that distance measures only how far q's sample ends,
not how fast q's density falls there: D is then not identifiable from the samples (any tail of q beyond
its sample is consistent with them), and the kNN value falls short of it, by any amount (N(0, 1) against
N(0, 0.1^2): 4 for 47.2).  This room measures that evidence.

For each point x_i of p, its distance nu_1(i) to the nearest point y_j of q's sample is compared with
q's own spacing there, the distance r_10(j) from y_j to its 10th neighbour in q's sample.  Where both
samples have the same locally constant density, nu_1^d is exponential and r_10^d a Gamma(10) of the same
rate, so P(nu_1 > r_10) = 2^-10 ~ 0.001 whatever d.  The same comparison for q's own points (each point's
nearest other point against that neighbour's 10th neighbour: deleting the point changes nothing where it
is farther than the 10th) is the null share, measured on the data, which carries the curse of dimension
(d = 10: about 0.11 for both samples of one law).  The excess share of p's points (p's share minus q's)
is the evidence: p's points farther from q's sample than q's own points are from each other.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import binom

from .._warnings import AccuracyWarning
from ._kdtree import Tree, scale_of

__all__ = ["UnresolvedWarning", "resolution", "K_SPACING", "EXCESS_MIN", "P_MIN", "P_K1", "RATIO_MIN"]


class UnresolvedWarning(AccuracyWarning):
    """q's sample does not reach where p puts its mass: D(p||q) is bounded from below only.

    A kullback.AccuracyWarning.  Raised by the kNN divergence estimate (``method="auto"``) when a material
    share of p's points lies farther from q's sample than q's own points lie from each other
    (:func:`resolution`); the ``Estimate`` then carries a one-sided interval ``(lower, inf)`` and the
    evidence in ``details["resolution"]``.  More samples of q, or q's density (``estimate_kl(x, q)`` with
    a distribution object), resolve it.

    Examples
    --------
    q = N(0, 0.1^2) is far narrower than p = N(0, 1): D(p||q) = 47.2, which 1000 points of q cannot
    show, so the estimate is a lower bound only:

    >>> import warnings
    >>> import numpy as np
    >>> import kullback as kb
    >>> rng = np.random.default_rng(0)
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     e = kb.estimate_kl(rng.standard_normal(1000), 0.1 * rng.standard_normal(1000))
    >>> [w.category.__name__ for w in caught], e.one_sided, e.ci[1]
    (['UnresolvedWarning'], True, inf)
    """


K_SPACING = 10  # q's own spacing: the distance to the 10th neighbour (P(nu_1 > r_10) = 2^-10 under the null)
EXCESS_MIN = 0.005  # at least 0.5% of p's points beyond q's sample, over q's own share
P_MIN = 1e-4  # and significant: P(Binomial(n, s0) >= p's count) below this, s0 = max(q's share, 2^-10)
P_K1 = 0.05  # below that, d <= 2: a count significant at 5% makes method="auto" take k = 1 (the narrowest neighbourhoods)
RATIO_MIN = 3.0  # and p's share at least 3 times q's own (high d: both shares are large and close)
Z_K1 = P_K1  # the older name of the k = 1 threshold


def resolution(x: np.ndarray, y: np.ndarray, tree: Tree | None = None, nearest=None) -> dict:
    """The evidence that q's sample y resolves q under p's sample x (arrays (n, d), (m, d)); see the module.

    Returns a dict: ``share_p`` (share of x's points farther from y than y's 10th-neighbour spacing at
    their nearest y), ``share_q`` (the same for y's own points), ``excess``, ``p_value`` (binomial upper
    tail of p's count against q's share, floored at 2^-10), ``unresolved`` (excess >= EXCESS_MIN,
    p_value < P_MIN and share_p >= RATIO_MIN share_q) and ``beyond`` (p_value < P_K1, the same ratio).  Thresholds set on
    the Gaussian pairs of benchmarks/coverage_estimation.py (docs/estimation-coverage.md): N(0, 1) against
    N(0, 0.5^2) or N(3, 1), where the kNN intervals miss, are flagged; the same law, N(1, 1), and the
    d = 5 and 10 pairs of the main table, where they cover, are not. ``tree`` (y's kd-tree, with the scale of
    ``scale_of(x, y)``) and ``nearest`` (x's nearest distance and index in y, shapes (n, 1)) spare a search the
    caller has made.
    """
    n, m = x.shape[0], y.shape[0]
    kk = min(K_SPACING, m - 1)
    ty = Tree(y, scale=scale_of(x, y)) if tree is None else tree
    ry, iy = ty.query(y, kk, skip_self=True)  # y's own neighbours, nearest first
    nu, jx = ty.query(x, 1) if nearest is None else nearest
    spacing = ry[:, kk - 1]
    share_p = float(np.mean(nu[:, 0] > spacing[jx[:, 0]]))
    share_q = float(np.mean(ry[:, 0] > spacing[iy[:, 0]]))
    excess = share_p - share_q
    # how surprising p's count is if p's points were as far out as q's own: a binomial upper tail against q's share
    # (floored at the share 2^-k a locally constant density gives; exact for small counts, where a z test is not)
    s0 = max(share_q, 2.0**-kk)
    count = int(round(share_p * n))
    pvalue = float(binom.sf(count - 1, n, s0)) if count > 0 else 1.0
    unresolved = excess >= EXCESS_MIN and pvalue < P_MIN and share_p >= RATIO_MIN * share_q
    return {
        "share_p": share_p,
        "share_q": share_q,
        "excess": excess,
        "p_value": pvalue,
        "unresolved": bool(unresolved),
        "k_spacing": kk,
        "beyond": bool(excess > 0 and pvalue < P_K1 and share_p >= RATIO_MIN * share_q),
    }


def message(res: dict) -> str:
    """The warning's text: the evidence and what the interval is."""
    return (
        f"q's sample does not resolve q where p puts its mass: {100 * res['share_p']:.1f}% of p's points lie farther from q's "
        f"sample than q's own spacing there (distance to the nearest point of `y` beyond that point's {res['k_spacing']}th "
        f"neighbour), against {100 * res['share_q']:.1f}% of q's own points (excess {100 * res['excess']:.1f}%, binomial p = {res['p_value']:.2g}). "
        "There D(p||q) depends on q's tails beyond its sample, which the samples do not show: the kNN value (k = 1) is a "
        "lower estimate and the interval is one-sided, (lower bound, inf). Give more samples of q, or q's density "
        "(estimate_kl(x, q) with a distribution object)"
    )
