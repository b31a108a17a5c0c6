"""What the compatibility suite shares: the `idpool` process driver, clients, raw signed HTTP.

The server runs on a free 127.0.0.1 port with a data directory and an empty settings file of
its own; it can be stopped politely, killed with SIGKILL, and started again on the same port
and data directory.
"""

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

REPO = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
ACCOUNT_ID = "000000000000"
ACCESS_KEY_ID = "AKIDIDPOOLCOMPAT0001"
SECRET_ACCESS_KEY = "compat-suite-secret/NotUsedAnywhereElse+01"

START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0


def idpool_binary() -> Path:
    if os.environ.get("IDPOOL_BIN"):
        return Path(os.environ["IDPOOL_BIN"])
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    if not target.is_absolute():
        target = REPO / target
    return target / "debug" / "idpool"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class IdpoolServer:
    """One `idpool serve` process; `start` may be called again after `stop` or `kill`."""

    def __init__(self, binary: Path, workdir: Path):
        self.binary = binary
        self.workdir = workdir
        self.data_dir = workdir / "data"
        self.config = workdir / "idpool.toml"
        self.log_path = workdir / "server.log"
        self.port = free_port()
        self.proc = None
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.config.write_text("")

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _env(self) -> dict:
        # Settings come only from the command line and the two root-key variables, whatever
        # the calling shell exports.
        env = {k: v for k, v in os.environ.items() if not k.startswith(("IDPOOL_", "AWS_"))}
        env["IDPOOL_ROOT_ACCESS_KEY_ID"] = ACCESS_KEY_ID
        env["IDPOOL_ROOT_SECRET_ACCESS_KEY"] = SECRET_ACCESS_KEY
        env["IDPOOL_LOG"] = "info"
        return env

    def start(self) -> None:
        assert self.proc is None, "server already running"
        log = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen(
                [
                    str(self.binary),
                    "serve",
                    "--listen",
                    f"127.0.0.1:{self.port}",
                    "--data-dir",
                    str(self.data_dir),
                    "--config",
                    str(self.config),
                ],
                cwd=self.workdir,
                env=self._env(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        finally:
            log.close()
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                code = self.proc.returncode
                self.proc = None
                raise RuntimeError(f"idpool exited with {code} at start:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.endpoint + "/health", timeout=1) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, socket.timeout):
                pass
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"idpool did not answer /health in {START_TIMEOUT_S}s:\n{self.log_tail()}")

    def stop(self) -> int:
        """SIGTERM, then SIGKILL if it has not exited in time. Returns the exit status."""
        if self.proc is None:
            return 0
        proc, self.proc = self.proc, None
        proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            return proc.wait()

    def kill(self) -> None:
        """SIGKILL: no chance to flush or close anything."""
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        proc.kill()
        proc.wait()

    def restart(self) -> int:
        """Stops politely and starts again; returns the stopped process's exit status."""
        status = self.stop()
        self.start()
        return status

    def crash_and_restart(self) -> None:
        self.kill()
        self.start()

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


# Clients are made per test: a server restart leaves a shared client's pooled sockets dead.
CLIENT_CONFIG = Config(
    region_name=REGION,
    retries={"mode": "standard", "max_attempts": 1},
    connect_timeout=5,
    read_timeout=30,
)


def make_client(server, service, key_id=ACCESS_KEY_ID, secret=SECRET_ACCESS_KEY, config=None):
    session = boto3.session.Session(
        aws_access_key_id=key_id, aws_secret_access_key=secret, region_name=REGION
    )
    return session.client(service, endpoint_url=server.endpoint, config=config or CLIENT_CONFIG)


class RawResponse:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # names lower-cased
        self.body = body

    def json(self):
        return json.loads(self.body)


def raw_request(server, method, body=b"", headers=None, path="/", sign_service=None,
                secret=SECRET_ACCESS_KEY):
    """One HTTP request with urllib, optionally SigV4-signed by botocore's signer, so inputs
    that botocore would refuse client-side still reach the server."""
    url = server.endpoint + path
    headers = dict(headers or {})
    if sign_service:
        request = AWSRequest(method=method, url=url, data=body, headers=headers)
        SigV4Auth(Credentials(ACCESS_KEY_ID, secret), sign_service, REGION).add_auth(request)
        headers = dict(request.headers.items())
    req = urllib.request.Request(url, data=body if method != "GET" else None,
                                 headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return RawResponse(r.status, {k.lower(): v for k, v in r.headers.items()}, r.read())
    except urllib.error.HTTPError as e:
        return RawResponse(e.code, {k.lower(): v for k, v in e.headers.items()}, e.read())


def cognito_raw(server, operation, payload, signed=True, raw_body=None):
    body = raw_body if raw_body is not None else json.dumps(payload).encode()
    headers = {
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": f"AWSCognitoIdentityService.{operation}",
    }
    return raw_request(server, "POST", body, headers,
                       sign_service="cognito-identity" if signed else None)


def unique(prefix: str) -> str:
    """A name no other test (or earlier run on this data directory) uses."""
    return f"{prefix}{time.time_ns() % 10**12}{os.getpid() % 1000}"


def role_arn(name: str, path: str = "/") -> str:
    return f"arn:aws:iam::{ACCOUNT_ID}:role{path}{name}"


def pool_arn(pool_id: str) -> str:
    return f"arn:aws:cognito-identity:{REGION}:{ACCOUNT_ID}:identitypool/{pool_id}"


TRUST_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Federated": "cognito-identity.amazonaws.com"},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {"cognito-identity.amazonaws.com:aud": "us-east-1:placeholder"},
                "ForAnyValue:StringLike": {"cognito-identity.amazonaws.com:amr": "unauthenticated"},
            },
        }
    ],
}

S3_READ_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::compat-bucket/*"}
    ],
}
