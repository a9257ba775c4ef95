"""Parking API (API.md): `operator` (lots, quotes, camera events), `partners` (partnerships between
organizations and their statements), `merchants` (shops giving parking away) and `customer`
(vehicles, stays, fees, payments).
`config/urls.py` includes this package's `urlpatterns`."""

from .customer import urlpatterns as customer_urlpatterns
from .merchants import urlpatterns as merchant_urlpatterns
from .operator import urlpatterns as operator_urlpatterns
from .partners import urlpatterns as partner_urlpatterns

urlpatterns = operator_urlpatterns + partner_urlpatterns + merchant_urlpatterns + customer_urlpatterns
