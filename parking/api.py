"""parking API."""

urlpatterns: list = []
