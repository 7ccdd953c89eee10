"""API plumbing shared by every app: pagination, body validation, the one exception handler, the id field of request
bodies. The list endpoint base is in qualitygov.endpoints."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, InterfaceError, OperationalError
from rest_framework import serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .errors import DomainError
from .services import MAX_ID

DATABASE_DOWN = (OperationalError, InterfaceError)


class Pagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


def validated(serializer_class, data, **kwargs) -> serializers.Serializer:
    """`serializer_class` bound to `data` and validated: DRF's 400 with the field errors when the input is bad."""
    serializer = serializer_class(data=data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer


def sent(request, serializer_class) -> dict:
    """A partial body (PATCH) validated by `serializer_class`: the fields the client sent, nothing defaulted (for
    serializers whose fields validate into their own names, without `source=`)."""
    data = validated(serializer_class, request.data, partial=True).validated_data
    return {name: value for name, value in data.items() if name in request.data}


def created(serializer_class, instance) -> Response:
    """201 with the new object as `serializer_class` renders it: the answer of every create."""
    return Response(serializer_class(instance).data, status=status.HTTP_201_CREATED)


def paginated(request, view, rows, serializer_class) -> Response:
    """One page of `rows` (`?page=`, `?page_size=`) rendered by `serializer_class`, in the list envelope
    (`count`, `next`, `previous`, `results`), for API views that are not generic views."""
    paginator = Pagination()
    page = paginator.paginate_queryset(rows, request, view=view)
    return paginator.get_paginated_response(serializer_class(page, many=True).data)


def exception_handler(exc, context):
    """Map domain errors to 400/403/409/413 with a message; let DRF handle its own; never a 500 for bad input.

    A refusal is `{detail, code}`; when it names an input field, also `field` and, for a 400, DRF's field-error
    entry (`{"version": ["..."]}`), so a client reads a service's refusal like a serializer's."""
    if isinstance(exc, DomainError):
        body = {"detail": exc.message, "code": exc.code}
        if exc.field:
            body["field"] = exc.field
            if exc.status_code == status.HTTP_400_BAD_REQUEST:
                body.setdefault(exc.field, [exc.message])
        for name, value in exc.details.items():
            body.setdefault(name, value)
        return Response(body, status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "message_dict"):
            return Response(exc.message_dict, status=status.HTTP_400_BAD_REQUEST)
        return Response({"detail": " ".join(exc.messages)}, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, DATABASE_DOWN):
        # The connection was lost or refused; the request's transaction did not commit.
        from .resilience import database_unavailable_response

        return database_unavailable_response(api=True)
    if isinstance(exc, IntegrityError):
        # A constraint caught what validation did not (usually a concurrent duplicate).
        return Response(
            {
                "detail": "The change conflicts with existing data (a unique or consistency rule).",
                "code": "conflict",
            },
            status=status.HTTP_409_CONFLICT,
        )
    return drf_exception_handler(exc, context)


def choice_field(default, **kwargs) -> serializers.ChoiceField:
    """An input choice among the values of `default`'s choices class (a TextChoices member), `default` when the
    field is left out."""
    return serializers.ChoiceField(choices=type(default).choices, default=default, **kwargs)


def id_field(**kwargs) -> serializers.IntegerField:
    """An object id in a request body: a positive number no larger than a 64-bit primary key holds (SQLite cannot
    even compare a larger one, positive or negative, with a column: a 500 instead of a field error)."""
    kwargs.setdefault("min_value", 1)
    return serializers.IntegerField(max_value=MAX_ID, **kwargs)
