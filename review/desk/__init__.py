"""The review page and its JSON API: moderators claim queued items and decide; decisions go to the decisions topic."""
