"""The operator's Ed25519 key pair that signs the records checkpoints.

The private key is a PEM file (PKCS#8, unencrypted, mode 0600) named by the setting `records.checkpoint_key_file`;
it is read when a checkpoint is signed and never printed or logged. The public key (PEM SubjectPublicKeyInfo, the
`.pub` file next to it) is what auditors keep. A key is named by its key id: the SHA-256 (hex) of the 32 raw bytes
of the public key.
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from modpipe.settings import Settings
from retention.exceptions import CheckpointKeyError

SETTING = "records.checkpoint_key_file"
KEYGEN = "make one with `modpipe audit keygen --out FILE`"


def key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


class SigningKey:
    """The private key, held so that nothing prints it: repr and str name only the key id."""

    def __init__(self, private: Ed25519PrivateKey) -> None:
        self._private = private
        self.public = private.public_key()
        self.key_id = key_id(self.public)

    def sign(self, message: bytes) -> bytes:
        return self._private.sign(message)

    def __repr__(self) -> str:
        return f"SigningKey(key_id={self.key_id[:16]}…)"

    __str__ = __repr__


def verify(public: Ed25519PublicKey, signature: bytes, message: bytes) -> bool:
    try:
        public.verify(signature, message)
    except InvalidSignature:
        return False
    return True


def load_signing_key(settings: Settings) -> SigningKey:
    """The key of `records.checkpoint_key_file`, or CheckpointKeyError naming the setting and what is expected."""
    path = settings.records.checkpoint_key_file
    if path is None:
        raise CheckpointKeyError(
            SETTING, "not set; expected the path of an Ed25519 private key in PEM (" + KEYGEN + ")"
        )
    try:
        mode = path.stat().st_mode
        data = path.read_bytes()
    except OSError as exc:
        raise CheckpointKeyError(SETTING, f"{path}: cannot be read ({exc.strerror}); {KEYGEN}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise CheckpointKeyError(
            SETTING, f"{path}: readable by other users (mode {stat.S_IMODE(mode):04o}); expected 0600 (chmod 600)"
        )
    try:
        private = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        # the library's message is not repeated: nothing of the file's content reaches a log
        raise CheckpointKeyError(SETTING, f"{path}: not an unencrypted private key in PEM; {KEYGEN}") from None
    if not isinstance(private, Ed25519PrivateKey):
        raise CheckpointKeyError(SETTING, f"{path}: a {type(private).__name__}, expected an Ed25519 key; {KEYGEN}")
    return SigningKey(private)


def load_public_key(path: Path, option: str) -> Ed25519PublicKey:
    """An auditor's public key file (PEM); `option` names where the path came from, for the error."""
    try:
        public = serialization.load_pem_public_key(path.read_bytes())
    except OSError as exc:
        raise CheckpointKeyError(option, f"{path}: cannot be read ({exc.strerror})") from None
    except (ValueError, TypeError):
        raise CheckpointKeyError(option, f"{path}: not a public key in PEM") from None
    if not isinstance(public, Ed25519PublicKey):
        raise CheckpointKeyError(option, f"{path}: a {type(public).__name__}, expected an Ed25519 public key")
    return public


def public_path(private: Path) -> Path:
    return private.with_name(private.name + ".pub")


def generate(out: Path) -> tuple[Path, str]:
    """A new key pair: `out` (private, created 0600, never overwritten) and `out`.pub; returns the public path
    and the key id."""
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    pub = public_path(out)
    if pub.exists():
        raise FileExistsError(pub)
    # O_EXCL with the mode at creation: the key is never, even briefly, readable by anyone else
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    public = private.public_key()
    pub.write_bytes(public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return pub, key_id(public)
