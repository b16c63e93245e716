"""The permissions read in the user's query (sessions_app/backends.py, SQL for SQLite and PostgreSQL) are exactly
the ones Django's ModelBackend reads with its own two queries, for any users, roles and permissions."""

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.db import transaction
from hypothesis import given
from hypothesis import strategies as st

from sessions_app.backends import UserWithPermissionsBackend
from tests.factories import UserFactory
from tests.strategies import examples


@examples(30)
@given(data=st.data())
def test_the_users_query_reads_the_same_permissions_as_django(db, data):
    permissions = list(Permission.objects.order_by("pk"))
    subsets = st.lists(st.sampled_from(permissions), max_size=8, unique=True)
    with transaction.atomic():
        groups = []
        for n in range(data.draw(st.integers(0, 3), label="groups")):
            group = Group.objects.create(name=f"Role {n}")
            group.permissions.set(data.draw(subsets, label=f"group {n}'s permissions"))
            groups.append(group)
        users = []
        for n in range(data.draw(st.integers(1, 3), label="users")):
            user = UserFactory(is_superuser=data.draw(st.booleans(), label="superuser"))
            user.groups.set(data.draw(st.lists(st.sampled_from(groups), unique=True) if groups else st.just([])))
            user.user_permissions.set(data.draw(subsets, label=f"user {n}'s own permissions"))
            users.append(user)
        for user in users:
            ours, django = UserWithPermissionsBackend().get_user(user.pk), ModelBackend().get_user(user.pk)
            assert ours.get_all_permissions() == django.get_all_permissions()
            assert ours.get_user_permissions() == django.get_user_permissions()
            assert ours.get_group_permissions() == django.get_group_permissions()
            for permission in permissions[::7]:
                name = f"{permission.content_type.app_label}.{permission.codename}"
                assert ours.has_perm(name) == django.has_perm(name), name
        transaction.set_rollback(True)
