"""Token authentication for the purchase endpoint, through the shared token lookup.

DRF's TokenAuthentication reads the token and its user from the database on every request. Here
the token's user comes from Redis (accounts/tokens.py: one GET, shared by every process, written
when the token is issued or first read; removed at once when the token is revoked through the
application). The GET usually rides in the request's first Redis round trip (seckill/soldout.py
reads the token's entry together with the sale's state); a token not found there is read from the
database as DRF does and written for the next request. SECKILL_AUTH_CACHE_SECONDS=0 turns the
lookup off (every request reads the database)."""

from rest_framework.authentication import TokenAuthentication

from accounts import tokens

# What the request's first round trip found for its token: no lookup made yet.
NOT_LOOKED_UP = object()


class CachedTokenAuthentication(TokenAuthentication):
    def authenticate(self, request):
        self._entry = getattr(request._request, "token_entry", (None, NOT_LOOKED_UP))
        return super().authenticate(request)

    def authenticate_credentials(self, key):
        if not tokens.enabled():
            return super().authenticate_credentials(key)
        looked_up_key, raw = self._entry
        user = tokens.user_from_entry(raw) if looked_up_key == key else tokens.token_user(key)
        if user is not None:
            return user, key
        user, token = super().authenticate_credentials(key)  # the database; refuses unknown or inactive
        tokens.token_remember(key, user)
        return user, token


try:  # the OpenAPI schema describes it as the same "Token <key>" header, under its own name
    from drf_spectacular.extensions import OpenApiAuthenticationExtension

    class CachedTokenScheme(OpenApiAuthenticationExtension):
        target_class = "seckill.auth.CachedTokenAuthentication"
        name = "purchaseTokenAuth"

        def get_security_definition(self, auto_schema):
            return {
                "type": "apiKey",
                "in": "header",
                "name": "Authorization",
                "description": 'Token authentication, prefix "Token" (the same tokens as tokenAuth)',
            }

except ImportError:  # pragma: no cover - drf-spectacular is a runtime dependency
    pass
