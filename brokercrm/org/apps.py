from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrgConfig(AppConfig):
    name = "brokercrm.org"
    label = "org"
    verbose_name = _("Organisation")

    def ready(self) -> None:
        from brokercrm.org import signals  # noqa: F401  (login/logout audit)
