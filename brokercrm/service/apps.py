from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ServiceConfig(AppConfig):
    name = "brokercrm.service"
    label = "service"
    verbose_name = _("Proactive service")

    def ready(self) -> None:
        from brokercrm.service import receivers

        receivers.connect()
