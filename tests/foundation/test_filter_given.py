"""qualitygov.selectors.filter_given: a lookup applies only when its value is given."""

import pytest

from qualitygov.selectors import filter_given
from releases.models import Project
from tests import factories as f


@pytest.mark.django_db
def test_only_given_lookups_filter_in_the_order_named():
    pay = f.ProjectFactory(key="PAY", name="Payments")
    f.ProjectFactory(key="WEB", name="Storefront")
    everything = Project.objects.order_by("key")
    # Empty values ("", None, 0, False) mean "any": nothing is filtered.
    assert list(filter_given(everything, key="", name__icontains=None, pk=0, description=False)) == list(
        everything
    )
    assert list(filter_given(everything, key="PAY", name__icontains="")) == [pay]
    assert list(filter_given(everything, key="PAY", name__icontains="store")) == []
