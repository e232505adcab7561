"""Tags text against the nine categories of Order 292 Art. 15: lexicons over normalised text plus a linear model.

The package itself imports nothing: the tagger (classifiers.tagger) pulls numpy, scipy and the lexicons, and a
worker that only routes scores (classifiers.policy) must not pay for them."""
