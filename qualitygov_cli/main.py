"""Command-line client for QualityGov pipelines. Standard library only (urllib, argparse, json, gzip).

    qualitygov-cli upload-junit --release ID FILE [--revision R] [--environment E] [--run-name N]
    qualitygov-cli gate-check --gate ID --release ID [--strict] [--wait SECONDS]
    qualitygov-cli deploy-check --release ID [--wait SECONDS]                               (deploy.py)
    qualitygov-cli upload-coverage|upload-sarif|upload-loadtest --release ID FILE [--format F]  (evidence.py)
    qualitygov-cli measure --release ID KEY=VALUE [KEY=VALUE ...]

The server and token come from QUALITYGOV_URL and QUALITYGOV_TOKEN (or --url / --token).

Exit codes of gate-check (the contract's): 0 passed (or warned without --strict), 1 failed, 2 warned with
--strict, 3 no evaluation could be made (unknown gate or release, bad token, server unreachable, bad input).
gate-check judges the evaluation only; it also prints the decision in force at the gate, and deploy-check (for
the deploy step) exits 0 only when a go decision is in force at every gate guarding the release's next move, 1
when a no-go is in force, a decision is suspended or none exists, 3 when no answer could be had.
upload-junit exits 0 when the report was stored, 3 otherwise. A 4xx answer is never retried, even when the
server answered before reading the whole body and then closed the connection (a 413 for a report over the
limit): the answer is read from the connection after the send failed, and its message is printed.
"""

import argparse
import contextlib
import gzip
import http.client
import json
import os
import shutil
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

EXIT_PASSED, EXIT_FAILED, EXIT_WARNED, EXIT_NO_EVALUATION = 0, 1, 2, 3
USER_AGENT = "qualitygov-cli/0.1"


class ApiError(Exception):
    """A request that got no usable answer. status is the HTTP status, or None when the server was not reached."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status

    @property
    def transient(self) -> bool:
        return self.status is None or self.status >= 500


def _request(
    method: str,
    url: str,
    *,
    token: str,
    body: bytes | None = None,
    content_type: str = "",
    timeout: float = 60.0,
    extra_headers: dict | None = None,
) -> dict:
    headers = {"Accept": "application/json", "User-Agent": USER_AGENT, "Accept-Encoding": "gzip"}
    headers.update(extra_headers or {})
    if token:
        headers["Authorization"] = f"Token {token}"
    if content_type:
        headers["Content-Type"] = content_type
    if not url.lower().startswith(("http://", "https://")):
        raise ApiError(f"QUALITYGOV_URL must start with http:// or https://, not {url!r}")
    req = urllib.request.Request(url, data=body, method=method, headers=headers)  # noqa: S310 - scheme checked
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - scheme checked above
            raw = resp.read()
            if resp.headers.get("Content-Encoding") == "gzip":
                raw = gzip.decompress(raw)
            return json.loads(raw or b"{}")
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        if exc.headers.get("Content-Encoding") == "gzip":
            raw = gzip.decompress(raw)
        try:
            payload = json.loads(raw or b"{}")
            detail = payload.get("detail") if isinstance(payload, dict) else None
            message = detail or json.dumps(payload)
        except ValueError:
            message = raw[:300].decode("utf-8", "replace")
        raise ApiError(f"HTTP {exc.code}: {message}", status=exc.code) from None
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ApiError(f"cannot reach {url}: {reason}") from None
    except ValueError:
        raise ApiError(f"the answer from {url} is not JSON") from None


def _with_retries(call, *, wait: float, out) -> dict:
    """Call until it answers, retrying unreachable/5xx answers with growing pauses for up to `wait` seconds."""
    deadline = time.monotonic() + max(0.0, wait)
    pause = 1.0
    while True:
        try:
            return call()
        except ApiError as exc:
            left = deadline - time.monotonic()
            if not exc.transient or left <= 0:
                raise
            print(f"qualitygov-cli: {exc}; retrying in {min(pause, left):.0f}s", file=out)
            time.sleep(min(pause, left))
            pause = min(pause * 2, 10.0)


def _post_json(url: str, payload, *, token: str, wait: float, err) -> dict:
    """POST `payload` as JSON and return the answer, retrying unreachable/5xx answers for up to `wait` seconds."""
    body = json.dumps(payload).encode()
    return _with_retries(
        lambda: _request("POST", url, token=token, body=body, content_type="application/json"),
        wait=wait,
        out=err,
    )


def _fmt(value) -> str:
    if value is None:
        return "no data"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


OPS = {"lt": "<", "lte": "<=", "gt": ">", "gte": ">=", "eq": "=="}


def format_table(evaluation: dict) -> str:
    """A short plain-text table of the evaluation's conditions and checklist items."""
    rows = [("Condition", "Value", "Rule", "Warn", "Outcome")]
    for c in evaluation.get("conditions", []):
        name = c.get("metric", "?") + (" (key)" if c.get("key") else "")
        rule = f"{OPS.get(c.get('operator'), c.get('operator'))} {_fmt(c.get('error_threshold'))}"
        warn = (
            ""
            if c.get("warn_threshold") is None
            else f"{OPS.get(c.get('operator'))} {_fmt(c.get('warn_threshold'))}"
        )
        rows.append((name, _fmt(c.get("value")), rule, warn, str(c.get("outcome", "")).upper()))
    for i in evaluation.get("checklist", []):
        who = f"signed by {i.get('signed_by')}" if i.get("signed") else f"unsigned ({i.get('role')})"
        rows.append((f"[checklist] {i.get('text', '')}"[:60], who, "", "", str(i.get("outcome", "")).upper()))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(r)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def gate_check(args, *, base: str, token: str, out=sys.stdout, err=sys.stderr) -> int:
    url = f"{base}/api/v1/gates/{args.gate}/evaluations/"
    try:
        evaluation = _post_json(
            url, {"release": args.release, "via": "cli"}, token=token, wait=args.wait, err=err
        )
    except ApiError as exc:
        print(f"qualitygov-cli: no evaluation could be made: {exc}", file=err)
        return EXIT_NO_EVALUATION
    status = evaluation.get("status")
    print(format_table(evaluation), file=out)
    print(
        f"\nGate '{evaluation.get('gate_name', args.gate)}' for release {args.release}: {str(status).upper()} "
        f"(evaluation {evaluation.get('id')}, {base}/evaluations/{evaluation.get('id')}/)",
        file=out,
    )
    note = deploy.decision_note(base, token, release=args.release, gate=args.gate)
    if note:
        print(note, file=out)
    if status == "passed":
        return EXIT_PASSED
    if status == "failed":
        return EXIT_FAILED
    if status == "warned":
        return EXIT_WARNED if args.strict else EXIT_PASSED
    print(f"qualitygov-cli: unexpected status {status!r}", file=err)
    return EXIT_NO_EVALUATION


