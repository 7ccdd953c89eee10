"""upload-junit never retries a 4xx, even when the server answers before reading the body and closes.

A real socket server on the loopback stands in for a proxy or server that refuses an oversize body early:
it reads the request headers only, answers 413 with a JSON message and closes the connection while the CLI
is still sending, so the CLI's send fails with a reset/broken pipe. The CLI must read the 413 anyway, print
the server's message, exit 3 and not connect a second time (with --wait it would retry a network error).
"""

import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


class RefusingServer:
    def __init__(self, status: int, message: str):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(30)
        self.connections = 0
        self.status, self.message = status, message
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            with conn:
                head = b""
                while b"\r\n\r\n" not in head:
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    head += chunk
                body = json.dumps({"detail": self.message, "code": "too_large"}).encode()
                conn.sendall(
                    f"HTTP/1.1 {self.status} Refused\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                    + body
                )
            # closing with the body unread makes the kernel reset the connection under the sender

    def close(self):
        self.sock.close()


def test_a_413_answered_before_the_body_is_read_is_not_retried(tmp_path):
    # given a report large enough that the server's early answer arrives while the CLI is still sending
    report = tmp_path / "big.xml.gz"
    report.write_bytes(b"\x1f\x8b" + os.urandom(24 * 1024 * 1024))
    server = RefusingServer(413, "The upload (25165826 bytes) is larger than the limit of 1048576 bytes.")
    try:
        # when the CLI uploads it, allowed to retry network errors for a while
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "qualitygov_cli",
                "upload-junit",
                "--release",
                "1",
                str(report),
                "--wait",
                "20",
            ],
            env={**os.environ, "QUALITYGOV_URL": server.url, "QUALITYGOV_TOKEN": "t"},
            capture_output=True,
            text=True,
            timeout=60,
            cwd=ROOT,
        )
    finally:
        server.close()
    # then it exits 3 with the server's own message, after one connection and no retry
    assert result.returncode == 3, result.stderr
    assert "HTTP 413" in result.stderr and "larger than the limit of 1048576 bytes" in result.stderr
    assert "retrying" not in result.stderr
    assert server.connections == 1


def test_a_5xx_is_still_retried(tmp_path):
    report = tmp_path / "r.xml"
    report.write_text('<testsuite name="x"><testcase name="t"/></testsuite>')
    server = RefusingServer(503, "down for maintenance")
    try:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "qualitygov_cli",
                "upload-junit",
                "--release",
                "1",
                str(report),
                "--wait",
                "2",
            ],
            env={**os.environ, "QUALITYGOV_URL": server.url, "QUALITYGOV_TOKEN": "t"},
            capture_output=True,
            text=True,
            timeout=60,
            cwd=ROOT,
        )
    finally:
        server.close()
    assert result.returncode == 3
    assert "retrying" in result.stderr and "down for maintenance" in result.stderr
    assert server.connections >= 2
