from django.urls import path

from brokercrm.org import views

app_name = "org"
urlpatterns = [
    path("", views.org_tree, name="tree"),
    path("audit/", views.audit_list, name="audit"),
]
