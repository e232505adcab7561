"""Typed `review.qa_sample`: the share of machine pass and block verdicts drawn into the QA queue, per category."""

from __future__ import annotations

from typing import Annotated

from pydantic import ConfigDict, Field

from modpipe.settings.base import Frozen, seconds

Share = Annotated[float, Field(ge=0, le=1, description="a share from 0 to 1 (e.g. 0.01 for one in a hundred)")]


class QaShares(Frozen):
    """One category's own shares; a share left out is the default one."""

    # `pass` is the action's name in every other setting and contract, and a Python keyword.
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)
    pass_: Share | None = Field(default=None, alias="pass")
    block: Share | None = None


class QaSampling(Frozen):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)
    pass_: Share = Field(default=0.01, alias="pass")
    block: Share = 0.05
    # Per category code of categories.yaml (checked by the loader, which can name the setting).
    categories: dict[str, QaShares] = Field(default_factory=dict)
    # The estimates (dashboard and metrics) count the answers about verdicts of the last this many days.
    window_days: Annotated[int, Field(ge=1, le=3650, description="days (1 to 3650) of answers an estimate counts")] = 30
    metrics_interval_s: Annotated[float, seconds(86_400, "between two refreshes of the QA metrics (e.g. 60)")] = 60.0

    def share(self, action: str, category: str) -> float:
        """The share of `action` verdicts whose category is `category` that the QA queue draws (0 for review)."""
        own = self.categories.get(category)
        if action == "pass":
            return own.pass_ if own is not None and own.pass_ is not None else self.pass_
        if action == "block":
            return own.block if own is not None and own.block is not None else self.block
        return 0.0
