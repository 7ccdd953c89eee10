"""OpenAPI schema: how views declare the usual operations, and the post-processing that documents the error responses
every operation can really give.

The views declare their success responses (`reads`, `creates`, `changes`, `deletes` for the usual shapes of an
operation; `extend_schema` for the rest) and, through `errors(...)`, the few errors these rules miss.
Errors, though, come from a handful of shared places: DRF's authentication and parsers, the access
helper (`releases.access.require`) and the one exception handler (`qualitygov.api.exception_handler`),
so they are documented here in one pass over the generated schema, with one error body schema:

- 400 on every operation that takes a body or parameters: DRF field errors (`{"version": ["..."]}`) or
  `{"detail", "code", "field"}` for a broken rule (with the field's entry too when it names one);
- 401 on every operation (no public API operation exists; `/api/schema/` itself is not in the schema);
- 403 on every write (the caller's role, or a missing CSRF token with session authentication), and on
  every operation with parameters or a body (an object whose project you may see but your role may not read);
- 404 on every operation with parameters or a body: an unknown object, or one of a project you are not a
  member of, named in the path, the query (a page past the end, a project or release filter) or the body;
- 409 on every write: the exception handler answers 409 for any `IntegrityError` (a concurrent
  duplicate), besides the explicit conflicts (`ConflictError`: stale `expected_version`, protected
  objects, the last admin);
- 413 where an upload is accepted (a body that is neither JSON nor a form: XML, binary files);
- 415 on every operation with a body: DRF refuses a `Content-Type` none of the view's parsers accept.

Wired in `SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]`; the hook runs after drf-spectacular's own enum
post-processing.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema

ERROR_COMPONENT = "Error"
VALIDATION_ERROR_COMPONENT = "ValidationError"

WRITE_METHODS = {"post", "put", "patch", "delete"}
JSON_OR_FORM = {"application/json", "application/x-www-form-urlencoded", "multipart/form-data"}

DESCRIPTIONS = {
    400: 'Invalid input: DRF field errors (`{"field": ["message"]}`) or `{detail, code, field}` for a '
    "broken rule.",
    401: "Not authenticated: no or an invalid `Authorization: Token ...` (or session). "
    "The response carries `WWW-Authenticate: Token`.",
    403: "Your role in this project does not allow this action (or, with session authentication, the "
    "CSRF token is missing).",
    404: "No such object among the projects you are a member of (other projects' objects are not shown).",
    409: "Conflicts with existing data or with a concurrent change (unique rule, stale version, protected "
    "object).",
    413: "The upload is larger than `QUALITYGOV_MAX_UPLOAD_BYTES`.",
    415: "The request's `Content-Type` is not one this operation accepts.",
}


# Query parameters many lists share: the project (key), the release (id) and a text to look for.
PROJECT = OpenApiParameter("project", str)
RELEASE = OpenApiParameter("release", int)
TEXT = OpenApiParameter("q", str)


def reads(summary: str, response, **kwargs):
    """`extend_schema` of a read answering 200 with `response` (a serializer, or one with many=True for a list)."""
    return extend_schema(summary=summary, responses={200: response}, **kwargs)


def creates(summary: str, request, response, **kwargs):
    """`extend_schema` of a write that makes something: `request` in, 201 with `response`."""
    return extend_schema(summary=summary, request=request, responses={201: response}, **kwargs)


def changes(summary: str, request, response, **kwargs):
    """`extend_schema` of a write that changes something (or acts on it): `request` in (None: no body), 200 with
    `response`."""
    return extend_schema(summary=summary, request=request, responses={200: response}, **kwargs)


def deletes(summary: str, **kwargs):
    """`extend_schema` of a delete: 204, no body."""
    return extend_schema(summary=summary, responses={204: None}, **kwargs)


def errors(*codes: int) -> dict[int, OpenApiResponse]:
    """Error responses for `extend_schema(responses=...)` that the rules below cannot infer (a 404 for an object
    named in the body, a 403 on a read some roles may not make), described like every other."""
    return {code: OpenApiResponse(description=DESCRIPTIONS[code]) for code in codes}


ERROR_SCHEMA = {
    "type": "object",
    "description": "A refusal: a human-readable `detail`, a machine-readable `code` and, when one input "
    "field is at fault, its name in `field`.",
    "properties": {
        "detail": {"type": "string"},
        "code": {"type": "string"},
        "field": {"type": "string"},
    },
    "required": ["detail"],
}

VALIDATION_ERROR_SCHEMA = {
    "description": "Either `{detail, code, field}` or DRF field errors: an object whose keys are input "
    "fields (or `non_field_errors`) and whose values are lists of messages (nested for nested input).",
    "oneOf": [
        {"$ref": f"#/components/schemas/{ERROR_COMPONENT}"},
        {
            "type": "object",
            "not": {"required": ["detail"]},
            "additionalProperties": {
                "anyOf": [
                    {"type": "array"},
                    {"type": "object"},
                    {"type": "string"},
                ]
            },
        },
    ],
}


def _is_upload(request_body: dict) -> bool:
    """An operation accepts an upload when its body may be something other than JSON or a plain form,
    or a multipart form with a binary part."""
    content = request_body.get("content", {})
    if any(media_type not in JSON_OR_FORM for media_type in content):
        return True
    multipart = content.get("multipart/form-data", {}).get("schema", {})
    return "binary" in repr(multipart)


def error_codes(method: str, path: str, operation: dict) -> set[int]:
    """The error statuses an operation can answer with (see the module docstring)."""
    declared = {int(code) for code in operation.get("responses", {}) if str(code).isdigit()}
    codes = {401} | {code for code in declared if 400 <= code < 500}
    parameters = operation.get("parameters", [])
    body = operation.get("requestBody")
    if body or parameters:
        # Any input can be refused (400), can name an object of a project you are not a member of (404), or one
        # your role there may not read or change (403).
        codes |= {400, 403, 404}
    if method in WRITE_METHODS:
        codes |= {403, 409}
    if body:
        codes.add(415)
        if _is_upload(body):
            codes.add(413)
    return codes


def document_error_responses(result, generator, request, public):
    """drf-spectacular postprocessing hook: add the error responses with a body schema to every operation."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas[ERROR_COMPONENT] = ERROR_SCHEMA
    schemas[VALIDATION_ERROR_COMPONENT] = VALIDATION_ERROR_SCHEMA
    for path, path_item in result.get("paths", {}).items():
        for method, operation in path_item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            responses = operation.setdefault("responses", {})
            for code in sorted(error_codes(method, path, operation)):
                existing = responses.get(str(code), {})
                component = VALIDATION_ERROR_COMPONENT if code == 400 else ERROR_COMPONENT
                responses[str(code)] = {
                    "description": existing.get("description") or DESCRIPTIONS.get(code, "Refused."),
                    "content": {
                        "application/json": {"schema": {"$ref": f"#/components/schemas/{component}"}}
                    },
                }
                if code == 401:
                    responses["401"]["headers"] = {
                        "WWW-Authenticate": {"description": "`Token`", "schema": {"type": "string"}}
                    }
            operation["responses"] = dict(sorted(responses.items()))
    return result
