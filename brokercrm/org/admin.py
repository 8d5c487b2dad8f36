"""Head-office configuration in the Django admin. The tree is built through ``org.services`` so
that paths stay consistent; audit entries are read-only."""

from django.contrib import admin
from django.core.exceptions import ValidationError

from brokercrm.org.models import ApiToken, AuditEvent, Employee, OrgNode
from brokercrm.org.services import org_node_create


@admin.register(OrgNode)
class OrgNodeAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "kind", "parent", "depth")
    list_filter = ("kind",)
    search_fields = ("code", "name")
    readonly_fields = ("path", "depth")

    def get_readonly_fields(self, request, obj=None):
        # moving a node would have to rewrite its subtree's paths; not offered here
        return ("path", "depth", "kind", "parent") if obj else ("path", "depth")

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        try:
            created = org_node_create(code=obj.code, name=obj.name, kind=obj.kind, parent=obj.parent)
        except ValidationError as exc:
            raise ValidationError(exc.messages) from exc
        obj.pk, obj.path, obj.depth = created.pk, created.path, created.depth


@admin.register(Employee)
class EmployeeAdmin(admin.ModelAdmin):
    list_display = ("user", "display_name", "role", "node", "is_active")
    list_filter = ("role", "is_active")
    search_fields = ("user__username", "display_name")
    autocomplete_fields = ("node",)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "prefix", "created_at", "expires_at", "last_used_at", "revoked_at")
    readonly_fields = ("prefix", "created_at", "last_used_at")
    fields = ("user", "name", "prefix", "created_at", "expires_at", "last_used_at", "revoked_at")

    def has_add_permission(self, request):  # tokens are issued by `brokercrm token create`, shown once
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ("at", "actor_username", "action", "object_type", "object_id", "ip_address")
    list_filter = ("action",)
    search_fields = ("actor_username", "object_id")
    date_hierarchy = "at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
