"""The product library in the admin (read and tidy; changes of terms go through the product pages,
which tell suitability and write the audit log)."""

from django.contrib import admin

from brokercrm.products.models import Product, ProductDocument


class ProductDocumentInline(admin.TabularInline):
    model = ProductDocument
    extra = 0
    fields = ("title", "file", "uploaded_at", "uploaded_by")
    readonly_fields = ("uploaded_at", "uploaded_by")


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ("product_code", "name", "product_type", "risk_level", "horizon", "variety", "required_pool", "status")
    list_filter = ("product_type", "risk_level", "status", "required_pool")
    search_fields = ("product_code", "name", "issuer")
    # the suitability terms change only through the product pages (services.product_update)
    readonly_fields = ("risk_level", "horizon", "variety", "required_pool", "created_at", "updated_at")
    inlines = [ProductDocumentInline]

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else ("created_at", "updated_at")


@admin.register(ProductDocument)
class ProductDocumentAdmin(admin.ModelAdmin):
    list_display = ("product", "title", "uploaded_at", "uploaded_by")
    search_fields = ("product__product_code", "title")
    raw_id_fields = ("product",)
    readonly_fields = ("uploaded_at", "uploaded_by")
