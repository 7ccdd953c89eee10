"""SARIF 2.1.0 reader: the results of every run (ruff, semgrep, bandit, CodeQL, ESLint, ...) as findings.

Rules (docs/guides/external-evidence.md repeats them for users):

* Level of a result (SARIF 2.1.0, 3.27.10): its own `level`; else `none` when its `kind` is given and is not
  `fail`; else the `defaultConfiguration.level` of its rule (found by `ruleIndex`, then by `ruleId`); else
  `warning`. High = level `error`.
* A result with a `suppressions` entry whose status is `accepted` (or absent, which means accepted) is
  suppressed and not a finding.
* Identity of a finding (how it is matched with the baseline): its first `fingerprints` entry, else its first
  `partialFingerprints` entry (sorted by name); a fingerprint value that several results of one upload share
  identifies nothing and is dropped. Without a fingerprint: rule id plus location (`uri:startLine`).
* Location: the first `physicalLocation` (artifact `uri`, resolved against `originalUriBaseIds` only for the
  display of a link, never fetched) and its region's start line and column.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from typing import IO

from qualitygov.uploads import UploadRefused

LEVELS = ("error", "warning", "note", "none")
HIGH_LEVEL = "error"
MESSAGE_CHARS = 1000
FIELD_CHARS = 500


@dataclass(slots=True)
class ParsedFinding:
    tool: str
    rule_id: str
    level: str
    message: str
    uri: str
    start_line: int | None
    start_column: int | None
    fingerprint: str  # the raw fingerprint ("" when none)
    link: str  # an http(s) URL to the location when the report names a repository, else ""

    @property
    def identity(self) -> str:
        if self.fingerprint:
            return f"fp:{self.tool}:{self.fingerprint}"[:FIELD_CHARS]
        return f"loc:{self.tool}:{self.rule_id}:{self.uri}:{self.start_line or 0}"[:FIELD_CHARS]


@dataclass(slots=True)
class ParsedSarif:
    tools: list[str]
    findings: list[ParsedFinding]
    suppressed: int

    def counts(self) -> dict[str, int]:
        by_level = Counter(f.level for f in self.findings)
        return {level: by_level.get(level, 0) for level in LEVELS}


def _refuse(message: str, code: str = "not_sarif") -> UploadRefused:
    return UploadRefused(message, code=code)


def _text(value, limit: int = FIELD_CHARS) -> str:
    """Untrusted text, cut to the column's length; NUL characters (which PostgreSQL cannot store) removed."""
    return value.replace("\x00", "")[:limit] if isinstance(value, str) else ""


def _first_fingerprint(result: dict) -> str:
    for name in ("fingerprints", "partialFingerprints"):
        prints = result.get(name)
        if isinstance(prints, dict) and prints:
            key = sorted(prints)[0]
            value = prints[key]
            if isinstance(value, str) and value:
                return f"{key}={value}"[:FIELD_CHARS]
    return ""


def _rule_of(result: dict, rules: list, rules_by_id: dict) -> dict:
    index = result.get("ruleIndex")
    if isinstance(index, int) and not isinstance(index, bool) and 0 <= index < len(rules):
        rule = rules[index]
        if isinstance(rule, dict):
            return rule
    rule_id = result.get("ruleId")
    if not isinstance(rule_id, str):
        rule_id = (result.get("rule") or {}).get("id") if isinstance(result.get("rule"), dict) else None
    return rules_by_id.get(rule_id, {}) if isinstance(rule_id, str) else {}


def _level_of(result: dict, rule: dict) -> str:
    level = result.get("level")
    if level is not None:
        if level not in LEVELS:
            raise _refuse(
                f"Unknown result level {str(level)[:20]!r}; SARIF levels are {', '.join(LEVELS)}", "bad_level"
            )
        return level
    kind = result.get("kind")
    if kind is not None and kind != "fail":
        return "none"
    default = (rule.get("defaultConfiguration") or {}) if isinstance(rule, dict) else {}
    level = default.get("level") if isinstance(default, dict) else None
    return level if level in LEVELS else "warning"


def _suppressed(result: dict) -> bool:
    suppressions = result.get("suppressions")
    if not isinstance(suppressions, list):
        return False
    return any(isinstance(s, dict) and s.get("status", "accepted") == "accepted" for s in suppressions)


def _location(result: dict) -> tuple[str, int | None, int | None, str]:
    locations = result.get("locations")
    if not isinstance(locations, list) or not locations or not isinstance(locations[0], dict):
        return "", None, None, ""
    physical = locations[0].get("physicalLocation") or {}
    if not isinstance(physical, dict):
        return "", None, None, ""
    artifact = physical.get("artifactLocation") or {}
    region = physical.get("region") or {}
    uri = _text(artifact.get("uri")) if isinstance(artifact, dict) else ""
    line = region.get("startLine") if isinstance(region, dict) else None
    column = region.get("startColumn") if isinstance(region, dict) else None
    line = line if isinstance(line, int) and not isinstance(line, bool) and 0 < line < 2**31 else None
    column = (
        column if isinstance(column, int) and not isinstance(column, bool) and 0 < column < 2**31 else None
    )
    base = artifact.get("uriBaseId", "") if isinstance(artifact, dict) else ""
    return uri, line, column, base if isinstance(base, str) else ""


