"""Generic API endpoints every app builds on: a list read through selectors, one object read, edited and deleted
through its selector and services. (Kept apart from qualitygov.api, which DRF's settings import while its generic
views are being defined.)"""

from drf_spectacular.utils import extend_schema_view
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from . import schema
from .api import Pagination, paginated, validated


# A list endpoint: one page (`?page=`, `?page_size=`) of what `rows(request, params, **url_kwargs)` reads through the
# app's selectors, rendered by `serializer_class`. The filters are the query parameters `rows` reads (the selectors
# hold every filter; no filter backend applies). A subclass documents `get` with extend_schema_view. (Comments, not
# docstrings: drf-spectacular would publish a docstring of this class or its methods as every subclass's operation
# description.)
class ListApi(GenericAPIView):
    filter_backends = ()
    pagination_class = Pagination

    def rows(self, request, params, **kwargs):
        raise NotImplementedError

    def get_queryset(self):
        # Asked by the schema generator only: no rows of the listed model (or of `queryset` where a subclass names it).
        if self.queryset is not None:
            return self.queryset.none()
        return self.serializer_class.Meta.model.objects.none()

    def get(self, request, *args, **kwargs):
        return paginated(
            request, self, self.rows(request, request.query_params, **kwargs), self.serializer_class
        )


# One object by id: read it (GET), edit it (PATCH, or PUT with the same partial body), delete it (DELETE). A subclass
# names the object (`noun`; `arg`, the keyword its services take it by), its serializers, the selector that finds it
# for the user (`find(user=..., pk=...)`, 404 outside their projects) and the services that change and delete it
# (`update(<arg>=..., by=..., data=...)`, `remove(<arg>=..., by=...)`, which check the role: 403); its operations are
# documented from the same names.
class ItemApi(APIView):
    noun: str
    arg: str
    deleted: str  # the summary of DELETE: what goes with the object
    output: type[serializers.Serializer]
    update_input: type[serializers.Serializer]
    find: staticmethod
    update: staticmethod
    remove: staticmethod

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        edit = schema.changes(f"Edit a {cls.noun}", cls.update_input, cls.output)
        reads = schema.reads(f"One {cls.noun}", cls.output)
        extend_schema_view(get=reads, patch=edit, put=edit, delete=schema.deletes(cls.deleted))(cls)

    def get(self, request, pk: int):
        return Response(self.output(self.find(user=request.user, pk=pk)).data)

    def patch(self, request, pk: int):
        item = self.find(user=request.user, pk=pk)
        data = validated(self.update_input, request.data, partial=True).validated_data
        self.update(**{self.arg: item}, by=request.user, data=dict(data))
        return Response(self.output(item).data)

    put = patch

    def delete(self, request, pk: int):
        self.remove(**{self.arg: self.find(user=request.user, pk=pk)}, by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
