from django.urls import path

from brokercrm.customers import views

app_name = "customers"
urlpatterns = [
    path("", views.customer_list, name="list"),
    path("export.csv", views.customer_export_view, name="export"),
    # leads first: "leads/" must not be read as a customer number
    path("leads/", views.lead_list, name="leads"),
    path("leads/new/", views.lead_create_view, name="lead_create"),
    path("leads/<int:lead_id>/", views.lead_detail_view, name="lead"),
    path("leads/<int:lead_id>/assign/", views.lead_assign_view, name="lead_assign"),
    path("leads/<int:lead_id>/status/", views.lead_status_view, name="lead_status"),
    path("<str:customer_no>/", views.customer_detail_view, name="detail"),
    path("<str:customer_no>/assign/", views.customer_assign_view, name="assign"),
    path("<str:customer_no>/flows/", views.customer_flows_view, name="flows"),
    path("<str:customer_no>/interactions/", views.customer_interactions_view, name="interactions"),
    path("<str:customer_no>/relationships/", views.customer_relationship_add_view, name="relationship_add"),
    path(
        "<str:customer_no>/relationships/remove/", views.customer_relationship_remove_view, name="relationship_remove"
    ),
]
