from django.contrib.admin.apps import AdminConfig


class OperatorsAdminConfig(AdminConfig):
    """Django's admin, whose default site is the operators' (two-factor login, enrolment)."""

    default_site = "statuspage.accounts.OperatorsAdminSite"
