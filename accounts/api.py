"""Accounts API: register, token, and who the token belongs to."""

from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import path
from django.utils.translation import gettext_noop
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import AuthThrottle, StrictCharField
from config.errors import DomainError

from .scoping import operator_of
from .services import customer_register
from .tokens import tokens_issued
from .usernames import MAX_LENGTH, MIN_LENGTH, RULE, validate_username

User = get_user_model()


class CredentialsSerializer(serializers.Serializer):
    """A login: any username an account may have (the rule is checked where accounts are made)."""

    username = StrictCharField(max_length=MAX_LENGTH)
    password = StrictCharField(max_length=128, trim_whitespace=False)


class RegisterSerializer(CredentialsSerializer):
    username = StrictCharField(
        min_length=MIN_LENGTH, max_length=MAX_LENGTH, validators=[validate_username], help_text=RULE
    )
    password = StrictCharField(
        min_length=8,
        max_length=128,
        trim_whitespace=False,
        help_text="At least 8 characters, not a common password, not only digits, not like the username.",
    )

    def validate(self, attrs):
        candidate = User(username=attrs["username"])
        try:
            validate_password(attrs["password"], user=candidate)
        except DjangoValidationError as exc:
            raise serializers.ValidationError({"password": list(exc.messages)}) from exc
        if User.objects.filter(username__iexact=attrs["username"]).exists():
            raise serializers.ValidationError({"username": ["This username is taken."]})
        return attrs


class RegisterView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = [AuthThrottle]
    throttle_scope = "auth"

    @extend_schema(
        request=RegisterSerializer,
        responses={
            201: inline_serializer(
                "Registered",
                {
                    "id": serializers.IntegerField(),
                    "username": serializers.CharField(),
                    "token": serializers.CharField(),
                },
            )
        },
    )
    def post(self, request):
        ser = RegisterSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        user, token = customer_register(**ser.validated_data)
        return Response({"id": user.id, "username": user.username, "token": token.key}, status=status.HTTP_201_CREATED)


class TokenView(APIView):
    schema_errors = ("401",)  # wrong username or password
    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = [AuthThrottle]
    throttle_scope = "auth"

    @extend_schema(
        request=CredentialsSerializer,
        responses={200: inline_serializer("TokenAnswer", {"token": serializers.CharField()})},
    )
    def post(self, request):
        ser = CredentialsSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        user = authenticate(request, **ser.validated_data)
        if user is None or not user.is_active:
            raise DomainError("not_authenticated", gettext_noop("Wrong username or password."), status=401)
        token, _ = Token.objects.get_or_create(user=user)
        tokens_issued([(token.key, user)])
        return Response({"token": token.key})


class MeView(APIView):
    """Who the token belongs to. Also the benchmark's ceiling: an authenticated request that does
    nothing else."""

    @extend_schema(
        responses={
            200: inline_serializer(
                "Me",
                {
                    "id": serializers.IntegerField(),
                    "username": serializers.CharField(),
                    "organization": serializers.IntegerField(allow_null=True),
                    "role": serializers.CharField(allow_null=True),
                },
            )
        }
    )
    def get(self, request):
        op = operator_of(request.user)
        return Response(
            {
                "id": request.user.id,
                "username": request.user.username,
                "organization": op.organization_id if op else None,
                "role": op.role if op else None,
            }
        )


urlpatterns = [
    path("auth/me", MeView.as_view(), name="api-me"),
    path("auth/register", RegisterView.as_view(), name="api-register"),
    path("auth/token", TokenView.as_view(), name="api-token"),
]
