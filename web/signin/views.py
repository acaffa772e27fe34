"""allauth's OAuth views bound to Gazer's GitHub adapter (allauth looks them up here)."""

from __future__ import annotations

from allauth.socialaccount.providers.oauth2.views import OAuth2CallbackView, OAuth2LoginView

from web.signin.provider import GitHubOAuth2Adapter

oauth2_login = OAuth2LoginView.adapter_view(GitHubOAuth2Adapter)
oauth2_callback = OAuth2CallbackView.adapter_view(GitHubOAuth2Adapter)
