"""Pick the settings module from DJANGO_ENV (local by default, production when asked)."""

import os

_env = os.environ.get("DJANGO_ENV", "local").strip().lower()

if _env == "production":
    from .production import *
elif _env == "test":
    from .test import *
else:
    from .local import *
