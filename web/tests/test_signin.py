"""Sign in with GitHub through allauth against the simulator's OAuth: the login service
runs with the person's token, the session is theirs, sign-out and account deletion end
it; the For You page is its owner's; anyone may look a developer up."""

from __future__ import annotations

import logging
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from allauth.socialaccount.models import SocialAccount, SocialToken
from django.contrib.auth import get_user_model

from config.principals import SESSION_GITHUB_LOGIN as SESSION_LOGIN
from tests.factories import profile_make
from tests.signin import OAUTH_APP as APP
from tests.signin import sign_in_as
from users.models import GitHubUser, PipelineRun
from users.tokens import token_decrypt

pytestmark = pytest.mark.django_db


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query, keep_blank_values=True).items()}


def start(client) -> dict[str, str]:
    """Press "Sign in with GitHub": the redirect to GitHub's authorize page, parsed."""
    response = client.post("/accounts/github/login/")
    assert response.status_code == 302
    return query(response["Location"]) | {"_url": response["Location"]}


def consent(sim, params: dict[str, str], *, login: str, decision: str = "allow") -> str:
    """The person's choice on the simulator's consent page; where GitHub sends them."""
    form = {k: v for k, v in params.items() if not k.startswith("_")}
    form |= {"login": login, "decision": decision}
    answer = requests.post(
        sim.web_url + "/login/oauth/authorize", data=form, allow_redirects=False, timeout=10
    )
    assert answer.status_code == 302, answer.text[:300]
    return answer.headers["Location"]


def callback(client, location: str):
    parts = urlsplit(location)
    assert parts.path == "/accounts/github/login/callback/"
    return client.get(parts.path, query(location))


def sign_in(client, sim, login: str):
    return callback(client, consent(sim, start(client), login=login))


def test_sign_in_runs_the_login_service_and_lands_on_the_own_profile(client, oauth, caplog):
    caplog.set_level(logging.DEBUG)
    page = client.get("/signin")
    assert b'action="/accounts/github/login/"' in page.content
    params = start(client)
    assert params["_url"].startswith(oauth.web_url + "/login/oauth/authorize?")
    assert params["client_id"] == APP["client_id"]
    assert params["scope"] == ""  # minimal: public information only
    assert params["code_challenge_method"] == "S256" and len(params["code_challenge"]) >= 43
    assert params["state"] and params["redirect_uri"].endswith("/accounts/github/login/callback/")

    done = callback(client, consent(oauth, params, login="avery-lin"))
    assert done.status_code == 302 and done["Location"] == "/u/avery-lin"
    user = GitHubUser.objects.get(login="avery-lin")
    assert user.state == "active" and user.last_login_at is not None
    token = token_decrypt(user.token_encrypted)
    assert token.startswith("sim_avery-lin_gho_")  # the person's own token, encrypted
    assert SocialToken.objects.count() == 0  # never in allauth's clear-text table
    assert PipelineRun.objects.filter(user=user, trigger="login").count() == 1
    assert client.session[SESSION_LOGIN] == "avery-lin"
    profile = client.get("/u/avery-lin")
    assert profile.status_code == 200
    assert b"@avery-lin" in profile.content and b"Sign out" in profile.content
    for response in (page, profile, client.get("/settings"), client.get("/u/avery-lin/for-you")):
        assert token.encode() not in response.content
    logged = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert token not in logged and "gho_" not in logged


def test_signing_in_again_refreshes_and_signing_out_ends_the_session(client, oauth):
    sign_in(client, oauth, "bram-okafor")
    first = GitHubUser.objects.get(login="bram-okafor")
    PipelineRun.objects.filter(user=first).update(status="succeeded")
    client.post("/accounts/logout/")
    assert SESSION_LOGIN not in client.session
    assert client.get("/settings")["Location"].startswith("/signin")
    sign_in(client, oauth, "bram-okafor")
    assert PipelineRun.objects.filter(user=first).count() == 2  # the refresh
    assert SocialAccount.objects.filter(uid=str(first.github_id or "")).count() <= 1
    assert get_user_model().objects.filter(username="bram-okafor").count() == 1


def test_a_ghost_signing_in_is_activated(client, oauth):
    GitHubUser.objects.create(login="chen-wei", state="ghost")
    sign_in(client, oauth, "chen-wei")
    assert GitHubUser.objects.get(login="chen-wei").state == "active"


def test_denied_consent_ends_on_a_clear_page_and_signs_nobody_in(client, oauth):
    location = consent(oauth, start(client), login="avery-lin", decision="deny")
    assert query(location)["error"] == "access_denied"
    answer = callback(client, location)
    page = client.get(answer["Location"])
    assert b"Sign-in cancelled" in page.content
    assert not GitHubUser.objects.filter(login="avery-lin").exists()
    assert SESSION_LOGIN not in client.session


