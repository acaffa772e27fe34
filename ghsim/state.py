"""Per-process mutable state: configuration, rate-limit budgets, faults, stats."""

from __future__ import annotations

import copy
import re
import time
from collections import defaultdict, deque

from .util import h64

DEFAULT_CONFIG: dict = {
    "rate_limit": 5000,
    "rate_window": 3600,
    "unauth_limit": 60,
    "graphql_limit": None,  # None: same as rate_limit (points per window)
    # GitHub's secondary limit on the GraphQL endpoint: points per minute, a query 1.
    "graphql_points_per_minute": 2000,
    # GitHub ends a query after 10 s (502) and takes extra points for the next hour.
    "graphql_timeout_seconds": 10.0,
    "graphql_timeout_penalty": 10,
    # Modelled processing time of a query: base + per node of the answer (ms).
    "graphql_latency": {"base_ms": 0.0, "per_node_ms": 0.0},
    # Possible nodes past which a query loses its heaviest top-level fields with
    # RESOURCE_LIMITS_EXCEEDED (None: no such limit).
    "graphql_resource_limit_nodes": None,
    "primary_status": 403,
    "secondary": {
        "mode": "off",  # off | next | rps
        "token": None,  # None: any token (and anonymous clients)
        "count": 0,  # mode "next": the next K requests are refused
        "rps": 0,  # mode "rps": more than N requests per second per token are refused
        "retry_after": 60,
        "status": 403,
    },
    "restrict_stargazers": False,
    "restricted_response": 404,  # 404 | 403 | "empty"
    "collaborators": {},  # {"owner/repo": ["login", ...]}
    # Repos answering 451 "Repository access blocked" (REST and git), e.g. a DMCA takedown.
    "blocked_repos": [],
    "faults": {
        "error_rate": 0.0,
        "error_status": 502,
        "slow_ms": 0,
        "drop_rate": 0.0,
        "path_prefix": "",
        "path_pattern": "",  # a regular expression searched in the path, e.g. ^/api/|\.git/
        "seed": 0,
    },
    "llm": {"malformed": "none", "error_rate": 0.0, "error_status": 500},
    # OAuth apps (ghsim/oauth.py): client_id -> secret, callback URL ("" accepts any
    # redirect_uri), name shown on the consent page.
    "oauth_apps": {
        "ghsim-oauth-app": {
            "secret": "ghsim-oauth-secret",
            "callback_url": "",
            "name": "Gazer (simulated GitHub)",
        }
    },
}


def merge(dst: dict, src: dict) -> dict:
    for k, v in src.items():
        if isinstance(v, dict) and isinstance(dst.get(k), dict) and k != "collaborators":
            merge(dst[k], v)
        else:
            dst[k] = copy.deepcopy(v)
    return dst


class Budget:
    __slots__ = ("max_used", "start", "used")

    def __init__(self, start: float):
        self.start = start
        self.used = 0
        self.max_used = 0


