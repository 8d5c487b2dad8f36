from django.urls import path

from brokercrm.datacenter import views

app_name = "datacenter"
urlpatterns = [
    path("", views.status, name="status"),
    path("days/<str:day>/", views.day_detail, name="day"),
]
