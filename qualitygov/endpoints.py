"""Generic API endpoints every app builds on (kept apart from qualitygov.api, which DRF's settings import while
its generic views are being defined)."""

from rest_framework.generics import GenericAPIView

from .api import Pagination, paginated


# A list endpoint: one page (`?page=`, `?page_size=`) of what `rows(request, params, **url_kwargs)` reads through the
# app's selectors, rendered by `serializer_class`. The filters are the query parameters `rows` reads (the selectors
# hold every filter; no filter backend applies). A subclass declares `queryset = Model.objects.none()` for the schema
# generator and documents `get` with extend_schema_view. (Comments, not docstrings: drf-spectacular would publish a
# docstring of this class or its methods as every subclass's operation description.)
class ListApi(GenericAPIView):
    filter_backends = ()
    pagination_class = Pagination

    def rows(self, request, params, **kwargs):
        raise NotImplementedError

    def get(self, request, *args, **kwargs):
        return paginated(
            request, self, self.rows(request, request.query_params, **kwargs), self.serializer_class
        )
