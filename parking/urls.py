"""parking pages."""

from django.urls import path

from . import merchant_views, views

urlpatterns = [
    path("parking/vehicles/", views.vehicles, name="parking-vehicles"),
    path("parking/vehicles/<int:vehicle_id>/auto-pay/", views.vehicle_auto_pay, name="parking-vehicle-auto-pay"),
    path("parking/vehicles/<int:vehicle_id>/type/", views.vehicle_type, name="parking-vehicle-type"),
    path("parking/vehicles/<int:vehicle_id>/remove/", views.vehicle_remove, name="parking-vehicle-remove"),
    path("parking/sessions/", views.sessions, name="parking-sessions"),
    path("parking/sessions/<int:session_id>/pay/", views.pay, name="parking-pay"),
    path("merchant/", merchant_views.portal, name="merchant-portal"),
    path("merchant/quotas/buy/", merchant_views.quota_buy, name="merchant-quota-buy"),
    path("merchant/issue/", merchant_views.issue, name="merchant-issue"),
    path("merchant/staff/add/", merchant_views.staff_add, name="merchant-staff-add"),
    path("merchant/staff/<int:member_id>/remove/", merchant_views.staff_remove, name="merchant-staff-remove"),
    path("claim/<str:token>/", merchant_views.claim, name="parking-claim"),
]
