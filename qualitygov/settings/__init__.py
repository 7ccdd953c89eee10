"""Pick the settings module from DJANGO_ENV (local by default, production when asked).

Only when `qualitygov.settings` itself is the settings module: when DJANGO_SETTINGS_MODULE names one of the
modules here (pytest-django uses `qualitygov.settings.test`), Python still runs this file first, and it must not
load the local settings (and `base` with them) before that module has had its say.
"""

import os

if os.environ.get("DJANGO_SETTINGS_MODULE", __name__) == __name__:
    _env = os.environ.get("DJANGO_ENV", "local").strip().lower()

    if _env == "production":
        from .production import *
    elif _env == "test":
        from .test import *
    else:
        from .local import *
