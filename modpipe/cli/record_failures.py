"""How the record commands (retention, audit, report, decisions, checkpoints) fail: one line and an exit status
per kind of failure; 3 when the records fail an integrity check."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from modpipe.cli.common import fail, known_failures

EXIT_INTEGRITY = 3


@contextmanager
def failures() -> Iterator[None]:
    from retention import IntegrityError, OutputNotEmpty, RetentionError
    from retention.exceptions import CheckpointKeyError

    with known_failures():
        try:
            yield
        except CheckpointKeyError as exc:
            fail(str(exc), 2)
        except OutputNotEmpty as exc:
            fail(f"--out {exc.folder}: {exc.problem}", 2)
        except IntegrityError as exc:
            fail(f"INTEGRITY CHECK FAILED for {exc.object_key}: {exc.problem}", EXIT_INTEGRITY)
        except RetentionError as exc:
            fail(str(exc))
