"""`modpipe audit keygen` and `modpipe audit checkpoint`: the operator's signing key and the signed checkpoints of
the record store (docs/retention.md, "Signed checkpoints"). Imports stay inside the commands so that
`modpipe --help` does not load the crypto library."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from modpipe.cli.common import EXIT_CONFIG, State, err_console, fail
from modpipe.cli.record_failures import failures
from modpipe.clock import SystemClock


def register(audit_app: typer.Typer) -> None:
    audit_app.command("keygen")(keygen)
    audit_app.command("checkpoint")(checkpoint)


def keygen(
    out: Annotated[
        Path, typer.Option("--out", help="The private key file to create (0600); FILE.pub gets the public key.")
    ],
) -> None:
    """Make the operator's Ed25519 key pair for signing checkpoints. Keep FILE secret (setting
    records.checkpoint_key_file) and give FILE.pub to the auditors."""
    from retention.checkpoint_keys import generate, public_path

    try:
        pub, key_id = generate(out)
    except FileExistsError as exc:
        fail(f"--out {out}: {exc.args[0] if exc.args else out} exists; a key is never overwritten", EXIT_CONFIG)
    except OSError as exc:
        fail(f"--out {out}: cannot be written ({exc.strerror})", EXIT_CONFIG)
    err_console().print(
        f"private key {out} (mode 0600), public key {public_path(out)}; key id {key_id}", highlight=False
    )
    assert pub == public_path(out)


def checkpoint(
    write: Annotated[bool, typer.Option("--write", help="Write a new checkpoint now (needs the signing key).")] = False,
) -> None:
    """Print the latest signed checkpoint (canonical JSON) for an auditor to keep; with --write, write one first."""
    from retention.checkpoint import latest, write_checkpoint
    from retention.checkpoint_keys import load_signing_key
    from retention.codec import canonical
    from retention.store import Store

    with failures():
        settings = State.settings("pipeline" if write else "auditor")
        with Store(settings) as store:
            if write:
                doc = write_checkpoint(settings, store, SystemClock(), load_signing_key(settings))
                err_console().print(
                    f"checkpoint {doc['seq']} written: {doc['tree_size']} manifest versions", highlight=False
                )
            else:
                found = latest(store)
                if found is None:
                    fail(f"no checkpoint in bucket {store.bucket} yet: `modpipe audit checkpoint --write` writes one")
                doc = found
    sys.stdout.write(canonical(doc).decode() + "\n")
