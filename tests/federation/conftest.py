"""Fixtures of the federation tests (kept in fixtures.py so unit tests can import them too)."""
import pytest

from tests.federation.fixtures import keypair, make_peer, peer_server, people, publish  # noqa: F401


@pytest.fixture(autouse=True)
def instance_key(tmp_path):
    """Give each test hub a ready instance key: making an RSA key for every test is slow."""
    path = tmp_path / "instance" / "federation_key.pem"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(keypair(0)[0])
    path.chmod(0o600)
