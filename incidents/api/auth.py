"""Bearer tokens for the v1 API: `Authorization: Bearer sp_…`, read or write scope."""

import hashlib
from datetime import timedelta

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions

from ..models import ApiToken
from ..services import Actor, client_address

# Recording every use would turn each read into a write; once a minute is enough.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class BearerTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Send the header as 'Authorization: Bearer <token>'.")
        try:
            text = header[1].decode()
        except UnicodeError:
            raise exceptions.AuthenticationFailed("The token is not valid.")
        digest = hashlib.sha256(text.encode()).hexdigest()
        token = ApiToken.objects.select_related("user").filter(key_hash=digest).first()
        now = timezone.now()
        if token is None or token.revoked_at is not None or not token.user.is_active:
            raise exceptions.AuthenticationFailed("The token is not valid.")
        if token.expires_at is not None and token.expires_at <= now:
            raise exceptions.AuthenticationFailed("The token has expired.")
        if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token

    def authenticate_header(self, request):
        return self.keyword


class TokenScope(permissions.BasePermission):
    """A token never does more than its user may do now: any valid token may read what
    its user may see, writing needs the write scope, and every request needs the user's
    own permission for it (`OpsView.permission_for`), checked at each request, so a user
    taken out of `responders` loses write at once, whatever tokens they made."""

    message = "This token may only read; writing needs a token with the write scope."

    def has_permission(self, request, view):
        token = request.auth
        if not isinstance(token, ApiToken):
            return False
        if token.scope == ApiToken.Scope.INTEGRATIONS:
            self.message = "This token is for the integration endpoints (/api/v1/integrations/…) only."
            return False
        if request.method not in permissions.SAFE_METHODS and token.scope != ApiToken.Scope.WRITE:
            return False
        needed = view.permission_for(request.method) if hasattr(view, "permission_for") else None
        if needed and not request.user.has_perm(f"incidents.{needed}"):
            self.message = (
                f"The token's user ({request.user.get_username()}) may not do this: it needs the"
                f" '{needed}' permission (the responders role writes, viewers read)."
            )
            return False
        return True


class IntegrationScope(permissions.BasePermission):
    """The integration endpoints take tokens of the integrations scope, and only those: a
    monitoring system's token opens drafts, nothing else, and no person's token is used."""

    message = "This endpoint needs a token of the integrations scope (create_api_token --integrations)."

    def has_permission(self, request, view):
        token = request.auth
        return isinstance(token, ApiToken) and token.scope == ApiToken.Scope.INTEGRATIONS


def integration_actor(request) -> Actor:
    """The audit-log actor of an integration's request: the integration, by its token."""
    return Actor.integration(request.auth, address=client_address(request))


def actor_of(request) -> Actor:
    """The audit-log actor of an API request: the token's user, naming the token."""
    return Actor.of(request.user, via="api", token=request.auth, address=client_address(request))


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """Names the token scheme in the OpenAPI schema."""

    target_class = BearerTokenAuthentication
    name = "bearerToken"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "An API token (sp_…) from create_api_token."}
