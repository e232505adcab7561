"""Where a worker's tagger comes from: the configured model folder, or the default model, trained on first use.

Above both the tagger and the training recipes, so training on demand needs no import from the tagger back up to
the recipes that build it.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
import time
from pathlib import Path

from classifiers.lexicon import load_lexicons
from classifiers.model import FORMAT, META, load_model
from classifiers.tagger import Tagger, lexicon_folders
from modpipe.clock import SystemClock
from modpipe.settings import Settings

log = logging.getLogger(__name__)

DEFAULT_MODEL = Path("models") / "default"
_default_lock = threading.Lock()


def load_tagger(settings: Settings, model_dir: Path | None = None) -> Tagger:
    """The tagger of `model_dir`, else of classifier.model_dir, else of the default model (trained if missing)."""
    lexicons = load_lexicons(lexicon_folders(settings), settings.categories)
    folder = model_dir or default_model_dir(settings)
    if model_dir is None and not settings.classifier.model_dir:
        ensure_default_model(settings, folder)
    return Tagger(settings.categories, lexicons, load_model(folder))


def prepare(settings: Settings) -> None:
    """Make sure the model `load_tagger` loads exists, training the default one if it is missing, without loading
    it: a worker does this once before its classifying processes each load the model."""
    if not settings.classifier.model_dir:
        ensure_default_model(settings, default_model_dir(settings))


def default_model_dir(settings: Settings) -> Path:
    if settings.classifier.model_dir:
        return Path(settings.classifier.model_dir)
    return settings.stack.home / DEFAULT_MODEL


def ensure_default_model(settings: Settings, folder: Path) -> None:
    """Train the default model (classifier.default_training) when the folder has none, or one of a format this
    version cannot read (left by an older modpipe): a minute or two, once."""
    with _default_lock:
        if (folder / META).is_file():
            if _format_of(folder) == FORMAT:
                return
            log.warning("the default model in %s has an older format; training it again", folder)
            shutil.rmtree(folder, ignore_errors=True)
        # Imported here, not at the top: training pulls in scikit-learn (about 75 MB resident), which a classifying
        # process that only loads a trained model never needs.
        from classifiers.recipes import train_folder

        t0 = time.monotonic()
        tmp = folder.with_name(folder.name + f".tmp-{os.getpid()}-{threading.get_ident()}")
        # Training is a one-off of the set-up, not a time-based rule: the system clock only stamps the model.
        train_folder(settings, [], tmp, SystemClock())
        folder.parent.mkdir(parents=True, exist_ok=True)
        try:
            tmp.replace(folder)
        except OSError:  # another process finished first: keep its model, drop ours
            shutil.rmtree(tmp, ignore_errors=True)
        log.info("trained the default model in %s (%.1f s)", folder, time.monotonic() - t0)


def _format_of(folder: Path) -> object:
    try:
        meta = json.loads((folder / META).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return meta.get("format") if isinstance(meta, dict) else None
