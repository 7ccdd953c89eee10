"""Risk by change class (metrics.md): gate thresholds per change class, and verified_critical_requirements."""

import pytest

from gates.forms import format_class_thresholds, parse_class_thresholds
from gates.models import GateCondition, QualityGate
from gates.services import gate_create, gate_evaluate, gate_update, gates_create_defaults
from metrics.release_metrics import verified_critical_requirements
from qualitygov.errors import DomainError
from tests import factories as f

pytestmark = pytest.mark.django_db


def _same_evidence(release, *, passed: int, failed: int) -> None:
    """`passed` + `failed` test cases with one latest result each in the release."""
    run = f.TestRunFactory(release=release)
    for i in range(passed + failed):
        case = f.TestCaseFactory(project=release.project, title=f"{release.version} case {i}")
        f.TestResultFactory(run=run, test_case=case, status="passed" if i < passed else "failed")


def test_same_evidence_passes_a_hotfix_gate_and_fails_a_major_one(project, qa, admin):
    # given a gate whose pass-rate condition asks 97 of a major release and 90 of a hotfix (default 95)
    gate = gate_create(
        project=project,
        by=admin,
        name="Go-live",
        conditions=[
            {
                "metric": "test_pass_rate",
                "operator": "gte",
                "error_threshold": 95,
                "class_thresholds": {
                    "major": {"error_threshold": 97},
                    "hotfix": {"error_threshold": 90, "warn_threshold": 95},
                },
            }
        ],
    )
    # and a hotfix and a major release with the same evidence: 24 of 25 tests passed (96 %)
    hotfix = f.ReleaseFactory(project=project, version="9.0.1", status="ready", change_class="hotfix")
    major = f.ReleaseFactory(project=project, version="10.0.0", status="ready", change_class="major")
    minor = f.ReleaseFactory(project=project, version="9.1.0", status="ready", change_class="minor")
    for release in (hotfix, major, minor):
        _same_evidence(release, passed=24, failed=1)
    # when the gate is evaluated for each
    results = {r.change_class: gate_evaluate(gate=gate, release=r, by=qa) for r in (hotfix, major, minor)}
    # then the hotfix passes (96 >= 95), the major fails (96 < 97), the minor uses the default pair (96 >= 95)
    assert results["hotfix"].status == "passed"
    assert results["major"].status == "failed"
    assert results["minor"].status == "passed"
    row = results["major"].conditions[0]
    assert (row["value"], row["error_threshold"], row["thresholds_from"], row["change_class"]) == (
        96.0,
        97.0,
        "major",
        "major",
    )
    assert results["minor"].conditions[0]["thresholds_from"] == "default"


def test_default_release_candidate_gate_is_stricter_for_major_than_for_hotfix(project, qa):
    # given the default gates and a hotfix and a major release with the same evidence (96 % passed)
    gates_create_defaults(project=project, by=None)
    rc = QualityGate.objects.get(project=project, name="Release candidate -> Production")
    hotfix = f.ReleaseFactory(project=project, version="3.0.1", status="ready", change_class="hotfix")
    major = f.ReleaseFactory(project=project, version="4.0.0", status="ready", change_class="major")
    for release in (hotfix, major):
        _same_evidence(release, passed=24, failed=1)
    # when the go-live gate is evaluated
    rows = {
        r.change_class: {c["metric"]: c for c in gate_evaluate(gate=rc, release=r, by=qa).conditions}
        for r in (hotfix, major)
    }
    # then the pass-rate condition passes for the hotfix (90/95) and fails for the major release (97/99)
    assert rows["hotfix"]["test_pass_rate"]["outcome"] == "passed"
    assert rows["major"]["test_pass_rate"]["outcome"] == "failed"
    # and every per-class pair of the defaults asks at least as much of a major release as of a hotfix
    for condition in rc.conditions.exclude(class_thresholds={}):
        major_error, _, _ = condition.thresholds_for("major")
        hotfix_error, _, _ = condition.thresholds_for("hotfix")
        stricter = (
            major_error >= hotfix_error
            if condition.operator in ("gt", "gte")
            else major_error <= hotfix_error
        )
        assert stricter, condition.metric
    assert rc.conditions.filter(metric="verified_critical_requirements").exists()


@pytest.mark.parametrize(
    "class_thresholds, message",
    [
        ({"giant": {"error_threshold": 1}}, "not a change class"),
        ({"major": {"error_threshold": "x"}}, "must be numbers"),
        ({"major": {"error_threshold": 95, "warn_threshold": 90}}, "must not be below"),
        ({"major": {"error_threshold": 95, "colour": 1}}, "unknown field"),
        (["major"], "maps a change class"),
    ],
)
def test_bad_class_thresholds_are_refused_and_nothing_changes(project, admin, class_thresholds, message):
    # given a gate with one plain condition
    gate = gate_create(
        project=project,
        by=admin,
        name="Plain",
        conditions=[{"metric": "test_pass_rate", "operator": "gte", "error_threshold": 95}],
    )
    # when per-class thresholds that make no sense are saved
    with pytest.raises(DomainError) as caught:
        gate_update(
            gate=gate,
            by=admin,
            data={
                "conditions": [
                    {
                        "id": gate.conditions.get().pk,
                        "metric": "test_pass_rate",
                        "operator": "gte",
                        "error_threshold": 95,
                        "class_thresholds": class_thresholds,
                    }
                ]
            },
        )
    # then the message names the problem and the condition is unchanged
    assert message in caught.value.message
    assert GateCondition.objects.get(gate=gate).class_thresholds == {}
    gate.refresh_from_db()
    assert gate.revision == 1


