"""Tags text against the nine categories of Order 292 Art. 15: lexicons over normalised text plus a linear model."""

from __future__ import annotations

from classifiers.tagger import Tagger, TagResult

__all__ = ["TagResult", "Tagger"]
