from .selectors import project_list_for_user


def navigation(request):
    """Projects the user can see, for the navigation bar. Lazy: evaluated only if a template uses it."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"nav_projects": project_list_for_user(user=user).only("id", "key", "name")}
