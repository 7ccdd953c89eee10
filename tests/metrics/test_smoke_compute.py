import pytest

from metrics.registry import PROJECT_KEYS, RELEASE_KEYS
from metrics.services import compute_for_release


@pytest.mark.django_db
def test_compute_for_release_on_an_empty_release_gives_every_key(release):
    results = compute_for_release(release=release)
    assert set(results) == set(RELEASE_KEYS + PROJECT_KEYS)
    assert results["test_pass_rate"].value is None
