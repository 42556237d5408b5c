"""kullback: how different are two probability distributions?

The public face only; see ``shared/DESIGN.md`` for the contract.

>>> import kullback as kb
>>> round(float(kb.kl([0.36, 0.48, 0.16], [1/3, 1/3, 1/3])), 7)
0.0852996
"""

from ._api import cross_entropy, entropy, js, kl
from ._warnings import AccuracyWarning

__version__ = "0.1.0"

__all__ = ["__version__", "kl", "entropy", "cross_entropy", "js", "AccuracyWarning"]
