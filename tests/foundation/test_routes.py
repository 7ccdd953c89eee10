"""qualitygov.routes.object_pages: the standard pages of a kind of object, routed and named alike in every app."""

from django.urls import reverse

from qualitygov.routes import object_pages


def _view(request, pk=None):
    return None


def test_object_pages_routes_the_given_pages_and_names_them_after_the_noun():
    # given a kind with a list, a create and an edit page but no detail page
    routes = object_pages("widgets", "widget", listing=_view, create=_view, edit=_view)
    # then only those are routed, below the prefix, named <noun>_<page>
    assert [(str(r.pattern), r.name) for r in routes] == [
        ("widgets/", "widget_list"),
        ("widgets/new/", "widget_create"),
        ("widgets/<int:pk>/edit/", "widget_edit"),
    ]


def test_the_apps_pages_keep_their_names_and_paths():
    assert reverse("incidents:incident_detail", args=[3]) == "/incidents/3/"
    assert reverse("testing:requirement_create") == "/requirements/new/"
    assert reverse("testing:testcase_edit", args=[5]) == "/testcases/5/edit/"
    assert reverse("releases:release_list") == "/releases/"
