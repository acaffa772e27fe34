"""allauth's GitHub provider, its URLs taken from settings at call time.

allauth's own adapter fixes GitHub's URLs when it is imported; Gazer's follow
`GITHUB_WEB_URL` and `GITHUB_API_URL` (the simulator in tests and the demo). Installed
through `SOCIALACCOUNT_PROVIDERS["github"]["provider_class"]`.
"""

from __future__ import annotations

from allauth.socialaccount.providers.github import provider as github_provider
from allauth.socialaccount.providers.github import views as github_views

from workers.github import oauth


class GitHubOAuth2Adapter(github_views.GitHubOAuth2Adapter):
    @property
    def authorize_url(self) -> str:
        return oauth.oauth_authorize_url()

    @property
    def access_token_url(self) -> str:
        return oauth.oauth_access_token_url()

    @property
    def profile_url(self) -> str:
        return oauth.oauth_user_url()

    @property
    def emails_url(self) -> str:
        return oauth.oauth_emails_url()


class GitHubProvider(github_provider.GitHubProvider):
    oauth2_adapter_class = GitHubOAuth2Adapter
    # allauth finds this provider's views and URLs in this package.
    package = "web.signin"

    def get_scope_from_request(self, request):
        # The scopes are the configured ones: a `?scope=` on the sign-in link adds none.
        return self.get_scope()


provider_classes = [GitHubProvider]
