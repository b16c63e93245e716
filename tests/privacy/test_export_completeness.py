"""The export is complete: every model that holds something about a person (a link to a mentee, a mentor, a user or
a session, or a field for a name, email, address, phone number or bank account) is read by a section of the
mentee's or the mentor's export, or is listed in `privacy.selectors.NOT_EXPORTED` with the reason. A model added with a person's
data and neither fails here, so the export cannot silently miss it."""

import re

from django.apps import apps
from django.apps.registry import Apps
from django.conf import settings
from django.db import models

from privacy.selectors import MENTEE_SECTIONS, MENTOR_SECTIONS, NOT_EXPORTED
from sessions_app.models import Mentee, Mentor, ServiceAppointment

PERSON_MODELS = {Mentee, Mentor, ServiceAppointment}
PERSONAL_FIELD = re.compile(r"(^|_)(name|email|address|phone|username|to|sort_code|account_number)($|_)")


def points_to_a_person(field) -> bool:
    if field.is_relation and field.concrete and field.related_model is not None:
        target = field.related_model
        return target in PERSON_MODELS or target._meta.label == settings.AUTH_USER_MODEL
    return False


def personal_fields(model) -> list[str]:
    """The fields of `model` that point to a person or hold a name, email, address or phone number."""
    return [field.name for field in model._meta.concrete_fields
            if points_to_a_person(field)
            or (not field.is_relation and PERSONAL_FIELD.search(field.name)
                and not isinstance(field, (models.BooleanField, models.GenericIPAddressField)))]


def covered() -> set[str]:
    return {model._meta.label for section in (*MENTEE_SECTIONS, *MENTOR_SECTIONS) for model in section.models}


def uncovered(models_) -> dict[str, list[str]]:
    return {model._meta.label: personal_fields(model) for model in models_
            if personal_fields(model) and model._meta.label not in covered() and model._meta.label not in NOT_EXPORTED}


def test_every_model_with_a_persons_data_is_exported_or_excluded_with_a_reason():
    missing = uncovered(apps.get_models(include_auto_created=True))
    assert not missing, (
        f"These models hold a person's data but the subject access export does not read them: {missing}. Add a "
        "section for each to privacy/selectors.py (MENTEE_SECTIONS or MENTOR_SECTIONS), or add it to NOT_EXPORTED "
        "with the reason it is not theirs to receive; erasure (privacy/services/erasure.py) must handle it too."
    )


def test_each_exclusion_has_a_reason_and_names_a_model_that_exists():
    labels = {model._meta.label for model in apps.get_models(include_auto_created=True)}
    for label, reason in NOT_EXPORTED.items():
        assert label in labels, f"{label} is excluded from the export but is no longer a model"
        assert reason and len(reason) > 20, f"{label}: say why it is not exported"
        assert label not in covered(), f"{label} is both exported and excluded"
        assert "not yet" not in reason.lower(), f"{label}: a model waiting to be exported is not an exclusion"


def test_a_new_model_with_a_persons_data_would_be_caught():
    registry = Apps()  # a registry of its own, so the project's stays as it is

    class Meta:
        app_label = "privacy"
        apps = registry

    mentee_note = type("MenteeNote", (models.Model,), {
        "__module__": __name__, "Meta": Meta, "mentee": models.ForeignKey(Mentee, on_delete=models.CASCADE),
        "text": models.TextField()})
    contact = type("EmergencyContact", (models.Model,), {
        "__module__": __name__, "Meta": type("Meta", (), {"app_label": "privacy", "apps": registry}),
        "contact_phone": models.CharField(max_length=20)})
    counter = type("Counter", (models.Model,), {
        "__module__": __name__, "Meta": type("Meta", (), {"app_label": "privacy", "apps": registry}),
        "value": models.IntegerField()})
    payee = type("Payee", (models.Model,), {
        "__module__": __name__, "Meta": type("Meta", (), {"app_label": "privacy", "apps": registry}),
        "sort_code": models.CharField(max_length=6), "account_number": models.CharField(max_length=8)})
    assert personal_fields(mentee_note) == ["mentee"]
    assert personal_fields(contact) == ["contact_phone"]
    assert personal_fields(payee) == ["sort_code", "account_number"]
    assert personal_fields(counter) == []
    assert set(uncovered([mentee_note, contact, payee, counter])) == {
        "privacy.MenteeNote", "privacy.EmergencyContact", "privacy.Payee"}


def test_the_sections_read_every_model_they_name(mo):
    """A section naming a model reads rows of it: for Mo, every section of both exports has something."""
    empty = [f"mentee: {section.name}" for section in MENTEE_SECTIONS if not list(section.rows(mo.mentee))]
    empty += [f"mentor: {section.name}" for section in MENTOR_SECTIONS if not list(section.rows(mo.mentor))
              # django-axes keeps that log only when AXES_ENABLE_ACCESS_FAILURE_LOG is on (it is off here)
              and not (section.name == "failed_log_ins" and not settings.AXES_ENABLE_ACCESS_FAILURE_LOG)]
    assert not empty
