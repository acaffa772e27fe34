"""The GitHub gateway: REST and GraphQL over one pooled session, one shared budget.

Every request: takes a slot from a token that has budget left (Redis, shared by all
processes), sends with a timeout, records the `x-ratelimit-*` headers, maps the answer
to data or a typed error (`workers.github.errors`). A transient failure (timeout,
dropped connection, 5xx) and a short secondary limit are asked again a few times within
the call, seconds apart, each attempt with its own slot; what remains raises for the
task, whose work row waits minutes or hours (`not_before`, workers.retry). Inside a
`memo.responses_kept(scope)` block, answers are kept for the work's retries.
"""

from __future__ import annotations

import base64
import itertools
import json
import logging
import random
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import requests
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict
from requests.utils import parse_header_links

from ..redis_clients import redis_client
from . import errors, memo
from . import graphql as graphql_api
from .cache import ConditionalCache
from .ratelimit import RateLimitState, Slot, token_id

logger = logging.getLogger(__name__)

JSON = "application/vnd.github+json"
STAR_JSON = "application/vnd.github.star+json"
RAW = "application/vnd.github.raw"
API_VERSION = "2022-11-28"
USER_AGENT = "Gazer/1.0"
STARGAZER_PAGE_CAP = 400  # GitHub answers 422 past 400 pages of 100
TRANSIENT_STATUSES = {500, 502, 503, 504}

CONTRIBUTIONS_QUERY = """
query($login: String!, $from: DateTime!, $to: DateTime!) {
  user(login: $login) {
    contributionsCollection(from: $from, to: $to) {
      commitContributionsByRepository(maxRepositories: 100) {
        repository { nameWithOwner isPrivate }
        contributions { totalCount }
      }
      pullRequestContributionsByRepository(maxRepositories: 100) {
        repository { nameWithOwner isPrivate }
        contributions { totalCount }
      }
    }
  }
}
"""


@dataclass
class Page:
    """One page of a star+json list."""

    items: list[dict] = field(default_factory=list)
    url: str = ""
    next_url: str | None = None
    etag: str | None = None
    not_modified: bool = False
    page_number: int = 1


@dataclass
class Response:
    status: int
    headers: Any
    body: bytes
    url: str
    from_cache: bool = False
    link: str | None = None

    def json(self) -> Any:
        try:
            return json.loads(self.body) if self.body else None
        except ValueError:
            # A proxy's HTML error page or a cut body: worth another try later.
            raise errors.Transient(
                f"{urlsplit(self.url).path}: HTTP {self.status} body is not JSON", url=self.url
            ) from None

    @property
    def next_url(self) -> str | None:
        return next_link(self.link)


def next_link(link: str | None) -> str | None:
    if not link:
        return None
    for item in parse_header_links(link):
        if item.get("rel") == "next":
            return item.get("url")
    return None


def page_number(url: str) -> int:
    try:
        return int(parse_qs(urlsplit(url).query).get("page", ["1"])[0])
    except ValueError:
        return 1


def _message(body: bytes) -> str:
    try:
        doc = json.loads(body)
    except ValueError:
        return ""
    if isinstance(doc, dict):
        if isinstance(doc.get("message"), str):
            return doc["message"]
        errs = doc.get("errors")
        if isinstance(errs, list) and errs and isinstance(errs[0], dict):
            return str(errs[0].get("message") or "")
    return ""


def _epoch(value: float) -> datetime:
    return datetime.fromtimestamp(value, UTC)


def _seconds(value: str | None) -> float | None:
    """A `Retry-After` in seconds (GitHub sends seconds); None when absent or not a number."""
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