def _message_of(raw: bytes, encoding: str | None) -> str:
    if encoding == "gzip":
        with contextlib.suppress(OSError):
            raw = gzip.decompress(raw)
    try:
        payload = json.loads(raw or b"{}")
    except ValueError:
        return raw[:300].decode("utf-8", "replace")
    detail = payload.get("detail") if isinstance(payload, dict) else None
    return detail or json.dumps(payload)


def _post_file(
    url: str, *, token: str, path: Path, headers: dict, timeout: float = 300.0
) -> tuple[int, dict]:
    """POST a file, streamed from disk. Returns (status, JSON answer); raises ApiError for 4xx/5xx/no answer.

    If sending fails because the server already answered and closed the connection (it refused the body
    early), the answer is still read from the connection, so a 413 is reported as a 413, not as a network
    error to retry.
    """
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ApiError(f"QUALITYGOV_URL must start with http:// or https://, not {url!r}")
    conn_class = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    conn = conn_class(parts.hostname, parts.port, timeout=timeout)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    send_error: OSError | None = None
    try:
        try:
            conn.putrequest("POST", target, skip_accept_encoding=True)
            all_headers = {
                "Accept": "application/json",
                "User-Agent": USER_AGENT,
                "Content-Length": str(path.stat().st_size),
                **headers,
            }
            if token:
                all_headers["Authorization"] = f"Token {token}"
            for key, value in all_headers.items():
                conn.putheader(key, value)
            conn.endheaders()
            with path.open("rb") as fh:
                while chunk := fh.read(256 * 1024):
                    conn.send(chunk)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError) as exc:
            send_error = exc  # the server may have answered already: read it below
        except OSError as exc:
            raise ApiError(f"cannot reach {url}: {exc}") from None
        try:
            resp = conn.getresponse()
            raw = resp.read()
        except (OSError, http.client.HTTPException) as exc:
            raise ApiError(f"cannot reach {url}: {send_error or exc}") from None
        if resp.status >= 400:
            message = _message_of(raw, resp.getheader("Content-Encoding"))
            raise ApiError(f"HTTP {resp.status}: {message}", status=resp.status)
        try:
            return resp.status, json.loads(_maybe_gunzip(raw, resp.getheader("Content-Encoding")) or b"{}")
        except ValueError:
            raise ApiError(f"the answer from {url} is not JSON") from None
    finally:
        conn.close()


def _maybe_gunzip(raw: bytes, encoding: str | None) -> bytes:
    return gzip.decompress(raw) if encoding == "gzip" else raw


@contextlib.contextmanager
def _gzipped(path: Path):
    """The file to send as a gzip-compressed body: the file itself when it is gzipped already, else a compressed
    temporary copy (removed afterwards)."""
    with path.open("rb") as fh:
        already_gzipped = fh.read(2) == b"\x1f\x8b"
    if already_gzipped:
        yield path
        return
    with tempfile.NamedTemporaryFile(suffix=".gz") as packed:
        with path.open("rb") as src, gzip.GzipFile(fileobj=packed, mode="wb", compresslevel=6) as gz:
            shutil.copyfileobj(src, gz, 1024 * 1024)
        packed.flush()
        yield Path(packed.name)


