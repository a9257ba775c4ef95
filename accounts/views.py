"""Account pages: register, and login (Django's view) behind the auth throttle."""

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import UserCreationForm
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _

from config.api import auth_attempt_wait
from config.errors import DomainError

from .services import customer_register
from .usernames import MAX_LENGTH, RULE, validate_username


class RegisterForm(UserCreationForm):
    class Meta(UserCreationForm.Meta):
        model = get_user_model()
        fields = ("username",)

    username = forms.CharField(
        max_length=MAX_LENGTH, validators=[validate_username], label=_("Username"), help_text=RULE
    )


def _throttled(request, template: str, form):
    """None when the request may go on; else a 429 page (see config.api.auth_attempt_wait)."""
    wait = auth_attempt_wait(request)
    if wait is None:
        return None
    messages.error(request, _("Too many attempts. Try again in %(s)s seconds.") % {"s": wait})
    response = render(request, template, {"form": form}, status=429)
    response["Retry-After"] = str(wait)
    return response


class LoginView(auth_views.LoginView):
    def post(self, request, *args, **kwargs):
        refused = _throttled(request, self.template_name, self.get_form_class()())
        return refused or super().post(request, *args, **kwargs)


def register(request):
    if request.method == "POST":
        form = RegisterForm(request.POST)
        refused = _throttled(request, "registration/register.html", RegisterForm())
        if refused:
            return refused
        if form.is_valid():
            try:
                user, _token = customer_register(
                    username=form.cleaned_data["username"], password=form.cleaned_data["password1"]
                )
            except DomainError as exc:  # the name was taken between the form's check and the insert
                form.add_error("username", exc.message)
            else:
                login(request, user, backend="django.contrib.auth.backends.ModelBackend")
                return redirect("home")
    else:
        form = RegisterForm()
    return render(request, "registration/register.html", {"form": form})
