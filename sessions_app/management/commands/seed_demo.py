"""Demo data: logins for every role, funders, mentees covering each funding case, and sessions around today.

Safe to run again: people are found by email or name, and sessions are only booked for a demo mentor
who has none yet. Existing accounts keep their password.
"""

import calendar
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from sessions_app import roles
from sessions_app.models import Funder, FundingArrangement, Mentee, Mentor, MentorBankDetails, User
from sessions_app.services import appointment_book, bank_details_save

LONDON = ZoneInfo("Europe/London")
PASSWORD = "mentoring-demo"
SITE_URL = "http://127.0.0.1:8000"

MENTOR_EMAIL = "mentor@example.com"
MENTOR2_EMAIL = "mentor2@example.com"
LEADER_EMAIL = "leader@example.com"
FINANCE_EMAIL = "finance@example.com"

# email, full name, role, mentor pay rate (None: not a mentor)
PEOPLE = [
    (MENTOR_EMAIL, "Amelia Hart", roles.MENTOR, Decimal("32.00")),
    (MENTOR2_EMAIL, "Tom Whitfield", roles.MENTOR, Decimal("30.00")),
    (LEADER_EMAIL, "Priya Shah", roles.SENIOR_LEADERSHIP, None),
    (FINANCE_EMAIL, "Fiona Grant", roles.FINANCE, None),
]

STUDENT_FINANCE = "Student Finance England"
UNIVERSITY = "University of Northbridge"
EMPLOYER = "Harbour Logistics Ltd"

FUNDERS = [
    {
        "name": STUDENT_FINANCE,
        "billing_contact_name": "DSA Invoicing Team",
        "billing_email": "dsa-invoices@studentfinance.example",
        "billing_address": "PO Box 210\nDarlington\nDL1 9HJ",
        "sends_attendance_emails": False,
    },
    {
        "name": UNIVERSITY,
        "billing_contact_name": "Disability Support Service",
        "billing_email": "disability.finance@northbridge.ac.example",
        "billing_address": "Registry Building\nUniversity of Northbridge\nNorthbridge\nNB1 2UN",
        "sends_attendance_emails": True,
        "bill_only_confirmed": True,  # invoiced only for sessions Ravi confirms by his email's link
    },
    {
        "name": EMPLOYER,
        "billing_contact_name": "Accounts Payable",
        "billing_email": "ap@harbourlogistics.example",
        "billing_address": "Unit 4, Quayside Park\nBristol\nBS1 6XY",
        "sends_attendance_emails": False,
    },
]

CHLOE = "Chloe Adams"  # one arrangement: Funded by Student Finance England
RAVI = "Ravi Patel"  # Funded by the university and Self-funded, both valid today: the mentor chooses
GRACE = "Grace Liu"  # Self-funded only
JAMIE = "Jamie Brooks"  # no funding arrangement: wrapping up needs Admin Details, and goes to Finance
SAM = "Sam O'Neill"  # Funded by an employer

MENTEES = [
    (CHLOE, "chloe.adams@student.example", "07700 900101"),
    (RAVI, "ravi.patel@student.example", "07700 900102"),
    (GRACE, "grace.liu@example.org", "07700 900103"),
    (JAMIE, "jamie.brooks@example.org", "07700 900104"),
    (SAM, "sam.oneill@harbourlogistics.example", "07700 900105"),
]

IN_PERSON = "in_person"
ONLINE = "online"
ROOM = "Room 2, The Library, 14 Market Street, Northbridge"
OFFICE = "Meeting room B, 3 Quay Street, Bristol"


@dataclass
class Slot:
    starts_at: datetime
    minutes: int
    mentee: str
    mode: str


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=LONDON)


