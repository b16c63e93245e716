from datetime import date, timedelta
from decimal import Decimal

import factory
from django.contrib.auth.models import Group
from django.utils import timezone

from sessions_app import roles
from sessions_app.models import Funder, FundingArrangement, Mentee, Mentor, ServiceAppointment, User
from sessions_app.services import appointment_book

PASSWORD = "correct-horse-battery"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.com")
    full_name = factory.Sequence(lambda n: f"Person {n}")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        if extracted:
            self.groups.add(*Group.objects.filter(name__in=extracted))
        self.save()


class MentorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Mentor

    user = factory.SubFactory(UserFactory, roles=[roles.MENTOR])
    hourly_pay_rate = Decimal("30.00")


class MenteeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Mentee

    full_name = factory.Sequence(lambda n: f"Mentee {n}")
    email = factory.Sequence(lambda n: f"mentee{n}@example.org")


class FunderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Funder

    name = factory.Sequence(lambda n: f"Funder {n}")
    billing_contact_name = "Accounts Payable"
    billing_email = factory.Sequence(lambda n: f"accounts{n}@funder.example")
    billing_address = "1 Funding Street\nLondon\nEC1A 1AA"


class FundingArrangementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FundingArrangement

    mentee = factory.SubFactory(MenteeFactory)
    kind = FundingArrangement.Kind.FUNDED
    funder = factory.SubFactory(FunderFactory)
    reference = factory.Sequence(lambda n: f"PO-{1000 + n}")
    hourly_rate = Decimal("55.00")
    valid_from = date(2020, 1, 1)
    valid_until = None

    class Params:
        self_funded = factory.Trait(
            kind=FundingArrangement.Kind.SELF_FUNDED, funder=None, reference="", hourly_rate=Decimal("40.00")
        )


class AppointmentFactory(factory.django.DjangoModelFactory):
    """Books through the service, so every appointment gets a real SA reference and a 'booked' event."""

    class Meta:
        model = ServiceAppointment

    mentor = factory.SubFactory(MentorFactory)
    mentee = factory.SubFactory(MenteeFactory)
    starts_at = factory.LazyFunction(lambda: timezone.now().replace(microsecond=0) + timedelta(days=3))
    ends_at = factory.LazyAttribute(lambda o: o.starts_at + timedelta(hours=1))
    location = "Room 2, The Library"

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        status_fields = {k: kwargs.pop(k) for k in list(kwargs) if k not in {
            "mentor", "mentee", "starts_at", "ends_at", "mode", "location"}}
        appointment = appointment_book(acting_user=None, **kwargs)
        if status_fields:
            ServiceAppointment.objects.filter(pk=appointment.pk).update(**status_fields)
            appointment.refresh_from_db()
        return appointment
