"""GitHub's OAuth web flow for OAuth apps, as github.com answers it.

* `GET /login/oauth/authorize` shows a consent page on which one picks which simulated
  user signs in (GitHub signs in whoever holds the browser session; the simulator has
  none, so the page asks). Authorizing redirects to the app's `redirect_uri` with `code`
  and `state`; cancelling redirects with `error=access_denied`; a `redirect_uri` that
  does not match the registered callback redirects to the callback with
  `error=redirect_uri_mismatch`.
* `POST /login/oauth/access_token` trades the code for a token: form-encoded unless the
  `Accept` header asks for JSON, errors answered with status 200 and an `error` field
  (`incorrect_client_credentials`, `redirect_uri_mismatch`, `bad_verification_code` for
  an unknown, used or expired code or a PKCE verifier that does not match).
  A code is good once, for ten minutes.
* The token is `sim_<login>_gho_<hex>`, which the REST and GraphQL API take as that user.

OAuth apps are `config["oauth_apps"]`: `{client_id: {"secret", "callback_url", "name"}}`
(settable through `POST /_sim/config`); an empty `callback_url` accepts any
`redirect_uri`, a set one accepts itself and its sub-paths on the same host, as GitHub does.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import secrets
import time
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from aiohttp import web

from .state import State
from .world import NotFound, World

CODE_TTL_SECONDS = 600
DOCS = "https://docs.github.com/apps/managing-oauth-apps"
AUTHORIZE_ERRORS = {
    "access_denied": "The user has denied your application access.",
    "redirect_uri_mismatch": "The redirect_uri MUST match the registered callback URL for "
    "this application.",
}
TOKEN_ERRORS = {
    "incorrect_client_credentials": "The client_id and/or client_secret passed are incorrect.",
    "redirect_uri_mismatch": "The redirect_uri MUST match the registered callback URL for "
    "this application.",
    "bad_verification_code": "The code passed is incorrect or expired.",
}


@dataclass
class Grant:
    client_id: str
    redirect_uri: str
    login: str
    scope: str
    code_challenge: str
    expires: float


class OAuthStore:
    """Codes not yet traded, per process."""

    def __init__(self) -> None:
        self.codes: dict[str, Grant] = {}
        self.tokens_issued = 0

    def grant(self, grant: Grant) -> str:
        now = time.time()
        for code in [c for c, g in self.codes.items() if g.expires < now]:
            del self.codes[code]
        code = secrets.token_hex(10)
        self.codes[code] = grant
        return code

    def take(self, code: str) -> Grant | None:
        grant = self.codes.pop(code, None)
        if grant is None or grant.expires < time.time():
            return None
        return grant


OAUTH_KEY = web.AppKey("oauth", OAuthStore)


def _apps(request: web.Request) -> dict:
    from .server import STATE_KEY  # the server imports this module to register it

    state: State = request.app[STATE_KEY]
    return state.config.get("oauth_apps") or {}


def _world(request: web.Request) -> World:
    from .server import WORLD_KEY

    return request.app[WORLD_KEY]


def redirect_uri_allowed(registered: str, given: str) -> bool:
    """GitHub's rule: same scheme, host and port as the callback URL, and a path under it."""
    if not registered:
        return given.startswith(("http://", "https://"))
    if not given:
        return True
    r, g = urlsplit(registered), urlsplit(given)
    if (r.scheme, r.netloc) != (g.scheme, g.netloc):
        return False
    base = r.path.rstrip("/")
    return g.path == r.path or g.path.startswith(base + "/") or not base


def _with_query(url: str, params: dict) -> str:
    return url + ("&" if "?" in url else "?") + urlencode(params)


def _error_redirect(uri: str, error: str, state: str) -> web.Response:
    params = {
        "error": error,
        "error_description": AUTHORIZE_ERRORS[error],
        "error_uri": f"{DOCS}/troubleshooting-authorization-request-errors/"
        f"#{error.replace('_', '-')}",
    }
    if state:
        params["state"] = state
    raise web.HTTPFound(_with_query(uri, params))


def _page(title: str, body: str, status: int = 200) -> web.Response:
    doc = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(title)}</title><link rel='icon' href='data:,'>"
        "<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;"
        "padding:0 1rem;color:#1f2328}label{display:block;margin:.3rem 0}"
        "button{font-size:1rem;padding:.5rem 1rem;margin:.5rem .5rem 0 0}"
        ".allow{background:#1f883d;color:#fff;border:0;border-radius:6px}"
        "</style></head><body><main>"
        f"{body}</main></body></html>"
    )
    return web.Response(text=doc, status=status, content_type="text/html")


def _check_request(request: web.Request, params) -> tuple[dict, str]:
    """The app and the redirect URI of an authorize request (GET shows, POST decides)."""
    client_id = params.get("client_id", "")
    app = _apps(request).get(client_id)
    if app is None:
        raise web.HTTPNotFound(text="Not Found: no OAuth app has this client_id.")
    registered = app.get("callback_url", "")
    given = params.get("redirect_uri", "")
    if not redirect_uri_allowed(registered, given):
        if registered:
            _error_redirect(registered, "redirect_uri_mismatch", params.get("state", ""))
        raise web.HTTPBadRequest(text="redirect_uri must be an http(s) URL.")
    method = params.get("code_challenge_method", "")
    if params.get("code_challenge") and method not in ("", "S256"):
        raise web.HTTPBadRequest(text="code_challenge_method must be S256.")
    return app, given or registered


