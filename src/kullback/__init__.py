"""kullback: how different are two probability distributions?

The public face only; see ``shared/DESIGN.md`` for the contract.

>>> import kullback as kb
>>> round(float(kb.kl([0.36, 0.48, 0.16], [1/3, 1/3, 1/3])), 7)
0.0852996

The estimators (``estimate_kl``, ``estimate_entropy``, ``estimate_js``,
``kl_bounds``, ``Estimate``, ``TieWarning``) live in :mod:`kullback.estimation`,
which needs scipy: it is imported on first use, so ``import kullback`` stays fast.
"""

from ._api import cross_entropy, entropy, js, kl
from ._warnings import AccuracyWarning

__version__ = "0.1.0"

# public name -> the module of kullback.estimation that defines it (imported on first access)
_LAZY = {
    "estimate_kl": "_dispatch",
    "estimate_entropy": "_dispatch",
    "estimate_js": "_dispatch",
    "kl_bounds": "_bounds",
    "Estimate": "_result",
    "TieWarning": "_knn",
}

__all__ = ["__version__", "kl", "entropy", "cross_entropy", "js", "AccuracyWarning", *_LAZY]


def __getattr__(name):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(f".estimation.{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    msg = f"module 'kullback' has no attribute {name!r}"
    raise AttributeError(msg)


def __dir__():
    return sorted(set(globals()) | set(__all__))