class GitHubGateway:
    def __init__(
        self,
        *,
        api_url: str,
        web_url: str,
        tokens: list[str],
        requests_per_hour: int,
        redis_url: str,
        timeout: float = 30.0,
        connect_timeout: float = 5.0,
        retries: int = 3,
        retry_backoff: float = 1.0,
        retry_wait_max: float = 10.0,
    ):
        self.api_url = api_url.rstrip("/")
        self.web_url = web_url.rstrip("/")
        if self.api_url.endswith("/api/v3"):  # GitHub Enterprise layout (the simulator too)
            self.graphql_url = self.api_url[: -len("/v3")] + "/graphql"
        else:
            self.graphql_url = self.api_url + "/graphql"
        self.tokens = [t for t in tokens if t]
        self.timeout = (connect_timeout, timeout)
        self.redis = redis_client(redis_url, timeout=5)
        self.limits = RateLimitState(self.redis, ceiling=requests_per_hour)
        self.cache = ConditionalCache(self.redis)
        self.memo = memo.ResponseMemo(self.redis)
        # In-call retries of transient answers (see `_request_retried`); tests shrink them.
        self.retries = retries
        self.retry_backoff = retry_backoff
        self.retry_wait_max = retry_wait_max
        self.sleep = time.sleep
        self.session = requests.Session()
        adapter = HTTPAdapter(pool_connections=8, pool_maxsize=32, max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers.update({"User-Agent": USER_AGENT, "X-GitHub-Api-Version": API_VERSION})
        self._rotation = itertools.count(random.randrange(1 << 16))  # noqa: S311 - load spreading
        self._secondary_seen: set[str] = set()
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ plumbing
    def url(self, path: str, params: dict | None = None) -> str:
        url = self.api_url + path
        if params:
            clean = {k: v for k, v in params.items() if v is not None}
            if clean:
                url += "?" + urlencode(clean)
        return url

    def _candidates(self, token: str | None) -> list[str | None]:
        if token:
            return [token]
        if not self.tokens:
            return [None]
        start = next(self._rotation) % len(self.tokens)
        return self.tokens[start:] + self.tokens[:start]

    def _acquire(self, candidates: list[str | None], resource: str, url: str) -> Slot:
        earliest: float | None = None
        for candidate in candidates:
            slot, free_at = self.limits.take(candidate, resource)
            if slot is not None:
                return slot
            earliest = free_at if earliest is None else min(earliest, free_at)
        reset_at = _epoch(earliest or time.time() + 60)
        logger.info("github.budget_exhausted resource=%s reset=%s", resource, reset_at)
        raise errors.RateLimited(reset_at=reset_at, resource=resource, url=url)

    def request(
        self,
        method: str,
        url: str,
        *,
        token: str | None = None,
        accept: str = JSON,
        resource: str = "core",
        json_body: Any = None,
        etag: str | None = None,
        use_cache: bool = False,
    ) -> Response:
        """One answer; typed errors for limits and for what stays transient.

        Returns the response for any other status so callers map 404/409/422 their way.
        With `etag`, a 304 comes back as status 304; with `use_cache`, a 304 comes back as
        the stored 200 body (`from_cache=True`). Inside `memo.responses_kept(scope)`, an
        answer already received in that scope comes back without a request.
        """
        scope = memo.current_scope() if etag is None else None
        field = ""
        if scope:
            identity = token_id(token) if token else "pool"
            field = memo.fingerprint(method, url, accept, identity, json_body)
            kept = self.memo.get(scope, field)
            if kept is not None:
                headers = CaseInsensitiveDict({"ETag": kept.etag, "Link": kept.link})
                return Response(kept.status, headers, kept.body, url, True, kept.link)
        resp = self._request_retried(
            method,
            url,
            token=token,
            accept=accept,
            resource=resource,
            json_body=json_body,
            etag=etag,
            use_cache=use_cache,
        )
        # A GraphQL answer carrying errors (a rate limit, a timeout, a partial answer) is
        # never kept: the retry must ask GitHub again, not replay the failure.
        if scope and not (resource == "graphql" and b'"errors"' in resp.body):
            self.memo.put(
                scope, field, memo.Kept(resp.status, resp.headers.get("ETag"), resp.link, resp.body)
            )
        return resp

    def _request_retried(self, method: str, url: str, **options: Any) -> Response:
        """Ask again, a few times within the call, what failed for a passing reason.

        Like GitHub's own clients (octokit's retry plugin): a 5xx, a dropped connection or
        a timeout is asked again at most `retries` times, after about `retry_backoff` × 3^n
        seconds (1, 3, 9 by default, jittered) or the server's `Retry-After`; a secondary
        limit only when its `Retry-After` is short. Every attempt takes its own slot of the
        shared budget. A wait longer than `retry_wait_max` is not slept here: the error
        goes to the caller, whose work row waits (`not_before`).
        """
        retries = 0
        while True:
            try:
                return self._request_once(method, url, **options)
            except (errors.Transient, errors.SecondaryRateLimited) as exc:
                wait = self._retry_wait(exc, retries)
                if wait is None:
                    raise
                retries += 1
                logger.warning(
                    "github.retry method=%s path=%s retry=%d wait=%.2f error=%s",
                    method,
                    urlsplit(url).path,
                    retries,
                    wait,
                    exc,
                )
            self.sleep(wait)

    def _retry_wait(self, exc: errors.GitHubError, retries: int) -> float | None:
        """Seconds before the next attempt, or None when the call should give up."""
        if retries >= self.retries:
            return None
        if isinstance(exc, errors.SecondaryRateLimited):
            # The token rests until then in Redis too: a moment after, it has a slot again.
            wait = exc.retry_after + random.uniform(0.1, 0.5)  # noqa: S311 - jitter
        elif isinstance(exc, errors.Transient) and exc.retry_after is not None:
            wait = exc.retry_after
        else:
            return self.retry_backoff * 3**retries * random.uniform(0.75, 1.25)  # noqa: S311
        # The server named the wait: only a short one is slept here.
        return wait if wait <= self.retry_wait_max else None

    def _request_once(
        self,
        method: str,
        url: str,
        *,
        token: str | None,
        accept: str,
        resource: str,
        json_body: Any,
        etag: str | None,
        use_cache: bool,
    ) -> Response:
        """One attempt: a slot, the request, its answer (another pool token on a primary
        limit of one)."""
        candidates = self._candidates(token)
        primary_hits = 0
        while True:
            slot = self._acquire(candidates, resource, url)
            identity = slot.tid if token else ("pool" if slot.token else "anon")
            headers = {"Accept": accept}
            if slot.token:
                headers["Authorization"] = f"token {slot.token}"
            cache_key = cached = None
            if use_cache and method == "GET" and not etag:
                # Pool tokens all read public data, so they share one cache identity.
                cache_key = self.cache.key(identity, url, accept)
                cached = self.cache.get(cache_key)
            if etag or cached:
                headers["If-None-Match"] = etag or cached.etag
            raw = self._send(method, url, headers=headers, json_body=json_body)
            self.limits.record(slot.tid, raw.headers)
            try:
                return self._answer(
                    raw, method, url, slot, resource=resource, cache_key=cache_key, cached=cached
                )
            except errors.RateLimited:
                # Primary limit: the headers are recorded, so another pool token with
                # budget is picked next; none left -> RateLimited.
                primary_hits += 1
                if len(candidates) > 1 and primary_hits < len(candidates):
                    continue
                raise

    def _send(
        self, method: str, url: str, *, headers: dict[str, str], json_body: Any
    ) -> requests.Response:
        """The request itself; a timeout or a dropped connection is `Transient`."""
        path = urlsplit(url).path
        try:
            raw = self.session.request(
                method, url, headers=headers, json=json_body, timeout=self.timeout
            )
        except (
            requests.Timeout,
            requests.ConnectionError,
            requests.exceptions.ChunkedEncodingError,
        ) as exc:
            logger.warning(
                "github.transient method=%s path=%s error=%s", method, path, type(exc).__name__
            )
            raise errors.Transient(f"{method} {path}: {type(exc).__name__}", url=url) from None
        logger.debug(
            "github.request method=%s path=%s status=%s remaining=%s",
            method,
            path,
            raw.status_code,
            raw.headers.get("x-ratelimit-remaining"),
        )
        return raw

    def _answer(
        self,
        raw: requests.Response,
        method: str,
        url: str,
        slot: Slot,
        *,
        resource: str,
        cache_key: str | None,
        cached: Any,
    ) -> Response:
        """Map one HTTP answer to a response or a typed error."""
        path = urlsplit(url).path
        status, body = raw.status_code, raw.content
        link = raw.headers.get("Link")
        if status == 304:
            self.limits.refund(slot)
            if cached is not None:
                return Response(200, raw.headers, cached.body, url, True, cached.link or link)
            return Response(304, raw.headers, b"", url, link=link)
        if 200 <= status < 300:
            if slot.tid in self._secondary_seen:
                self._secondary_seen.discard(slot.tid)
                self.limits.secondary_clear(slot.tid)
            if cache_key and raw.headers.get("ETag"):
                self.cache.put(cache_key, etag=raw.headers["ETag"], link=link, body=body)
            return Response(status, raw.headers, body, url, link=link)
        if status in TRANSIENT_STATUSES:
            logger.warning("github.transient method=%s path=%s status=%s", method, path, status)
            raise errors.Transient(
                f"{method} {path}: HTTP {status}",
                status=status,
                url=url,
                retry_after=_seconds(raw.headers.get("retry-after")),
            )
        message = _message(body)
        if status in (403, 429) or (resource == "graphql" and "rate limit" in message):
            if raw.headers.get("x-ratelimit-remaining") == "0":
                reset = raw.headers.get("x-ratelimit-reset")
                reset_at = _epoch(float(reset)) if reset else _epoch(time.time() + 60)
                raise errors.RateLimited(
                    reset_at=reset_at,
                    resource=raw.headers.get("x-ratelimit-resource") or resource,
                    status=status,
                    url=url,
                )
            lowered = message.lower()
            if (
                "secondary rate limit" in lowered
                or "abuse detection" in lowered
                or raw.headers.get("retry-after")
            ):
                wait = self.limits.secondary_hit(slot.tid, _seconds(raw.headers.get("retry-after")))
                with self._lock:
                    self._secondary_seen.add(slot.tid)
                logger.warning("github.secondary_limit path=%s wait=%.0f", path, wait)
                raise errors.SecondaryRateLimited(retry_after=wait, status=status, url=url)
            if "access blocked" in lowered:
                raise errors.Blocked(f"{method} {path}: {message}", status=status, url=url)
        if status == 451:
            raise errors.Blocked(f"{method} {path}: HTTP 451 {message}", status=451, url=url)
        if status == 401:
            raise errors.BadCredentials(f"{method} {path}: HTTP 401 {message}", status=401, url=url)
        return Response(status, raw.headers, body, url, link=link)

    @staticmethod
    def _raise_for(resp: Response, *, what: str = "") -> None:
        if resp.status < 300:
            return
        path = urlsplit(resp.url).path
        message = f"{what or path}: HTTP {resp.status} {_message(resp.body)}".strip()
        if resp.status == 404:
            raise errors.NotFound(message, status=404, url=resp.url)
        if resp.status == 409:
            raise errors.EmptyRepository(message, status=409, url=resp.url)
        raise errors.GitHubError(message, status=resp.status, url=resp.url)

    def get_json(self, path: str, params: dict | None = None, *, token=None, cache=True) -> Any:
        resp = self.request("GET", self.url(path, params), token=token, use_cache=cache)
        self._raise_for(resp)
        return resp.json()

    def paginate(
        self,
        path: str,
        params: dict | None = None,
        *,
        token: str | None = None,
        limit: int | None = None,
        accept: str = JSON,
        cache: bool = True,
    ) -> list[dict]:
        """Follow `rel="next"` links until `limit` items (or the end)."""
        params = dict(params or {})
        params.setdefault("per_page", 100 if limit is None else max(1, min(100, limit)))
        url: str | None = self.url(path, params)
        items: list[dict] = []
        while url:
            resp = self.request("GET", url, token=token, accept=accept, use_cache=cache)
            self._raise_for(resp)
            batch = resp.json() or []
            items.extend(batch)
            if limit is not None and len(items) >= limit:
                return items[:limit]
            url = resp.next_url
        return items

    @staticmethod
    def _repo_path(full_name: str) -> str:
        owner, _, name = full_name.partition("/")
        if not owner or not name:
            raise errors.NotFound(f"not a repository name: {full_name!r}")
        return f"/repos/{quote(owner, safe='')}/{quote(name, safe='')}"

    # ------------------------------------------------------------------ REST
    def user(self, login: str, *, token: str | None = None) -> dict:
        return self.get_json(f"/users/{quote(login, safe='')}", token=token)

    def user_repos(
        self, login: str, *, sort: str = "pushed", limit: int = 30, token: str | None = None
    ) -> list[dict]:
        return self.paginate(
            f"/users/{quote(login, safe='')}/repos",
            {"sort": sort, "type": "owner"},
            token=token,
            limit=limit,
        )

    def repo(self, full_name: str, *, token: str | None = None) -> dict:
        return self.get_json(self._repo_path(full_name), token=token)

    def branches(self, full_name: str, *, limit: int = 10, token: str | None = None) -> list[dict]:
        return self.paginate(self._repo_path(full_name) + "/branches", token=token, limit=limit)

    def commits(
        self,
        full_name: str,
        *,
        author: str | None = None,
        sha: str | None = None,
        since: datetime | date | str | None = None,
        until: datetime | date | str | None = None,
        path: str | None = None,
        limit: int | None = None,
        token: str | None = None,
        cache: bool = False,
    ) -> list[dict]:
        """Commits, newest first; `cache=True` sends conditional requests (a 304 is free)."""
        params = {
            "author": author,
            "sha": sha,
            "since": _iso(since),
            "until": _iso(until),
            "path": path,
        }
        return self.paginate(
            self._repo_path(full_name) + "/commits", params, token=token, limit=limit, cache=cache
        )

    def commit(self, full_name: str, sha: str, *, token: str | None = None) -> dict:
        url: str | None = self.url(f"{self._repo_path(full_name)}/commits/{quote(sha, safe='')}")
        result: dict | None = None
        while url:
            resp = self.request("GET", url, token=token)
            self._raise_for(resp)
            doc = resp.json()
            if result is None:
                result = doc
                result["files"] = list(doc.get("files") or [])
            else:
                result["files"].extend(doc.get("files") or [])
            url = resp.next_url
        return result or {}

    def readme(self, full_name: str, *, token: str | None = None) -> str | None:
        resp = self.request(
            "GET",
            self.url(self._repo_path(full_name) + "/readme"),
            token=token,
            accept=RAW,
            use_cache=True,
        )
        if resp.status == 404:
            return None
        self._raise_for(resp)
        text = resp.body.decode("utf-8", errors="replace")
        # A server that ignores the raw media type answers the contents JSON.
        if text.startswith("{") and '"content"' in text:
            try:
                doc = json.loads(text)
                if doc.get("encoding") == "base64":
                    return base64.b64decode(doc["content"]).decode("utf-8", errors="replace")
            except (ValueError, KeyError, TypeError):
                pass
        return text

    def languages(self, full_name: str, *, token: str | None = None) -> dict[str, int]:
        return self.get_json(self._repo_path(full_name) + "/languages", token=token) or {}

    def star_history(self, full_name: str, *, token: str | None = None) -> list[dict]:
        """Daily new-star counts, oldest first, every page (one row per day with stars)."""
        return self.paginate(self._repo_path(full_name) + "/stargazers/history", token=token)

    def rate_limit(self, *, token: str | None = None) -> dict:
        """GET /rate_limit (free at GitHub); also refreshes the stored budget."""
        resp = self.request("GET", self.url("/rate_limit"), token=token)
        self._raise_for(resp)
        return resp.json()

    # ------------------------------------------------------------------ star lists
    def _star_page(self, url: str, *, token: str | None, etag: str | None) -> Response:
        return self.request(
            "GET", url, token=token, accept=STAR_JSON, etag=etag, use_cache=etag is None
        )

    def starred_page(
        self,
        login: str,
        *,
        url: str | None = None,
        etag: str | None = None,
        token: str | None = None,
    ) -> Page:
        url = url or self.url(
            f"/users/{quote(login, safe='')}/starred",
            {"per_page": 100, "sort": "created", "direction": "desc"},
        )
        resp = self._star_page(url, token=token, etag=etag)
        number = page_number(url)
        if resp.status == 304:
            return Page([], url, resp.next_url, etag, True, number)
        self._raise_for(resp)
        return Page(resp.json() or [], url, resp.next_url, resp.headers.get("ETag"), False, number)

    def stargazers_page(
        self,
        full_name: str,
        *,
        url: str | None = None,
        etag: str | None = None,
        token: str | None = None,
        expected_stars: int | None = None,
    ) -> Page:
        url = url or self.url(self._repo_path(full_name) + "/stargazers", {"per_page": 100})
        number = page_number(url)
        resp = self.request("GET", url, token=token, accept=STAR_JSON, etag=etag)
        if resp.status == 304:
            return Page([], url, resp.next_url, etag, True, number)
        where = f"stargazers of {full_name} page {number}"
        if resp.status == 422:
            raise errors.PaginationLimit(f"{where}: past the page cap", status=422, url=url)
        if resp.status in (403, 404):
            raise errors.StargazersRestricted(
                f"{where}: HTTP {resp.status} {_message(resp.body)}", status=resp.status, url=url
            )
        self._raise_for(resp, what=where)
        items = resp.json() or []
        if not items:
            if number > STARGAZER_PAGE_CAP:
                raise errors.PaginationLimit(f"{where}: empty page past the cap", url=url)
            if number == 1 and (expected_stars or 0) > 0:
                raise errors.StargazersRestricted(
                    f"{where}: empty list for a repository with {expected_stars} stars", url=url
                )
        return Page(items, url, resp.next_url, resp.headers.get("ETag"), False, number)

    # ------------------------------------------------------------------ GraphQL
    def graphql(self, query: str, variables: dict, *, token: str | None = None) -> dict:
        """One GraphQL query's data: priced, budgeted and mapped by workers.github.graphql."""
        return graphql_api.data_of(self, query, variables, token=token)

    def contributions(
        self, login: str, *, since: datetime, until: datetime, token: str | None = None
    ) -> list[dict]:
        """Commit and pull-request contributions by repository in one window (<= 365 days)."""
        if (until - since).days > 365:
            raise ValueError("contributions: a window spans at most 365 days")
        data = self.graphql(
            CONTRIBUTIONS_QUERY,
            {"login": login, "from": _iso(since), "to": _iso(until)},
            token=token,
        )
        user = data.get("user")
        if user is None:
            raise errors.NotFound(f"graphql: no user {login!r}")
        collection = user.get("contributionsCollection") or {}
        by_repo: dict[str, dict] = {}
        for field_name, counter in (
            ("commitContributionsByRepository", "commits"),
            ("pullRequestContributionsByRepository", "pull_requests"),
        ):
            for entry in collection.get(field_name) or []:
                repo = entry.get("repository") or {}
                name = repo.get("nameWithOwner")
                if not name:
                    continue
                row = by_repo.setdefault(
                    name,
                    {
                        "full_name": name,
                        "is_private": bool(repo.get("isPrivate")),
                        "commits": 0,
                        "pull_requests": 0,
                    },
                )
                row[counter] += int((entry.get("contributions") or {}).get("totalCount") or 0)
        return list(by_repo.values())

    def pool_budgets(self) -> list[dict]:
        """What Redis knows about each pool token (by hash), for diagnostics."""
        rows = []
        for candidate in self.tokens or [None]:
            for resource in ("core", "graphql"):
                budget = self.limits.budget(candidate, resource)
                rows.append({"token": token_id(candidate), "resource": resource, **asdict(budget)})
        return rows

    # ------------------------------------------------------------------ helpers for others
    def clone_url(self, full_name: str) -> str:
        self._repo_path(full_name)
        return f"{self.web_url}/{full_name}.git"

    def repo_html_url(self, full_name: str) -> str:
        """The repo's page on GitHub, for links on Gazer's own pages."""
        self._repo_path(full_name)
        return f"{self.web_url}/{full_name}"


def _iso(value: datetime | date | str | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"{value.isoformat()}T00:00:00Z"