HIDDEN = ("client_id", "redirect_uri", "scope", "state", "code_challenge", "code_challenge_method")


async def authorize(request: web.Request) -> web.Response:
    app, _uri = _check_request(request, request.query)
    q = request.query
    world = _world(request)
    suggested = q.get("login", "")
    choices = []
    for n, login in enumerate(world.world_logins):
        checked = " checked" if login == suggested or (not suggested and n == 0) else ""
        choices.append(
            f"<label><input type='radio' name='login' value='{html.escape(login)}'{checked}> "
            f"{html.escape(login)}</label>"
        )
    hidden = "".join(
        f"<input type='hidden' name='{name}' value='{html.escape(q.get(name, ''))}'>"
        for name in HIDDEN
    )
    scope = q.get("scope", "").strip()
    scope_text = (
        f"It asks for: <strong>{html.escape(scope)}</strong>."
        if scope
        else "It asks for no scopes: read-only access to public information."
    )
    body = (
        f"<h1>Authorize {html.escape(app.get('name') or q.get('client_id', ''))}</h1>"
        f"<p>{scope_text}</p>"
        "<form method='post' action='/login/oauth/authorize'>"
        f"{hidden}<fieldset><legend>Sign in as</legend>{''.join(choices)}"
        "<label>or another simulated user: <input name='other_login' autocomplete='off'>"
        "</label></fieldset>"
        "<button class='allow' name='decision' value='allow'>Authorize</button>"
        "<button name='decision' value='deny'>Cancel</button></form>"
    )
    return _page("Authorize application", body)


async def authorize_decide(request: web.Request) -> web.Response:
    form = await request.post()
    _app, uri = _check_request(request, form)
    state = form.get("state", "")
    if form.get("decision") != "allow":
        _error_redirect(uri, "access_denied", state)
    wanted = (form.get("other_login") or "").strip() or form.get("login", "")
    try:
        login = _world(request).get_user(wanted).login
    except NotFound:
        return _page("No such user", f"<p>No simulated user {html.escape(wanted)}.</p>", 400)
    code = request.app[OAUTH_KEY].grant(
        Grant(
            client_id=form.get("client_id", ""),
            redirect_uri=form.get("redirect_uri", ""),
            login=login,
            scope=form.get("scope", ""),
            code_challenge=form.get("code_challenge", ""),
            expires=time.time() + CODE_TTL_SECONDS,
        )
    )
    params = {"code": code}
    if state:
        params["state"] = state
    raise web.HTTPFound(_with_query(uri, params))


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _token_answer(request: web.Request, body: dict) -> web.Response:
    if "application/json" in request.headers.get("Accept", ""):
        return web.json_response(body)
    return web.Response(text=urlencode(body), content_type="application/x-www-form-urlencoded")


def _token_error(request: web.Request, error: str) -> web.Response:
    return _token_answer(
        request,
        {
            "error": error,
            "error_description": TOKEN_ERRORS[error],
            "error_uri": f"{DOCS}/troubleshooting-oauth-app-access-token-request-errors/"
            f"#{error.replace('_', '-')}",
        },
    )


async def access_token(request: web.Request) -> web.Response:
    params = dict(request.query)
    if request.can_read_body:
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError:
                body = None
            params.update(body if isinstance(body, dict) else {})
        else:
            params.update(await request.post())
    app = _apps(request).get(str(params.get("client_id", "")))
    secret = str(params.get("client_secret", ""))
    if app is None or not hmac.compare_digest(secret.encode(), app.get("secret", "").encode()):
        return _token_error(request, "incorrect_client_credentials")
    grant = request.app[OAUTH_KEY].take(str(params.get("code", "")))
    if grant is None or grant.client_id != params.get("client_id"):
        return _token_error(request, "bad_verification_code")
    given_uri = str(params.get("redirect_uri", ""))
    if given_uri and grant.redirect_uri and given_uri != grant.redirect_uri:
        return _token_error(request, "redirect_uri_mismatch")
    if grant.code_challenge:
        verifier = str(params.get("code_verifier", ""))
        if not verifier or not hmac.compare_digest(_s256(verifier), grant.code_challenge):
            return _token_error(request, "bad_verification_code")
    store = request.app[OAUTH_KEY]
    store.tokens_issued += 1
    token = f"sim_{grant.login}_gho_{secrets.token_hex(16)}"
    return _token_answer(
        request, {"access_token": token, "scope": grant.scope, "token_type": "bearer"}
    )


def register(app: web.Application) -> None:
    app[OAUTH_KEY] = OAuthStore()
    r = app.router
    r.add_get("/login/oauth/authorize", authorize, name="oauth_authorize")
    r.add_post("/login/oauth/authorize", authorize_decide, name="oauth_authorize_decide")
    r.add_post("/login/oauth/access_token", access_token, name="oauth_access_token")
