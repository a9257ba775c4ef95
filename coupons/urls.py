"""coupons pages."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("vouchers/", views.voucher_list, name="voucher-list"),
    path("vouchers/<int:voucher_id>/", views.voucher_detail, name="voucher-detail"),
    path("vouchers/<int:voucher_id>/live", views.voucher_live, name="voucher-live"),
]
