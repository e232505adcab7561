"""`modpipe audit keygen` and `modpipe audit checkpoint`: the operator's signing key and the signed checkpoints of
the record store (docs/retention.md, "Signed checkpoints"). Imports stay inside the commands so that
`modpipe --help` does not load the crypto library."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from modpipe.cli.common import EXIT_CONFIG, State, err, fail
from modpipe.clock import SystemClock

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from modpipe.settings import Settings
    from retention.checkpoint_verify import CheckpointProof
    from retention.store import Store


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
    err.print(f"private key {out} (mode 0600), public key {public_path(out)}; key id {key_id}", highlight=False)
    assert pub == public_path(out)


def checkpoint(
    write: Annotated[bool, typer.Option("--write", help="Write a new checkpoint now (needs the signing key).")] = False,
) -> None:
    """Print the latest signed checkpoint (canonical JSON) for an auditor to keep; with --write, write one first."""
    from modpipe.cli.retention import _failures
    from retention.checkpoint import latest, write_checkpoint
    from retention.checkpoint_keys import load_signing_key
    from retention.codec import canonical
    from retention.store import Store

    with _failures():
        settings = State.settings()
        with Store(settings) as store:
            if write:
                doc = write_checkpoint(settings, store, SystemClock(), load_signing_key(settings))
                err.print(f"checkpoint {doc['seq']} written: {doc['tree_size']} manifest versions", highlight=False)
            else:
                found = latest(store)
                if found is None:
                    fail(f"no checkpoint in bucket {store.bucket} yet: `modpipe audit checkpoint --write` writes one")
                doc = found
    sys.stdout.write(canonical(doc).decode() + "\n")


def public_key(settings: Settings, given: Path | None) -> Ed25519PublicKey:
    """--public-key, or the .pub file next to records.checkpoint_key_file."""
    from retention.checkpoint_keys import load_public_key, public_path

    if given is not None:
        return load_public_key(given, "--public-key")
    private = settings.records.checkpoint_key_file
    if private is None:
        fail("--public-key: required (the operator's checkpoint public key, FILE.pub of `audit keygen`)", EXIT_CONFIG)
    return load_public_key(public_path(private), "--public-key (default: records.checkpoint_key_file + .pub)")


def prove(settings: Settings, store: Store, folder: Path, kept_file: Path, given_key: Path | None) -> CheckpointProof:
    """`audit verify DIR --checkpoint FILE`: the bundle's manifests against the checkpoint the auditor kept."""
    from retention.checkpoint import parse
    from retention.checkpoint_verify import prove_bundle
    from retention.exceptions import IntegrityError

    try:
        data = kept_file.read_bytes()
    except OSError as exc:
        fail(f"--checkpoint {kept_file}: cannot be read ({exc.strerror})", EXIT_CONFIG)
    try:
        kept = parse(str(kept_file), data)
    except IntegrityError:
        fail(f"--checkpoint {kept_file}: not a checkpoint (the JSON `modpipe audit checkpoint` prints)", EXIT_CONFIG)
    return prove_bundle(folder, store, kept, public_key(settings, given_key), str(kept_file))
