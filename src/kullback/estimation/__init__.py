"""Estimating divergences and entropies from samples and by Monte Carlo, always with uncertainty.

See ``shared/DESIGN.md``: ``estimate_kl``, ``estimate_entropy``, ``estimate_js``
return an :class:`Estimate` (value, standard error, interval, method, sample
sizes); ``kl_bounds`` gives deterministic lower and upper bounds for Gaussian
mixtures.

Rooms: ``_dispatch`` recognises what the caller holds and picks a method from
its registry; ``_knn`` (continuous samples: Wang–Kulkarni–Verdú divergence,
Kozachenko–Leonenko entropy), ``_plugin`` (discrete samples: counts, bias
corrections, smoothing), ``_montecarlo`` (distribution objects; its sampling designs in ``_mc_designs``), ``_bounds``
(Gaussian mixtures), ``_access`` (drawing from and evaluating scipy / torch
objects).
"""

from ._result import Estimate

# name -> the room that defines it; imported on first access, so that importing one room
# (kullback.estimation._knn, say) does not import the others
_ROOMS = {
    "estimate_kl": "_dispatch",
    "estimate_entropy": "_dispatch",
    "estimate_js": "_dispatch",
    "kl_bounds": "_bounds",
    "TieWarning": "_knn",
    "UnresolvedWarning": "_resolution",
}

__all__ = ["Estimate", "estimate_kl", "estimate_entropy", "estimate_js", "kl_bounds", "TieWarning", "UnresolvedWarning"]


def __getattr__(name):
    if name in _ROOMS:
        import importlib

        value = getattr(importlib.import_module(f".{_ROOMS[name]}", __name__), name)
        globals()[name] = value
        return value
    msg = f"module 'kullback.estimation' has no attribute {name!r}"
    raise AttributeError(msg)
