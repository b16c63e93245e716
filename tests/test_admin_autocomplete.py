"""Every admin page with an autocomplete box (mentor, mentee, funder, user) answers a posted value that is not a
row's id with the form's message, never a server error: the box is shown again with the posted choice, and looking
up ":" or a number past bigint once raised."""

import pytest
from django.contrib import admin
from django.urls import reverse

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

NOT_IDS = [":", "x", "1.5", str(2**64), "٣"]


def admins_with_autocomplete_boxes():
    return sorted(((model, model_admin) for model, model_admin in admin.site._registry.items()
                   if model_admin.autocomplete_fields), key=lambda pair: pair[0]._meta.label)


def test_the_project_has_autocomplete_boxes_to_check():
    assert {model._meta.label for model, _ in admins_with_autocomplete_boxes()} >= {
        "sessions_app.ServiceAppointment", "sessions_app.FundingArrangement", "sessions_app.Mentor",
        "invoicing.OutcomePolicy", "invoicing.MentorPayRate"}


@pytest.mark.parametrize("not_an_id", NOT_IDS)
@pytest.mark.parametrize("model, model_admin", admins_with_autocomplete_boxes(),
                         ids=lambda value: getattr(getattr(value, "_meta", None), "label", ""))
def test_a_value_that_is_no_id_gets_the_forms_message(client, model, model_admin, not_an_id):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_add")
    before = model.objects.count()
    response = client.post(url, {name: not_an_id for name in model_admin.autocomplete_fields})
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    for name in model_admin.autocomplete_fields:
        assert "Select a valid choice" in " ".join(errors.get(name, [])), (name, errors.get(name))
    assert model.objects.count() == before
