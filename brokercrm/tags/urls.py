from django.urls import path

from brokercrm.tags import views

app_name = "tags"
urlpatterns = [
    path("", views.tag_list, name="list"),
    path("new/", views.tag_new, name="new"),
    path("check/", views.rule_check_view, name="check"),
    path("<str:code>/", views.tag_detail_view, name="detail"),
    path("<str:code>/edit/", views.tag_edit, name="edit"),
    path("<str:code>/active/", views.tag_set_active, name="active"),
]
