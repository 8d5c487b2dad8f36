from django.urls import path

from brokercrm.suitability import views

app_name = "suitability"
urlpatterns = [
    path("records/", views.records, name="records"),
    path("records/<int:record_id>/", views.record_detail, name="record"),
    path("notices/", views.notices, name="notices"),
    path("notices/read/", views.notices_read, name="notices_read"),
    path("products/<str:product_code>/matching/", views.product_matching, name="product_matching"),
    path("customers/<str:customer_no>/products/", views.customer_products, name="customer_products"),
    path("customers/<str:customer_no>/records/", views.customer_records_view, name="customer_records"),
    path("customers/<str:customer_no>/recommend/", views.customer_recommend, name="recommend"),
    path("customers/<str:customer_no>/sell/", views.customer_sell, name="sell"),
]
