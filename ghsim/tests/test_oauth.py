"""GitHub's OAuth web flow: consent, code, token (form or JSON), PKCE, and the errors
GitHub answers with."""

from __future__ import annotations

import base64
import hashlib
import re
from urllib.parse import parse_qs, urlsplit

import pytest

CLIENT = {"client_id": "ghsim-oauth-app", "client_secret": "ghsim-oauth-secret"}
CALLBACK = "http://app.example/accounts/github/login/callback/"
VERIFIER = "a-verifier-that-is-long-enough-0123456789-abcdefghijklmnop"
CHALLENGE = base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).decode()
CHALLENGE = CHALLENGE.rstrip("=")


def query_of(response) -> dict[str, str]:
    assert response.status_code == 302, response.text[:300]
    return {k: v[0] for k, v in parse_qs(urlsplit(response.headers["Location"]).query).items()}


def authorize_params(**extra) -> dict:
    return {
        "client_id": CLIENT["client_id"],
        "redirect_uri": CALLBACK,
        "scope": "",
        "state": "st4te",
        "code_challenge": CHALLENGE,
        "code_challenge_method": "S256",
        **extra,
    }


def consent(sim, http, decision="allow", login="bram-okafor", **extra):
    form = {**authorize_params(**extra), "login": login, "decision": decision}
    return http.post(sim.web_url + "/login/oauth/authorize", data=form, allow_redirects=False)


def trade(sim, http, code, *, json=False, **extra):
    data = {**CLIENT, "code": code, "redirect_uri": CALLBACK, "code_verifier": VERIFIER, **extra}
    headers = {"Accept": "application/json"} if json else {}
    response = http.post(sim.web_url + "/login/oauth/access_token", data=data, headers=headers)
    assert response.status_code == 200  # GitHub answers errors with 200 too
    if json:
        assert response.headers["Content-Type"].startswith("application/json")
        return response.json()
    assert response.headers["Content-Type"].startswith("application/x-www-form-urlencoded")
    return {k: v[0] for k, v in parse_qs(response.text, keep_blank_values=True).items()}


def test_consent_page_lists_the_simulated_users_and_the_scopes(fresh, http):
    page = http.get(sim_url(fresh, authorize_params(scope="read:user")))
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "avery-lin" in page.text and "bram-okafor" in page.text
    assert "read:user" in page.text
    assert re.search(r"name='state' value='st4te'", page.text)


def sim_url(sim, params) -> str:
    from urllib.parse import urlencode

    return sim.web_url + "/login/oauth/authorize?" + urlencode(params)


def test_the_code_is_a_token_for_the_chosen_user_in_rest_and_graphql(fresh, http):
    answer = query_of(consent(fresh, http))
    assert answer["state"] == "st4te" and re.fullmatch(r"[0-9a-f]{20}", answer["code"])
    token = trade(fresh, http, answer["code"])
    assert token["token_type"] == "bearer" and token["scope"] == ""
    auth = {"Authorization": f"Bearer {token['access_token']}"}
    me = http.get(fresh.api_url + "/user", headers=auth)
    assert me.status_code == 200 and me.json()["login"] == "bram-okafor"
    assert int(me.headers["x-ratelimit-limit"]) == 5000  # an authenticated budget
    query = (
        "query($login:String!)"
        "{user(login:$login){contributionsCollection{totalCommitContributions}}}"
    )
    graph = http.post(
        fresh.web_url + "/api/graphql",
        json={"query": query, "variables": {"login": "bram-okafor"}},
        headers=auth,
    )
    assert graph.status_code == 200 and "errors" not in graph.json()


def test_json_answer_when_asked_and_another_login_typed_in(fresh, http):
    form = {**authorize_params(), "other_login": "sg-0001234", "decision": "allow"}
    answer = query_of(
        http.post(fresh.web_url + "/login/oauth/authorize", data=form, allow_redirects=False)
    )
    token = trade(fresh, http, answer["code"], json=True)
    me = http.get(
        fresh.api_url + "/user", headers={"Authorization": f"token {token['access_token']}"}
    )
    assert me.json()["login"] == "sg-0001234"


def test_a_code_is_good_once(fresh, http):
    code = query_of(consent(fresh, http))["code"]
    assert "access_token" in trade(fresh, http, code)
    again = trade(fresh, http, code, json=True)
    assert again["error"] == "bad_verification_code"
    assert again["error_description"] == "The code passed is incorrect or expired."
    assert trade(fresh, http, "0" * 20)["error"] == "bad_verification_code"


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"code_verifier": "not-the-verifier"}, "bad_verification_code"),
        ({"code_verifier": ""}, "bad_verification_code"),
        ({"client_secret": "wrong"}, "incorrect_client_credentials"),
        ({"client_id": "nobody"}, "incorrect_client_credentials"),
        ({"redirect_uri": "http://app.example/elsewhere/"}, "redirect_uri_mismatch"),
    ],
)
def test_token_errors_as_github_answers_them(fresh, http, change, error):
    code = query_of(consent(fresh, http))["code"]
    answer = trade(fresh, http, code, json=True, **change)
    assert answer["error"] == error and "access_token" not in answer
    assert answer["error_uri"].startswith("https://docs.github.com/")


def test_denied_consent_redirects_with_access_denied(fresh, http):
    answer = query_of(consent(fresh, http, decision="deny"))
    assert answer["error"] == "access_denied" and answer["state"] == "st4te"
    assert "code" not in answer


def test_a_redirect_uri_off_the_registered_callback_is_refused(fresh, http):
    fresh.configure(oauth_apps={"ghsim-oauth-app": {"callback_url": CALLBACK}})
    page = http.get(
        sim_url(fresh, authorize_params(redirect_uri="http://evil.example/cb")),
        allow_redirects=False,
    )
    answer = query_of(page)
    assert page.headers["Location"].startswith(CALLBACK)
    assert answer["error"] == "redirect_uri_mismatch" and answer["state"] == "st4te"
    # A path under the callback is allowed, as on GitHub.
    ok = http.get(sim_url(fresh, authorize_params(redirect_uri=CALLBACK + "sub")))
    assert ok.status_code == 200


def test_unknown_client_and_plain_pkce_are_refused(fresh, http):
    assert http.get(sim_url(fresh, authorize_params(client_id="nobody"))).status_code == 404
    plain = authorize_params(code_challenge_method="plain")
    assert http.get(sim_url(fresh, plain)).status_code == 400
