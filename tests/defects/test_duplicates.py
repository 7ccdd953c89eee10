"""The duplicate finder: tokens, noise, rarity weights, typo tolerance, ranking, isolation, access, bounds.

Runs on SQLite and PostgreSQL alike: the candidates come from full-text + trigram search on PostgreSQL and
from a title scan on SQLite; the assertions hold for both.
"""

import pytest
from django.db import connection

from defects import duplicates, duplicates_pg
from defects.selectors import defect_similar_list, defect_similar_to
from defects.services import defect_create
from tests.factories import MembershipFactory, ProjectFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_tokens_keep_identifiers_and_their_parts():
    found = duplicates.tokens("NPE in S3AInputStream.read() when the stream is closed")
    assert {"npe", "s3ainputstream.read", "s3ainputstream", "input", "stream", "read", "closed"} <= found
    assert "the" not in found and "in" not in found


@pytest.mark.parametrize(
    ("word", "noise"),
    [
        ("42e0c02add28", True),  # a build hash
        ("0af39b10c9a7", True),
        ("20211108", True),  # a plain number
        ("2021-09-08t00", True),  # a timestamp
        ("x" * 41, True),  # a blob
        ("cve-2022-2047", False),
        ("hadoop-17890", False),
        ("log4j", False),
        ("3.3.4", False),  # the same version in two reports is a clue
        ("30.1.1-jre", False),
        ("accounts", False),
    ],
)
def test_noise_tokens_are_told_from_identifiers(word, noise):
    assert duplicates.is_noise(word) is noise


def test_hashes_urls_and_paths_are_not_query_words():
    text = "Seen in build 42e0c02add28, log at /var/log/app/server.log, see https://ci.example.org/job/17/"
    assert duplicates.words(text) == ["seen", "build", "log", "see"]


def test_rare_words_are_retrieval_terms_and_common_ones_are_not(project, qa):
    for i in range(30):
        defect_create(project=project, title=f"Upgrade library number {i}", by=qa)
    stats = duplicates.word_stats(project_id=project.pk)
    terms = duplicates.retrieval_terms(title="Upgrade jettison for CVE", description="", stats=stats)
    assert terms[:2] == ["jettison", "cve"] or set(terms[:2]) == {"jettison", "cve"}
    assert "upgrade" not in terms
    assert stats.idf("jettison") > stats.idf("upgrade")


def test_retrieval_terms_keep_the_real_words_next_to_an_unknown_token(project, qa):
    # given words in a sixth of the defects each, and a query with one token no defect has (a typo)
    for i in range(50):
        defect_create(project=project, title=f"Checkout step {i} is slow", by=qa)
    for i in range(10):
        defect_create(project=project, title=f"Invoice export {i} misses a column", by=qa)
    stats = duplicates.word_stats(project_id=project.pk)
    # when the terms are chosen
    terms = duplicates.retrieval_terms(title="Invoice exprot misses a column", description="", stats=stats)
    # then the typo is tried, but the real words are in the query too
    assert "exprot" in terms
    assert {"invoice", "misses", "column"} & set(terms)


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
    found = defect_similar_list(
        project_id=project.pk,
        title="upgrade jetty due to CVE-2022-2047",
        description="jetty in hadoop-client-runtime is vulnerable",
    )
    assert found[0].defect.pk == target.pk
    assert all(0 < s.score <= 1 for s in found)
    assert [s.score for s in found] == sorted((s.score for s in found), reverse=True)
    assert len(found) <= 5


def test_a_typo_in_the_title_still_finds_the_defect(project, qa):
    # given defects that differ in one word, and others
    accounts = defect_create(project=project, title="Export of accounts times out", by=qa)
    defect_create(project=project, title="Export of invoices times out", by=qa)
    defect_create(project=project, title="Export of payments times out", by=qa)
    for i in range(20):
        defect_create(project=project, title=f"Login page layout broken on tablet {i}", by=qa)
    # when the title is typed with "acounts" for "accounts"
    found = defect_similar_list(project_id=project.pk, title="Export of acounts times out")
    # then the accounts defect comes first
    assert found[0].defect.pk == accounts.pk


