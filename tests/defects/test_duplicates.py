"""The duplicate finder: tokens, rarity weights, ranking, bounds; runs on SQLite and PostgreSQL alike."""

import pytest

from defects import duplicates
from defects.services import defect_create
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db


def test_tokens_keep_identifiers_and_their_parts():
    found = duplicates.tokens("NPE in S3AInputStream.read() when the stream is closed")
    assert {"npe", "s3ainputstream.read", "s3ainputstream", "input", "stream", "read", "closed"} <= found
    assert "the" not in found and "in" not in found


def test_rare_words_are_retrieval_terms_and_common_ones_are_not(project, qa):
    for i in range(30):
        defect_create(project=project, title=f"Upgrade library number {i}", by=qa)
    stats = duplicates.word_stats(project_id=project.pk)
    terms = duplicates.retrieval_terms(title="Upgrade jettison for CVE", description="", stats=stats)
    assert terms[:2] == ["jettison", "cve"] or set(terms[:2]) == {"jettison", "cve"}
    assert "upgrade" not in terms
    assert stats.idf("jettison") > stats.idf("upgrade")


def test_ranks_the_real_duplicate_first_with_scores_between_0_and_1(project, qa):
    target = defect_create(
        project=project,
        title="Jetty upgrade to 9.4.48 for CVE-2022-2047",
        by=qa,
        description="hadoop-client-runtime ships a vulnerable jetty",
    )
    for i in range(40):
        defect_create(project=project, title=f"Upgrade dependency {i} to latest", by=qa)
    defect_create(project=project, title="Jetty web UI shows a blank page", by=qa)
    found = duplicates.similar_defects(
        project_id=project.pk,
        title="upgrade jetty due to CVE-2022-2047",
        description="jetty in hadoop-client-runtime is vulnerable",
    )
    assert found[0].defect.pk == target.pk
    assert all(0 < s.score <= 1 for s in found)
    assert [s.score for s in found] == sorted((s.score for s in found), reverse=True)
    assert len(found) <= 5


def test_stays_inside_the_project_and_excludes_itself(project, qa):
    mine = defect_create(project=project, title="Kafka client upgrade for CVE-2023-25194", by=qa)
    defect_create(project=ProjectFactory(key="OPS"), title="Kafka client upgrade for CVE-2023-25194", by=None)
    found = duplicates.similar_to_defect(defect=mine)
    assert found == []


def test_empty_query_finds_nothing(project):
    assert duplicates.similar_defects(project_id=project.pk, title="  ", description="") == []
    assert duplicates.similar_defects(project_id=project.pk, title="the and of", description="") == []


def test_similar_query_count_is_bounded(project, qa, django_assert_max_num_queries):
    for i in range(60):
        defect_create(project=project, title=f"Timeout in payment gateway call {i}", by=qa)
    with django_assert_max_num_queries(5):
        found = duplicates.similar_defects(project_id=project.pk, title="payment gateway timeout")
    assert len(found) == 5
