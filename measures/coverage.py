"""Coverage report readers: Cobertura XML, JaCoCo XML and LCOV, each giving the tool's own totals.

* Cobertura (coverage.py `coverage xml`, istanbul/Jest `cobertura`, gcovr, ...): the root `<coverage>` element's
  `lines-covered`/`lines-valid` and `branches-covered`/`branches-valid` when present, else its `line-rate` and
  `branch-rate`. Branch coverage is null when the report has no branches (`branches-valid="0"`).
* JaCoCo: the `<counter type="LINE|BRANCH" missed=".." covered=".."/>` children of the root `<report>` (the
  report's own totals; the counters of packages and classes are not summed again).
* LCOV (`coverage lcov`, istanbul `lcov`, `geninfo`): the sums of `LH`/`LF` and `BRH`/`BRF` over all records.

Percentages are rounded to 2 decimals, as everywhere in QualityGov.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import IO

from lxml import etree

from qualitygov.uploads import UploadRefused, check_prolog, local_name, safe_iterparse, syntax_refusal

FORMATS = ("cobertura", "jacoco", "lcov")


@dataclass(frozen=True, slots=True)
class CoverageTotals:
    format: str
    line_coverage: float | None
    branch_coverage: float | None
    lines_covered: int | None = None
    lines_valid: int | None = None
    branches_covered: int | None = None
    branches_valid: int | None = None
    files: int = 0

    def summary(self) -> dict:
        return {
            "format": self.format,
            "lines_covered": self.lines_covered,
            "lines_valid": self.lines_valid,
            "branches_covered": self.branches_covered,
            "branches_valid": self.branches_valid,
            "files": self.files,
        }


def _pct(covered: int | None, valid: int | None) -> float | None:
    if covered is None or not valid:
        return None
    return round(100.0 * covered / valid, 2)


def _int(value: str | None, *, what: str) -> int | None:
    if value is None or value.strip() == "":
        return None
    try:
        number = int(value.strip())
    except ValueError:
        raise UploadRefused(f"{what} is not a whole number: {value[:40]!r}", code="invalid_number") from None
    if number < 0:
        raise UploadRefused(f"{what} is negative: {number}", code="invalid_number")
    return number


def _rate(value: str | None, *, what: str) -> float | None:
    if value is None or value.strip() == "":
        return None
    try:
        rate = float(value)
    except ValueError:
        raise UploadRefused(f"{what} is not a number: {value[:40]!r}", code="invalid_number") from None
    if not 0.0 <= rate <= 1.0:
        raise UploadRefused(f"{what} must be between 0 and 1, not {value[:40]}", code="invalid_number")
    return rate


def sniff(head: bytes) -> str | None:
    """Guess the format from the first bytes: an XML root `<coverage>` or `<report>`, or LCOV records."""
    text = head[:4096].decode("utf-8", errors="replace")
    if "<coverage" in text:
        return "cobertura"
    if "<report" in text or "JACOCO" in text.upper():
        return "jacoco"
    for line in text.splitlines():
        if line.strip().startswith(("TN:", "SF:")):
            return "lcov"
    return None


def _root_and_children(file: IO[bytes], *, allow_doctype: bool, wanted_child: str | None):
    """The root element's attributes and (for JaCoCo) its direct children with tag `wanted_child`, streaming."""
    check_prolog(file, allow_external_doctype=allow_doctype)
    events = safe_iterparse(file, events=("start", "end"))
    root = None
    attrs: dict[str, str] = {}
    children: list[dict[str, str]] = []
    depth = 0
    try:
        for event, elem in events:
            if event == "start":
                depth += 1
                if root is None:
                    root = local_name(elem.tag)
                    attrs = dict(elem.attrib)
                continue
            depth -= 1
            if depth == 1 and wanted_child and local_name(elem.tag) == wanted_child:
                children.append(dict(elem.attrib))
            if depth >= 1:
                elem.clear(keep_tail=False)
    except etree.XMLSyntaxError as exc:
        raise syntax_refusal(exc, getattr(events, "error_log", None)) from None
    if root is None:
        raise UploadRefused("The document is empty", line=1, column=1, code="malformed")
    return root, attrs, children


def _cobertura_total(
    attrs, counted: str, *, rate_attribute: str
) -> tuple[float | None, int | None, int | None]:
    """One Cobertura total ("lines" or "branches") as (percent, covered, valid): from the counts when the report
    gives both, else from its rate attribute."""
    covered = _int(attrs.get(f"{counted}-covered"), what=f"{counted}-covered")
    valid = _int(attrs.get(f"{counted}-valid"), what=f"{counted}-valid")
    if covered is not None and valid is not None:
        if covered > valid:
            raise UploadRefused(f"{counted}-covered is greater than {counted}-valid", code="inconsistent")
        return _pct(covered, valid), covered, valid
    rate = _rate(attrs.get(rate_attribute), what=rate_attribute)
    return (None if rate is None else round(100.0 * rate, 2)), covered, valid


