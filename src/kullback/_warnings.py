"""Warning categories of kullback, so that users can filter them."""

__all__ = ["AccuracyWarning"]


class AccuracyWarning(UserWarning):
    """A result is computed, but the inputs limit its accuracy (e.g. ill-conditioned covariances).

    Raised as a warning, never as an error, with a message that says what limits the result and,
    where one is known, the bound that holds instead: a numeric method short of 1e-6, ill-conditioned
    covariances, an infinite estimate and the value that causes it, heavy tails in Monte Carlo, an
    entropy sample with most of its values unseen. ``kb.TieWarning`` is a kind of it. Filter it with
    the :mod:`warnings` module, e.g. ``warnings.simplefilter("error", kb.AccuracyWarning)`` to make it
    an error.

    Examples
    --------
    An estimate that is infinite because p shows a value ("c") that q never does:

    >>> import warnings
    >>> import kullback as kb
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     e = kb.estimate_kl(["a", "b", "c"], ["a", "b", "b"])
    >>> [w.category.__name__ for w in caught], e.value
    (['AccuracyWarning'], inf)
    >>> issubclass(kb.TieWarning, kb.AccuracyWarning)
    True
    """
