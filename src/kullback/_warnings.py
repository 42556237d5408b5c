"""Warning categories of kullback, so that users can filter them."""

__all__ = ["AccuracyWarning"]


class AccuracyWarning(UserWarning):
    """A result is computed, but the inputs limit its accuracy (e.g. ill-conditioned covariances)."""
