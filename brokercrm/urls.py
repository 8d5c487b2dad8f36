from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.http import HttpResponse
from django.urls import include, path

from brokercrm.api import api
from brokercrm.org import views as org_views

admin.site.site_header = "brokercrm"
admin.site.site_title = "brokercrm"

urlpatterns = [
    path("", org_views.home, name="home"),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("customers/", include("brokercrm.customers.urls")),
    path("org/", include("brokercrm.org.urls")),
    path("datacenter/", include("brokercrm.datacenter.urls")),
    path("products/", include("brokercrm.products.urls")),
    path("kyc/", include("brokercrm.kyc.urls")),
    path("suitability/", include("brokercrm.suitability.urls")),
    path("segments/", include("brokercrm.segments.urls")),
    path("tags/", include("brokercrm.tags.urls")),
    path("service/", include("brokercrm.service.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/", api.urls),
    path("admin/", admin.site.urls),
    path("healthz", lambda request: HttpResponse("ok", content_type="text/plain"), name="healthz"),
]
