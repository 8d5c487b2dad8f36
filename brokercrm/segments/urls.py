from django.urls import path

from brokercrm.segments import views

app_name = "segments"
urlpatterns = [
    path("tier-changes/", views.tier_changes, name="tier_changes"),
    path("policy/", views.tier_policy, name="policy"),
    # the segment builder and saved segments
    path("", views.segment_list_view, name="list"),
    path("new/", views.segment_new, name="new"),
    path("builder/preview/", views.builder_preview, name="builder_preview"),
    path("builder/edit/", views.builder_edit, name="builder_edit"),
    path("builder/export/", views.builder_export, name="builder_export"),
    path("<int:segment_id>/", views.segment_detail, name="detail"),
    path("<int:segment_id>/export/", views.segment_export_view, name="export"),
    path("<int:segment_id>/delete/", views.segment_delete_view, name="delete"),
]
