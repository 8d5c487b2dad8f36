from django.contrib import admin

from brokercrm.segments.models import TierPolicy


@admin.register(TierPolicy)
class TierPolicyAdmin(admin.ModelAdmin):
    """Read-only here: a policy is changed through the policy page (``tier_policy_update``), which
    keeps every earlier policy as history."""

    list_display = ("created_at", "created_by", "silver_assets", "gold_assets", "diamond_assets", "note")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
