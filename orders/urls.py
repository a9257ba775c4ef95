"""orders pages."""

from django.urls import path

from . import views

urlpatterns = [
    path("orders/", views.my_orders, name="my-orders"),
    path("coupons/mine/", views.my_coupons, name="my-coupons"),
    path("orders/<uuid:order_id>/pay/", views.order_pay_page, name="order-pay"),
    path("orders/<uuid:order_id>/top-up-and-pay/", views.order_topup_pay_page, name="order-topup-pay"),
    path("orders/<uuid:order_id>/cancel/", views.order_cancel_page, name="order-cancel"),
    path("orders/<uuid:order_id>/refund/", views.order_refund_page, name="order-refund"),
]
