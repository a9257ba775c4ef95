"""seckill API."""

urlpatterns: list = []