class State:
    def __init__(self, initial: dict | None = None):
        self.initial = merge(copy.deepcopy(DEFAULT_CONFIG), initial or {})
        self.reset()

    def reset(self) -> None:
        self.config = copy.deepcopy(self.initial)
        self.budgets: dict[tuple[str, str], Budget] = {}
        self.max_used: dict[str, dict[str, int]] = defaultdict(dict)
        self.secondary_left = int(self.config["secondary"].get("count") or 0)
        self.rps_windows: dict[str, deque] = defaultdict(deque)
        self.graphql_minute: dict[str, deque] = defaultdict(deque)
        self.fault_n = 0
        self.llm_n = 0
        self.stats_reset()

    def stats_reset(self) -> None:
        self.requests_total = 0
        self.by_kind: dict[str, int] = defaultdict(int)
        self.by_token: dict[str, int] = defaultdict(int)
        self.by_status: dict[str, int] = defaultdict(int)
        self.not_modified = 0
        self.primary_limited = 0
        self.secondary_limited = 0
        self.graphql_points = 0  # primary points charged
        self.graphql_queries: deque = deque(maxlen=2000)  # {cost, nodes, ms, status}
        self.faults = defaultdict(int)
        self.fault_kinds = defaultdict(int)  # faults served per kind: api, graphql, web (git)
        self.llm_calls: dict[str, int] = defaultdict(int)
        # Items per call ("id: X" lines), the last 1,000 calls of each task: shows how
        # many candidates a batched prompt really carried.
        self.llm_items: dict[str, deque] = defaultdict(lambda: deque(maxlen=1000))
        self.git_bytes = 0  # bytes of git-upload-pack answers (what clones and fetches read)
        self.git_upload_packs: dict[str, int] = defaultdict(int)  # per repo

    def configure(self, patch: dict) -> dict:
        merge(self.config, patch)
        if "faults" in patch:
            self.fault_n = 0
        if "llm" in patch:
            self.llm_n = 0
        if "secondary" in patch:
            self.secondary_left = int(self.config["secondary"].get("count") or 0)
            self.rps_windows.clear()
        return self.config

    # ----------------------------------------------------------- rate limits
    def limit_for(self, ident: str, resource: str) -> int:
        if ident.startswith("ip:"):
            return int(self.config["unauth_limit"])
        if resource == "graphql" and self.config.get("graphql_limit"):
            return int(self.config["graphql_limit"])
        return int(self.config["rate_limit"])

    def budget(self, ident: str, resource: str, now: float | None = None) -> Budget:
        now = time.time() if now is None else now
        key = (ident, resource)
        b = self.budgets.get(key)
        window = float(self.config["rate_window"])
        if b is None or now >= b.start + window:
            b = Budget(now)
            self.budgets[key] = b
        return b

    def headers(self, ident: str, resource: str, b: Budget) -> dict:
        limit = self.limit_for(ident, resource)
        reset = int(b.start + float(self.config["rate_window"]) + 0.999)
        return {
            "x-ratelimit-limit": str(limit),
            "x-ratelimit-remaining": str(max(0, limit - b.used)),
            "x-ratelimit-used": str(b.used),
            "x-ratelimit-reset": str(reset),
            "x-ratelimit-resource": resource,
        }

    def consume(self, ident: str, resource: str, b: Budget) -> bool:
        """Count one request; False when the budget was already exhausted."""
        if b.used >= self.limit_for(ident, resource):
            return False
        b.used += 1
        m = self.max_used[ident]
        if b.used > m.get(resource, 0):
            m[resource] = b.used
        return True

    def consume_points(self, ident: str, resource: str, b: Budget, points: int) -> bool:
        """Charge a GraphQL query's points; False (nothing charged) when they do not fit."""
        if b.used + points > self.limit_for(ident, resource):
            return False
        b.used += points
        self.graphql_points += points
        m = self.max_used[ident]
        if b.used > m.get(resource, 0):
            m[resource] = b.used
        return True

    def graphql_minute_hit(self, ident: str, points: int = 1) -> bool:
        """GitHub's secondary limit of points per minute on the GraphQL endpoint."""
        limit = int(self.config.get("graphql_points_per_minute") or 0)
        if not limit:
            return False
        now = time.monotonic()
        dq = self.graphql_minute[ident]
        while dq and dq[0][0] <= now - 60.0:
            dq.popleft()
        if sum(p for _, p in dq) + points > limit:
            return True
        dq.append((now, points))
        return False

    def secondary_hit(self, ident: str, token: str | None) -> bool:
        sec = self.config["secondary"]
        mode = sec.get("mode", "off")
        if mode == "off":
            return False
        target = sec.get("token")
        if target is not None and target != token:
            return False
        if mode == "next":
            if self.secondary_left > 0:
                self.secondary_left -= 1
                return True
            return False
        if mode == "rps":
            limit = int(sec.get("rps") or 0)
            now = time.monotonic()
            dq = self.rps_windows[ident]
            while dq and dq[0] <= now - 1.0:
                dq.popleft()
            dq.append(now)
            return len(dq) > limit
        return False

    # ---------------------------------------------------------------- faults
    def fault_for(self, path: str) -> str | None:
        f = self.config["faults"]
        if not (f.get("error_rate") or f.get("drop_rate") or f.get("slow_ms")):
            return None
        prefix = f.get("path_prefix") or ""
        if prefix and not path.startswith(prefix):
            return None
        pattern = f.get("path_pattern") or ""
        if pattern and not re.search(pattern, path):
            return None
        n = self.fault_n
        self.fault_n += 1
        x = h64("fault", f.get("seed", 0), n) / 2**64
        drop = float(f.get("drop_rate") or 0)
        err = float(f.get("error_rate") or 0)
        if x < drop:
            return "drop"
        if x < drop + err:
            return "error"
        if f.get("slow_ms"):
            return "slow"
        return None

    def llm_fault(self) -> bool:
        rate = float(self.config["llm"].get("error_rate") or 0)
        if not rate:
            return False
        n = self.llm_n
        self.llm_n += 1
        return h64("llmfault", self.config["faults"].get("seed", 0), n) / 2**64 < rate

    def stats(self) -> dict:
        now = time.time()
        budgets = {}
        for (ident, res), b in self.budgets.items():
            if now < b.start + float(self.config["rate_window"]):
                budgets.setdefault(ident, {})[res] = {
                    "used": b.used,
                    "limit": self.limit_for(ident, res),
                    "reset": int(b.start + float(self.config["rate_window"]) + 0.999),
                }
        return {
            "requests_total": self.requests_total,
            "by_kind": dict(self.by_kind),
            "by_token": dict(self.by_token),
            "by_status": dict(self.by_status),
            "not_modified": self.not_modified,
            "primary_limited": self.primary_limited,
            "secondary_limited": self.secondary_limited,
            "faults": dict(self.faults),
            "fault_kinds": dict(self.fault_kinds),
            "llm_calls": dict(self.llm_calls),
            "llm_items": {task: list(items) for task, items in self.llm_items.items()},
            "git_bytes": self.git_bytes,
            "git_upload_packs": dict(self.git_upload_packs),
            "graphql_points": self.graphql_points,
            "graphql_queries": list(self.graphql_queries),
            "max_used": {k: dict(v) for k, v in self.max_used.items()},
            "budgets": budgets,
        }