def test_a_forged_state_ends_on_a_clear_page_and_signs_nobody_in(client, oauth):
    location = consent(oauth, start(client) | {"state": "forged"}, login="avery-lin")
    page = callback(client, location)
    assert b"Sign-in did not complete" in page.content
    assert not GitHubUser.objects.filter(login="avery-lin").exists()
    # Nor may another browser finish a flow this one started.
    other = type(client)()
    stolen = consent(oauth, start(client), login="avery-lin")
    assert b"Sign-in did not complete" in callback(other, stolen).content
    assert not GitHubUser.objects.filter(login="avery-lin").exists()


def test_a_reused_code_does_not_sign_in_twice(client, oauth):
    location = consent(oauth, start(client), login="avery-lin")
    assert callback(client, location).status_code == 302
    other = type(client)()
    assert b"Sign-in did not complete" in callback(other, location).content


def test_next_goes_only_to_this_site(client, oauth):
    assert b'name="next"' not in client.get("/signin?next=https://evil.example/").content
    assert b'value="/u/x/for-you"' in client.get("/signin?next=/u/x/for-you").content
    response = client.post("/accounts/github/login/", {"next": "https://evil.example/"})
    location = callback(client, consent(oauth, query(response["Location"]), login="avery-lin"))
    assert location["Location"] == "/u/avery-lin"
    client.post("/accounts/logout/")
    response = client.post("/accounts/github/login/", {"next": "/u/avery-lin/for-you"})
    done = callback(client, consent(oauth, query(response["Location"]), login="avery-lin"))
    assert done["Location"] == "/u/avery-lin/for-you"


def test_without_a_client_id_the_page_says_sign_in_is_not_set_up(client, settings):
    settings.GITHUB_OAUTH_CLIENT_ID = ""
    page = client.get("/signin")
    assert (
        b"GITHUB_OAUTH_CLIENT_ID" in page.content and b"/accounts/github/login/" not in page.content
    )


def test_only_the_owner_opens_or_rebuilds_a_for_you_page(client):
    viewer, _, _ = profile_make(login="owner-one")
    profile_make(login="someone-else")
    anonymous = client.get("/u/owner-one/for-you")
    assert anonymous.status_code == 302
    assert anonymous["Location"] == "/signin?next=/u/owner-one/for-you"
    assert client.post("/u/owner-one/for-you/rebuild").status_code == 302
    sign_in_as(client, "someone-else")
    assert client.get("/u/owner-one/for-you").status_code == 403
    assert client.post("/u/owner-one/for-you/rebuild").status_code == 403
    from feed.models import FeedExposure, FeedRebuild

    assert not FeedExposure.objects.filter(viewer=viewer).exists()  # nothing recorded
    assert not FeedRebuild.objects.filter(viewer=viewer, trigger="request").exists()
    sign_in_as(client, "owner-one")
    assert client.get("/u/owner-one/for-you").status_code == 200
    assert FeedExposure.objects.filter(viewer=viewer).exists()
    # The first view queued a rebuild of its own; the button must queue the next one.
    FeedRebuild.objects.filter(viewer=viewer).update(queued_at=None, trigger="")
    assert client.post("/u/owner-one/for-you/rebuild").status_code == 302
    assert FeedRebuild.objects.filter(viewer=viewer, trigger="request").exists()


def test_forms_need_csrf(oauth):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    profile_make(login="owner-one")
    assert strict.post("/lookup", {"login": "somebody"}).status_code == 403
    assert strict.post("/accounts/github/login/").status_code == 403
    sign_in_as(strict, "owner-one")
    assert strict.post("/u/owner-one/for-you/rebuild").status_code == 403
    assert strict.post("/settings", {"confirm": "owner-one"}).status_code == 403
    assert strict.post("/accounts/logout/").status_code == 403
    assert GitHubUser.objects.filter(login="owner-one").exists()


def test_deleting_my_account_after_confirmation(client):
    profile_make(login="leaving")
    account = sign_in_as(client, "leaving")
    assert b"Delete my account" in client.get("/settings").content
    client.post("/settings", {"confirm": "someone"})
    assert GitHubUser.objects.filter(login="leaving").exists()  # wrong confirmation
    done = client.post("/settings", {"confirm": "leaving"})
    assert done.status_code == 302 and done["Location"] == "/"
    assert not GitHubUser.objects.filter(login="leaving").exists()
    assert not get_user_model().objects.filter(id=account.id).exists()
    assert SESSION_LOGIN not in client.session