def parse_cobertura(file: IO[bytes]) -> CoverageTotals:
    root, attrs, _ = _root_and_children(file, allow_doctype=True, wanted_child=None)
    if root != "coverage":
        raise UploadRefused(
            f"Not a Cobertura report: the root element is <{root}>, expected <coverage>", code="wrong_format"
        )
    line, lines_covered, lines_valid = _cobertura_total(attrs, "lines", rate_attribute="line-rate")
    branch, branches_covered, branches_valid = _cobertura_total(
        attrs, "branches", rate_attribute="branch-rate"
    )
    if line is None and branch is None:
        raise UploadRefused("The Cobertura report holds no line or branch totals", code="no_totals")
    return CoverageTotals(
        "cobertura", line, branch, lines_covered, lines_valid, branches_covered, branches_valid
    )


def parse_jacoco(file: IO[bytes]) -> CoverageTotals:
    root, _, counters = _root_and_children(file, allow_doctype=True, wanted_child="counter")
    if root != "report":
        raise UploadRefused(
            f"Not a JaCoCo report: the root element is <{root}>, expected <report>", code="wrong_format"
        )
    totals: dict[str, tuple[int, int]] = {}
    for counter in counters:
        kind = (counter.get("type") or "").upper()
        covered = _int(counter.get("covered"), what=f"{kind} covered") or 0
        missed = _int(counter.get("missed"), what=f"{kind} missed") or 0
        totals[kind] = (covered, covered + missed)
    if "LINE" not in totals and "BRANCH" not in totals:
        raise UploadRefused("The JaCoCo report has no LINE or BRANCH counter on <report>", code="no_totals")
    lc, lv = totals.get("LINE", (None, None))
    bc, bv = totals.get("BRANCH", (None, None))
    return CoverageTotals("jacoco", _pct(lc, lv), _pct(bc, bv), lc, lv, bc, bv)


def parse_lcov(file: IO[bytes]) -> CoverageTotals:
    counts = {"LH": 0, "LF": 0, "BRH": 0, "BRF": 0}
    seen = dict.fromkeys(counts, False)
    files = 0
    for number, raw in enumerate(file, start=1):
        line = raw.decode("utf-8", errors="replace").strip()
        if not line or line == "end_of_record":
            continue
        tag, sep, value = line.partition(":")
        if not sep or not tag.isupper():
            raise UploadRefused(f"Not an LCOV record: {line[:60]!r}", line=number, column=1, code="malformed")
        if tag == "SF":
            files += 1
        elif tag in counts:
            try:
                amount = int(value)
            except ValueError:
                raise UploadRefused(
                    f"{tag} is not a whole number: {value[:40]!r}",
                    line=number,
                    column=len(tag) + 2,
                    code="invalid_number",
                ) from None
            if amount < 0:
                raise UploadRefused(
                    f"{tag} is negative", line=number, column=len(tag) + 2, code="invalid_number"
                )
            counts[tag] += amount
            seen[tag] = True
    if not files:
        raise UploadRefused("The LCOV report has no SF: record", line=1, column=1, code="no_totals")
    if counts["LH"] > counts["LF"] or counts["BRH"] > counts["BRF"]:
        raise UploadRefused("The LCOV report covers more lines or branches than it has", code="inconsistent")
    lines = (counts["LH"], counts["LF"]) if seen["LF"] else (None, None)
    branches = (counts["BRH"], counts["BRF"]) if seen["BRF"] else (None, None)
    return CoverageTotals("lcov", _pct(*lines), _pct(*branches), *lines, *branches, files=files)


PARSERS = {"cobertura": parse_cobertura, "jacoco": parse_jacoco, "lcov": parse_lcov}


def parse_coverage(file: IO[bytes], *, format: str | None = None) -> CoverageTotals:
    """Read a coverage report in `format` (sniffed from its first bytes when not given)."""
    if not format:
        start = file.tell()
        head = file.read(4096)
        file.seek(start)
        format = sniff(head)
        if format is None:
            raise UploadRefused(
                "Cannot tell the coverage format; send ?format=cobertura|jacoco|lcov", code="unknown_format"
            )
    if format not in PARSERS:
        raise UploadRefused(
            f"Unknown coverage format '{format[:40]}'; use one of: {', '.join(FORMATS)}",
            code="unknown_format",
        )
    return PARSERS[format](file)
