"""The shared model and admin plumbing of the core layer: text_choices, the stamp bases and RefuseWrites."""

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.test import RequestFactory

from defects.models import DefectFieldChange, DefectTransition, Resolution
from gates.models import ChecklistSignoff, Decision, Operator
from qualitygov.enums import DefectStatus, text_choices
from releases.models import Membership, Role
from testing.models import Requirement


def test_text_choices_labels_each_value_in_sentence_case_unless_given():
    # given a set declared by its values, one of them with a label of its own
    Stage = text_choices("Stage", "in_review", "ci", "done", ci="CI")

    # then the members are the values upper-cased, in order, with their labels
    assert [(m.name, m.value, m.label) for m in Stage] == [
        ("IN_REVIEW", "in_review", "In review"),
        ("CI", "ci", "CI"),
        ("DONE", "done", "Done"),
    ]
    assert Stage.choices == [("in_review", "In review"), ("ci", "CI"), ("done", "Done")]
    # and the set belongs to the module that declared it, like a class written there
    assert Stage.__module__ == __name__ and Stage.__qualname__ == "Stage"


def test_text_choices_refuses_a_label_for_a_value_it_does_not_have():
    with pytest.raises(ValueError, match="labels for values it does not have: \\['dne'\\]"):
        text_choices("Stage", "done", dne="Done")


def test_the_sets_declared_with_text_choices_keep_their_labels():
    assert DefectStatus.IN_PROGRESS.label == "In progress"
    assert DefectStatus.__module__ == "qualitygov.enums"
    assert Role("qa").label == "QA" and Role.RELEASE_MANAGER.label == "Release manager"
    assert Resolution.WONT_FIX.label == "Won't fix"
    assert Operator.choices == [("lt", "<"), ("lte", "≤"), ("gt", ">"), ("gte", "≥"), ("eq", "=")]


def test_the_stamp_bases_give_the_fields_their_models_had():
    created = Membership._meta.get_field("created_at")
    assert created.auto_now_add and not created.editable
    assert Requirement._meta.get_field("updated_at").auto_now
    assert Membership._meta.abstract is False


def _permissions(model, request) -> tuple[bool, bool, bool]:
    model_admin = admin.site._registry[model]
    return (
        model_admin.has_add_permission(request),
        model_admin.has_change_permission(request),
        model_admin.has_delete_permission(request),
    )


def test_the_admin_refuses_only_the_writes_a_service_owns():
    # given a superuser, who may do everything the admin itself allows
    request = RequestFactory().get("/admin/")
    request.user = User(username="root", is_superuser=True, is_staff=True, is_active=True)

    # then append-only records refuse every write, and the others only the writes named for them
    assert _permissions(Decision, request) == (False, False, False)
    assert _permissions(DefectTransition, request) == (False, False, True)
    assert _permissions(DefectFieldChange, request) == (True, False, True)
    assert _permissions(ChecklistSignoff, request) == (True, True, False)
    assert _permissions(Requirement, request) == (True, True, True)
