"""Accounts: API tokens (obtain with a password, show, regenerate, revoke) behind the failed-login limits."""

from django.contrib.auth import authenticate
from django.db import transaction
from rest_framework.authtoken.models import Token

from . import ratelimit
from .errors import DomainError


class InvalidCredentials(DomainError):
    def __init__(self):
        super().__init__("Unable to log in with the given username and password.", code="invalid_credentials")


def obtain_token(*, username: str, password: str, ip: str, request=None) -> Token:
    """The user's token (created on first use) for a right username and password.

    Raises ratelimit.RateLimited (429) while the IP or the username is limited, InvalidCredentials (400)
    otherwise on a wrong or inactive account; each refusal for bad credentials counts as a failure.
    """
    ratelimit.check(ip, username)
    user = authenticate(request, username=username, password=password) if username and password else None
    if user is None or not user.is_active:
        ratelimit.register_failure(ip, username)
        raise InvalidCredentials()
    ratelimit.register_success(ip, username)
    token, _ = Token.objects.get_or_create(user=user)
    return token


def token_of(user) -> Token | None:
    return Token.objects.filter(user=user).first()


@transaction.atomic
def regenerate_token(user) -> Token:
    """A new key; the old one stops working at once."""
    Token.objects.filter(user=user).delete()
    return Token.objects.create(user=user)


def revoke_token(user) -> bool:
    deleted, _ = Token.objects.filter(user=user).delete()
    return bool(deleted)
