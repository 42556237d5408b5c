"""Estimating divergences and entropies from samples and by Monte Carlo, always with uncertainty.

See ``shared/DESIGN.md``: ``estimate_kl``, ``estimate_entropy``, ``estimate_js``
return a :class:`Estimate`; ``kl_bounds`` gives deterministic bounds.
"""

from ._result import Estimate

__all__ = ["Estimate"]
