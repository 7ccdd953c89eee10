"""Log-in with failed-attempt limits, and the signed-in user's API token page."""

from django.contrib import messages
from django.contrib.auth.views import LoginView
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from . import accounts, ratelimit


class RateLimitedLoginView(LoginView):
    """Django's login form; failures count per client IP and per username (qualitygov.ratelimit).

    While either is limited, every attempt answers 429 with the time to wait, without checking the password.
    """

    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        ip = ratelimit.client_ip(request)
        wait = ratelimit.retry_after(ip, request.POST.get("username", ""))
        if wait:
            refusal = ratelimit.RateLimited(wait)
            # An unbound form: binding the posted one would check the password.
            context = self.get_context_data(form=self.get_form_class()(request), rate_limited=refusal.message)
            response = self.render_to_response(context, status=429)
            response["Retry-After"] = str(wait)
            return response
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        ratelimit.register_failure(ratelimit.client_ip(self.request), self.request.POST.get("username", ""))
        return super().form_invalid(form)

    def form_valid(self, form):
        ratelimit.register_success(ratelimit.client_ip(self.request), form.get_user().get_username())
        return super().form_valid(form)


@never_cache  # the page shows the token: Cache-Control: no-store (and private, no-cache)
@require_http_methods(["GET", "POST"])
def api_token(request):
    """Show the user's API token; POST action=regenerate makes a new one, action=revoke deletes it."""
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "regenerate":
            accounts.regenerate_token(request.user)
            messages.success(request, "A new token was made; the old one no longer works.")
        elif action == "revoke":
            if accounts.revoke_token(request.user):
                messages.success(
                    request, "Your token was deleted; calls made with it are refused from now on."
                )
        else:
            messages.error(request, "Unknown action.")
        return redirect("api_token")
    token = accounts.token_of(request.user)
    api_root = request.build_absolute_uri("/api/v1/")
    return render(request, "accounts/token.html", {"token": token, "api_root": api_root})
