"""A stand-in OpenID Connect provider for bench/oidc.sh: an RS256 key, its discovery document and key set on loopback.

Usage: python3 bench/oidc_idp.py OUT_DIR CLIENT_ID
Generates a 2048-bit RSA key, listens on a free 127.0.0.1 port (issuer http://127.0.0.1:<port>),
writes OUT_DIR/idp.json {"issuer", "login_key", "token", "client_id"} once it answers, where
token is one ID token valid for two hours, then serves until killed. Each request it answers is
counted in OUT_DIR/idp-requests (rewritten per request) to show how rarely idpool fetches keys.
"""

import base64
import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

KID = "bench-rs256"


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def uint(n):
    return b64url(n.to_bytes((n.bit_length() + 7) // 8, "big"))


def main():
    out_dir, client_id = sys.argv[1:3]
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pub = key.public_key().public_numbers()
    jwks = json.dumps(
        {"keys": [{"kty": "RSA", "use": "sig", "alg": "RS256", "kid": KID,
                   "n": uint(pub.n), "e": uint(pub.e)}]}
    ).encode()
    server = ThreadingHTTPServer(("127.0.0.1", 0), None)
    port = server.server_address[1]
    issuer = f"http://127.0.0.1:{port}"
    discovery = json.dumps(
        {"issuer": issuer, "jwks_uri": issuer + "/jwks.json",
         "id_token_signing_alg_values_supported": ["RS256"]}
    ).encode()
    served = [0]

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            body = {"/.well-known/openid-configuration": discovery,
                    "/jwks.json": jwks}.get(self.path)
            served[0] += 1
            with open(os.path.join(out_dir, "idp-requests"), "w") as f:
                f.write(str(served[0]))
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args):
            pass

    server.RequestHandlerClass = Handler
    now = int(time.time())
    header = b64url(json.dumps({"alg": "RS256", "typ": "JWT", "kid": KID}).encode())
    claims = b64url(json.dumps(
        {"iss": issuer, "sub": "bench-user-1", "aud": client_id,
         "iat": now, "exp": now + 7200}).encode())
    signing_input = f"{header}.{claims}".encode()
    sig = key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    token = f"{header}.{claims}.{b64url(sig)}"
    tmp = os.path.join(out_dir, "idp.json.tmp")
    with open(tmp, "w") as f:
        json.dump({"issuer": issuer, "login_key": f"127.0.0.1:{port}",
                   "token": token, "client_id": client_id}, f)
    os.rename(tmp, os.path.join(out_dir, "idp.json"))
    server.serve_forever()


if __name__ == "__main__":
    main()
