from django.urls import path

from brokercrm.customers import views

app_name = "customers"
urlpatterns = [
    path("", views.customer_list, name="list"),
    path("export.csv", views.customer_export_view, name="export"),
    path("<str:customer_no>/", views.customer_detail_view, name="detail"),
    path("<str:customer_no>/assign/", views.customer_assign_view, name="assign"),
    path("<str:customer_no>/flows/", views.customer_flows_view, name="flows"),
]