def test_a_typo_alone_still_finds_the_word_it_misspells(project, qa):
    accounts = defect_create(project=project, title="Refund to closed accounts is lost", by=qa)
    for i in range(20):
        defect_create(project=project, title=f"Login page layout broken on tablet {i}", by=qa)
    found = defect_similar_list(project_id=project.pk, title="acounts")
    assert [s.defect.pk for s in found][:1] == [accounts.pk]


def test_a_rare_noise_token_does_not_empty_the_result(project, qa):
    # given templated defects whose descriptions carry build hashes (the demo data's shape)
    target = defect_create(
        project=project,
        title="Basket logs a stack trace when the cache is cold",
        description="Steps to reproduce are in the linked test case.\n\nSeen in build b0a2cb68d2f6 on test.",
        by=qa,
    )
    for i, area in enumerate(["Identity", "Fraud", "Account", "Api", "Search", "Payments"] * 4):
        defect_create(
            project=project,
            title=f"{area} sends the e-mail twice after a deploy",
            description=f"Steps to reproduce are in the linked test case.\n\nSeen in build {i:04d}9fc{i:03d}e on test.",
            by=qa,
        )
    # when a new report of the same problem comes from another build
    found = defect_similar_list(
        project_id=project.pk,
        title="Basket logs a stack trace when the cache is cold",
        description="Steps to reproduce are in the linked test case.\n\nSeen in build 19be3b13bd1a on test.",
    )
    # then the hash neither empties the result nor outranks the words
    assert found and found[0].defect.pk == target.pk


def test_every_demo_like_defect_finds_its_siblings(project, qa):
    # given templated defects, two of each problem, hashes in every description
    made = []
    for i, area in enumerate(["Identity", "Fraud", "Basket", "Search", "Ledger"]):
        for j in range(2):
            made.append(
                defect_create(
                    project=project,
                    title=f"{area} rounds to the wrong cent after a session expiry",
                    description=f"Seen in build {i}{j}a39f73c8956 on test.",
                    by=qa,
                )
            )
    # then each one's page lists something, its twin first
    for defect in made:
        found = defect_similar_to(defect=defect)
        assert found, defect.title
        assert found[0].defect.title == defect.title


def test_stays_inside_the_project_and_excludes_itself(project, qa):
    mine = defect_create(project=project, title="Kafka client upgrade for CVE-2023-25194", by=qa)
    defect_create(project=ProjectFactory(key="OPS"), title="Kafka client upgrade for CVE-2023-25194", by=None)
    found = defect_similar_to(defect=mine)
    assert found == []


def test_never_suggests_another_projects_defects_even_when_they_match_best(project, qa):
    other = ProjectFactory(key="OPS")
    for i in range(5):
        defect_create(project=other, title=f"Export of accounts times out {i}", by=None)
    mine = defect_create(project=project, title="Exports are slow", by=qa)
    found = defect_similar_list(project_id=project.pk, title="Export of accounts times out")
    assert {s.defect.project_id for s in found} <= {project.pk}
    assert [s.defect.pk for s in found] in ([], [mine.pk])


def test_empty_query_finds_nothing(project):
    assert defect_similar_list(project_id=project.pk, title="  ", description="") == []
    assert defect_similar_list(project_id=project.pk, title="the and of", description="") == []
    assert defect_similar_list(project_id=project.pk, title="", description="build 42e0c02add28") == []


@pytest.mark.parametrize("size", [10, 60])
def test_similar_query_count_is_bounded(project, qa, django_assert_max_num_queries, size):
    for i in range(size):
        defect_create(project=project, title=f"Timeout in payment gateway call {i}", by=qa)
    with django_assert_max_num_queries(5):
        found = defect_similar_list(project_id=project.pk, title="payment gateway timeout")
    assert len(found) == 5