def shift_month(day: date, months: int) -> date:
    """The first day of the month `months` away from `day`'s month."""
    index = day.year * 12 + (day.month - 1) + months
    return date(index // 12, index % 12 + 1, 1)


def floor_half_hour(moment: datetime) -> datetime:
    return moment.replace(minute=0 if moment.minute < 30 else 30, second=0, microsecond=0)


def ceil_half_hour(moment: datetime) -> datetime:
    floored = floor_half_hour(moment)
    return floored if floored == moment else floored + timedelta(minutes=30)


def demo_slots(now: datetime, offset: int) -> list[Slot]:
    """Sessions around `now` for one mentor; `offset` (in days/hours) keeps two mentors' diaries apart."""
    local_now = now.astimezone(LONDON)
    today = local_now.date()
    last_month, next_month = shift_month(today, -1), shift_month(today, 1)
    days_in_month = calendar.monthrange(today.year, today.month)[1]
    slots = []

    # Past and still to wrap up: last month...
    slots.append(Slot(at(last_month.replace(day=6 + offset), 10), 60, CHLOE, IN_PERSON))
    slots.append(Slot(at(last_month.replace(day=19 + offset), 14), 60, JAMIE, ONLINE))
    # ...and earlier this month (nothing is earlier this month on the 1st but today's first session).
    for days_back, mentee, mode, hour in ((3, RAVI, IN_PERSON, 11), (1, GRACE, ONLINE, 16)):
        day = today - timedelta(days=days_back + offset)
        if day.month == today.month and day.year == today.year:
            slots.append(Slot(at(day, hour + offset), 60, mentee, mode))

    # Today: one that has started, one still to come.
    midnight = at(today, 0)
    earlier = max(midnight, floor_half_hour((now - timedelta(hours=2 + offset)).astimezone(LONDON)))
    slots.append(Slot(earlier, 60, RAVI if offset else CHLOE, ONLINE if offset else IN_PERSON))
    later = min(ceil_half_hour((now + timedelta(hours=1 + offset)).astimezone(LONDON)), at(today, 23, 0))
    if later <= now:
        later = (now + timedelta(minutes=5)).astimezone(LONDON).replace(second=0, microsecond=0)
    if later.date() == today:
        slots.append(Slot(later, 45, GRACE if offset else SAM, ONLINE))

    # Future: later this month and next month.
    later_this_month = today + timedelta(days=4 + offset)
    if later_this_month.day <= days_in_month and later_this_month.month == today.month:
        slots.append(Slot(at(later_this_month, 10 + offset), 60, SAM if offset else RAVI, IN_PERSON))
    slots.append(Slot(at(next_month.replace(day=3 + offset), 15), 60, CHLOE, ONLINE))
    slots.append(Slot(at(next_month.replace(day=12 + offset), 9, 30), 90, JAMIE if offset else GRACE, IN_PERSON))
    return slots


class Command(BaseCommand):
    help = "Create demo logins (password 'mentoring-demo'), funders, mentees and Service Appointments. Safe to rerun."

    def handle(self, *args, **options):
        now = timezone.now()
        with transaction.atomic():
            people = self.seed_people()
            funders = self.seed_funders()
            self.seed_mentees(funders, today=now.astimezone(LONDON).date())
            booked = 0
            for offset, email in enumerate((MENTOR_EMAIL, MENTOR2_EMAIL)):
                booked += self.seed_appointments(people[email].mentor_profile, now=now, offset=offset)
        self.stdout.write(f"Booked {booked} Service Appointments." if booked else
                          "The demo mentors already have Service Appointments; none booked.")
        self.print_logins(people)

    # ---- people ----
    def seed_people(self) -> dict[str, User]:
        people = {}
        for email, full_name, role, pay_rate in PEOPLE:
            user = User.objects.filter(email__iexact=email).first()
            if user is None:
                user = User.objects.create_user(email, PASSWORD, full_name=full_name)
                self.stdout.write(f"Created {role} login {email}.")
            user.groups.add(Group.objects.get(name=role))
            if pay_rate is not None:
                mentor, _ = Mentor.objects.get_or_create(user=user, defaults={"hourly_pay_rate": pay_rate})
                if email == MENTOR_EMAIL and not MentorBankDetails.objects.filter(mentor=mentor).exists():
                    # The other demo mentor has none: a payment run shows why it leaves them out.
                    bank_details_save(mentor=mentor, acting_user=user, account_name=full_name, sort_code="12-34-56",
                                      account_number="12345678")
            people[email] = user
        return people

    def seed_funders(self) -> dict[str, Funder]:
        funders = {}
        for details in FUNDERS:
            name, defaults = details["name"], {k: v for k, v in details.items() if k != "name"}
            funders[name], _ = Funder.objects.get_or_create(name=name, defaults=defaults)
        return funders

    def seed_mentees(self, funders: dict[str, Funder], *, today: date) -> None:
        mentees = {}
        for full_name, email, phone in MENTEES:
            mentees[full_name], _ = Mentee.objects.get_or_create(
                full_name=full_name, email=email, defaults={"phone": phone}
            )
        a_year_ago, in_a_year = today - timedelta(days=365), today + timedelta(days=365)
        funded, self_funded = FundingArrangement.Kind.FUNDED, FundingArrangement.Kind.SELF_FUNDED
        arrangements = [
            (CHLOE, funded, funders[STUDENT_FINANCE], "DSA-2291-0457", "58.00", "40.00", a_year_ago, in_a_year),
            (RAVI, funded, funders[UNIVERSITY], "PO 4500187732", "52.50", "20.00", a_year_ago, in_a_year),
            (RAVI, self_funded, None, "", "45.00", None, a_year_ago, None),
            (GRACE, self_funded, None, "", "45.00", None, a_year_ago, None),
            (SAM, funded, funders[EMPLOYER], "HL-PO-88120", "60.00", None, a_year_ago, in_a_year),
        ]
        for mentee, kind, funder, reference, rate, hours, valid_from, valid_until in arrangements:
            FundingArrangement.objects.get_or_create(
                mentee=mentees[mentee], kind=kind, funder=funder,
                defaults={
                    "reference": reference,
                    "hourly_rate": Decimal(rate),
                    "hours_allowance": Decimal(hours) if hours else None,
                    "valid_from": valid_from,
                    "valid_until": valid_until,
                },
            )

    # ---- appointments ----
    def seed_appointments(self, mentor: Mentor, *, now: datetime, offset: int) -> int:
        if mentor.appointments.exists():
            return 0
        mentees = {m.full_name: m for m in Mentee.objects.filter(full_name__in=[name for name, _, _ in MENTEES])}
        slots = demo_slots(now, offset)
        for slot in slots:
            appointment_book(
                mentor=mentor,
                mentee=mentees[slot.mentee],
                starts_at=slot.starts_at,
                ends_at=slot.starts_at + timedelta(minutes=slot.minutes),
                mode=slot.mode,
                location=self.location(slot, mentor),
                acting_user=None,
            )
        return len(slots)

    @staticmethod
    def location(slot: Slot, mentor: Mentor) -> str:
        if slot.mode == ONLINE:
            return f"https://meet.example.com/{mentor.user.email.split('@')[0]}-{slot.starts_at:%Y%m%d-%H%M}"
        return OFFICE if slot.mentee == SAM else ROOM

    def print_logins(self, people: dict[str, User]) -> None:
        self.stdout.write("")
        self.stdout.write("Demo logins (all with the password below unless the account already existed):")
        width = max(len(email) for email, *_ in PEOPLE)
        for email, _, role, _ in PEOPLE:
            self.stdout.write(f"  {email.ljust(width)}  /  {PASSWORD}  /  {role}  ({people[email].full_name})")
        site_url = getattr(settings, "SITE_URL", "") or SITE_URL
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(f"Open {site_url}  (Finance: {site_url}/admin/)"))
