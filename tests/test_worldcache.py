"""tests/worldcache.py: a kept world comes back row for row, with its sequences ahead of its ids."""

import pytest
from django.db import connection, transaction

from releases.models import Project, Release
from tests import worldcache

from .factories import ProjectFactory, ReleaseFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="worlds are kept on PostgreSQL only"),
]


def _build():
    project = ProjectFactory(key="CACHE")
    return {"project": project.pk, "releases": [ReleaseFactory(project=project).pk for _ in range(3)]}


def _kept_then_rolled_back():
    """A world built and kept in a savepoint that is rolled back: the database is as before, the copy remains."""
    with transaction.atomic():
        world, ids = worldcache._keep(_build)
        releases = sorted(Release.objects.values_list("id", "version", "created_at"))
        transaction.set_rollback(True)
    return world, ids, releases


def test_a_kept_world_comes_back_row_for_row_and_new_rows_get_new_ids():
    world, ids, releases = _kept_then_rolled_back()
    assert world is not None and not Project.objects.filter(key="CACHE").exists()
    assert set(world.rows) >= {"releases_project", "releases_release"}

    assert worldcache._restore(world)
    assert Project.objects.get(pk=ids["project"]).key == "CACHE"
    assert sorted(Release.objects.values_list("id", "version", "created_at")) == releases
    # the next release gets an id beyond the copied ones instead of colliding with them
    assert ReleaseFactory(project_id=ids["project"]).pk > max(ids["releases"])


def test_a_world_is_not_copied_over_rows_a_test_already_has():
    world, _, _ = _kept_then_rolled_back()
    ProjectFactory(key="MINE")
    assert not worldcache._restore(world)
    assert list(Project.objects.values_list("key", flat=True)) == ["MINE"]


def test_a_build_that_changes_rows_that_existed_before_is_not_kept():
    ProjectFactory(key="OLD")

    def build():
        Project.objects.filter(key="OLD").update(name="Renamed")
        return {}

    world, _ = worldcache._keep(build)
    assert world is None
