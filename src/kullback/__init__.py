"""kullback: how different are two probability distributions?

The public face only; see ``shared/DESIGN.md`` for the contract.

>>> import kullback as kb
>>> round(float(kb.kl([0.36, 0.48, 0.16], [1/3, 1/3, 1/3])), 7)
0.0852996

Every public name is imported on first use (the divergences need NumPy, the
estimators in :mod:`kullback.estimation` scipy), so ``import kullback`` is instant.
"""

from ._warnings import AccuracyWarning

__version__ = "0.1.0"

# public name -> the module that defines it, imported on first access: `import kullback` loads
# nothing heavy (not even NumPy), so `kullback --version` is instant
_LAZY = {
    "kl": "._api",
    "entropy": "._api",
    "cross_entropy": "._api",
    "js": "._api",
    "estimate_kl": ".estimation._dispatch",
    "estimate_entropy": ".estimation._dispatch",
    "estimate_js": ".estimation._dispatch",
    "kl_bounds": ".estimation._bounds",
    "Estimate": ".estimation._result",
    "TieWarning": ".estimation._ties",
    "UnresolvedWarning": ".estimation._resolution",
    "fit": ".fitting._fit",
    "rank": ".fitting._rank",
    "vi": ".fitting._vi",
    "Fit": ".fitting._result",
    "Ranking": ".fitting._result",
    "profile": ".data",
    "Profile": ".data",
    "compare": ".data",
    "Comparison": ".data",
}

__all__ = ["__version__", "AccuracyWarning", *_LAZY]


def __getattr__(name):
    if name == "losses":  # a submodule, imported on first use (`kb.losses` and `import kullback.losses` both work)
        import importlib

        return importlib.import_module(".losses", __name__)
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    msg = f"module 'kullback' has no attribute {name!r}"
    raise AttributeError(msg)


def __dir__():
    return sorted(set(globals()) | set(__all__))
