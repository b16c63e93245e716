"""Validators shared by model fields (which cover the admin and model forms) and plain forms."""

from django.core.exceptions import ValidationError

ONE_LINE_MESSAGE = "This must be on one line: remove the line break."


def validate_one_line(value) -> None:
    """A name, subject, reference or address ends up in an email header or a one-line display: refuse a line break
    (any that str.splitlines() knows, \\r and \\n among them) at entry, with a clear message."""
    if value and str(value).splitlines() != [str(value)]:
        raise ValidationError(ONE_LINE_MESSAGE, code="one_line")
