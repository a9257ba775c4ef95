"""coupons API."""

urlpatterns: list = []
