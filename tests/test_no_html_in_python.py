"""HTML lives in templates (README, Architecture, "Templates"): pages, emails and PDFs in jinja2/, the admin's own in
templates/admin/. Python code builds no HTML: no mark_safe()/format_html()/SafeString() and no string or f-string
that starts with a tag. A string of HTML in Python escapes by hand (or forgets to), hides markup from whoever edits
the templates, and is how the calendar once grew its own month and weekday names.

The one allowance is Django's idiom for the admin: a `format_html(...)` link in an admin module's list_display or
readonly field (sessions_app/admin/, invoicing/admin/), whose values format_html escapes itself.
"""

import ast
import re
from pathlib import Path

from django.conf import settings

APPS = ("sessions_app", "invoicing", "notifications", "mentoring")
MARKUP_CALLS = {"mark_safe", "format_html", "format_html_join", "SafeString", "SafeText", "Markup"}
ADMIN_ALLOWED = {"format_html"}
TAG = re.compile(r"\s*</?[a-zA-Z][a-zA-Z0-9-]*(\s|/?>|$)")


def python_files():
    for app in APPS:
        for path in sorted((settings.BASE_DIR / app).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path


def _name(func) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _leading_text(node) -> str | None:
    """The literal text a string or f-string starts with."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr) and node.values and isinstance(node.values[0], ast.Constant):
        return node.values[0].value
    return None


def html_built_in(path: Path) -> list[str]:
    relative = path.relative_to(settings.BASE_DIR)
    in_admin = "admin" in relative.parts[:-1]
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(relative))
    allowed_strings = set()
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _name(node.func) in MARKUP_CALLS:
            if in_admin and _name(node.func) in ADMIN_ALLOWED:
                allowed_strings.update(id(arg) for arg in node.args[:1])
            else:
                found.append(f"{relative}:{node.lineno}: {_name(node.func)}()")
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            allowed_strings.update(id(part) for part in node.values)  # judged as the whole f-string
    for node in ast.walk(tree):
        text = _leading_text(node)
        if text is not None and id(node) not in allowed_strings and TAG.match(text):
            found.append(f"{relative}:{node.lineno}: string starting with HTML {text.strip()[:40]!r}")
    return sorted(found, key=lambda problem: int(problem.split(":")[1]))


def test_no_python_code_builds_html():
    found = [problem for path in python_files() for problem in html_built_in(path)]
    assert not found, "HTML built in Python; write it in a template (jinja2/, or templates/admin/):\n" + "\n".join(found)


def test_the_check_finds_html_built_in_python(tmp_path, settings):
    """The scan above is not vacuous: each way of building HTML it forbids is found."""
    app = tmp_path / "sessions_app"
    (app / "admin").mkdir(parents=True)
    (app / "views.py").write_text(
        "from django.utils.safestring import mark_safe\n"
        "from django.utils.html import format_html\n"
        "def badge(a):\n"
        "    return mark_safe(f'<span class=\"badge\">{a}</span>')\n"
        "def link(url):\n"
        "    return format_html('<a href=\"{}\">x</a>', url)\n"
        "ROW = '<tr><td>{}</td></tr>'\n"
        "NOT_HTML = '< 3 hours'\n"
    )
    (app / "admin" / "lists.py").write_text(
        "from django.utils.html import format_html\n"
        "def link(url):\n"
        "    return format_html('<a href=\"{}\">PDF</a>', url)\n"
    )
    settings.BASE_DIR = tmp_path
    found = [problem for path in python_files() for problem in html_built_in(path)]
    assert found == [
        "sessions_app/views.py:4: mark_safe()",
        "sessions_app/views.py:4: string starting with HTML '<span class=\"badge\">'",
        "sessions_app/views.py:6: format_html()",
        "sessions_app/views.py:6: string starting with HTML '<a href=\"{}\">x</a>'",
        "sessions_app/views.py:7: string starting with HTML '<tr><td>{}</td></tr>'",
    ]
