"""The admin site every ModelAdmin of the project (and of the apps it installs) is registered on.

`MentoringAdminSite.register` gives each ModelAdmin `RefusesBadInput` as well as its own behaviour, so that input
the Django admin does not check itself (ids posted to an action, the date hierarchy's year, month and day) gets a
message and a redirect rather than a server error, on every list.
"""

import functools
from datetime import UTC, date, datetime, time, timedelta

from django.conf import settings
from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.admin.views.autocomplete import AutocompleteJsonView
from django.contrib.admin.views.main import ERROR_FLAG
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.utils import timezone


# --------------------------------------------------------------------------- input the Django admin does not check


def _date_hierarchy_range(year: str, month: str | None, day: str | None) -> tuple[datetime, datetime]:
    """The range `ChangeList.get_filters` filters on for ?<field>__year=…&<field>__month=…&<field>__day=…, worked out
    the same way, as aware datetimes and in UTC too (as the database is sent them). Raises ValueError or
    OverflowError for a date that does not exist or whose range falls outside the years Python can hold."""
    start = date(int(year), int(month) if month is not None else 1, int(day) if day is not None else 1)
    if day is not None:
        end = start + timedelta(days=1)
    elif month is not None:
        end = (start + timedelta(days=32)).replace(day=1)
    else:
        end = start.replace(year=start.year + 1)
    bounds = [datetime.combine(start, time()), datetime.combine(end, time())]
    if settings.USE_TZ:
        bounds = [timezone.make_aware(bound).astimezone(UTC) for bound in bounds]
    return bounds[0], bounds[1]


class RefusesBadInput:
    """What every ModelAdmin on the site does with input the Django admin passes on unchecked:

    - an action posted with a selected id that is not a valid primary key (a tampered or broken page; Django
      filters `pk__in=` with it and fails) does nothing and says so;
    - an action whose selected rows no longer exist (a stale page, or made-up ids) does nothing and says so, rather
      than reporting "0 changed" or nothing at all;
    - a date-hierarchy address whose year, month or day is not a date the list can filter on (not a number, zero,
      negative, or so big that the date cannot be held) goes back to the whole list (the admin's usual `?e=1`) with
      a message, where Django raises OverflowError for a year it cannot hold.
    """

    def _selection_message(self, problem: str) -> str:
        return f"{problem}: the page may be out of date. Nothing was changed."

    def response_action(self, request, queryset):
        pk_field = self.opts.pk
        for value in request.POST.getlist(helpers.ACTION_CHECKBOX_NAME):
            try:
                if "\x00" in value:
                    raise ValidationError("Null characters are not allowed.")
                pk_field.to_python(value)
            except ValidationError:
                self.message_user(
                    request,
                    self._selection_message(f"The selected {self.opts.verbose_name_plural} could not be found"),
                    messages.ERROR,
                )
                return None  # the changelist redirects back to itself
        return super().response_action(request, queryset)

    def get_actions(self, request):
        return {
            name: (self._refusing_an_empty_selection(func), name, description)
            for name, (func, name, description) in super().get_actions(request).items()
        }

    def _refusing_an_empty_selection(self, func):
        @functools.wraps(func)
        def action(model_admin, request, queryset):
            if not queryset.exists():
                model_admin.message_user(
                    request,
                    model_admin._selection_message(
                        f"None of the selected {model_admin.opts.verbose_name_plural} exist any more"),
                    messages.ERROR,
                )
                return None
            return func(model_admin, request, queryset)

        return action

    def _date_hierarchy_is_usable(self, request) -> bool:
        field = self.date_hierarchy
        if not field:
            return True
        year, month, day = (request.GET.getlist(f"{field}__{part}") or [None] for part in ("year", "month", "day"))
        year, month, day = year[-1], month[-1], day[-1]  # the values the admin uses, as it reads them
        if year is None:
            # The admin's own links always name the year; a month or a day without one is not one of them.
            return month is None and day is None
        try:
            _date_hierarchy_range(year, month, day)
        except (ValueError, OverflowError):
            return False
        return True

    def changelist_view(self, request, extra_context=None):
        if not self._date_hierarchy_is_usable(request) and self.has_view_or_change_permission(request):
            self.message_user(
                request, "The list cannot be shown for the date in that address, so it shows every date.",
                messages.ERROR,
            )
            return HttpResponseRedirect(f"{request.path}?{ERROR_FLAG}=1")
        return super().changelist_view(request, extra_context)


# --------------------------------------------------------------------------- fields a screen reader can name


