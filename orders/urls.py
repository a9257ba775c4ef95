"""orders pages."""

urlpatterns: list = []