def _upload(url: str, path: Path, *, content_type: str, token: str, wait: float, err) -> tuple[int, dict]:
    """POST a report as a gzip-compressed body streamed from disk, retried like every call: (status, answer)."""
    headers = {"Content-Type": content_type, "Content-Encoding": "gzip"}
    with _gzipped(path) as body_path:
        return _with_retries(
            lambda: _post_file(url, token=token, path=body_path, headers=headers), wait=wait, out=err
        )


def _wait_for_ingestion(status_url: str, *, token: str, wait: float, err) -> dict:
    """Poll the status URL of an ingestion queued on a worker until it is done or failed."""
    deadline = time.monotonic() + max(wait, 0.0)
    pause = 1.0
    while True:
        state = _with_retries(lambda: _request("GET", status_url, token=token), wait=60, out=err)
        if state.get("state") in ("done", "failed"):
            return state
        if time.monotonic() >= deadline:
            raise ApiError(f"the ingestion was still {state.get('state')!r} after waiting {wait:.0f}s")
        time.sleep(pause)
        pause = min(pause * 1.5, 10.0)


def upload_junit(args, *, base: str, token: str, out=sys.stdout, err=sys.stderr) -> int:
    """Send the report as a gzip-compressed XML body, streamed from disk."""
    path = Path(args.file)
    if not path.is_file():
        print(f"qualitygov-cli: no such file: {path}", file=err)
        return EXIT_NO_EVALUATION
    params = {
        k: v
        for k, v in {
            "revision": args.revision,
            "environment": args.environment,
            "run_name": args.run_name,
        }.items()
        if v
    }
    url = f"{base}/api/v1/releases/{args.release}/junit/" + (
        f"?{urllib.parse.urlencode(params)}" if params else ""
    )
    try:
        status, result = _upload(
            url, path, content_type="application/xml", token=token, wait=args.wait, err=err
        )
        if status == 202:
            print(f"Uploaded {path.name}: queued for ingestion ({result.get('status_url')})", file=err)
            state = _wait_for_ingestion(
                urllib.parse.urljoin(base + "/", result["status_url"]),
                token=token,
                wait=args.ingest_timeout,
                err=err,
            )
            if state.get("state") != "done":
                print(f"qualitygov-cli: ingestion failed: {state.get('error') or state}", file=err)
                return EXIT_NO_EVALUATION
            result = state.get("result") or {}
    except ApiError as exc:
        print(f"qualitygov-cli: upload failed: {exc}", file=err)
        return EXIT_NO_EVALUATION
    counts = ", ".join(
        f"{k} {result[k]}" for k in ("tests", "passed", "failed", "error", "skipped", "flaky") if k in result
    )
    what = "already ingested as run" if result.get("duplicate") else "stored as run"
    print(f"Uploaded {path.name} to release {args.release}: {what} {result.get('run')} ({counts})", file=out)
    return EXIT_PASSED


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--url", default=os.environ.get("QUALITYGOV_URL", ""), help="Server URL (default: $QUALITYGOV_URL)"
    )
    common.add_argument(
        "--token",
        default=os.environ.get("QUALITYGOV_TOKEN", ""),
        help="API token (default: $QUALITYGOV_TOKEN)",
    )
    parser = argparse.ArgumentParser(prog="qualitygov-cli", description="QualityGov client for CI pipelines.")
    sub = parser.add_subparsers(dest="command", required=True)

    up = sub.add_parser(
        "upload-junit", parents=[common], help="Upload a JUnit XML report (optionally .gz) to a release."
    )
    up.add_argument("--release", type=int, required=True)
    up.add_argument("file")
    up.add_argument("--revision", default="")
    up.add_argument("--environment", default="")
    up.add_argument("--run-name", default="")
    up.add_argument(
        "--wait", type=float, default=0, help="Retry for up to SECONDS while the server is down/5xx."
    )
    up.add_argument(
        "--ingest-timeout",
        type=float,
        default=1800,
        help="How long to wait for a large report queued on a worker (202) to be ingested (default 1800 s).",
    )

    gc = sub.add_parser(
        "gate-check", parents=[common], help="Evaluate a gate for a release; exit code tells the outcome."
    )
    gc.add_argument("--gate", type=int, required=True)
    gc.add_argument("--release", type=int, required=True)
    gc.add_argument("--strict", action="store_true", help="Exit 2 when the gate only warned.")
    gc.add_argument(
        "--wait", type=float, default=0, help="Retry for up to SECONDS while the server is down/5xx."
    )
    evidence.add_parsers(sub, common)
    deploy.add_parser(sub, common)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on bad usage; 2 means "warned" here, so report 3
        return EXIT_NO_EVALUATION if exc.code else EXIT_PASSED
    base = args.url.rstrip("/")
    if not base:
        print("qualitygov-cli: set QUALITYGOV_URL (or --url) to the server address.", file=sys.stderr)
        return EXIT_NO_EVALUATION
    if not args.token:
        print(
            "qualitygov-cli: set QUALITYGOV_TOKEN (or --token); continuing without a token.", file=sys.stderr
        )
    handler = getattr(args, "handler", None) or (gate_check if args.command == "gate-check" else upload_junit)
    return handler(args, base=base, token=args.token)


# evidence.py and deploy.py build on this module's HTTP helpers, so they are imported once those exist
from . import deploy, evidence  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
