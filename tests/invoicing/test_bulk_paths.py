"""invoicing/bulk.py writes the month end's rows two ways: COPY on PostgreSQL (and `= ANY(array)` for their audit
trail), the ORM's bulk INSERT elsewhere (and IN lists of 500). Both run here on PostgreSQL on the same random rows
(text with tabs, newlines, backslashes, "\\N" and any Unicode; amounts; dates; empty and NULL columns), and must
store the same values, fill the columns they are not given with the same defaults, give back ids in the order of
the rows, and write the same audit trail.
"""

from contextlib import contextmanager
from datetime import date
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from invoicing.bulk import insert_history, insert_rows, insert_rows_returning_ids
from invoicing.models import Invoice, InvoiceLine
from invoicing.services.month_end import INVOICE_FIELDS, INVOICE_LINE_FIELDS
from tests.factories import AppointmentFactory, MenteeFactory
from tests.strategies import examples

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


@contextmanager
def rolled_back():
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def text(max_size: int) -> st.SearchStrategy[str]:
    """Any text PostgreSQL stores (not NUL), with COPY's own escapes and separators drawn often."""
    awkward = st.sampled_from(["", "\\N", "\\", "\t", "\n", "\r\n", "a\tb\\nc", "\\.", "'\"", "£ – é 🙂", " "])
    return st.one_of(awkward, st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=max_size))


money = st.decimals(min_value=0, max_value=Decimal("99999999.99"), places=2)


@st.composite
def invoice_rows(draw, mentee_id: int):
    rows = []
    for n in range(draw(st.integers(1, 6))):
        net, vat = draw(money), draw(money)
        rows.append((
            "draft", date(2026, 11, 1), date(2026, 11, 30), f"mentee:{mentee_id}:{n}", None, None, mentee_id,
            draw(text(200)), draw(text(254)), draw(text(300)), draw(text(100)),
            draw(st.decimals(min_value=0, max_value=Decimal("999.99"), places=2)), net, vat, net + vat,
        ))
    return rows


@st.composite
def line_values(draw):
    """An invoice line's values, but for its invoice and session."""
    return (draw(st.dates(date(2000, 1, 1), date(2099, 12, 31))), draw(text(20)), draw(text(150)),
            draw(st.sampled_from(["attended", "late_cancellation", "did_not_attend"])),
            draw(st.integers(0, 2**31 - 1)), draw(st.decimals(min_value=0, max_value=Decimal("999999.99"), places=2)),
            draw(money), draw(st.booleans()), draw(st.booleans()), draw(text(200)))  # ..., the rule applied


def stored(model, ids, leave_out=("id", "created_at")) -> list[dict]:
    """The rows as stored, in the order of `ids`, without the columns that differ between two runs."""
    names = [f.attname for f in model._meta.concrete_fields if f.attname not in leave_out]
    rows = {row["id"]: row for row in model.objects.filter(id__in=ids).values("id", *names)}
    return [{name: rows[pk][name] for name in names} for pk in ids]


def history_of(ids) -> list[dict]:
    history = Invoice.history.model
    names = [f.attname for f in history._meta.concrete_fields
             if f.attname not in ("history_id", "history_date", "id", "created_at")]
    rows = {row["id"]: row for row in history.objects.filter(id__in=ids).values("id", *names)}
    assert history.objects.filter(id__in=ids).count() == len(ids)  # one each
    return [{name: rows[pk][name] for name in names} for pk in ids]


@pytest.fixture
def mentee(db):
    return MenteeFactory(full_name="Sam Self")


@pytest.fixture
def sessions(mentee):
    return [AppointmentFactory(mentee=mentee) for _ in range(4)]


@examples(25)
@given(data=st.data())
def test_copy_and_the_orm_store_the_same_rows_and_audit_trail(mentee, sessions, data):
    invoices = data.draw(invoice_rows(mentee.pk), label="invoices")
    lines = data.draw(st.lists(line_values(), min_size=1, max_size=4), label="lines")
    results = {}
    for copy in (False, True):
        with rolled_back():
            before = timezone.now()
            ids = insert_rows_returning_ids(Invoice, INVOICE_FIELDS, invoices, copy=copy)
            insert_history(Invoice, ids, history_type="+", change_reason="Month-end job", array=copy)
            line_rows = [(ids[n % len(ids)], sessions[n].pk, *values) for n, values in enumerate(lines)]
            insert_rows(InvoiceLine, INVOICE_LINE_FIELDS, line_rows, copy=copy)
            created = list(Invoice.objects.filter(pk__in=ids).values_list("created_at", flat=True))
            assert all(before <= moment <= timezone.now() for moment in created), copy
            line_ids = list(InvoiceLine.objects.filter(invoice_id__in=ids).order_by("pk").values_list("pk", flat=True))
            stored_lines = [{**row, "invoice_id": ids.index(row["invoice_id"])}  # which of the rows given
                            for row in stored(InvoiceLine, line_ids)]
            results[copy] = (stored(Invoice, ids), stored_lines, history_of(ids))
            # The ids come back in the order of the rows given.
            assert [row["group_key"] for row in results[copy][0]] == [row[3] for row in invoices]
    by_orm, by_copy = results[False], results[True]
    assert by_copy[0] == by_orm[0]
    assert by_copy[1] == by_orm[1]
    assert by_copy[2] == by_orm[2]


@examples(5)
@given(count=st.sampled_from([1, 499, 500, 501, 1001]))
def test_both_ways_of_writing_the_audit_trail_cover_every_row_past_500(mentee, count):
    rows = [("draft", date(2026, 11, 1), date(2026, 11, 30), f"mentee:{mentee.pk}:{n}", None, None, mentee.pk,
             f"Sam {n}", "", "", "", Decimal("20.00"), Decimal("1.00"), Decimal("0.20"), Decimal("1.20"))
            for n in range(count)]
    written = {}
    for array in (False, True):
        with rolled_back():
            ids = insert_rows_returning_ids(Invoice, INVOICE_FIELDS, rows)
            insert_history(Invoice, ids, history_type="~", change_reason="Month-end job", array=array)
            written[array] = sorted(Invoice.history.filter(id__in=ids).values_list("bill_to_name", "history_type"))
    assert written[True] == written[False] == sorted((f"Sam {n}", "~") for n in range(count))
