from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SuitabilityConfig(AppConfig):
    name = "brokercrm.suitability"
    label = "suitability"
    verbose_name = _("Suitability")

    def ready(self) -> None:
        from brokercrm.suitability import receivers

        receivers.connect()
