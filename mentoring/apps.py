from django.contrib.admin.apps import AdminConfig


class MentoringAdminConfig(AdminConfig):
    default_site = "mentoring.admin_site.MentoringAdminSite"