def _repository_link(run: dict) -> str:
    """'https://host/repo/blob/<revision>/' when the run names an http(s) repository and revision, else ''."""
    provenance = run.get("versionControlProvenance")
    if not isinstance(provenance, list) or not provenance or not isinstance(provenance[0], dict):
        return ""
    repo = provenance[0].get("repositoryUri")
    revision = provenance[0].get("revisionId") or provenance[0].get("branch") or ""
    if (
        not isinstance(repo, str)
        or not repo.startswith(("https://", "http://"))
        or not isinstance(revision, str)
    ):
        return ""
    if not revision or any(c in revision for c in "/?#\\ "):
        return ""
    return f"{repo.rstrip('/')}/blob/{revision}/"


def _link(prefix: str, uri: str, line: int | None) -> str:
    if uri.startswith(("https://", "http://")):
        target = uri
    elif prefix and uri and "://" not in uri and not uri.startswith("/") and ".." not in uri:
        target = prefix + uri
    else:
        return ""
    return f"{target}#L{line}" if line else target


def parse_sarif(file: IO[bytes]) -> ParsedSarif:
    """Parse a SARIF 2.1.0 log into findings. Raises UploadRefused (400) for anything that is not one."""
    try:
        log = json.load(file)
    except UnicodeDecodeError as exc:
        raise _refuse(f"The SARIF log is not UTF-8 text: {exc.reason}", "malformed") from None
    except json.JSONDecodeError as exc:
        raise UploadRefused(
            f"Malformed JSON: {exc.msg}", line=exc.lineno, column=exc.colno, code="malformed"
        ) from None
    except RecursionError:
        raise _refuse("The JSON is nested too deeply", "malformed") from None
    if not isinstance(log, dict) or not isinstance(log.get("runs"), list):
        raise _refuse("Not a SARIF log: expected an object with a 'runs' list")
    version = log.get("version")
    if version != "2.1.0":
        raise _refuse(f"Only SARIF 2.1.0 is accepted, not {str(version)[:20]!r}", "unsupported_version")
    findings: list[ParsedFinding] = []
    tools: list[str] = []
    suppressed = 0
    for number, run in enumerate(log["runs"], start=1):
        if not isinstance(run, dict):
            raise _refuse(f"Run {number} is not an object")
        driver = ((run.get("tool") or {}).get("driver") or {}) if isinstance(run.get("tool"), dict) else {}
        if not isinstance(driver, dict) or not isinstance(driver.get("name"), str) or not driver["name"]:
            raise _refuse(f"Run {number} has no tool.driver.name")
        tool = _text(driver["name"], 100) or "unnamed tool"
        tools.append(tool)
        rules = driver.get("rules") if isinstance(driver.get("rules"), list) else []
        rules_by_id = {r["id"]: r for r in rules if isinstance(r, dict) and isinstance(r.get("id"), str)}
        prefix = _repository_link(run)
        results = run.get("results") or []
        if not isinstance(results, list):
            raise _refuse(f"Run {number}: 'results' is not a list")
        for result in results:
            if not isinstance(result, dict):
                raise _refuse(f"Run {number}: a result is not an object")
            if _suppressed(result):
                suppressed += 1
                continue
            rule = _rule_of(result, rules, rules_by_id)
            rule_id = result.get("ruleId") if isinstance(result.get("ruleId"), str) else rule.get("id", "")
            message = result.get("message") or {}
            text = message.get("text") or message.get("markdown") or "" if isinstance(message, dict) else ""
            uri, line, column, _ = _location(result)
            findings.append(
                ParsedFinding(
                    tool=tool,
                    rule_id=_text(rule_id, 200),
                    level=_level_of(result, rule),
                    message=_text(text, MESSAGE_CHARS),
                    uri=uri,
                    start_line=line,
                    start_column=column,
                    fingerprint=_first_fingerprint(result),
                    link=_link(prefix, uri, line)[:FIELD_CHARS],
                )
            )
    # A fingerprint shared by several results (e.g. a placeholder value) identifies nothing.
    shared = Counter(f.fingerprint for f in findings if f.fingerprint)
    for finding in findings:
        if finding.fingerprint and shared[finding.fingerprint] > 1:
            finding.fingerprint = ""
    return ParsedSarif(tools=tools, findings=findings, suppressed=suppressed)
