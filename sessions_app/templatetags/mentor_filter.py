from django import template
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe

register = template.Library()


@register.simple_tag
def mentor_options(mentors, selected_id):
    """The <option>s of the mentor filter: (id, name) pairs, the selected one marked. Built in one pass: Senior
    Leadership's list holds every mentor, hundreds of them, on every calendar and dashboard page."""
    return format_html_join(
        "", '<option value="{}"{}>{}</option>',
        ((pk, mark_safe(" selected") if pk == selected_id else "", name) for pk, name in mentors),
    )
