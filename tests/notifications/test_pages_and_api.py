"""The bell, the notifications page and the API: everyone sees and marks only their own; the bell costs one query."""

import pytest
from django.test import Client

from notifications.kinds import Kind
from notifications.models import Notification, NotificationPreference

from .conftest import tell


def test_api_lists_only_my_notifications(two_users, api_client_for):
    alice, bob = two_users
    body = api_client_for(alice).get("/api/v1/notifications/").json()
    assert body["count"] == 3 and body["unread"] == 3
    assert {row["id"] for row in body["results"]} == set(
        Notification.objects.filter(user=alice).values_list("pk", flat=True)
    )
    assert body["results"][0]["project"] == "PAY" and body["results"][0]["read"] is False
    assert api_client_for(None).get("/api/v1/notifications/").status_code == 401


def test_api_mark_read_ignores_other_peoples_ids(two_users, api_client_for):
    alice, bob = two_users
    bobs = list(Notification.objects.filter(user=bob).values_list("pk", flat=True))
    mine = Notification.objects.filter(user=alice).values_list("pk", flat=True).first()
    answer = api_client_for(alice).post(
        "/api/v1/notifications/mark-read/", {"ids": [mine, *bobs]}, format="json"
    )
    assert answer.status_code == 200 and answer.json() == {"marked": 1, "unread": 2}
    assert not Notification.objects.filter(user=bob, read_at__isnull=False).exists()
    unread = api_client_for(alice).get("/api/v1/notifications/?unread=true").json()
    assert unread["count"] == 2 and mine not in {r["id"] for r in unread["results"]}
    answer = api_client_for(alice).post("/api/v1/notifications/mark-read/", {"all": True}, format="json")
    assert answer.json() == {"marked": 2, "unread": 0}
    assert Notification.objects.filter(user=bob, read_at__isnull=True).count() == 2


@pytest.mark.parametrize(
    ("body", "field"),
    [({}, "ids"), ({"ids": ["x"]}, "ids"), ({"ids": [0]}, "ids"), ({"all": "maybe"}, "all")],
)
def test_api_mark_read_refuses_bad_input_with_400(two_users, api_client_for, body, field):
    alice, _ = two_users
    answer = api_client_for(alice).post("/api/v1/notifications/mark-read/", body, format="json")
    assert answer.status_code == 400 and field in answer.json()
    assert not Notification.objects.filter(read_at__isnull=False).exists()


def test_api_preferences_read_and_switch(two_users, api_client_for):
    alice, _ = two_users
    client = api_client_for(alice)
    rows = client.get("/api/v1/notifications/preferences/").json()
    assert {r["kind"] for r in rows} == set(Kind.values) and all(r["in_app"] and r["email"] for r in rows)
    answer = client.put(
        "/api/v1/notifications/preferences/",
        {"preferences": [{"kind": "gate_failed", "email": False}]},
        format="json",
    )
    assert answer.status_code == 200
    assert {r["kind"]: (r["in_app"], r["email"]) for r in answer.json()}["gate_failed"] == (True, False)
    bad = client.put(
        "/api/v1/notifications/preferences/",
        {"preferences": [{"kind": "party", "email": False}]},
        format="json",
    )
    assert bad.status_code == 400 and "party" in bad.json()["detail"]
    assert NotificationPreference.objects.filter(user=alice).count() == 1


def test_bell_shows_the_unread_count_with_one_query(two_users, client, django_assert_num_queries):
    alice, _ = two_users
    client.force_login(alice)
    client.get("/notifications/preferences/")  # warm up whatever a first request loads once
    # session, user, the page's preferences, and the bell: one COUNT, whatever the number of notifications
    tell(alice, alice.memberships.first().project, 40)
    with django_assert_num_queries(4) as counted:
        page = client.get("/notifications/preferences/")
    assert 'id="bell-count">43<' in page.content.decode()
    count_queries = [
        q["sql"] for q in counted.captured_queries if 'FROM "notifications_notification"' in q["sql"]
    ]
    assert len(count_queries) == 1 and "COUNT(" in count_queries[0].upper()


def test_list_page_marks_one_then_all_read_and_shows_only_mine(
    two_users, client, django_assert_max_num_queries
):
    alice, bob = two_users
    client.force_login(alice)
    with django_assert_max_num_queries(8):
        page = client.get("/notifications/")
    html = page.content.decode()
    assert html.count('class="notification unread"') == 3
    assert "checkout &lt;crashes&gt;" in html  # escaped
    one = Notification.objects.filter(user=alice).first()
    # htmx: the list fragment comes back with the bell out of band
    answer = client.post("/notifications/read/", {"id": one.pk}, HTTP_HX_REQUEST="true")
    fragment = answer.content.decode()
    assert answer.status_code == 200 and fragment.count('class="notification unread"') == 2
    assert 'hx-swap-oob="true"' in fragment and 'id="bell-count">2<' in fragment
    # someone else's id changes nothing
    bobs = Notification.objects.filter(user=bob).first()
    client.post("/notifications/read/", {"id": bobs.pk})
    assert Notification.objects.get(pk=bobs.pk).read_at is None
    # plain form: mark all read, redirect back
    answer = client.post("/notifications/read/", {"all": "1"})
    assert (
        answer.status_code == 302
        and not Notification.objects.filter(user=alice, read_at__isnull=True).exists()
    )


def test_open_marks_read_and_follows_the_link_but_not_for_others(two_users, client):
    alice, bob = two_users
    client.force_login(alice)
    mine = Notification.objects.filter(user=alice).first()
    answer = client.get(f"/notifications/{mine.pk}/open/")
    assert answer.status_code == 302 and answer["Location"] == mine.url
    assert Notification.objects.get(pk=mine.pk).read_at is not None
    bobs = Notification.objects.filter(user=bob).first()
    assert client.get(f"/notifications/{bobs.pk}/open/").status_code == 404
    assert Notification.objects.get(pk=bobs.pk).read_at is None


def test_mark_read_without_a_choice_is_a_clear_400(two_users, client):
    alice, _ = two_users
    client.force_login(alice)
    answer = client.post("/notifications/read/", {}, HTTP_HX_REQUEST="true")
    assert answer.status_code == 400 and "Choose a notification" in answer.content.decode()


def test_preferences_page_saves_the_switches(two_users, client):
    alice, _ = two_users
    client.force_login(alice)
    form = {f"{kind}__{channel}": "on" for kind in Kind.values for channel in ("in_app", "email")}
    del form["defect_assigned__email"]
    assert client.post("/notifications/preferences/", form).status_code == 302
    page = client.get("/notifications/preferences/").content.decode()
    assert 'name="defect_assigned__email" >' in page or 'name="defect_assigned__email">' in page
    assert NotificationPreference.objects.get(user=alice, kind="defect_assigned").email is False


def test_pages_need_login():
    anonymous = Client()
    for url in ("/notifications/", "/notifications/preferences/"):
        answer = anonymous.get(url)
        assert answer.status_code == 302 and answer["Location"].startswith("/accounts/login/")


def test_api_list_is_bounded_in_queries(two_users, api_client_for, django_assert_max_num_queries):
    alice, _ = two_users
    tell(alice, alice.memberships.first().project, 60)
    client = api_client_for(alice)
    # token, count, page (with the project key joined), unread count: the same at 3 or 63 notifications
    with django_assert_max_num_queries(5):
        body = client.get("/api/v1/notifications/?page_size=100").json()
    assert body["count"] == 63 and len(body["results"]) == 63 and body["unread"] == 63
