"""Upload plumbing shared by every importer (JUnit, coverage, SARIF, load tests).

One place decides how a report reaches us and what is refused before any parser sees it:

* the body is a raw upload (XML/JSON/CSV, optionally gzip, detected by magic bytes or `Content-Encoding`) or the
  multipart field `file`; both are spooled to a temporary file, decompressed, hashed (SHA-256 of the
  decompressed bytes: the idempotence key) and held to `QUALITYGOV_MAX_UPLOAD_BYTES` before and after
  decompression (413);
* XML never declares a DTD or entities: a DOCTYPE or ENTITY declaration before the root is refused with its line
  and column, and the lxml parsers made here never load a DTD, never resolve entities, never touch the network.
  A few tools (JaCoCo) write a DOCTYPE that only names an external DTD; `allow_external_doctype=True` accepts
  exactly that form (no internal subset), which the locked-down parser then ignores.
"""

from __future__ import annotations

import hashlib
import io
import tempfile
import zlib
from dataclasses import dataclass
from typing import IO, BinaryIO

from django.conf import settings
from lxml import etree

from .errors import DomainError, PayloadTooLarge

READ_CHUNK = 256 * 1024
MULTIPART_SLACK = 64 * 1024  # boundaries and form fields around the file
XML_TYPES = (
    "application/xml",
    "text/xml",
    "application/gzip",
    "application/x-gzip",
    "application/octet-stream",
)


class UploadRefused(DomainError):
    """The upload is not an acceptable document. Carries the line and column when known (HTTP 400)."""

    def __init__(
        self, message: str, *, line: int | None = None, column: int | None = None, code: str = "invalid"
    ):
        where = f" (line {line}, column {column})" if line is not None else ""
        super().__init__(f"{message}{where}", field="file", code=code)
        self.line = line
        self.column = column


class UnsupportedMediaType(DomainError):
    status_code = 415

    def __init__(self, message: str, **kwargs):
        super().__init__(message, code=kwargs.pop("code", "unsupported_media_type"), **kwargs)


@dataclass(slots=True)
class Upload:
    """A spooled, decompressed upload: the bytes in `file`, their SHA-256 and size."""

    file: IO[bytes]
    sha256: str
    size: int

    def close(self) -> None:
        self.file.close()

    def read_all(self) -> bytes:
        self.file.seek(0)
        data = self.file.read()
        self.file.seek(0)
        return data


# --- Reading the upload --------------------------------------------------------------------------------


def spool_upload(stream: BinaryIO, *, limit: int, gzipped: bool | None = None) -> Upload:
    """Copy an uploaded body to a spooled temporary file, decompressing gzip, hashing, enforcing the size limit.

    gzipped=None detects gzip by its magic bytes. Both the bytes received and the decompressed bytes are held
    to `limit` (a small gzip that inflates past the limit is refused too): PayloadTooLarge -> 413.
    """
    out = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115 - returned to the caller
    digest = hashlib.sha256()
    received = 0
    size = 0
    inflater = None
    first = True
    try:
        while True:
            chunk = stream.read(READ_CHUNK)
            if not chunk:
                break
            received += len(chunk)
            if received > limit:
                raise PayloadTooLarge(f"The upload is larger than the limit of {limit} bytes.")
            if first:
                first = False
                if gzipped is None:
                    gzipped = chunk[:2] == b"\x1f\x8b"
                if gzipped:
                    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
            pieces = [chunk]
            if inflater is not None:
                pieces = []
                data = chunk
                try:
                    while data:
                        piece = inflater.decompress(data, READ_CHUNK)
                        pieces.append(piece)
                        size_after = size + sum(len(p) for p in pieces)
                        if size_after > limit:
                            raise PayloadTooLarge(
                                f"The decompressed upload is larger than the limit of {limit} bytes."
                            )
                        data = inflater.unconsumed_tail
                except zlib.error as exc:
                    raise UploadRefused(f"The body is not valid gzip: {exc}.", code="bad_gzip") from exc
            for piece in pieces:
                size += len(piece)
                if size > limit:
                    raise PayloadTooLarge(f"The upload is larger than the limit of {limit} bytes.")
                digest.update(piece)
                out.write(piece)
        if inflater is not None and not inflater.eof:
            raise UploadRefused("The gzip body is truncated.", code="bad_gzip")
    except BaseException:
        out.close()
        raise
    out.seek(0)
    return Upload(file=out, sha256=digest.hexdigest(), size=size)


def upload_from_bytes(data: bytes, *, limit: int | None = None) -> Upload:
    return spool_upload(io.BytesIO(data), limit=limit or settings.QUALITYGOV_MAX_UPLOAD_BYTES)


def upload_from_file(file, *, limit: int) -> Upload:
    """A file a form or a multipart request received (Django's UploadedFile), spooled; refused (413) at once when
    its size is over `limit`. The caller closes the upload."""
    if file.size > limit:
        raise PayloadTooLarge(f"The file ({file.size} bytes) is larger than the limit of {limit} bytes.")
    return spool_upload(file, limit=limit)


def upload_from_path(path: str, *, limit: int) -> Upload:
    with open(path, "rb") as fh:
        return spool_upload(fh, limit=limit, gzipped=path.endswith(".gz") or None)


