"""How a logged-in user is loaded on every request: with their permissions (their roles), in one query.

Every page asks what the user may do (the navigation's links, who sees whose sessions). Django's `ModelBackend`
loads the user in one query and then their permissions in two more (their own, and their groups'), on every
request. `UserWithPermissionsBackend` reads those two lists in the user's query, as subqueries, and fills the
caches `ModelBackend` keeps on the user, so `user.has_perm()` answers without a query.

Nothing is kept between requests: a role given or taken away in the admin counts from the user's next request.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission
from django.db.models import Aggregate, CharField, OuterRef, Subquery, Value
from django.db.models.functions import Concat


class _CommaJoined(Aggregate):
    """The group's values in one string, separated by commas: SQLite's GROUP_CONCAT, PostgreSQL's STRING_AGG."""

    function = "GROUP_CONCAT"
    output_field = CharField()

    def as_postgresql(self, compiler, connection, **extra_context):
        return self.as_sql(compiler, connection, function="STRING_AGG",
                           template="%(function)s(%(expressions)s, ',')", **extra_context)


def _permission_names(user_path: str) -> Subquery:
    """`app_label.codename` of each permission linked to the outer user through `user_path`, comma-separated
    (None when there is none): the names `ModelBackend` would list."""
    permissions = (
        Permission.objects.filter(**{user_path: OuterRef("pk")})
        .order_by()
        .values(user_path)  # one group: the outer user
        .annotate(names=_CommaJoined(Concat("content_type__app_label", Value("."), "codename")))
        .values("names")
    )
    return Subquery(permissions, output_field=CharField())


def _name_set(names: str | None) -> set[str]:
    return set(names.split(",")) if names else set()


class UserWithPermissionsBackend(ModelBackend):
    """`ModelBackend`, whose `get_user` (the one run on every request) loads the permissions with the user."""

    def get_user(self, user_id):
        users = get_user_model()._default_manager.annotate(
            own_permission_names=_permission_names("user"), group_permission_names=_permission_names("group__user"))
        try:
            user = users.get(pk=user_id)
        except users.model.DoesNotExist:
            return None
        if not self.user_can_authenticate(user):
            return None
        if not user.is_superuser:  # a superuser may do anything (and ModelBackend lists every permission for them)
            user._user_perm_cache = _name_set(user.own_permission_names)
            user._group_perm_cache = _name_set(user.group_permission_names)
            user._perm_cache = user._user_perm_cache | user._group_perm_cache
        return user
