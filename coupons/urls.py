"""coupons pages."""

urlpatterns: list = []