def test_editor_text_round_trips_and_refuses_nonsense():
    parsed = parse_class_thresholds("major 97/99, hotfix: 90")
    assert parsed == {
        "major": {"error_threshold": 97.0, "warn_threshold": 99.0},
        "hotfix": {"error_threshold": 90.0, "warn_threshold": None},
    }
    assert format_class_thresholds(parsed) == "major 97/99, hotfix 90"
    assert parse_class_thresholds("") == {}
    for bad in ("giant 5", "major", "major x/y", "major 1/2/3"):
        with pytest.raises(ValueError):
            parse_class_thresholds(bad)


def test_verified_critical_requirements_counts_only_high_and_critical(project):
    # given a release with four requirements in scope: critical verified, high failing, medium and low verified
    release = f.ReleaseFactory(project=project, version="5.0.0")
    run = f.TestRunFactory(release=release)
    for key, criticality, status in (
        ("C1", "critical", "passed"),
        ("H1", "high", "failed"),
        ("M1", "medium", "passed"),
        ("L1", "low", "failed"),
    ):
        requirement = f.RequirementFactory(project=project, key=key, criticality=criticality)
        f.in_scope(requirement, release)
        case = f.TestCaseFactory(project=project)
        f.link(case, requirement)
        f.TestResultFactory(run=run, test_case=case, status=status)
    # when the metric is computed
    result = verified_critical_requirements(release=release, as_of=run.finished_at)
    # then it is 1 verified of the 2 high/critical requirements: 50 %, n = 2
    assert (result.value, result.n, result.details["verified"]) == (50.0, 2, 1)
    # and as of before the results it is 0 % (nothing has a result yet), not no data
    earlier = run.finished_at.replace(year=run.finished_at.year - 1)
    assert verified_critical_requirements(release=release, as_of=earlier).value == 0.0


def test_verified_critical_requirements_is_no_data_without_critical_scope(project):
    release = f.ReleaseFactory(project=project, version="5.1.0")
    f.in_scope(f.RequirementFactory(project=project, key="M9", criticality="medium"), release)
    result = verified_critical_requirements(release=release, as_of=release.created_at)
    assert (result.value, result.n) == (None, 0)


def _editor_post(project, **condition):
    data = {
        "name": "Per class",
        "description": "",
        "order": 4,
        "is_active": "on",
        "evaluate_on_schedule": "on",
        "cond-TOTAL_FORMS": 1,
        "cond-INITIAL_FORMS": 0,
        "cond-0-metric": "test_pass_rate",
        "cond-0-operator": "gte",
        "cond-0-error_threshold": "95",
        "cond-0-missing_data": "fail",
        "item-TOTAL_FORMS": 0,
        "item-INITIAL_FORMS": 0,
    }
    data.update({f"cond-0-{k}": v for k, v in condition.items()})
    return data


def test_editor_saves_per_class_thresholds_and_keeps_the_text_after_an_error(project, admin, client):
    client.force_login(admin)
    url = f"/projects/{project.key}/gates/new/"
    # when the text names an unknown class: 400, the message, the typed text kept, nothing saved
    bad = client.post(url, _editor_post(project, class_thresholds="giant 90"))
    body = bad.content.decode()
    assert bad.status_code == 400 and "write a change class" in body and 'value="giant 90"' in body
    assert not QualityGate.objects.filter(name="Per class").exists()
    # when the warn threshold of a class is on the wrong side: 400 naming the class, nothing saved
    wrong = client.post(url, _editor_post(project, class_thresholds="major 97/90"))
    assert wrong.status_code == 400 and "major" in wrong.content.decode()
    assert 'value="major 97/90"' in wrong.content.decode()
    assert not QualityGate.objects.filter(name="Per class").exists()
    # when it is right: saved, and the edit form shows it back as typed
    assert (
        client.post(url, _editor_post(project, class_thresholds="major 97/99, hotfix 90")).status_code == 302
    )
    gate = QualityGate.objects.get(name="Per class")
    assert gate.conditions.get().class_thresholds == {
        "major": {"error_threshold": 97.0, "warn_threshold": 99.0},
        "hotfix": {"error_threshold": 90.0, "warn_threshold": None},
    }
    assert 'value="major 97/99, hotfix 90"' in client.get(f"/gates/{gate.pk}/edit/").content.decode()


def test_api_takes_and_answers_class_thresholds_and_refuses_a_non_admin(
    project, admin, manager, api_client_for
):
    body = {
        "project": project.key,
        "name": "API gate",
        "conditions": [
            {
                "metric": "test_pass_rate",
                "operator": "gte",
                "error_threshold": 95,
                "class_thresholds": {"major": {"error_threshold": 98}},
            }
        ],
    }
    refused = api_client_for(manager).post("/api/v1/gates/", body, format="json")
    assert refused.status_code == 403 and not QualityGate.objects.filter(name="API gate").exists()
    created = api_client_for(admin).post("/api/v1/gates/", body, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["conditions"][0]["class_thresholds"] == {
        "major": {"error_threshold": 98.0, "warn_threshold": None}
    }
