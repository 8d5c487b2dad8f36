from django.urls import path

from brokercrm.products import views

app_name = "products"
urlpatterns = [
    path("", views.product_list, name="list"),
    path("new/", views.product_new, name="new"),
    path("import/", views.product_import, name="import"),
    path("export.xlsx", views.product_export, name="export"),
    path("<str:product_code>/", views.product_detail, name="detail"),
    path("<str:product_code>/edit/", views.product_edit, name="edit"),
    path("<str:product_code>/documents/", views.document_upload, name="document_upload"),
    path("<str:product_code>/documents/<int:document_id>/", views.document_download, name="document"),
]
