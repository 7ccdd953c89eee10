"""What the apps' admin classes share: inlines without blank rows, and refusing the writes a service owns.

Not an app's admin module (qualitygov registers no models); the apps' `admin.py` build on these classes.
"""

from django.contrib import admin


class CompactInline(admin.TabularInline):
    """Related rows listed under their parent, with no empty forms added below them."""

    extra = 0


class RefuseWrites:
    """For a ModelAdmin or an inline: the admin refuses the writes named in `refused` ("add", "change", "delete"),
    because those rows are written by a service (which keeps their history) or never changed at all. Writes not
    named keep the admin's own permission check."""

    refused: tuple[str, ...] = ("add", "change", "delete")

    # `*args`: a ModelAdmin's add check takes the request only, an inline's also the parent object.
    def has_add_permission(self, request, *args):
        return "add" not in self.refused and super().has_add_permission(request, *args)

    def has_change_permission(self, request, obj=None):
        return "change" not in self.refused and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return "delete" not in self.refused and super().has_delete_permission(request, obj)


class ReadOnlyAdmin(RefuseWrites, admin.ModelAdmin):
    """Append-only records: visible in the admin, never added, edited or deleted there."""
