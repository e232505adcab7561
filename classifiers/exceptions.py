"""Failures of the classifier package. Terminal ones need an operator (bad files); none here are transient."""

from __future__ import annotations

from modpipe.errors import TerminalError


class ClassifierError(TerminalError):
    """Base class: something about the classifier's inputs or artifacts is wrong."""


class LexiconError(ClassifierError):
    """A lexicon file cannot be read or holds a malformed line (terminal: fix the file)."""


class ModelError(ClassifierError):
    """A model folder is missing, incomplete or of another format version (terminal: retrain or fix the path)."""


class DataError(ClassifierError):
    """A training or evaluation data file cannot be parsed (terminal: fix the file or the column options)."""


class DatasetMissingError(DataError):
    """A data set of the registry is not in the datasets folder and cannot be downloaded (terminal: put it there)."""
