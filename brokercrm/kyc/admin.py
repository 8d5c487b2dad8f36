"""KYC records in the admin: read-only and through the same data scope as every page (changes go
through the services, which apply the rules and "latest wins")."""

from django.contrib import admin

from brokercrm.kyc.models import KnowledgeTest, ProfessionalRecognition, Questionnaire, RiskAssessment


class _ReadOnlyScoped(admin.ModelAdmin):
    def get_queryset(self, request):
        return self.model.objects.for_user(request.user)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(RiskAssessment)
class RiskAssessmentAdmin(_ReadOnlyScoped):
    list_display = ("customer", "source", "assessed_on", "risk_level", "score", "expires_on", "actor")
    list_filter = ("source", "risk_level")


@admin.register(ProfessionalRecognition)
class ProfessionalRecognitionAdmin(_ReadOnlyScoped):
    list_display = ("customer", "kind", "status", "requested_by", "requested_at", "decided_by", "effective_on")
    list_filter = ("kind", "status")


@admin.register(KnowledgeTest)
class KnowledgeTestAdmin(_ReadOnlyScoped):
    list_display = ("customer", "test", "score", "passed", "taken_on", "actor")


@admin.register(Questionnaire)
class QuestionnaireAdmin(admin.ModelAdmin):
    """Versions are edited on the questionnaire pages (which create new versions when in use)."""

    list_display = ("version", "title", "is_active", "created_at")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