def test_api_and_page_fragment_share_the_selector_and_its_shape(client, api_client_for, qa, project):
    original = defect_create(project=project, title="Export of accounts times out", by=qa)
    defect_create(project=project, title="Dashboard colours are wrong", by=qa)
    # API: a list of {id, key, title, status, resolution, score}, best first
    body = (
        api_client_for(qa)
        .get("/api/v1/defects/similar/", {"project": "PAY", "title": "Export of acounts times out"})
        .json()
    )
    assert body[0] == {
        "id": original.pk,
        "key": original.key,
        "title": original.title,
        "status": "new",
        "resolution": "",
        "score": body[0]["score"],
    }
    assert 0 < body[0]["score"] <= 1
    # the create form's fragment lists the same defect
    client.force_login(qa)
    fragment = client.get("/defects/new/similar/", {"project": "PAY", "title": "Export of acounts times out"})
    assert f'data-key="{original.key}"' in fragment.content.decode()


@pytest.mark.parametrize(
    "path", ["/api/v1/defects/similar/?project=PAY&title=accounts", "/defects/new/similar/"]
)
def test_outsiders_get_nothing_from_another_project(client, api_client_for, project, qa, path):
    # given a user who is a member of another project only
    defect_create(project=project, title="Export of accounts times out", by=qa)
    outsider = UserFactory(username="outsider")
    MembershipFactory(project=ProjectFactory(key="OPS"), user=outsider, role="qa")
    # when they ask for PAY's similar defects (API or page fragment)
    if path.startswith("/api/"):
        response = api_client_for(outsider).get(path)
    else:
        client.force_login(outsider)
        response = client.get(path, {"project": "PAY", "title": "accounts"})
    # then PAY does not exist for them, and nothing of it is shown
    assert response.status_code == 404
    assert "accounts times out" not in response.content.decode()


def test_viewers_see_candidates_but_cannot_mark_them(client, project, qa, viewer):
    original = defect_create(project=project, title="Export of accounts times out", by=qa)
    copy = defect_create(project=project, title="Export of acounts times out", by=qa)
    client.force_login(viewer)
    page = client.get(f"/defects/{copy.key}/similar/").content.decode()
    assert f'data-key="{original.key}"' in page
    assert "Duplicate of this" not in page
    client.force_login(qa)
    assert "Duplicate of this" in client.get(f"/defects/{copy.key}/similar/").content.decode()


def test_anonymous_requests_are_refused(client, api_client_for, project, qa):
    defect = defect_create(project=project, title="Export of accounts times out", by=qa)
    assert api_client_for().get(f"/api/v1/defects/{defect.pk}/similar/").status_code in (401, 403)
    response = client.get(f"/defects/{defect.key}/similar/")
    assert response.status_code == 302 and "/login" in response["Location"]


@pytest.mark.parametrize("size", [5, 40])
def test_similar_api_and_fragment_query_counts_are_bounded(
    client, api_client_for, project, qa, django_assert_max_num_queries, size
):
    for i in range(size):
        defect_create(project=project, title=f"Export of accounts times out {i}", by=qa)
    defect = defect_create(project=project, title="Export of acounts times out", by=qa)
    api = api_client_for(qa)
    client.force_login(qa)
    with django_assert_max_num_queries(12):
        assert api.get(f"/api/v1/defects/{defect.pk}/similar/").status_code == 200
    with django_assert_max_num_queries(12):
        assert client.get(f"/defects/{defect.key}/similar/").status_code == 200


def _large_project_stats(**df):
    """Word frequencies as a 1,000-defect sample of a 100,000-defect project would show them."""
    return duplicates.WordStats(sample=1000, df=df, total=100_000, title_df={})