def test_look_up_opens_a_known_profile_and_queues_an_unknown_one(client, settings):
    profile_make(login="known-dev")
    known = client.post("/lookup", {"login": "@known-dev"})
    assert known["Location"] == "/u/known-dev"
    assert PipelineRun.objects.filter(user__login="known-dev").count() == 1  # nothing new
    unknown = client.post("/lookup", {"login": "new-person"})
    assert unknown["Location"] == "/u/new-person"
    ghost = GitHubUser.objects.get(login="new-person")
    assert ghost.state == "ghost" and PipelineRun.objects.filter(user=ghost).count() == 1
    assert client.get("/u/new-person").status_code == 200
    bad = client.post("/lookup", {"login": "-nope-"})
    assert bad["Location"] == "/" and not GitHubUser.objects.filter(login="-nope-").exists()


def test_look_ups_of_unknown_logins_are_limited_per_visitor(client, settings, redis_test_client):
    for key in redis_test_client.scan_iter("*throttle:*"):
        redis_test_client.delete(key)
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "pipeline": "2/min"}
    for n in range(2):
        assert client.post("/lookup", {"login": f"fresh-{n}"}).status_code == 302
    refused = client.post("/lookup", {"login": "fresh-9"})
    assert refused.status_code == 429 and b"Too many look-ups" in refused.content
    assert not GitHubUser.objects.filter(login="fresh-9").exists()
    # Known profiles still open; a signed-in visitor counts per account.
    assert client.post("/lookup", {"login": "fresh-0"}).status_code == 302
    sign_in_as(client, "someone")
    assert client.post("/lookup", {"login": "fresh-9"}).status_code == 302


def test_the_session_cookie_follows_secure_deployment(monkeypatch):
    from tests.test_settings import load_settings

    secure = load_settings(
        monkeypatch, SECURE_DEPLOYMENT="true", TOKEN_ENCRYPTION_KEY="k" * 40, DEBUG="false"
    )
    assert secure["SESSION_COOKIE_SECURE"] is True and secure["CSRF_COOKIE_SECURE"] is True
    plain = load_settings(monkeypatch, TOKEN_ENCRYPTION_KEY="k" * 40)
    assert not plain.get("SESSION_COOKIE_SECURE", False)


def test_the_authorize_page_may_have_a_browser_facing_base(client, oauth, settings):
    settings.GITHUB_OAUTH_WEB_URL = "http://127.0.0.1:9"
    assert start(client)["_url"].startswith("http://127.0.0.1:9/login/oauth/authorize?")


def test_oauth_settings_are_read_from_the_environment(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    from tests.test_settings import load_settings

    s = load_settings(
        monkeypatch,
        GITHUB_OAUTH_CLIENT_ID="Iv1.abc",
        GITHUB_OAUTH_CLIENT_SECRET="shh",
        GITHUB_OAUTH_WEB_URL="http://127.0.0.1:9100/",
    )
    github = s["SOCIALACCOUNT_PROVIDERS"]["github"]
    assert github["APPS"] == [{"client_id": "Iv1.abc", "secret": "shh"}]
    assert github["SCOPE"] == [] and github["OAUTH_PKCE_ENABLED"] is True
    assert s["GITHUB_OAUTH_WEB_URL"] == "http://127.0.0.1:9100"
    assert s["SOCIALACCOUNT_STORE_TOKENS"] is False
    with pytest.raises(ImproperlyConfigured, match="GITHUB_OAUTH_CLIENT_SECRET"):
        load_settings(monkeypatch, GITHUB_OAUTH_CLIENT_ID="Iv1.abc", GITHUB_OAUTH_CLIENT_SECRET="")
    with pytest.raises(ImproperlyConfigured, match="GITHUB_OAUTH_WEB_URL"):
        load_settings(
            monkeypatch,
            GITHUB_OAUTH_CLIENT_ID="",
            GITHUB_OAUTH_CLIENT_SECRET="",
            GITHUB_OAUTH_WEB_URL="ftp://x",
        )


def test_a_django_account_of_the_same_name_does_not_block_the_sign_in(client, oauth):
    get_user_model().objects.create_user(username="avery-lin", password="pw", is_staff=True)
    done = sign_in(client, oauth, "avery-lin")
    assert done.status_code == 302 and done["Location"] == "/u/avery-lin"
    assert client.session[SESSION_LOGIN] == "avery-lin"
    signed_in = get_user_model().objects.get(id=client.session["_auth_user_id"])
    assert not signed_in.is_staff  # a new account of its own, not the staff one
