"""Customers in the admin go through the same data scope as every page."""

from django.contrib import admin

from brokercrm.customers.models import Customer, CustomerAssignment, CustomerRelationship, Interaction, Lead


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ("customer_no", "name", "customer_type", "status", "branch", "account_manager")
    list_filter = ("status", "customer_type")
    search_fields = ("customer_no", "name")
    raw_id_fields = ("branch", "account_manager")
    # reassignment goes through the customer page, which keeps the history
    readonly_fields = ("account_manager",)

    def get_queryset(self, request):
        return Customer.objects.for_user(request.user)


@admin.register(CustomerAssignment)
class CustomerAssignmentAdmin(admin.ModelAdmin):
    list_display = ("customer", "account_manager", "started_at", "ended_at", "assigned_by", "reason")

    def get_queryset(self, request):
        return CustomerAssignment.objects.for_user(request.user)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class _ReadOnlyScoped(admin.ModelAdmin):
    """Written through the customer pages (services keep the rules); the admin only reads."""

    def get_queryset(self, request):
        return self.model.objects.for_user(request.user)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Interaction)
class InteractionAdmin(_ReadOnlyScoped):
    list_display = ("customer", "kind", "occurred_at", "author")
    list_filter = ("kind",)


@admin.register(CustomerRelationship)
class CustomerRelationshipAdmin(_ReadOnlyScoped):
    list_display = ("customer", "kind", "related_customer", "related_name", "created_at", "removed_at")
    list_filter = ("kind",)


@admin.register(Lead)
class LeadAdmin(_ReadOnlyScoped):
    list_display = ("name", "source", "status", "branch", "account_manager", "created_at", "converted_customer")
    list_filter = ("status", "source")
