#!/usr/bin/env python3
"""The outside world of the n8n test: the voice API and the chat webhook, on loopback.

n8n reaches the internet through an HTTPS proxy (HTTPS_PROXY), which is configuration, so the
shipped workflows keep their real URLs. This is that proxy: it answers CONNECT for the hosts it
stands in for, ends TLS itself with a certificate from the test's own CA (n8n trusts it through
NODE_EXTRA_CA_CERTS), reads the request inside, records it as one JSON line and answers as the
real service would. Any other host is refused, so nothing leaves the machine.

    standin.py PORT CERT KEY LOG
"""

import json
import socket
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOSTS = {
    # host: (status, JSON answer)
    "api.vapi.ai": (201, {"id": "standin-call", "status": "queued"}),
    "hooks.example.com": (200, {"ok": True}),
}

port, cert, key, log_path = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
tls.load_cert_chain(cert, key)
log_lock = threading.Lock()


class Inner(BaseHTTPRequestHandler):
    """One request inside the tunnel, as the service at `self.host` would see it."""

    protocol_version = "HTTP/1.1"

    def __init__(self, sock, host):
        self.host = host
        super().__init__(sock, ("127.0.0.1", 0), None)

    def handle_one(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = body
        record = {
            "host": self.host,
            "method": self.command,
            "path": self.path,
            "authorization": self.headers.get("Authorization"),
            "content_type": self.headers.get("Content-Type"),
            "body": parsed,
        }
        with log_lock, open(log_path, "a") as log:
            log.write(json.dumps(record) + "\n")
        status, answer = HOSTS[self.host]
        payload = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_POST = do_GET = do_PUT = handle_one

    def log_message(self, *args):
        pass


class Proxy(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_CONNECT(self):
        host, _, _ = self.path.partition(":")
        if host not in HOSTS:
            self.send_error(403, f"the stand-in does not serve {host}")
            return
        self.send_response(200, "Connection established")
        self.end_headers()
        self.wfile.flush()
        try:
            inner = tls.wrap_socket(self.connection, server_side=True)
            inner.settimeout(30)
            Inner(inner, host)
            inner.close()
        except (ssl.SSLError, OSError) as e:
            sys.stderr.write(f"standin: {host}: {e}\n")
        self.close_connection = True

    def do_GET(self):
        # Plain HTTP through the proxy (an http:// URL): not used by the workflows.
        self.send_error(403, "https only")

    do_POST = do_GET

    def log_message(self, *args):
        pass


ThreadingHTTPServer.daemon_threads = True
server = ThreadingHTTPServer(("127.0.0.1", port), Proxy)
print(f"standin listening on 127.0.0.1:{port}", flush=True)
server.serve_forever()
