"""Pages: the user's notifications (mark read one by one or all, htmx or plain forms) and preferences.

Everything here is about the logged-in user's own notifications; another user's id is answered like a missing one.
"""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from qualitygov.errors import DomainError
from qualitygov.services import parse_id

from . import selectors, services
from .kinds import Channel, Kind
from .models import Notification

PAGE_SIZE = 30


def _list_context(request) -> dict:
    unread_only = request.GET.get("unread") == "1"
    page = Paginator(
        selectors.notification_list(user=request.user, unread_only=unread_only), PAGE_SIZE
    ).get_page(request.GET.get("page"))
    return {"page": page, "unread_only": unread_only}


@require_GET
def notification_list(request):
    """The user's notifications, newest first; `?unread=1` shows only unread ones."""
    return render(request, "notifications/list.html", _list_context(request))


@require_POST
def notifications_mark_read(request):
    """Mark one notification (`id`) or all (`all=1`) read. htmx gets the list fragment and the bell (out of band);
    a plain form goes back to the list."""
    everything = request.POST.get("all") == "1"
    ids = [] if everything else [pk for pk in map(parse_id, request.POST.getlist("id")) if pk]
    if not everything and not ids:
        error = "Choose a notification to mark read."
        if not request.htmx:
            messages.error(request, error)
            return redirect("notifications:list")
        context = {**_list_context(request), "oob_bell": True, "error": error}
        return render(request, "notifications/_list.html", context, status=400)
    changed = services.notifications_mark_read(user=request.user, ids=ids, everything=everything)
    if request.htmx:
        return render(request, "notifications/_list.html", {**_list_context(request), "oob_bell": True})
    messages.success(request, f"Marked {changed} notification{'s' if changed != 1 else ''} read.")
    return redirect("notifications:list")


@require_GET
def notification_open(request, pk: int):
    """Follow a notification's link, marking it read on the way."""
    notification = Notification.objects.filter(user=request.user, pk=pk).only("id", "url", "read_at").first()
    if notification is None:
        raise Http404("No such notification.")
    services.notifications_mark_read(user=request.user, ids=[notification.pk])
    target = notification.url
    if not target or not url_has_allowed_host_and_scheme(target, allowed_hosts=None):
        return redirect("notifications:list")
    return redirect(target)


@require_http_methods(["GET", "POST"])
def notification_preferences(request):
    """One switch per kind and channel; unticking a box stops that kind on that channel."""
    rows = selectors.preferences_for(user=request.user)
    status = 200
    if request.method == "POST":
        choices = {
            kind: {channel: request.POST.get(f"{kind}__{channel}") == "on" for channel in Channel.values}
            for kind in Kind.values
        }
        try:
            services.preferences_save(user=request.user, choices=choices)
        except DomainError as exc:  # not reachable from this form's own fields; answered clearly anyway
            messages.error(request, exc.message)
            status = 400
            rows = [
                {**row, **choices[row["kind"]]} for row in rows
            ]  # show what was ticked, not what is stored
        else:
            messages.success(request, "Notification preferences saved.")
            return redirect("notifications:preferences")
    return render(
        request, "notifications/preferences.html", {"rows": rows, "channels": Channel.choices}, status=status
    )
