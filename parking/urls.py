"""parking pages."""

urlpatterns: list = []
