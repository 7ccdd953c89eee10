"""Fixtures shared by the whole suite: members per role, API clients with tokens, a headless browser."""

import os
import shutil

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from releases.models import Role

from .factories import MembershipFactory, ProjectFactory, ReleaseFactory, UserFactory

# Playwright's sync API runs an event loop in the test thread; the ORM calls the tests make there are
# ordinary synchronous calls, so Django's async-safety guard does not apply.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

PASSWORD = "pass-word-123"
CHROMIUM = os.environ.get("QUALITYGOV_CHROMIUM", "/usr/bin/chromium")


@pytest.fixture
def project(db):
    return ProjectFactory(key="PAY", name="Payments")


@pytest.fixture
def release(project):
    return ReleaseFactory(project=project, version="2.4.0", status="testing")


@pytest.fixture
def make_member(db, project):
    """make_member(role, project=None, username=None) -> a user holding that role in the project."""

    def _make(role: str, project_=None, username: str | None = None):
        target = project_ or project
        user = UserFactory(username=username or f"{role}_{target.key.lower()}")
        MembershipFactory(project=target, user=user, role=role)
        return user

    return _make


# The member(role) family: one member of the project per role, made through make_member (username "<role>_pay").
@pytest.fixture
def viewer(make_member):
    return make_member(Role.VIEWER)


@pytest.fixture
def qa(make_member):
    return make_member(Role.QA)


@pytest.fixture
def manager(make_member):
    return make_member(Role.MANAGER)


@pytest.fixture
def rm(make_member):
    return make_member(Role.RELEASE_MANAGER)


@pytest.fixture
def admin(make_member):
    return make_member(Role.ADMIN)


@pytest.fixture
def users_by_role(make_member):
    return {role: make_member(role) for role in Role.values}


@pytest.fixture
def api_client_for(db):
    """api_client_for(user) -> an APIClient authenticated with the user's token (None: anonymous)."""

    def _client(user=None):
        client = APIClient()
        if user is not None:
            token, _ = Token.objects.get_or_create(user=user)
            client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client

    return _client


# --- Honest markers -------------------------------------------------------
# `-m "not browser"` and `-m "not worker"` must leave out exactly the Playwright tests and the tests that start a
# real Celery worker. A test using the browser fixtures unmarked fails at collection; a test starting a worker
# unmarked fails when it starts one (tests/hardening/faultkit.Worker, tests/metrics/test_worker.py).

_running: dict = {}


def pytest_collection_modifyitems(config, items):
    unmarked = [
        item.nodeid
        for item in items
        if "browser" in getattr(item, "fixturenames", ()) and item.get_closest_marker("browser") is None
    ]
    if unmarked:
        raise pytest.UsageError(
            "Playwright tests must be marked @pytest.mark.browser: " + ", ".join(sorted(unmarked))
        )
    slow_modules_first(items)


# --- Order ------------------------------------------------------------------
# Modules whose tests take minutes in all (measured with --durations on the 2-core CI machine) run first, so that
# under pytest-xdist (make test: --dist worksteal) the run ends on short tests, not on one worker finishing a long
# module while the other idles. Each module stays in one piece, in its own order (module-scoped fixtures).
SLOW_FIRST = (
    "tests/hardening/test_page_input_fuzz.py",
    "tests/hardening/test_web_security_browser.py",
    "tests/hardening/test_phone_width_browser.py",
    "tests/hardening/test_web_security.py",
    "tests/metrics/test_consistency.py",
    "tests/foundation/test_seed_demo.py",
    "tests/hardening/test_hostile_input_generated.py",
    "tests/hardening/test_api_query_fuzz.py",
    "tests/metrics/test_browser.py",
    "tests/hardening/test_api_fuzz.py",
    "tests/gates/test_browser_economics.py",
    "tests/metrics/test_browser_drilldown.py",
)


def slow_modules_first(items) -> None:
    """Reorder `items` in place: the SLOW_FIRST modules in that order, then every other test as collected."""
    rank = {path: i for i, path in enumerate(SLOW_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))


def pytest_runtest_setup(item):
    _running["item"] = item


# --- Celery -----------------------------------------------------------------
# Eager tasks still borrow a producer from the app's pool, and those pools live in kombu's process-wide registry,
# keyed by broker: a test that closes one (a throwaway broker, a killed Redis, a sender app) leaves every later
# test of this process failing with "Acquire on closed pool". Each test therefore starts with open pools, and the
# test that left them closed is named in the report.
def _celery_pools_closed() -> bool:
    from qualitygov.celery import app

    producers = getattr(app.amqp, "_producer_pool", None)
    pools = (getattr(app, "_pool", None), producers, getattr(producers, "connections", None))
    return any(getattr(pool, "_closed", False) for pool in pools)


@pytest.fixture(autouse=True)
def _celery_pools_open(request):
    if _celery_pools_closed():
        import kombu.pools

        from qualitygov.celery import app

        kombu.pools.reset()
        app._pool = None
        app.amqp._producer_pool = None
    yield
    if _celery_pools_closed():
        request.node.user_properties.append(("celery_pools_closed", True))
        print(f"{request.node.nodeid} left the Celery pools closed")


def require_marker(name: str, what: str) -> None:
    """Fail the running test unless it carries the marker `name` (it `what`)."""
    item = _running.get("item")
    if item is not None and item.get_closest_marker(name) is None:
        pytest.fail(f"{item.nodeid} {what} but is not marked @pytest.mark.{name}")


# --- Browser --------------------------------------------------------------


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium driven by Playwright. Skips only where no Chromium is installed."""
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail(f"Chromium not found at {CHROMIUM}; CI must install it (make test does).")
        pytest.skip(f"Chromium not found at {CHROMIUM}")
    from playwright.sync_api import expect, sync_playwright

    # Assertions wait as long as actions do (Playwright's own default is 5 s): a page that answers after a real
    # import or a fresh metric computation on a busy 2-core machine must not fail a test that would pass later.
    expect.set_options(timeout=15_000)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1400, "height": 900})
    context.set_default_timeout(10_000)
    # Page loads go through the single-threaded live server, which on a busy 2-core machine (CI plus
    # background work) can take well over 10 s for a dashboard that computes on first view.
    context.set_default_navigation_timeout(30_000)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.js_errors = errors
    yield pg
    context.close()


@pytest.fixture
def login(page):
    """login(user) logs the user in through the real login form and returns the page."""

    def _login(user, password: str = PASSWORD):
        page.goto("/accounts/login/")
        page.fill("#id_username", user.username)
        page.fill("#id_password", password)
        page.click("button[type=submit]")
        page.wait_for_url(lambda url: "/accounts/login/" not in url)
        return page

    return _login
