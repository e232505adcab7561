"""The checkpoint signing key: made 0600, never overwritten, never printed; a wrong key stops naming its setting;
a signed checkpoint document verifies only as signed."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from modpipe.settings import Settings, load_settings
from retention.checkpoint import FORMAT, SIGNING_CONTEXT, Leaf, check_signature, digest, leaves_key
from retention.checkpoint_keys import generate, load_public_key, load_signing_key, public_path
from retention.codec import canonical
from retention.exceptions import CheckpointKeyError, IntegrityError


def settings_with(path: Path | None) -> Settings:
    return load_settings(environ={}, overrides={"records.checkpoint_key_file": None if path is None else str(path)})


def test_keygen_writes_a_private_key_only_its_owner_reads(tmp_path: Path) -> None:
    pub, key_id = generate(tmp_path / "k")
    assert pub == public_path(tmp_path / "k") == tmp_path / "k.pub"
    assert (tmp_path / "k").stat().st_mode & 0o777 == 0o600
    key = load_signing_key(settings_with(tmp_path / "k"))
    assert key.key_id == key_id
    public = load_public_key(pub, "--public-key")
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert hashlib.sha256(raw).hexdigest() == key_id
    pem = (tmp_path / "k").read_text()
    assert "PRIVATE KEY" in pem
    assert pem not in repr(key)
    assert key_id[:16] in repr(key)
    assert str(key) == repr(key)
    with pytest.raises(FileExistsError):
        generate(tmp_path / "k")
    assert (tmp_path / "k").read_text() == pem


def test_a_missing_or_wrong_key_names_the_setting(tmp_path: Path) -> None:
    with pytest.raises(CheckpointKeyError, match=r"^records\.checkpoint_key_file: not set"):
        load_signing_key(settings_with(None))
    with pytest.raises(CheckpointKeyError, match=r"^records\.checkpoint_key_file: .*cannot be read"):
        load_signing_key(settings_with(tmp_path / "absent"))
    generate(tmp_path / "open")
    (tmp_path / "open").chmod(0o644)
    with pytest.raises(CheckpointKeyError, match="readable by other users"):
        load_signing_key(settings_with(tmp_path / "open"))
    garbage = tmp_path / "garbage"
    garbage.write_text("-----BEGIN PRIVATE KEY-----\nc2VjcmV0IGJ5dGVz\n-----END PRIVATE KEY-----\n")
    garbage.chmod(0o600)
    with pytest.raises(CheckpointKeyError, match="not an unencrypted private key") as bad:
        load_signing_key(settings_with(garbage))
    assert "c2VjcmV0" not in str(bad.value)
    other = tmp_path / "rsa"
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    other.write_bytes(rsa_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                            serialization.NoEncryption()))  # fmt: skip
    other.chmod(0o600)
    with pytest.raises(CheckpointKeyError, match="expected an Ed25519 key"):
        load_signing_key(settings_with(other))
    with pytest.raises(CheckpointKeyError, match=r"^--public-key: .*not a public key"):
        load_public_key(garbage, "--public-key")


def test_a_checkpoint_verifies_only_as_signed(tmp_path: Path) -> None:
    generate(tmp_path / "k")
    key = load_signing_key(settings_with(tmp_path / "k"))
    leaf = Leaf("manifests/service=bbs/date=2026-11-23/hour=08/w-1.json", "v1", "ab" * 32)
    body = {"format": FORMAT, "bucket": "records", "seq": 1, "time": "2026-12-01T00:00:00Z", "tree_size": 1,
            "root": leaf.hash.hex(), "prev": None, "key_id": key.key_id,
            "leaves": {"key": leaves_key(1), "first": 0, "count": 1, "sha256": "00" * 32}}  # fmt: skip
    doc = {**body, "signature": key.sign(SIGNING_CONTEXT + canonical(body)).hex()}
    check_signature(doc, key.public, "kept.json")
    assert digest(doc) == hashlib.sha256(canonical(doc)).hexdigest()
    for field, value in (("tree_size", 2), ("root", "00" * 32), ("prev", "11" * 32), ("bucket", "other")):
        with pytest.raises(IntegrityError, match="signature does not verify"):
            check_signature({**doc, field: value}, key.public, "kept.json")
    with pytest.raises(IntegrityError, match="signature does not verify"):
        check_signature({**doc, "signature": "zz"}, key.public, "kept.json")
    stranger = Ed25519PrivateKey.generate().public_key()
    with pytest.raises(IntegrityError, match="signed by key"):
        check_signature(doc, stranger, "kept.json")
    assert leaf.line == (
        b'{"key":"manifests/service=bbs/date=2026-11-23/hour=08/w-1.json","sha256":"'
        + b"ab" * 32
        + b'","version_id":"v1"}'
    )
