"""External evidence from CI: coverage, SARIF and load-test uploads and custom measures (standard library only).

    qualitygov-cli upload-coverage --release ID FILE [--format cobertura|jacoco|lcov]
    qualitygov-cli upload-sarif --release ID FILE
    qualitygov-cli upload-loadtest --release ID FILE [--format k6|jmeter]
    qualitygov-cli measure --release ID KEY=VALUE [KEY=VALUE ...]

Reports are sent gzip-compressed and streamed from disk, like upload-junit. Exit 0 when stored (or already
stored: same bytes as the release's latest upload of that kind), 3 otherwise, with the server's message.
"""

import math
import sys
import urllib.parse
from pathlib import Path

from .main import (
    EXIT_NO_EVALUATION,
    EXIT_PASSED,
    ApiError,
    _post_json,
    _upload,
)

KINDS = {
    # command -> (endpoint, formats, content type for a file name)
    "upload-coverage": ("coverage", ("cobertura", "jacoco", "lcov")),
    "upload-sarif": ("sarif", ()),
    "upload-loadtest": ("loadtest", ("k6", "jmeter")),
}


def content_type_for(endpoint: str, path: Path, fmt: str) -> str:
    """The Content-Type the server expects for this kind of report and file."""
    name = path.name.lower().removesuffix(".gz")
    if endpoint == "sarif":
        return "application/sarif+json"
    if endpoint == "coverage":
        return "text/plain" if fmt == "lcov" or not name.endswith(".xml") else "application/xml"
    return "application/json" if fmt == "k6" or name.endswith(".json") else "text/csv"


def _print_result(result: dict, *, name: str, release: int, out) -> None:
    values = ", ".join(
        f"{m['key']} {m['value']:g}{(' ' + m['unit']) if m.get('unit') else ''}"
        for m in result.get("measures", [])
    )
    what = "already stored" if result.get("duplicate") else "stored"
    print(f"Uploaded {name} to release {release}: {what} ({values or 'no measure'})", file=out)


def upload_evidence(args, *, base: str, token: str, out=sys.stdout, err=sys.stderr) -> int:
    endpoint, formats = KINDS[args.command]
    path = Path(args.file)
    if not path.is_file():
        print(f"qualitygov-cli: no such file: {path}", file=err)
        return EXIT_NO_EVALUATION
    fmt = getattr(args, "format", "") or ""
    if fmt and fmt not in formats:
        print(f"qualitygov-cli: --format is one of {', '.join(formats)}", file=err)
        return EXIT_NO_EVALUATION
    url = f"{base}/api/v1/releases/{args.release}/{endpoint}/" + (
        f"?{urllib.parse.urlencode({'format': fmt})}" if fmt else ""
    )
    content_type = content_type_for(endpoint, path, fmt)
    try:
        _, result = _upload(url, path, content_type=content_type, token=token, wait=args.wait, err=err)
    except ApiError as exc:
        print(f"qualitygov-cli: upload failed: {exc}", file=err)
        return EXIT_NO_EVALUATION
    _print_result(result, name=path.name, release=args.release, out=out)
    return EXIT_PASSED


def parse_pairs(pairs: list[str]) -> list[dict]:
    """KEY=VALUE arguments as [{key, value}]; ValueError naming the bad one."""
    items = []
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        try:
            value = float(raw)
        except ValueError:
            value = math.nan
        if not sep or not key.strip() or not math.isfinite(value):
            raise ValueError(f"expected KEY=NUMBER, got {pair!r}")
        items.append({"key": key.strip(), "value": value})
    return items


def measure(args, *, base: str, token: str, out=sys.stdout, err=sys.stderr) -> int:
    try:
        items = parse_pairs(args.pairs)
    except ValueError as exc:
        print(f"qualitygov-cli: {exc}", file=err)
        return EXIT_NO_EVALUATION
    url = f"{base}/api/v1/releases/{args.release}/measures/"
    try:
        result = _post_json(url, items, token=token, wait=args.wait, err=err)
    except ApiError as exc:
        print(f"qualitygov-cli: measure failed: {exc}", file=err)
        return EXIT_NO_EVALUATION
    _print_result(result, name="measures", release=args.release, out=out)
    return EXIT_PASSED


def add_parsers(sub, common) -> None:
    """The evidence subcommands, each with set_defaults(handler=...)."""
    for command, (endpoint, formats) in KINDS.items():
        p = sub.add_parser(
            command, parents=[common], help=f"Upload a {endpoint} report (optionally .gz) to a release."
        )
        p.add_argument("--release", type=int, required=True)
        p.add_argument("file")
        if formats:
            p.add_argument(
                "--format", default="", choices=["", *formats], help="Default: told from the content."
            )
        p.add_argument(
            "--wait", type=float, default=0, help="Retry for up to SECONDS while the server is down/5xx."
        )
        p.set_defaults(handler=upload_evidence)
    m = sub.add_parser("measure", parents=[common], help="Record measures of a release: KEY=VALUE ...")
    m.add_argument("--release", type=int, required=True)
    m.add_argument("pairs", nargs="+", metavar="KEY=VALUE")
    m.add_argument(
        "--wait", type=float, default=0, help="Retry for up to SECONDS while the server is down/5xx."
    )
    m.set_defaults(handler=measure)
