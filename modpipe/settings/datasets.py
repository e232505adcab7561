"""Typed entries of config/datasets.yaml: the public data sets the tagger is trained and measured on."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from modpipe.settings.base import Frozen, NonEmpty


class LabelRule(Frozen):
    """Rows whose fields equal every value of `when` get `labels` (first matching rule wins)."""

    when: dict[str, str]
    labels: tuple[Annotated[str, Field(pattern=r"^C[1-9][0-9]*$")], ...]


class DatasetSpec(Frozen):
    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    file: NonEmpty  # relative to classifier.datasets_dir
    format: Literal["jsonl", "csv"]
    text_field: NonEmpty = "text"
    licence: NonEmpty
    may_train: bool
    use: Literal["train", "eval"]
    source: NonEmpty
    commit: NonEmpty
    upstream_path: NonEmpty
    url: str = ""
    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    rules: tuple[LabelRule, ...] = ()

    @model_validator(mode="after")
    def _licence_allows_use(self) -> DatasetSpec:
        if self.use == "train" and not self.may_train:
            raise ValueError(f"use `eval` for {self.name}: its licence does not allow training a shipped model")
        if self.format == "csv" and not self.rules:
            raise ValueError(f"label rules for the CSV set {self.name} (`rules: [{{when: ..., labels: [...]}}]`)")
        return self
