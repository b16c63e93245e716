"""How a logged-in user is loaded on every request: with their permissions (their roles), in one query.

Every page asks what the user may do (the navigation's links, who sees whose sessions). Django's `ModelBackend`
loads the user in one query and then their permissions in two more (their own, and their groups'), on every
request. `UserWithPermissionsBackend` reads those two lists in the user's query, as two subqueries, and fills the
caches `ModelBackend` keeps on the user, so `user.has_perm()` answers without a query.

Nothing is kept between requests: a role given or taken away in the admin counts from the user's next request.

The subqueries are SQL written here, not the ORM's: built with the ORM (`Subquery`, `Concat`, an aggregate), they
took Django longer to compile on every request than the two queries they replace took to run.
"""

from django.contrib.auth.backends import ModelBackend
from django.db import connection
from django.db.models.expressions import RawSQL

from sessions_app.models import User

# `app_label.codename` of every permission the outer user has, comma-separated (NULL when none): the names
# ModelBackend lists. {joined} aggregates; the tables are Django's (auth, contenttypes) and User's many-to-many.
_NAMES = """SELECT {joined} FROM auth_permission p
    JOIN django_content_type ct ON ct.id = p.content_type_id"""
_OWN = _NAMES + """
    JOIN sessions_app_user_user_permissions up ON up.permission_id = p.id
    WHERE up.user_id = sessions_app_user.id"""
_GROUPS = _NAMES + """
    JOIN auth_group_permissions gp ON gp.permission_id = p.id
    JOIN sessions_app_user_groups ug ON ug.group_id = gp.group_id
    WHERE ug.user_id = sessions_app_user.id"""
_JOINED = {
    "postgresql": "STRING_AGG(ct.app_label || '.' || p.codename, ',')",
    "sqlite": "GROUP_CONCAT(ct.app_label || '.' || p.codename, ',')",
}


def _name_set(names: str | None) -> set[str]:
    return set(names.split(",")) if names else set()


class UserWithPermissionsBackend(ModelBackend):
    """`ModelBackend`, whose `get_user` (the one run on every request) loads the permissions with the user."""

    def get_user(self, user_id):
        joined = _JOINED[connection.vendor]
        users = User._default_manager.annotate(
            own_permission_names=RawSQL(_OWN.format(joined=joined), ()),
            group_permission_names=RawSQL(_GROUPS.format(joined=joined), ()),
        )
        try:
            user = users.get(pk=user_id)
        except User.DoesNotExist:
            return None
        if not self.user_can_authenticate(user):
            return None
        if not user.is_superuser:  # a superuser may do anything (and ModelBackend lists every permission for them)
            user._user_perm_cache = _name_set(user.own_permission_names)
            user._group_perm_cache = _name_set(user.group_permission_names)
            user._perm_cache = user._user_perm_cache | user._group_perm_cache
        return user
