"""KL as an objective: fit a family to a target (:func:`fit`), rank families (:func:`rank`).

``fit`` minimises D(target||q) (forward: mass-covering; maximum likelihood from samples) or
D(q||target) (reverse: mode-seeking) over a scipy.stats family, a torch.distributions class, or
the multivariate ``"gaussian"`` / ``"meanfield"`` families; ``rank`` orders families by the
information they lose.  Both return :class:`Fit` results (variational inference, issue 26, is to return the same).
"""

from ._fit import fit
from ._rank import rank
from ._result import Fit, Ranking

__all__ = ["fit", "rank", "Fit", "Ranking"]