def test_common_words_are_searched_in_pairs_in_a_large_project():
    # given a project where "netty" and "upgrade" each match thousands of defects (2 % and 4 %)
    stats = _large_project_stats(netty=20, upgrade=40, hadoop=300, decoder=3)
    query = duplicates.prepare(title="Upgrade netty in hadoop", description="the decoder breaks", stats=stats)
    # when the retrieval query is built
    whole, _titles = duplicates_pg.retrieval_clauses(query=query, stats=stats)
    # then neither common word is searched alone, but the pair of them is, next to the rare word
    assert "'netty'" not in whole and "'upgrade'" not in whole
    assert "'netty' & 'upgrade'" in whole
    assert "'decoder'" in whole
    # and the commonest word joins no pair that could match more than the row budget
    assert "'hadoop' & 'upgrade'" not in whole


def test_only_unseen_words_that_could_be_misspellings_go_to_the_trigram_search():
    stats = _large_project_stats(export=50, times=80)
    query = duplicates.prepare(title="Export of acounts 4.1.46final times out", description="", stats=stats)
    assert duplicates_pg.trigram_text(query=query, stats=stats) == "acounts"


def test_several_shared_words_outrank_one_shared_rare_token(project, qa):
    # given the same rare version token pasted into many unrelated defects
    detail = "netty before 4.1.44 lets a header without a colon through the decoder"
    target = defect_create(
        project=project, title="Upgrade netty for the HTTP decoder CVE", description=detail, by=qa
    )
    for i in range(30):
        defect_create(
            project=project,
            title=f"4.1.46final tarball prefetch source {i}",
            description="stream mode client prefetch 4.1.46final",
            by=qa,
        )
    # when a report of the same problem names that version
    found = defect_similar_list(
        project_id=project.pk,
        title="Update netty to 4.1.46final",
        description="the HTTP header decoder in netty accepts a header without a colon (CVE)",
    )
    # then the defect sharing the words of the problem comes first
    assert found[0].defect.pk == target.pk


def test_postgres_ranks_full_text_matches_and_keeps_typo_matches(project, qa):
    if connection.vendor != "postgresql":
        pytest.skip("the database ranking is PostgreSQL's")
    accounts = defect_create(project=project, title="Export of accounts times out", by=qa)
    invoices = defect_create(project=project, title="Export of invoices fails", by=qa)
    for i in range(20):
        defect_create(project=project, title=f"Login page layout broken on tablet {i}", by=qa)
    stats = duplicates.word_stats(project_id=project.pk)
    query = duplicates.prepare(title="Export of acounts times out", description="", stats=stats)
    ranks = duplicates_pg.candidates(project_id=project.pk, query=query, stats=stats, exclude_id=None)
    # the defect sharing "export", "times" and "out" ranks above the one sharing "export" only
    assert ranks[accounts.pk] > ranks[invoices.pk] > 0


def test_postgres_search_indexes_keep_a_small_pending_list():
    if connection.vendor != "postgresql":
        pytest.skip("GIN indexes are PostgreSQL's")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, reloptions FROM pg_class WHERE relname = ANY(%s)",
            [["defect_search_vector", "defect_title_tsvector", "defect_title_trgm"]],
        )
        options = {name: sorted(opts) for name, opts in cursor.fetchall()}
    assert options == dict.fromkeys(
        ["defect_search_vector", "defect_title_tsvector", "defect_title_trgm"],
        ["fastupdate=on", "gin_pending_list_limit=256"],
    )


def test_a_text_of_long_unknown_identifiers_is_answered_not_refused(project, qa):
    # given a report naming a dozen long identifiers no defect has used; on SQLite each is also looked for by
    # its 4-letter pieces, about 150 weights in all (a left-deep sum of them overflowed SQLite's parser:
    # 74 of the 2,502 real Hadoop bugs failed so)
    known = defect_create(project=project, title="Gateway drops the session cookie", by=qa)
    unknown = " ".join("".join(chr(97 + (7 * i + 3 * j + j * j) % 26) for j in range(26)) for i in range(12))
    # when the finder is asked
    found = defect_similar_list(
        project_id=project.pk, title="Gateway drops the session cookie", description=unknown
    )
    # then it answers, the known defect first
    assert found[0].defect.pk == known.pk
