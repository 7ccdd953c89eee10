"""One check for every value a request carries: query strings, page forms and API bodies (JSON, forms).

- Control characters: short text refuses all of them (qualitygov.text); fields in MULTILINE_FIELDS (descriptions,
  comments, post-mortems, ...) may hold tabs and line breaks but nothing else. Names (JSON keys, parameter
  names) are short text.
- Dates: a value that is a date (any value of a date-named field, or any value that looks like an ISO date) must
  lie in the sane range of qualitygov.dates.
- JSON nesting is bounded by MAX_JSON_DEPTH (qualitygov.parsers checks the raw text before parsing it).

Refusals are 400 with the field name and the reason, before any view runs, for anonymous callers too.
"""

from django.conf import settings

from . import dates, text

# Request fields that hold free text over several lines. Everything else is short text.
MULTILINE_FIELDS = frozenset(
    {
        "description",
        "comment",
        "body",
        "justification",
        "rationale",
        "reason",
        "revoke_reason",
        "summary",
        "root_cause",
        "findings",
        "lessons",
        "message",
        "details",
        "preconditions",
        "steps",
        "notes",
        "password",  # never stored as typed; a password may be anything the user can type
    }
)
MAX_JSON_DEPTH_DEFAULT = 32


def max_json_depth() -> int:
    return int(getattr(settings, "QUALITYGOV_MAX_JSON_DEPTH", MAX_JSON_DEPTH_DEFAULT))


def value_problem(name: str, value: str) -> str | None:
    """Why `value` of field `name` is refused, or None."""
    if name.rsplit(".", 1)[-1].split("[", 1)[0] in MULTILINE_FIELDS:
        problem = text.long_text_problem(value)
    else:
        problem = text.short_text_problem(value)
    if problem:
        return problem
    year = dates.out_of_range_year(name.rsplit(".", 1)[-1], value)
    if year is not None:
        return f"has a date in year {year}; {dates.RANGE_MESSAGE}"
    return None


def querydict_problem(data) -> tuple[str, str] | None:
    """(field, reason) for the first refused name or value of a QueryDict, or None."""
    for key, values in data.lists():
        problem = text.short_text_problem(key)
        if problem:
            return repr(key)[1:-1][:60], f"the parameter name {problem}"
        for value in values:
            problem = value_problem(key, value)
            if problem:
                return key, problem
    return None


def data_problem(data, path: str = "") -> tuple[str, str] | None:
    """(field path, reason) for the first refused key or string anywhere in parsed JSON, or None."""
    stack = [(path, data)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, dict):
            for key, value in item.items():
                key = str(key)
                problem = text.short_text_problem(key)
                if problem:
                    return where or "(body)", f"a key {problem}"
                stack.append((f"{where}.{key}" if where else key, value))
        elif isinstance(item, list):
            stack.extend((f"{where}[{i}]", value) for i, value in enumerate(item))
        elif isinstance(item, str):
            problem = value_problem(where.split("[", 1)[0] if where.endswith("]") else where, item)
            if problem:
                return where or "(body)", problem
    return None
