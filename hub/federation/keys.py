"""RSA key pairs for actors and the instance actor; the public keys other servers publish.

Fediverse software (Mastodon, bovine, GoToSocial) verifies HTTP Signatures with RSA keys
published as SubjectPublicKeyInfo PEM under ``publicKey.publicKeyPem``, so that is the one
format this module produces. Other servers may also publish Ed25519 or RSA keys as FEP-521a
``Multikey`` entries (``publicKeyMultibase``); :func:`multikey_to_pem` turns those into PEM so
the rest of the hub handles one format. The instance key lives in a file that must never be
readable by other users and must never be half-written, hence the 0600 mode and the atomic create.
"""
from __future__ import annotations

import errno
import os
import pathlib
import tempfile

import based58
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

KEY_SIZE = 2048
PUBLIC_EXPONENT = 65537
PRIVATE_KEY_MODE = 0o600
# Multicodec prefixes (varint-encoded) of the public key types FEP-521a Multikeys carry.
MULTICODEC_ED25519 = b"\xed\x01"
MULTICODEC_RSA = b"\x85\x24"
MAX_MULTIBASE = 4096
VerificationKey = rsa.RSAPublicKey | ed25519.Ed25519PublicKey


def generate_private_key() -> rsa.RSAPrivateKey:
    """Generate a fresh RSA-2048 private key."""
    return rsa.generate_private_key(public_exponent=PUBLIC_EXPONENT, key_size=KEY_SIZE)


def private_key_to_pem(key: rsa.RSAPrivateKey) -> bytes:
    """Serialise a private key as unencrypted PKCS#8 PEM."""
    return key.private_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PrivateFormat.PKCS8,
        encryption_algorithm=serialization.NoEncryption(),
    )


def public_key_to_pem(key: rsa.RSAPublicKey) -> bytes:
    """Serialise a public key as SubjectPublicKeyInfo PEM (what peers expect)."""
    return key.public_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PublicFormat.SubjectPublicKeyInfo,
    )


def load_private_key(pem: bytes | str) -> rsa.RSAPrivateKey:
    """Load an unencrypted PEM private key, insisting that it is RSA."""
    data = pem.encode("ascii") if isinstance(pem, str) else pem
    key = serialization.load_pem_private_key(data, password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("private key is not an RSA key")
    return key


def load_public_key(pem: bytes | str) -> rsa.RSAPublicKey:
    """Load a PEM public key, insisting that it is RSA."""
    data = pem.encode("ascii") if isinstance(pem, str) else pem
    key = serialization.load_pem_public_key(data)
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("public key is not an RSA key")
    return key


def load_verification_key(pem: bytes | str) -> VerificationKey:
    """Load a PEM public key another server published: RSA or Ed25519, nothing else."""
    data = pem.encode("ascii") if isinstance(pem, str) else pem
    key = serialization.load_pem_public_key(data)
    if not isinstance(key, (rsa.RSAPublicKey, ed25519.Ed25519PublicKey)):
        raise ValueError("public key is neither RSA nor Ed25519")
    return key


def multikey_to_pem(multibase: str) -> str:
    """Return the PEM of a FEP-521a ``publicKeyMultibase`` value (Ed25519 or RSA, base58btc)."""
    if not isinstance(multibase, str) or not multibase.startswith("z") or len(multibase) > MAX_MULTIBASE:
        raise ValueError("only base58btc multibase keys (z...) are understood")
    try:
        raw = based58.b58decode(multibase[1:].encode("ascii"))
    except (ValueError, UnicodeError):
        raise ValueError("the multibase key is not valid base58") from None
    if raw.startswith(MULTICODEC_ED25519) and len(raw) == 34:
        key: VerificationKey = ed25519.Ed25519PublicKey.from_public_bytes(raw[2:])
    elif raw.startswith(MULTICODEC_RSA):
        # FEP-521a says PKCS#1, some servers (bovine) put SubjectPublicKeyInfo: both load here.
        try:
            loaded = serialization.load_der_public_key(raw[2:])
        except UnsupportedAlgorithm:
            raise ValueError("the multikey is not an RSA key") from None
        if not isinstance(loaded, rsa.RSAPublicKey):
            raise ValueError("the multikey is not an RSA key")
        key = loaded
    else:
        raise ValueError("the multikey is neither Ed25519 nor RSA")
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def public_pem_from_private_pem(private_pem: bytes | str) -> bytes:
    """Derive the public PEM that belongs to a private PEM."""
    return public_key_to_pem(load_private_key(private_pem).public_key())


def generate_keypair() -> tuple[bytes, bytes]:
    """Generate an RSA key pair as ``(private_pem, public_pem)``."""
    key = generate_private_key()
    return private_key_to_pem(key), public_key_to_pem(key.public_key())


def load_or_create_keypair(path: pathlib.Path) -> tuple[bytes, bytes]:
    """Return the key pair stored at ``path``, creating the file on first use.

    Only the private key is stored; the public key is derived from it so the
    two can never disagree. Several workers may start at once: exactly one
    file wins and every caller returns that winner's key.
    """
    path = pathlib.Path(path)
    if not path.exists():
        _create_private_key_file(path, generate_keypair()[0])
    private_pem = path.read_bytes()
    return private_pem, public_pem_from_private_pem(private_pem)


def _create_private_key_file(path: pathlib.Path, private_pem: bytes) -> None:
    """Write ``private_pem`` to ``path`` atomically with mode 0600, never clobbering."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # mkstemp creates the file 0600 from the start, so the key is never
    # readable by others, not even for a moment between write and chmod.
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as tmp:
            tmp.write(private_pem)
            tmp.flush()
            os.fsync(tmp.fileno())
        os.chmod(tmp_name, PRIVATE_KEY_MODE)
        _publish_without_clobbering(tmp_name, path)
        _fsync_directory(path.parent)
    finally:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)


def _publish_without_clobbering(tmp_name: str, path: pathlib.Path) -> None:
    """Give the finished temp file its final name unless another process got there first."""
    # link() fails if the target exists; rename() would silently replace a key
    # another worker has already started signing with.
    try:
        os.link(tmp_name, path)
    except FileExistsError:
        return
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP):
            raise
        # Filesystems without hard links: rename is still atomic, only the
        # no-clobber guarantee weakens to this check.
        if not path.exists():
            os.replace(tmp_name, path)


def _fsync_directory(directory: pathlib.Path) -> None:
    """Flush the directory entry so the new name survives a crash."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
