from django.urls import path

from brokercrm.datacenter import views

app_name = "datacenter"
urlpatterns = [
    path("", views.status, name="status"),
    path("days/<str:day>/", views.day_detail, name="day"),
    path("pools/", views.pools, name="pools"),
    path("pools/export/", views.pools_export, name="pools_export"),
]
