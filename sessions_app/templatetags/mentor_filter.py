from django import template
from django.utils.safestring import mark_safe

from sessions_app.templatetags.appointments import escape

register = template.Library()


@register.simple_tag
def mentor_options(mentors, selected_id):
    """The <option>s of the mentor filter: (id, name) pairs, the selected one marked. Built in one pass: Senior
    Leadership's list holds every mentor, hundreds of them, on every calendar and dashboard page."""
    return mark_safe("".join(  # noqa: S308 (ids are integers, names escaped)
        f'<option value="{int(pk)}"{" selected" if pk == selected_id else ""}>{escape(name)}</option>'
        for pk, name in mentors
    ))
