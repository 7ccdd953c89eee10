from .selectors import unread_count


def unread_notifications(request):
    """The bell's unread count, lazily: the query runs only when a template reads it, once per page."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    cache: dict[str, int] = {}

    def count() -> int:
        if "n" not in cache:
            cache["n"] = unread_count(user=user)
        return cache["n"]

    return {"unread_notifications": count}
