"""Make sure a local superuser exists, for `make run`. Prints how to log in.

A new `admin` gets the password from QUALITYGOV_ADMIN_PASSWORD, or the demo password. An existing
`admin` (e.g. the demo project admin made by seed_demo) is promoted to superuser; its password is kept.
"""

import os

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from demo.data import DEMO_PASSWORD


class Command(BaseCommand):
    help = "Create or promote the local superuser (default 'admin') and print its credentials."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")

    def handle(self, *args, username, **options):
        User = get_user_model()
        password = os.environ.get("QUALITYGOV_ADMIN_PASSWORD") or DEMO_PASSWORD
        user, created = User.objects.get_or_create(
            username=username, defaults={"email": f"{username}@localhost"}
        )
        if created:
            user.set_password(password)
        user.is_superuser = True
        user.is_staff = True
        user.save()
        if created or user.check_password(password):
            shown = password
        else:
            shown = f"(unchanged; reset it with: manage.py changepassword {username})"
        self.stdout.write(self.style.SUCCESS(f"Superuser: {username} / {shown}"))
