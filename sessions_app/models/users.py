from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from sessions_app import roles
from sessions_app.validators import validate_one_line


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, email, password=None, **extra_fields):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email, password=None, **extra_fields):
        extra_fields.update(is_staff=True, is_superuser=True)
        return self.create_user(email, password, **extra_fields)

    def get_by_natural_key(self, username):
        return self.get(email__iexact=username)


class User(AbstractBaseUser, PermissionsMixin):
    """Everyone who logs in: mentors, Senior Leadership and Finance. They log in with their email."""

    email = models.EmailField("email address", unique=True)
    full_name = models.CharField(max_length=150, validators=[validate_one_line])
    is_staff = models.BooleanField(
        default=False, help_text="Technical staff: full access to the admin regardless of role."
    )
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["full_name"]

    class Meta:
        ordering = ["full_name"]
        permissions = [
            ("use_admin", "Can use the Finance admin"),
            ("unlock_accounts", "Can unlock an account locked out after failed log-ins"),
        ]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="user_email_unique_case_insensitive"),
        ]

    def __str__(self):
        return self.full_name or self.email

    def get_full_name(self):
        return self.full_name

    def get_short_name(self):
        return self.full_name.split(" ")[0] if self.full_name else self.email

    @property
    def sees_all_appointments(self) -> bool:
        return self.has_perm(roles.VIEW_ALL_APPOINTMENTS)

    @property
    def acts_for_mentors(self) -> bool:
        return self.has_perm(roles.ACT_FOR_MENTORS)

    @property
    def unlocks_accounts(self) -> bool:
        return self.has_perm(roles.UNLOCK_ACCOUNTS)