def request_upload(
    request,
    *,
    accepted_types: tuple[str, ...],
    form_fields: tuple[str, ...] = (),
    what: str = "report",
    limit: int | None = None,
) -> tuple[Upload, dict[str, str]]:
    """Spool the upload of a DRF request: a raw body of one of `accepted_types` or the multipart field `file`.

    Returns the upload and the parameters (query string, overridden by multipart form fields named in
    `form_fields`). Raises PayloadTooLarge (413), UnsupportedMediaType (415) or DomainError (400, no file or an
    empty one). The caller closes the upload.
    """
    limit = limit or settings.QUALITYGOV_MAX_UPLOAD_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    content_type = (request.content_type or "").split(";")[0].strip().lower()
    multipart = content_type == "multipart/form-data"
    if declared > limit + (MULTIPART_SLACK if multipart else 0):
        raise PayloadTooLarge(f"The upload ({declared} bytes) is larger than the limit of {limit} bytes.")
    params = request.query_params.dict()
    if multipart:
        file = request.FILES.get("file")
        if file is None:
            raise DomainError("The multipart field 'file' is missing.", field="file", code="missing_file")
        params.update({k: request.data.get(k) for k in form_fields if request.data.get(k) is not None})
        upload = upload_from_file(file, limit=limit)
    elif content_type in accepted_types:
        encoding = request.META.get("HTTP_CONTENT_ENCODING", "").lower()
        gzipped = True if "gzip" in encoding else None
        upload = spool_upload(request._request, limit=limit, gzipped=gzipped)
    else:
        raise UnsupportedMediaType(
            f"Send the {what} as {' or '.join(t for t in accepted_types if 'gzip' not in t and 'octet' not in t)} "
            "(optionally Content-Encoding: gzip), or as the multipart field 'file'."
        )
    if upload.size == 0:
        upload.close()
        raise UploadRefused(f"The {what} is empty.", line=1, column=1, code="empty")
    return upload, params


# --- Refusing DTDs before the parser sees them ----------------------------------------------------------


def _prolog_text(head: bytes) -> str:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return head.decode("utf-16", errors="replace")
    if head[:4] in (b"\x00<\x00?", b"<\x00?\x00"):
        return head.decode("utf-16-be" if head[0] == 0 else "utf-16-le", errors="replace")
    return head.decode("latin-1")


def _external_doctype_end(text: str, lt: int) -> int | None:
    """End of `<!DOCTYPE name PUBLIC|SYSTEM ...>` without an internal subset, or None if it has one/is cut."""
    end = text.find(">", lt)
    if end < 0:
        return None
    return None if "[" in text[lt:end] else end + 1


def check_prolog(
    file: IO[bytes], *, refused: type[UploadRefused] = UploadRefused, allow_external_doctype: bool = False
) -> None:
    """Refuse a DOCTYPE or ENTITY declaration before the root element, saying where it is.

    Reads until the first start tag (at most 1 MiB of prolog), then rewinds the file.
    """
    start = file.tell()
    head = b""
    try:
        while True:
            chunk = file.read(64 * 1024)
            head += chunk
            text = _prolog_text(head)
            pos = 0
            while True:
                lt = text.find("<", pos)
                if lt < 0 or lt + 1 >= len(text):
                    break
                nxt = text[lt + 1]
                if nxt == "?":
                    end = text.find("?>", lt)
                    if end < 0:
                        break
                    pos = end + 2
                elif nxt == "!":
                    if text.startswith("<!--", lt):
                        end = text.find("-->", lt)
                        if end < 0:
                            break
                        pos = end + 3
                        continue
                    if len(text) - lt < 9 and chunk:
                        break  # read more to see the whole keyword
                    keyword = text[lt : lt + 9].upper()
                    if allow_external_doctype and keyword == "<!DOCTYPE":
                        end = _external_doctype_end(text, lt)
                        if end is not None:
                            pos = end
                            continue
                    if keyword.startswith(("<!DOCTYPE", "<!ENTITY", "<!ELEMENT", "<!ATTLIST")):
                        line = text.count("\n", 0, lt) + 1
                        column = lt - (text.rfind("\n", 0, lt) + 1) + 1
                        raise refused(
                            "DOCTYPE and entity declarations are not accepted (XXE / entity expansion); "
                            "nothing was resolved",
                            line=line,
                            column=column,
                            code="doctype",
                        )
                    pos = lt + 2
                else:
                    return  # the root element starts here: the prolog is clean
            if not chunk or len(head) > 1024 * 1024:
                return
    finally:
        file.seek(start)


# --- Locked-down lxml -----------------------------------------------------------------------------------


def safe_iterparse(file: IO[bytes], *, tag=None, events=("start", "end")):
    """lxml iterparse locked down: no DTD, no entity resolution, no network."""
    return etree.iterparse(
        file,
        events=events,
        tag=tag,
        resolve_entities=False,
        load_dtd=False,
        no_network=True,
        dtd_validation=False,
        huge_tree=True,  # long text nodes; size is bounded by the upload limit
        remove_comments=True,
        remove_pis=True,
        recover=False,
    )


def syntax_refusal(
    exc: etree.XMLSyntaxError, log, *, refused: type[UploadRefused] = UploadRefused
) -> UploadRefused:
    """The first fatal parser error with its line and column (iterparse's own message is often generic)."""
    entries = [e for e in (log or []) if e.level_name in ("FATAL", "ERROR")]
    if entries:
        first = entries[0]
        line, column, msg, kind = first.line, first.column, first.message.strip(), first.type_name
    else:
        (line, column), msg, kind = (exc.position or (exc.lineno, exc.offset)), (exc.msg or str(exc)), ""
    line, column = max(line or 1, 1), max(column or 1, 1)
    if "ENTITY" in kind or "ntity" in msg:
        return refused(f"Entity references are not accepted: {msg}", line=line, column=column, code="entity")
    return refused(f"Malformed XML: {msg}", line=line, column=column, code="malformed")


def local_name(tag) -> str:
    """The tag without its namespace ('' for comments and other non-elements)."""
    if not isinstance(tag, str):
        return ""
    return tag.rpartition("}")[2] if tag[:1] == "{" else tag
