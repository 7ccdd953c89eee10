"""A real HTTP listener on the loopback interface for tests of outbound requests (webhooks)."""

from __future__ import annotations

import http.server
import socket
import threading
from contextlib import contextmanager


class Listener:
    """An HTTP server on 127.0.0.1 (and ::1 when the machine has IPv6) that records every request it gets."""

    def __init__(self, *, status: int = 204, location: str = ""):
        self.requests: list[dict] = []
        listener = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                listener.requests.append(
                    {"path": self.path, "headers": dict(self.headers), "body": self.rfile.read(length)}
                )
                self.send_response(status)
                if location:
                    self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.servers = [self.server]
        if socket.has_ipv6:
            try:

                class V6Server(http.server.ThreadingHTTPServer):
                    address_family = socket.AF_INET6

                self.servers.append(V6Server(("::1", self.port), Handler))
            except OSError:  # no IPv6 loopback here, or the port is taken on ::1
                pass
        self.threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in self.servers]

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        for server in self.servers:
            server.shutdown()
            server.server_close()


@contextmanager
def listening(**kwargs):
    """Run a Listener for the block; `status` and `location` set what it answers."""
    with Listener(**kwargs) as listener:
        yield listener
