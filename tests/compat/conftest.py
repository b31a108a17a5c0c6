"""pytest fixtures for the compatibility suite: one real `idpool` server per session, clients per test."""

import shutil
import signal
import tempfile
from pathlib import Path

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config

from compat_support import CLIENT_CONFIG, REGION, IdpoolServer, idpool_binary, make_client


@pytest.fixture(scope="session")
def server():
    binary = idpool_binary()
    if not binary.is_file():
        pytest.exit(f"{binary} not found: run `cargo build -p idpool-server --bin idpool`", 2)
    workdir = Path(tempfile.mkdtemp(prefix="idpool-compat-"))
    srv = IdpoolServer(binary, workdir)
    srv.start()
    try:
        yield srv
    finally:
        status = srv.stop()
        if status not in (0, -signal.SIGTERM):
            print(f"idpool stopped with status {status}:\n{srv.log_tail()}")
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def restart_server(server):
    """Stops the server politely and starts it again on the same port and data directory."""
    return server.restart


@pytest.fixture
def crash_restart_server(server):
    """Kills the server with SIGKILL and starts it again on the same port and data directory."""
    return server.crash_and_restart


@pytest.fixture
def cognito(server):
    return make_client(server, "cognito-identity")


@pytest.fixture
def iam(server):
    return make_client(server, "iam")


@pytest.fixture
def unsigned_cognito(server):
    config = CLIENT_CONFIG.merge(Config(signature_version=UNSIGNED))
    return boto3.session.Session(region_name=REGION).client(
        "cognito-identity", endpoint_url=server.endpoint, config=config
    )


