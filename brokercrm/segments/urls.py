from django.urls import path

from brokercrm.segments import views

app_name = "segments"
urlpatterns = [
    path("tier-changes/", views.tier_changes, name="tier_changes"),
    path("policy/", views.tier_policy, name="policy"),
]
