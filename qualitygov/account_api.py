"""POST /api/v1/auth/token/: a username and password for the user's API token (for CI and scripts)."""

from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from . import accounts, ratelimit
from .api import validated


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=4096, trim_whitespace=False, style={"input_type": "password"})


class TokenResponseSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Send it as `Authorization: Token <token>`.")
    username = serializers.CharField()


@method_decorator(never_cache, name="dispatch")  # the answer is a credential: Cache-Control: no-store
class ObtainTokenApi(APIView):
    """Public: no session, no token, so no CSRF; refusals are limited like the log-in form."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        summary="Get your API token with a username and password",
        description=(
            "Answers the user's token, creating it on first use (the same token as on the /accounts/token/ "
            "page). Wrong credentials answer 400 with `code: invalid_credentials`. After "
            "QUALITYGOV_LOGIN_MAX_FAILURES failures (10) for one username from one address, or "
            "QUALITYGOV_LOGIN_MAX_FAILURES_PER_IP (50) from one address, within QUALITYGOV_LOGIN_WINDOW_SECONDS "
            "(300), those attempts answer 429 with `Retry-After` until the window ends."
        ),
        auth=[],
        request=TokenRequestSerializer,
        responses={
            200: TokenResponseSerializer,
            400: OpenApiResponse(
                description="Missing fields (field errors) or a wrong username or password "
                "(`{detail, code: invalid_credentials}`)."
            ),
            429: OpenApiResponse(
                response=inline_serializer(
                    "RateLimited",
                    {
                        "detail": serializers.CharField(),
                        "code": serializers.CharField(),
                        "retry_after": serializers.IntegerField(help_text="Seconds to wait."),
                    },
                ),
                description="Too many failed attempts for this username from this address, or from this address; "
                "the `Retry-After` header says how many seconds to wait.",
            ),
        },
        tags=["auth"],
    )
    def post(self, request):
        data = validated(TokenRequestSerializer, request.data)
        try:
            token = accounts.obtain_token(
                username=data.validated_data["username"],
                password=data.validated_data["password"],
                ip=ratelimit.client_ip(request),
                request=request._request,
            )
        except ratelimit.RateLimited as exc:
            return Response(
                {"detail": exc.message, "code": exc.code, "retry_after": exc.retry_after},
                status=429,
                headers={"Retry-After": str(exc.retry_after)},
            )
        return Response({"token": token.key, "username": token.user.get_username()})
