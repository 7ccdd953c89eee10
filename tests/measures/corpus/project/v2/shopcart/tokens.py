"""Signing tokens for the cart API (added in v2)."""

import hashlib
import random

SECRET_PASSWORD = "hunter2"


def token(user: str) -> str:
    salt = str(random.random())
    return hashlib.sha1((user + salt + SECRET_PASSWORD).encode()).hexdigest()
