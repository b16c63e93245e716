"""Hypothesis strategies for hostile input: what a careless, confused or malicious client can post.

Values are strings as a browser sends them (None means "leave the field out"); ids come as numbers of every size,
as text that only looks like a number, and as the ids of other people's things, which the tests mix in with
`st.sampled_from`.
"""

import os

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st


def hypothesis_profile() -> str:
    return os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") == "true" else "dev")


def examples(n: int):
    """A test's Hypothesis settings: n examples (ten times as many in the "nightly" profile), no deadline (the
    database and the machine vary), on top of the profile loaded in tests/conftest.py (derandomised in CI)."""
    return settings(
        max_examples=n * (10 if hypothesis_profile() == "nightly" else 1), deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large,
                               HealthCheck.filter_too_much],
    )


# Text that has broken forms, templates, URLs and databases somewhere before.
NASTY_TEXT = [
    "", " ", "   \t\n ", "\x00", "a\x00b", "\x00" * 10, "\r\n", "\u200b", "\ufeff", "\u202eevil", "\u0085",
    "<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "{{ 7|add:7 }}", "{% debug %}", "%s%s%n",
    "' OR 1=1 --", "'; DROP TABLE sessions_app_serviceappointment; --", "../../etc/passwd", "%00", "%2e%2e%2f",
    "NaN", "None", "null", "undefined", "true", "[]", "{}", "0", "-1", "1e9", "0x1F", "1_000", "٣", "²", "𝟙𝟚",
    "Ω≈ç√∫˜µ≤", "👩🏽‍🏫", "ß" * 50, "ﷺ" * 20,
]

# Numbers that are not quite ids.
NASTY_NUMBERS = [
    "-1", "0", "00", "+1", " 1", "1 ", "1.0", "1e3", "0x10", "1_0", "²", "١٢", "𝟙", "9" * 19, "9" * 40, "9" * 5000,
    str(2**63), str(2**63 - 1), str(-(2**63) - 1), "NaN", "inf", "",
]

control_text = st.text(alphabet=st.characters(categories=["Cc", "Cf", "Zs", "Zl", "Zp"]), max_size=30)


def huge_text(min_repeat: int = 2_000, max_repeat: int = 25_000) -> st.SearchStrategy[str]:
    """10,000 characters and more: a short random piece repeated (Hypothesis cannot draw that much text at once)."""
    return st.builds(lambda piece, times: piece * times,
                     st.text(min_size=5, max_size=8).filter(lambda piece: piece.strip()),
                     st.integers(min_repeat, max_repeat))


decoded_bytes = st.binary(max_size=300).map(lambda raw: raw.decode("utf-8", errors="ignore"))

short_hostile_text = st.one_of(st.text(max_size=60), control_text, decoded_bytes, st.sampled_from(NASTY_TEXT))

hostile_text = st.one_of(short_hostile_text, huge_text())

hostile_number = st.one_of(
    st.integers(),  # any size, negative included
    st.integers(min_value=2**63),
    st.integers(max_value=-1),
).map(str)

hostile_id = st.one_of(hostile_number, st.sampled_from(NASTY_NUMBERS), st.text(max_size=20), control_text)



# A field's posted value: left out (None), sent once, or sent several times (the last one counts).
def posted(values: st.SearchStrategy[str]) -> st.SearchStrategy:
    return st.one_of(st.none(), values, st.lists(values, min_size=2, max_size=3))


def last(value):
    """What Django reads from a posted value: the last one sent, or None when the field was left out."""
    if isinstance(value, list):
        return value[-1]
    return value


def form_data(fields: dict) -> dict:
    """Drop the fields left out (None), which the test client refuses. Like every post a browser sends, the data
    carries a CSRF token (the test client does not check it): without one, CsrfViewMiddleware refuses the post."""
    return {"csrfmiddlewaretoken": "x" * 64, **{name: value for name, value in fields.items() if value is not None}}
