"""Suitability records in the admin: read-only, through the data scope (records are evidence)."""

from django.contrib import admin

from brokercrm.suitability.models import RematchNotice, RiskWarning, SuitabilityRecord


class _ReadOnly(admin.ModelAdmin):
    def get_queryset(self, request):
        return self.model.objects.for_user(request.user)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(SuitabilityRecord)
class SuitabilityRecordAdmin(_ReadOnly):
    list_display = ("created_at", "customer", "product", "purpose", "result", "reasons", "amount", "refused", "actor_username")
    list_filter = ("purpose", "result", "refused")
    search_fields = ("customer__customer_no", "product__product_code", "actor_username")


@admin.register(RiskWarning)
class RiskWarningAdmin(_ReadOnly):
    list_display = ("issued_at", "customer", "product", "reasons", "issued_by")


@admin.register(RematchNotice)
class RematchNoticeAdmin(_ReadOnly):
    list_display = ("created_at", "account_manager", "customer", "product", "old_result", "new_result", "read_at")