def name_fields(form_class, *, every_field: bool):
    """Gives form fields the admin shows without a `<label for>` their label as their accessible name (WCAG 1.3.1,
    4.1.2): each part of a date-and-time field (its "Date:" and "Time:" are plain text), and with `every_field` every
    field, for the forms the admin lays out under column headings (a tabular inline's rows, a list's editable
    columns). README, "Accessibility"."""
    for field in form_class.base_fields.values():
        widget = getattr(field.widget, "widget", field.widget)  # inside a RelatedFieldWidgetWrapper
        label = str(field.label or "")
        if isinstance(widget, forms.MultiWidget):
            parts = ("date", "time") if isinstance(widget, forms.SplitDateTimeWidget) else range(1, 10)
            for part, subwidget in zip(parts, widget.widgets):
                subwidget.attrs.setdefault("aria-label", f"{label}: {part}")
        elif every_field and label:
            widget.attrs.setdefault("aria-label", label)
    return form_class


class NamesEveryField:
    """Mixed into every ModelAdmin and inline on the site (`MentoringAdminSite.register`): see `name_fields`."""

    def get_form(self, request, obj=None, **kwargs):
        return name_fields(super().get_form(request, obj, **kwargs), every_field=False)

    def get_changelist_formset(self, request, **kwargs):
        return _named_formset(super().get_changelist_formset(request, **kwargs), every_field=True)

    def get_formset(self, request, obj=None, **kwargs):  # an inline's
        return _named_formset(super().get_formset(request, obj, **kwargs), every_field="tabular" in self.template)


def _named_formset(formset_class, *, every_field: bool):
    name_fields(formset_class.form, every_field=every_field)
    if not every_field:
        return formset_class

    class Named(formset_class):
        def add_fields(self, form, index):
            super().add_fields(form, index)  # the "Delete" box of each row
            for name, field in form.fields.items():
                if name not in form.base_fields and field.label and not field.widget.is_hidden:
                    field.widget.attrs.setdefault("aria-label", str(field.label))

    Named.__name__ = Named.__qualname__ = formset_class.__name__
    return Named


def _with(mixin, admin_class):
    if issubclass(admin_class, mixin):
        return admin_class
    return type(admin_class.__name__, (mixin, admin_class), {
        "__module__": admin_class.__module__, "__qualname__": admin_class.__qualname__, "__doc__": admin_class.__doc__,
    })


class NulRefusingAutocompleteJsonView(AutocompleteJsonView):
    """The autocomplete of the admin's related-object fields. No name, email or reference contains a NUL character,
    and PostgreSQL refuses one in a query: a search term with one matches nothing."""

    def get_queryset(self):
        if "\x00" in self.term:
            return self.model_admin.get_queryset(self.request).none()
        return super().get_queryset()


def may_use_admin(user) -> bool:
    return user.is_active and (user.is_staff or user.has_perm("sessions_app.use_admin"))


class FinanceAdminAuthenticationForm(AdminAuthenticationForm):
    """The admin's log-in, open to Finance (by permission) as well as staff."""

    def confirm_login_allowed(self, user):
        AuthenticationForm.confirm_login_allowed(self, user)
        if not may_use_admin(user):
            raise ValidationError(
                self.error_messages["invalid_login"], code="invalid_login",
                params={"username": self.username_field.verbose_name},
            )


# --------------------------------------------------------------------------- the site


class MentoringAdminSite(admin.AdminSite):
    """The Finance back office. Finance (and staff) get in; mentors and Senior Leadership do not."""

    site_header = "Mentoring: Finance admin"
    site_title = "Mentoring admin"
    index_title = "Finance"
    login_form = FinanceAdminAuthenticationForm

    def has_permission(self, request):
        return may_use_admin(request.user)

    def register(self, model_or_iterable, admin_class=None, **options):
        """Registers as Django does, with `RefusesBadInput` and `NamesEveryField` mixed into the ModelAdmin (ours,
        Django's, axes') and `NamesEveryField` into its inlines."""
        admin_class = _with(NamesEveryField, _with(RefusesBadInput, admin_class or admin.ModelAdmin))
        if admin_class.inlines and not all(issubclass(inline, NamesEveryField) for inline in admin_class.inlines):
            admin_class.inlines = tuple(_with(NamesEveryField, inline) for inline in admin_class.inlines)
        super().register(model_or_iterable, admin_class, **options)

    def autocomplete_view(self, request):
        return NulRefusingAutocompleteJsonView.as_view(admin_site=self)(request)
