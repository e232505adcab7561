"""Hot reload: a worker picks up a new lexicon or model version without a restart.

Between batches, at most every `classifier.reload_interval_s` seconds, `Reloader.maybe_reload` takes a cheap
fingerprint (names, sizes, modification times and inodes) of the lexicon files and of the model folder's
`model.json` + `model.npz`. When it differs from the one the current tagger was built from, a complete new `Tagger`
is built and tried on a probe text; only then is it swapped in, by replacing one reference, so a batch that already
holds the old tagger finishes with it. A version that fails to build is refused: the old tagger stays and one
warning names what was refused and why, once per distinct bad fingerprint (not once per interval).
"""

from __future__ import annotations

import hashlib
import logging
import threading
from datetime import datetime, timedelta
from pathlib import Path

from classifiers.loading import default_model_dir, load_tagger
from classifiers.loading import prepare as prepare_model
from classifiers.model import ARRAYS, META
from classifiers.tagger import Tagger, lexicon_folders
from modpipe.clock import Clock
from modpipe.settings import Settings

log = logging.getLogger(__name__)

# One entry per file looked at: (path, size, mtime_ns, inode); size -1 for a file or folder that is missing.
Fingerprint = tuple[tuple[str, int, int, int], ...]
_PROBE = "模型载入检查 reload probe 123"
_LEXICON_SUFFIX = ".txt"


def _stat(path: Path) -> tuple[str, int, int, int]:
    try:
        st = path.stat()
    except OSError:
        return (str(path), -1, 0, 0)
    return (str(path), st.st_size, st.st_mtime_ns, st.st_ino)


def fingerprint(folders: list[Path], model_dir: Path) -> Fingerprint:
    """What the tagger is built from, by metadata only: no file is read."""
    entries: list[tuple[str, int, int, int]] = []
    for folder in folders:
        try:
            names = sorted(p for p in folder.iterdir() if p.suffix == _LEXICON_SUFFIX and not p.name.startswith("."))
        except OSError:
            entries.append((str(folder), -1, 0, 0))
            continue
        entries.extend(_stat(p) for p in names)
    entries.extend(_stat(model_dir / name) for name in (META, ARRAYS))
    return tuple(entries)


def digest(found: Fingerprint) -> str:
    """A short name for a fingerprint, for the logs."""
    return hashlib.sha256(repr(found).encode()).hexdigest()[:12]


def _aware(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError("Reloader needs timezone-aware datetimes")
    return at


class Reloader:
    """Holds the current tagger and replaces it when its files change. Safe to call from several threads: a check
    that finds another one running returns at once."""

    def __init__(self, settings: Settings, clock: Clock) -> None:
        self.settings = settings
        self.clock = clock
        self.interval = timedelta(seconds=settings.classifier.reload_interval_s)
        self.folders = lexicon_folders(settings)
        self.model_dir = default_model_dir(settings)
        self._lock = threading.Lock()
        prepare_model(settings)  # trains the default model if it is missing, so the fingerprint sees it
        self._fingerprint = fingerprint(self.folders, self.model_dir)
        self._tagger = load_tagger(settings)  # a failure here is the worker's to report: nothing to keep
        self._checked_at = _aware(clock.now())
        self._refused: Fingerprint | None = None

    def current(self) -> Tagger:
        return self._tagger

    def maybe_reload(self, now: datetime | None = None) -> bool:
        """Check the files if the interval has passed; True when a new tagger was swapped in."""
        at = _aware(now if now is not None else self.clock.now())
        if not self._lock.acquire(blocking=False):
            return False
        try:
            elapsed = at - self._checked_at
            if timedelta(0) <= elapsed < self.interval:  # a clock set back counts as due, not as a long wait
                return False
            self._checked_at = at
            return self._reload()
        finally:
            self._lock.release()

    def _reload(self) -> bool:
        found = fingerprint(self.folders, self.model_dir)
        if found in (self._fingerprint, self._refused):
            return False
        old = self._tagger
        try:
            # model_dir given: never trains, even for the default model; a missing model is refused, not trained.
            new = load_tagger(self.settings, model_dir=self.model_dir)
            new.classify_batch([_PROBE])  # a model.json that does not fit its model.npz fails here, not on traffic
        except Exception as exc:  # noqa: BLE001 - any failure refuses the new version; the old one keeps working
            if fingerprint(self.folders, self.model_dir) != found:
                return False  # still being written: looked at again at the next check, without a log line
            self._refused = found
            self._log_refused(found, exc, old)
            return False
        if fingerprint(self.folders, self.model_dir) != found:
            return False  # changed while it was loading: the next check loads the finished files
        self._tagger, self._fingerprint, self._refused = new, found, None
        log.info(
            "classifier reloaded: model_version %s -> %s, lexicon_version %s -> %s",
            old.model_version, new.model_version, old.lexicon_version, new.lexicon_version,
            extra={"classifier_reload": {
                "outcome": "reloaded", "fingerprint": digest(found), "model_dir": str(self.model_dir),
                "lexicon_folders": [str(f) for f in self.folders],
                "model_version": new.model_version, "lexicon_version": new.lexicon_version,
                "previous_model_version": old.model_version, "previous_lexicon_version": old.lexicon_version,
            }},
        )  # fmt: skip
        return True

    def _log_refused(self, found: Fingerprint, exc: Exception, kept: Tagger) -> None:
        reason = f"{type(exc).__name__}: {exc}"
        log.warning(
            "classifier reload refused, keeping model_version %s lexicon_version %s: %s (model %s, lexicons %s)",
            kept.model_version, kept.lexicon_version, reason, self.model_dir, ", ".join(map(str, self.folders)),
            extra={"classifier_reload": {
                "outcome": "refused", "reason": reason, "error": type(exc).__name__, "fingerprint": digest(found),
                "model_dir": str(self.model_dir), "lexicon_folders": [str(f) for f in self.folders],
                "kept_model_version": kept.model_version, "kept_lexicon_version": kept.lexicon_version,
            }},
        )  # fmt: skip
