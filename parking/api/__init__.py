"""Parking API (API.md): `operator` (lots, quotes, camera events) and `customer` (vehicles, stays,
fees, payments). `config/urls.py` includes this package's `urlpatterns`."""

from .customer import urlpatterns as customer_urlpatterns
from .operator import urlpatterns as operator_urlpatterns

urlpatterns = operator_urlpatterns + customer_urlpatterns
