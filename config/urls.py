from django.contrib import admin
from django.urls import include, path, re_path
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from parking import dashboard

from . import views
from .api import json_not_found
from .django_strings import AdminJavaScriptCatalog

admin.site.site_header = _("ParkMarket operators")
admin.site.site_title = "ParkMarket"
admin.site.index_title = _("Your organization")

api_v1 = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # Swagger UI's bundle comes from drf-spectacular-sidecar's static files: the docs work offline.
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("", include("accounts.api")),
    path("", include("wallet.api")),
    path("", include("coupons.api")),
    path("", include("seckill.api")),
    path("", include("orders.api")),
    path("", include("parking.api")),
    # Anything else under /api/v1/ is a 404 in the contract's shape, in DEBUG too, whatever the
    # method (CSRF-exempt: there is nothing to protect, and a POST must not read "CSRF failed") and
    # whatever the path holds ([\s\S]: "." would stop at a %0A and let DEBUG list the URLs).
    re_path(r"^[\s\S]*$", csrf_exempt(json_not_found)),
]

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("metrics", views.metrics_view, name="metrics"),
    path("favicon.ico", views.favicon),
    path("admin/login/", views.admin_login),  # before the admin's own urls: the throttled login
    # The admin's home is the operators' dashboard (parking/dashboard.py reads every app's figures).
    path("admin/", admin.site.admin_view(dashboard.dashboard_view), name="admin-dashboard"),
    path("admin/dashboard/live", admin.site.admin_view(dashboard.dashboard_live), name="admin-dashboard-live"),
    # The admin's script catalogue, with the strings Django's own Chinese one lacks.
    path("admin/jsi18n/", admin.site.admin_view(AdminJavaScriptCatalog.as_view(), cacheable=True)),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("accounts.urls")),
    path("", include("wallet.urls")),
    path("", include("coupons.urls")),
    path("", include("orders.urls")),
    path("", include("parking.urls")),
]

handler400 = "config.handlers.bad_request"
handler403 = "config.handlers.permission_denied"
handler404 = "config.handlers.not_found"
handler500 = "config.handlers.server_error"
