"""The lower apps ask the upper ones through hooks (sessions_app/hooks.py, notifications/hooks.py), which the upper
apps provide when they start. A hook left unprovided would not fail: the homepage would quietly lose Finance's
replies, the dashboard its payment statements. So every hook must be provided once Django is set up."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from notifications import hooks as notifications_hooks
from sessions_app import hooks as sessions_hooks
from sessions_app.hooks import Hook


def declared_hooks():
    for module in (sessions_hooks, notifications_hooks):
        for name, value in vars(module).items():
            if isinstance(value, Hook):
                yield f"{module.__name__}.{name}", value


@pytest.mark.parametrize(("name", "hook"), list(declared_hooks()), ids=lambda value: value if isinstance(value, str) else "")
def test_every_hook_is_provided_by_its_app(name, hook):
    assert hook.provided, f"{name} is declared for {hook.provided_by}, which does not provide it in its AppConfig.ready"


def test_a_hook_nobody_provides_says_which_app_is_missing_or_gives_its_default():
    required = Hook("ticket_raise", provided_by="invoicing")
    with pytest.raises(ImproperlyConfigured, match="Nothing provides ticket_raise: is invoicing in INSTALLED_APPS"):
        required(subject="Which funding?")
    optional = Hook("payment_statements_of", provided_by="invoicing", default=lambda mentor, *, limit: [])
    assert optional("a mentor", limit=24) == []
    optional.provide(lambda mentor, *, limit: [f"{mentor}'s statement"][:limit])
    assert optional("Ann", limit=24) == ["Ann's statement"]
