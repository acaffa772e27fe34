from allauth.socialaccount.providers.oauth2.urls import default_urlpatterns

from web.signin.provider import GitHubProvider

urlpatterns = default_urlpatterns(GitHubProvider)
