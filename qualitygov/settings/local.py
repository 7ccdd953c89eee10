"""Local development: DEBUG on, fixed dev secret, SQLite and eager Celery unless the environment says otherwise."""

from .base import *
from .base import env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
