"""The synthetic GitHub world: users, repositories, stars, histories, READMEs.

Everything is a pure function of ``seed`` (and the anchor date ``now``), built
lazily: a repository with 60,000 stars costs nothing until one of its pages is
asked for.  The server in :mod:`ghsim.server` and tests both use this model.

Stars use a shared pool of ``pool_size`` users.  Slots ``0..U-1`` are the world
users, the rest are synthetic users named ``sg-0001234``.  A repository ``r``
with ``S`` stars places its designated world-user stargazers at fixed positions
and fills every other position ``k`` (counted among the non-designated ones)
with synthetic slot ``U + (a*k + b) mod (P - U)``, an affine permutation whose
inverse answers "which repos did this user star" without enumeration.
"""

from __future__ import annotations

import bisect
import math
import os
import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache

from .util import DAY, day_of, h64, rng, unit

WORLD_LOGINS = [
    "avery-lin",
    "bram-okafor",
    "chen-wei",
    "dana-kowalski",
    "eli-navarro",
    "farah-haddad",
    "gus-muller",
    "hana-sato",
    "ivan-petrov",
    "jade-osei",
    "kai-lindqvist",
    "lena-fischer",
    "mo-rahimi",
    "nia-brooks",
    "omar-farouk",
    "pia-jensen",
    "quinn-adler",
    "rosa-marin",
    "sami-koskinen",
    "tara-white",
]

PRIMARY_LANGS = [
    "Python",
    "TypeScript",
    "Go",
    "Rust",
    "Python",
    "JavaScript",
    "Go",
    "Rust",
    "Java",
    "Ruby",
    "Python",
    "TypeScript",
]

LOCATIONS = [
    "Berlin, Germany",
    None,
    "Lagos",
    "Kraków, Poland",
    "Lisbon",
    "Montreal, QC",
    "Zürich",
    "Osaka, Japan",
    "Tallinn",
    "Accra, Ghana",
    "Stockholm",
    "Hamburg",
]

COMPANIES = ["@acme-labs", None, "Initech", "@ghsim-org", None, "Globex", "Hooli", None]

ADJ = [
    "swift",
    "quiet",
    "bright",
    "rapid",
    "tiny",
    "lazy",
    "brave",
    "calm",
    "clever",
    "fuzzy",
    "golden",
    "hidden",
    "iron",
    "lunar",
    "micro",
    "neon",
    "open",
    "polar",
    "quantum",
    "rusty",
    "silent",
    "solar",
    "stellar",
    "vivid",
]
NOUN = [
    "parser",
    "router",
    "cache",
    "engine",
    "kit",
    "lens",
    "forge",
    "queue",
    "graph",
    "sync",
    "shell",
    "vault",
    "atlas",
    "beacon",
    "canvas",
    "signal",
    "stream",
    "ledger",
    "pilot",
    "relay",
    "sketch",
    "tracer",
    "weaver",
    "widget",
]

TOPICS = [
    "cli",
    "web",
    "database",
    "machine-learning",
    "devtools",
    "api",
    "async",
    "compiler",
    "visualization",
    "security",
    "testing",
    "networking",
]

DESCRIPTIONS = {
    "Python": "A {adj} {noun} for data pipelines written in Python",
    "TypeScript": "Type-safe {noun} for modern web apps",
    "Go": "A {adj} {noun} service in Go",
    "Rust": "Blazingly {adj} {noun} in Rust",
    "JavaScript": "A {adj} {noun} for the browser",
    "Java": "Enterprise-grade {noun} library",
    "Ruby": "A {adj} {noun} gem",
    "C": "A small {noun} in portable C",
    "Shell": "Scripts to automate your {noun}",
    None: "Notes and documentation about {noun}s",
}

# Bench star-size mixture (all <= 40,000).
BENCH_N = 10000
STAR_CAP_PAGES = 400


@dataclass
class User:
    login: str
    id: int
    kind: str  # world | pool | load | org
    slot: int | None = None
    name: str | None = None
    company: str | None = None
    blog: str = ""
    location: str | None = None
    bio: str | None = None
    created_at: int = 0
    updated_at: int = 0
    followers: int = 0
    following: int = 0
    public_gists: int = 0
    type: str = "User"


@dataclass
class Repo:
    owner: str
    name: str
    id: int
    kind: str  # world | catalog | bench | load
    language: str | None
    langs: list[str]
    description: str | None
    created_at: int
    pushed_at: int
    updated_at: int
    homepage: str | None
    topics: list[str]
    default_branch: str
    stars: int
    forks_count: int = 0
    open_issues: int = 0
    archived: bool = False
    empty: bool = False
    fork: bool = False
    parent: str | None = None
    has_readme: bool = True
    readme_style: str = "simple"  # rich | simple | none
    restricted: bool = False
    extra_branches: int = 0
    big_commit: bool = False
    owner_days: int = 0
    owner_old_days: int = 0
    contributors: dict[str, int] = field(default_factory=dict)
    other_authors: int = 2
    template: str = ""

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"


# Activity users: `act-<commits>c-<k>` own ACTIVITY_REPOS repos (benchmarks).
ACTIVITY_USER = re.compile(r"act-(\d{1,6})c-(\d{1,6})")
ACTIVITY_REPOS = 20


class NotFound(Exception):
    pass


def _month_anchor() -> int:
    now = datetime.now(UTC)
    return int(datetime(now.year, now.month, 1, tzinfo=UTC).timestamp())


class World:
    """Deterministic world for a seed.  ``now`` is the anchor (epoch seconds)."""

    def __init__(
        self,
        seed: int = 1,
        users: int = 12,
        pool_size: int = 2_000_000,
        now: int | None = None,
        web_url: str = "http://127.0.0.1:9100",
        catalog_size: int = 1200,
        data_dir: str | None = None,
    ):
        self.seed = seed
        self.n_users = max(2, users)
        self.P = pool_size
        self.now = int(now if now is not None else _month_anchor())
        self.web_url = web_url.rstrip("/")
        self.catalog_size = catalog_size
        self.data_dir = data_dir
        self._lock = threading.RLock()
        # Window gap: no commits between now-745d and now-695d, so a client
        # computing "two years ago" from a clock up to a month later than the
        # anchor still sees the same boundary.
        self.gap = (self.now - 745 * DAY, self.now - 695 * DAY)
        self._build_users()
        self._build_catalog()
        self._build_world_repos()
        self._build_star_designations()
        self._histories: dict[str, object] = {}

    # ------------------------------------------------------------------ users
    def _build_users(self) -> None:
        U = self.n_users
        self.world_logins: list[str] = []
        for i in range(U):
            self.world_logins.append(WORLD_LOGINS[i] if i < len(WORLD_LOGINS) else f"dev-{i:03d}")
        self.world_index = {lg.lower(): i for i, lg in enumerate(self.world_logins)}
        self.world_users: dict[str, User] = {}
        for i, login in enumerate(self.world_logins):
            r = rng(self.seed, "user", login)
            first = login.split("-")[0]
            variant = i % 6
            blog = [
                f"https://{first}.dev",
                "",
                f"//{first}.io",
                f"{first}.com",
                f"http://blog.{first}.net",
                f"https://github.com/{login}",
            ][variant]
            bio = (
                None
                if variant == 1
                else f"{PRIMARY_LANGS[i % 12]} developer. Builds {r.choice(NOUN)}s."
            )
            created = self.now - r.randint(5 * 365, 12 * 365) * DAY - r.randint(0, DAY)
            self.world_users[login.lower()] = User(
                login=login,
                id=1_000_000 + i,
                kind="world",
                slot=i,
                name=" ".join(p.capitalize() for p in login.split("-")),
                company=COMPANIES[i % len(COMPANIES)],
                blog=blog,
                location=LOCATIONS[i % len(LOCATIONS)],
                bio=bio,
                created_at=created,
                updated_at=self.now - r.randint(1, 60) * DAY,
                followers=r.randint(3, 900),
                following=r.randint(0, 120),
                public_gists=r.randint(0, 12),
            )

    def pool_login(self, slot: int) -> str:
        if slot < self.n_users:
            return self.world_logins[slot]
        return f"sg-{slot:07d}"

    def get_user(self, login: str) -> User:
        low = login.lower()
        u = self.world_users.get(low)
        if u is not None:
            return u
        m = re.fullmatch(r"sg-(\d{7})", low)
        if m:
            slot = int(m.group(1))
            if self.n_users <= slot < self.P:
                return self._pool_user(slot)
            raise NotFound(login)
        m = re.fullmatch(r"load-(\d{1,4})r-(\d{1,6})", low)
        if m:
            return self._load_user(low)
        if ACTIVITY_USER.fullmatch(low):
            return self._load_user(low)
        m = re.fullmatch(r"ghsim-server-([0-9a-f]{8})", low)
        if m:
            return User(
                login=low,
                id=90_000_000 + int(m.group(1), 16) % 9_000_000,
                kind="server",
                name=None,
                created_at=self.now - 1000 * DAY,
                updated_at=self.now - 1000 * DAY,
            )
        if low == "bench-org":
            return User(
                login="bench-org",
                id=999_001,
                kind="org",
                type="Organization",
                name="Bench Org",
                created_at=self.now - 3000 * DAY,
                updated_at=self.now - 10 * DAY,
            )
        raise NotFound(login)

    @lru_cache(maxsize=65536)  # noqa: B019 - the world lives as long as the process
    def _pool_user(self, slot: int) -> User:
        r = rng(self.seed, "pool", slot)
        created = self.now - r.randint(100, 5000) * DAY
        return User(
            login=self.pool_login(slot),
            id=1_000_000 + slot,
            kind="pool",
            slot=slot,
            name=None if r.random() < 0.5 else f"Sim User {slot}",
            blog="",
            created_at=created,
            updated_at=created + r.randint(0, self.now - created),
            followers=r.randint(0, 50),
            following=r.randint(0, 50),
        )

    def _load_user(self, low: str) -> User:
        r = rng(self.seed, "load", low)
        uid = 5_000_000 + h64(self.seed, "loadid", low) % 4_000_000
        self.__dict__.setdefault("_load_ids", {})[uid] = low
        return User(
            login=low,
            id=uid,
            kind="load",
            name=f"Load {low}",
            blog="loadtest.example" if r.random() < 0.5 else "",
            bio="Synthetic load-test account",
            created_at=self.now - 3000 * DAY,
            updated_at=self.now - 5 * DAY,
            followers=r.randint(0, 100),
            following=r.randint(0, 100),
        )

    def login_by_id(self, uid: int) -> str | None:
        """The login of a user id this world has answered with (GraphQL's author filter
        names users by id)."""
        for u in self.world_users.values():
            if u.id == uid:
                return u.login
        if 1_000_000 + self.n_users <= uid < 1_000_000 + self.P:
            return self.pool_login(uid - 1_000_000)
        return self.__dict__.get("_load_ids", {}).get(uid)

    def user_repos(self, login: str) -> list[Repo]:
        u = self.get_user(login)
        if u.kind == "world":
            return list(self._world_repos_by_owner[u.login])
        if u.kind == "pool":
            return [self.catalog[i] for i in self._catalog_by_owner.get(u.login, [])]
        if u.kind == "load" and ACTIVITY_USER.fullmatch(u.login):
            return self._activity_user_repos(u.login)
        if u.kind == "load":
            return self._load_repos(u.login)
        if u.kind == "org":
            return []
        return []

    # ---------------------------------------------------------------- catalog
    def _synthetic_slot(self, *parts: object) -> int:
        return self.n_users + h64(self.seed, *parts) % (self.P - self.n_users)

    def _build_catalog(self) -> None:
        big = [60000, 45000, 40001, 40000, 25000, 12000, 8000, 5000]
        self.catalog: list[Repo] = []
        self._catalog_by_name: dict[str, Repo] = {}
        self._catalog_by_owner: dict[str, list[int]] = {}
        langs = ["Python", "TypeScript", "Go", "Rust", "JavaScript", "Java", "C", "Ruby", "Shell"]
        for i in range(self.catalog_size):
            r = rng(self.seed, "catalog", i)
            owner = self.pool_login(self._synthetic_slot("catowner", i))
            name = f"{ADJ[r.randrange(len(ADJ))]}-{NOUN[r.randrange(len(NOUN))]}-{i}"
            if i < len(big):
                stars = big[i]
            else:
                x = r.random()
                if x < 0.5:
                    stars = r.randint(1, 60)
                elif x < 0.85:
                    stars = r.randint(60, 1500)
                else:
                    stars = r.randint(1500, 9000)
            lang = langs[i % len(langs)] if i % 23 != 7 else None
            created = self.now - r.randint(2 * 365, 9 * 365) * DAY - r.randint(0, DAY)
            pushed = self.now - r.randint(1, 900) * DAY - r.randint(0, DAY)
            if self.gap[0] <= pushed < self.gap[1]:
                pushed -= 60 * DAY
            repo = Repo(
                owner=owner,
                name=name,
                id=20_000_000 + i,
                kind="catalog",
                language=lang,
                langs=[lang] if lang else [],
                description=DESCRIPTIONS[lang].format(
                    adj=ADJ[i % len(ADJ)], noun=NOUN[i % len(NOUN)]
                ),
                created_at=created,
                pushed_at=pushed,
                updated_at=max(pushed, self.now - r.randint(0, 30) * DAY),
                homepage=None if r.random() < 0.6 else f"https://{name}.example.org",
                topics=sorted(r.sample(TOPICS, r.randint(0, 3))),
                default_branch=r.choice(["main", "main", "master"]),
                stars=stars,
                forks_count=stars // 12,
                open_issues=r.randint(0, 40),
                restricted=(i % 97 == 5),
                owner_days=r.randint(6, 30),
                other_authors=3,
                template="catalog",
            )
            self.catalog.append(repo)
            self._catalog_by_name[repo.full_name.lower()] = repo
            self._catalog_by_owner.setdefault(owner, []).append(i)

    # ------------------------------------------------------------ world repos
    def _build_world_repos(self) -> None:
        U = self.n_users
        self._world_repos_by_owner: dict[str, list[Repo]] = {}
        self._world_repo_by_name: dict[str, Repo] = {}
        langs_all = [
            "Python",
            "TypeScript",
            "Go",
            "Rust",
            "JavaScript",
            "Java",
            "Ruby",
            "C",
            "Shell",
        ]
        specs = []
        for ui, login in enumerate(self.world_logins):
            r = rng(self.seed, "wrepos", login)
            lang = PRIMARY_LANGS[ui % len(PRIMARY_LANGS)]
            lang2 = langs_all[(langs_all.index(lang) + 1 + ui) % len(langs_all)]
            if lang2 == lang:
                lang2 = "Shell"
            uid = 10_000_000 + ui * 1000
            first = login.split("-")[0]

            def mk(t, name, login=login, uid=uid, lang=lang, **kw):
                base = dict(
                    owner=login,
                    name=name,
                    id=uid + t,
                    kind="world",
                    language=lang,
                    langs=[lang],
                    description=None,
                    created_at=0,
                    pushed_at=0,
                    updated_at=0,
                    homepage=None,
                    topics=[],
                    default_branch="main",
                    stars=0,
                )
                base.update(kw)
                return base

            hp_variants = [
                f"https://{first}.github.io/{first}-{NOUN[ui % 24]}",
                f"//{first}-app.dev",
                f"{first}.io",
                "",
                None,
            ]
            homepage = hp_variants[ui % len(hp_variants)]
            adj, noun = ADJ[(ui * 5) % 24], NOUN[(ui * 7) % 24]
            main_name = f"{adj}-{noun}"
            specs.append(
                mk(
                    0,
                    main_name,
                    description=f"{DESCRIPTIONS[lang].format(adj=adj, noun=noun)}",
                    langs=[lang, lang2, "Shell"] if lang != "Shell" else [lang],
                    created_at=self.now - (1100 + r.randint(0, 300)) * DAY,
                    pushed_at=self.now - r.randint(2, 20) * DAY,
                    homepage=homepage,
                    topics=sorted(r.sample(TOPICS, 3)),
                    stars=[180, 45, 950, 12, 300, 2400, 60, 75, 5, 130, 33, 410][ui % 12],
                    readme_style="rich",
                    extra_branches=2,
                    owner_days=24,
                    owner_old_days=6,
                    restricted=(ui == 2),
                    template="main",
                )
            )
            specs.append(
                mk(
                    1,
                    f"{first}-{NOUN[(ui * 3 + 1) % 24]}s",
                    description=f"Utilities around {NOUN[(ui * 3 + 1) % 24]}s",
                    langs=[lang, "JavaScript"] if lang != "JavaScript" else [lang, "Shell"],
                    created_at=self.now - (500 + r.randint(0, 100)) * DAY,
                    pushed_at=self.now - r.randint(20, 80) * DAY,
                    default_branch="develop" if ui % 3 == 1 else "main",
                    topics=[TOPICS[ui % len(TOPICS)]],
                    stars=r.randint(3, 60),
                    readme_style="simple",
                    owner_days=9,
                    big_commit=(ui % 4 == 0),
                    extra_branches=1 if ui % 2 else 0,
                    template="second",
                )
            )
            specs.append(
                mk(
                    2,
                    f"{NOUN[(ui + 11) % 24]}-{lang2.lower()}",
                    language=lang2,
                    langs=[lang2],
                    description=f"A {lang2} take on {NOUN[(ui + 11) % 24]}s",
                    created_at=self.now - (400 + r.randint(0, 60)) * DAY,
                    pushed_at=self.now - r.randint(30, 200) * DAY,
                    homepage=[
                        None,
                        "",
                        f"//{first}-tools.dev",
                        f"{first}-tools.io",
                        f"https://tools.{first}.dev",
                    ][ui % 5],
                    stars=r.randint(0, 25),
                    readme_style="images",
                    owner_days=5,
                    template="tool",
                )
            )
            specs.append(
                mk(
                    3,
                    f"{first}-scratch",
                    description="Experiments",
                    created_at=self.now - (300 + r.randint(0, 60)) * DAY,
                    pushed_at=self.now - r.randint(40, 120) * DAY,
                    stars=r.randint(0, 3),
                    readme_style="simple",
                    owner_days=2,
                    template="lowactivity",
                )
            )
            specs.append(
                mk(
                    4,
                    f"{first}-noreadme",
                    description=None,
                    created_at=self.now - (250 + r.randint(0, 60)) * DAY,
                    pushed_at=self.now - r.randint(10, 100) * DAY,
                    stars=r.randint(0, 8),
                    has_readme=False,
                    readme_style="none",
                    owner_days=6,
                    template="noreadme",
                )
            )
            specs.append(
                mk(
                    5,
                    f"{first}-notes",
                    language=None,
                    langs=[],
                    description="Personal notes and docs",
                    created_at=self.now - (600 + r.randint(0, 60)) * DAY,
                    pushed_at=self.now - r.randint(5, 60) * DAY,
                    stars=r.randint(0, 10),
                    readme_style="simple",
                    owner_days=7,
                    template="nolang",
                )
            )
            specs.append(
                mk(
                    6,
                    f"legacy-{NOUN[(ui + 5) % 24]}",
                    description="Old project, no longer maintained",
                    created_at=self.now - (2400 + r.randint(0, 300)) * DAY,
                    pushed_at=self.now - (1100 + r.randint(0, 200)) * DAY,
                    default_branch="master",
                    stars=r.randint(5, 90),
                    readme_style="simple",
                    owner_days=10,
                    template="old",
                )
            )
            specs.append(
                mk(
                    7,
                    f"{first}-archived-{NOUN[(ui + 9) % 24]}",
                    description="Archived experiment",
                    created_at=self.now - (800 + r.randint(0, 60)) * DAY,
                    pushed_at=self.now - (300 + r.randint(0, 60)) * DAY,
                    archived=True,
                    stars=r.randint(0, 40),
                    readme_style="simple",
                    owner_days=6,
                    template="archived",
                )
            )
            specs.append(
                mk(
                    8,
                    f"{first}-empty",
                    language=None,
                    langs=[],
                    description="Nothing here yet",
                    created_at=self.now - (100 + r.randint(0, 60)) * DAY,
                    pushed_at=0,
                    stars=0,
                    empty=True,
                    has_readme=False,
                    readme_style="none",
                    template="empty",
                )
            )
            # forks: of catalog repos (active / inactive) and of another world user's main repo
            cat_a = self.catalog[10 + (ui * 2) % 40]
            cat_b = self.catalog[11 + (ui * 2) % 40]
            for t, parent, days, tag in (
                (9, cat_a, 6, "fork_active"),
                (10, cat_b, 2, "fork_inactive"),
            ):
                specs.append(
                    mk(
                        t,
                        parent.name,
                        language=parent.language,
                        langs=list(parent.langs),
                        description=parent.description,
                        created_at=self.now - (200 + r.randint(0, 100)) * DAY,
                        pushed_at=0,
                        homepage=parent.homepage,
                        default_branch=parent.default_branch,
                        stars=r.randint(0, 2),
                        fork=True,
                        parent=parent.full_name,
                        has_readme=parent.has_readme,
                        readme_style=parent.readme_style,
                        owner_days=days,
                        template=tag,
                    )
                )
            specs.append(dict(_deferred_fork_of=(ui + 1) % U, ui=ui, mk=mk(11, "")))
        # resolve world forks of world repos after all main repos exist
        by_owner: dict[str, list[Repo]] = {lg: [] for lg in self.world_logins}
        deferred = []
        for s in specs:
            if "_deferred_fork_of" in s:
                deferred.append(s)
                continue
            repo = Repo(**s)
            by_owner[repo.owner].append(repo)
        for s in deferred:
            parent_owner = self.world_logins[s["_deferred_fork_of"]]
            parent = by_owner[parent_owner][0]
            base = dict(s["mk"])
            base.update(
                name=parent.name,
                language=parent.language,
                langs=list(parent.langs),
                description=parent.description,
                created_at=self.now - 150 * DAY,
                homepage=parent.homepage,
                default_branch=parent.default_branch,
                stars=1,
                fork=True,
                parent=parent.full_name,
                has_readme=parent.has_readme,
                readme_style=parent.readme_style,
                owner_days=4,
                template="fork_world",
            )
            repo = Repo(**base)
            by_owner[repo.owner].append(repo)
        # contributions: user i -> main repo of i+1 (5 days) and second repo of i+3 (2 days)
        for ui, login in enumerate(self.world_logins):
            a = by_owner[self.world_logins[(ui + 1) % U]][0]
            b = by_owner[self.world_logins[(ui + 3) % U]][1]
            if a.owner != login:
                a.contributors[login] = 5
            if b.owner != login:
                b.contributors.setdefault(login, 2)
        for repos in by_owner.values():
            for repo in repos:
                self._finish_dates(repo)
                self._world_repo_by_name[repo.full_name.lower()] = repo
        self._world_repos_by_owner = by_owner
        # PR-only contributions (no commits) in a catalog repo
        self.pr_only: dict[str, list[tuple[str, int]]] = {}
        for ui, login in enumerate(self.world_logins):
            cat = self.catalog[60 + ui % 40]
            self.pr_only[login] = [(cat.full_name, 1 + ui % 3)]

    def _finish_dates(self, repo: Repo) -> None:
        r = rng(self.seed, "dates", repo.full_name)
        if repo.fork and repo.parent:
            parent = self.get_repo_by_full_name(
                repo.parent, _allow_world=False
            ) or self._world_repo_by_name.get(repo.parent.lower())
            if parent is not None and not repo.pushed_at:
                repo.pushed_at = self.now - r.randint(3, 60) * DAY
        if repo.empty:
            repo.pushed_at = repo.created_at
        if not repo.pushed_at:
            repo.pushed_at = self.now - r.randint(3, 60) * DAY
        for attr in ("created_at", "pushed_at"):
            v = getattr(repo, attr)
            if self.gap[0] <= v < self.gap[1]:
                setattr(repo, attr, v - 60 * DAY)
        repo.pushed_at += r.randint(0, DAY - 1) if not repo.empty else 0
        repo.updated_at = max(repo.pushed_at, repo.created_at + DAY)

    # ------------------------------------------------------------ load users
    @lru_cache(maxsize=256)  # noqa: B019
    def _load_repos(self, login: str) -> list[Repo]:
        m = re.fullmatch(r"load-(\d{1,4})r-(\d{1,6})", login)
        assert m
        n = int(m.group(1))
        uid = 40_000_000 + (h64(self.seed, "loadrepos", login) % 100_000) * 1000
        out = []
        langs = ["Python", "TypeScript", "Go", "Rust", "JavaScript", None]
        for j in range(n):
            r = rng(self.seed, "loadrepo", login, j)
            lang = langs[j % len(langs)]
            old = j % 7 == 3
            fork = j % 11 == 5
            created = self.now - (r.randint(800, 1500) if old else r.randint(60, 600)) * DAY
            pushed = self.now - (r.randint(800, 1000) if old else r.randint(1, 500)) * DAY
            if self.gap[0] <= pushed < self.gap[1]:
                pushed -= 60 * DAY
            pushed = max(pushed, created + DAY)
            parent = self.catalog[100 + (j % 50)] if fork else None
            repo = Repo(
                owner=login,
                name=parent.name if parent else f"proj-{j:03d}",
                id=uid + j,
                kind="load",
                language=parent.language if parent else lang,
                langs=list(parent.langs) if parent else ([lang] if lang else []),
                description=f"Load project {j}" if j % 3 else None,
                created_at=created,
                pushed_at=pushed,
                updated_at=pushed,
                homepage=None,
                topics=[],
                default_branch=parent.default_branch if parent else "main",
                stars=0,
                fork=fork,
                parent=parent.full_name if parent else None,
                has_readme=(j % 5 != 4),
                readme_style="simple" if j % 5 != 4 else "none",
                owner_days=[6, 2, 9, 4, 12][j % 5],
                template="load",
            )
            out.append(repo)
        return out

    @lru_cache(maxsize=64)  # noqa: B019
    def _activity_user_repos(self, login: str) -> list[Repo]:
        """`act-<C>c-<k>`: 20 repos holding about C commits by the user over two years
        (plus a few older ones), each with 3-5 branches and two other authors."""
        m = ACTIVITY_USER.fullmatch(login)
        assert m
        total = int(m.group(1))
        uid = 60_000_000 + (h64(self.seed, "actrepos", login) % 100_000) * 100
        langs = ["Python", "TypeScript", "Go", "Rust", "C", "JavaScript", "Java", "Ruby"]
        # build_plan writes 1.45 commits per owner day on average
        days = max(3, min(600, round(total / ACTIVITY_REPOS / 1.45)))
        out = []
        for j in range(ACTIVITY_REPOS):
            r = rng(self.seed, "actrepo", login, j)
            lang = langs[j % len(langs)]
            lang2 = langs[(j + 3) % len(langs)]
            created = self.now - (900 + r.randint(0, 200)) * DAY
            pushed = self.now - r.randint(1, 20) * DAY - r.randint(0, DAY - 1)
            out.append(
                Repo(
                    owner=login,
                    name=f"work-{j:02d}",
                    id=uid + j,
                    kind="load",
                    language=lang,
                    langs=[lang, lang2, "Shell"],
                    description=f"Activity project {j}",
                    created_at=created,
                    pushed_at=pushed,
                    updated_at=pushed,
                    homepage=None,
                    topics=[],
                    default_branch="main",
                    stars=j,
                    owner_days=days,
                    owner_old_days=3,
                    extra_branches=2 + j % 3,
                    other_authors=2,
                    template="activity",
                )
            )
        return out

    # ------------------------------------------------------------ bench repos
    @lru_cache(maxsize=1)  # noqa: B019
    def _bench_sizes(self) -> list[int]:
        sizes = []
        for i in range(BENCH_N):
            r = rng(self.seed, "bench", i)
            x = r.random()
            if x < 0.70:
                s = r.randint(1, 100)
            elif x < 0.90:
                s = r.randint(100, 2000)
            elif x < 0.98:
                s = r.randint(2000, 10000)
            else:
                s = r.randint(10000, 40000)
            sizes.append(s)
        return sizes

    def bench_repos(self, total_edges: int) -> list[dict]:
        sizes = self._bench_sizes()
        out, total = [], 0
        for i, s in enumerate(sizes):
            if total >= total_edges:
                break
            out.append({"full_name": f"bench-org/bench-{i:05d}", "stargazers_count": s})
            total += s
        return out

    def _bench_repo(self, i: int) -> Repo:
        s = self._bench_sizes()[i]
        r = rng(self.seed, "benchrepo", i)
        lang = ["Python", "Go", "Rust", "TypeScript"][i % 4]
        created = self.now - r.randint(400, 3000) * DAY
        pushed = self.now - r.randint(1, 300) * DAY
        return Repo(
            owner="bench-org",
            name=f"bench-{i:05d}",
            id=30_000_000 + i,
            kind="bench",
            language=lang,
            langs=[lang],
            description=f"Bench repository {i}",
            created_at=created,
            pushed_at=pushed,
            updated_at=pushed,
            homepage=None,
            topics=[],
            default_branch="main",
            stars=s,
            forks_count=s // 20,
            owner_days=5,
            template="bench",
        )

    # ---------------------------------------------------------------- lookup
    def get_repo_by_full_name(self, full_name: str, _allow_world: bool = True) -> Repo | None:
        low = full_name.lower()
        if _allow_world and hasattr(self, "_world_repo_by_name"):
            r = self._world_repo_by_name.get(low)
            if r is not None:
                return r
        r = self._catalog_by_name.get(low)
        if r is not None:
            return r
        owner, _, name = low.partition("/")
        if owner == "bench-org":
            m = re.fullmatch(r"bench-(\d{5})", name)
            if m and int(m.group(1)) < BENCH_N:
                return self._bench_repo(int(m.group(1)))
            return None
        if ACTIVITY_USER.fullmatch(owner):
            for repo in self._activity_user_repos(owner):
                if repo.name.lower() == name:
                    return repo
            return None
        if owner.startswith("load-") and re.fullmatch(r"load-(\d{1,4})r-(\d{1,6})", owner):
            for repo in self._load_repos(owner):
                if repo.name.lower() == name:
                    return repo
        return None

    def get_repo(self, owner: str, name: str) -> Repo:
        r = self.get_repo_by_full_name(f"{owner}/{name}")
        if r is None:
            raise NotFound(f"{owner}/{name}")
        return r

    def all_world_repos(self) -> list[Repo]:
        return [r for lg in self.world_logins for r in self._world_repos_by_owner[lg]]

    def collaborators(self, repo: Repo) -> set[str]:
        """Logins allowed to list stargazers under the restriction (owner + contributors)."""
        return {repo.owner.lower(), *(c.lower() for c in repo.contributors)}

    # ------------------------------------------------------------------ stars
    def _build_star_designations(self) -> None:
        """Which world users star which repos (designated positions)."""
        self.world_starred: dict[str, list[str]] = {}
        designated: dict[str, list[int]] = {}
        popular = list(range(0, min(150, len(self.catalog))))
        rest = list(range(150, len(self.catalog)))
        world_mains = [self._world_repos_by_owner[lg][0].full_name for lg in self.world_logins]
        for ui, login in enumerate(self.world_logins):
            r = rng(self.seed, "stars-of", login)
            picks = r.sample(popular, min(30, len(popular))) + r.sample(rest, min(10, len(rest)))
            names = [self.catalog[i].full_name for i in picks]
            others = [n for n in world_mains if not n.startswith(login + "/")]
            names += r.sample(others, min(4, len(others)))
            self.world_starred[login] = names
            for n in names:
                designated.setdefault(n.lower(), []).append(ui)
        self._designated_users = designated
        self._star_layout_cache: dict[str, tuple] = {}
        # make sure star counts can hold the designated users
        for full, uis in designated.items():
            repo = self.get_repo_by_full_name(full)
            if repo is not None and repo.stars < len(uis):
                repo.stars = len(uis)

    def _star_layout(self, repo: Repo) -> tuple:
        """(S, positions of world users sorted, {pos: slot}, a, ainv, b, M, t0, span)."""
        key = repo.full_name.lower()
        lay = self._star_layout_cache.get(key)
        if lay is not None:
            return lay
        S = repo.stars
        M = self.P - self.n_users
        r = rng(self.seed, "starperm", key)
        a = r.randrange(1, M)
        while math.gcd(a, M) != 1:
            a = r.randrange(1, M)
        b = r.randrange(0, M)
        uis = sorted(self._designated_users.get(key, []))
        positions: dict[int, int] = {}
        if uis and S:
            pr = rng(self.seed, "starpos", key)
            chosen = sorted(pr.sample(range(S), len(uis)))
            order = list(uis)
            pr.shuffle(order)
            positions = dict(zip(chosen, order, strict=True))
        t0 = repo.created_at + DAY
        span = max(self.now - DAY - t0, S + 1)
        lay = (S, sorted(positions), positions, a, pow(a, -1, M), b, M, t0, span)
        self._star_layout_cache[key] = lay
        return lay

    def star_time(self, repo: Repo, i: int) -> int:
        S, _, _, _, _, _, _, t0, span = self._star_layout(repo)
        x = i / S if S else 0.0
        # concave growth: many stars early, then a long tail
        return t0 + i + int((span - S - 1) * (1 - (1 - x) ** 1.7))

    def stargazer_slot(self, repo: Repo, i: int) -> int:
        _S, dpos, positions, a, _, b, M, _, _ = self._star_layout(repo)
        w = positions.get(i)
        if w is not None:
            return w
        k = i - bisect.bisect_left(dpos, i)
        return self.n_users + (a * k + b) % M

    def stargazers_page(self, repo: Repo, start: int, stop: int) -> list[tuple[str, int]]:
        stop = min(stop, repo.stars)
        return [
            (self.pool_login(self.stargazer_slot(repo, i)), self.star_time(repo, i))
            for i in range(start, stop)
        ]

    def star_position(self, repo: Repo, slot: int) -> int | None:
        """Position of pool slot in repo's stargazer list, or None."""
        S, dpos, positions, _a, ainv, b, M, _, _ = self._star_layout(repo)
        if slot < self.n_users:
            for p, w in positions.items():
                if w == slot:
                    return p
            return None
        k = (ainv * (slot - self.n_users - b)) % M
        if k >= S - len(dpos):
            return None
        i = k
        for j in dpos:
            if j <= i:
                i += 1
            else:
                break
        return i

    def star_families(self) -> list[Repo]:
        """Every repo with stargazers (finite): world, catalog and bench repos."""
        fam = getattr(self, "_star_family", None)
        if fam is None:
            fam = [r for r in self.all_world_repos() if r.stars] + [
                r for r in self.catalog if r.stars
            ]
            fam += [self._bench_repo(i) for i in range(BENCH_N)]
            self._star_family = fam
        return fam

    def starred(self, login: str) -> list[tuple[Repo, int]]:
        """A user's starred repos with starred_at, newest first."""
        u = self.get_user(login)
        if u.slot is None:
            return []
        key = ("starred", u.slot)
        cache = self.__dict__.setdefault("_starred_cache", {})
        if key in cache:
            return cache[key]
        out = []
        if u.kind == "world":
            for full in self.world_starred[u.login]:
                repo = self.get_repo_by_full_name(full)
                pos = self.star_position(repo, u.slot)
                out.append((repo, self.star_time(repo, pos)))
        else:
            for repo in self.star_families():
                pos = self.star_position(repo, u.slot)
                if pos is not None:
                    out.append((repo, self.star_time(repo, pos)))
        out.sort(key=lambda x: (-x[1], x[0].id))
        if len(cache) > 4096:
            cache.clear()
        cache[key] = out
        return out

    def star_history(self, repo: Repo) -> list[dict]:
        cache = self.__dict__.setdefault("_hist_cache", {})
        key = repo.full_name.lower()
        if key in cache:
            return cache[key]
        counts: dict[str, int] = {}
        for i in range(repo.stars):
            d = day_of(self.star_time(repo, i))
            counts[d] = counts.get(d, 0) + 1
        out = [{"date": d, "count": c} for d, c in sorted(counts.items())]
        cache[key] = out
        return out

    def is_restricted(self, repo: Repo) -> bool:
        return repo.restricted

    # -------------------------------------------------------------- histories
    def git_root(self) -> str:
        root = getattr(self, "_git_root", None)
        if root is None:
            base = self.data_dir
            if base is None:
                import atexit
                import shutil
                import tempfile

                base = tempfile.mkdtemp(prefix="ghsim-world-")
                atexit.register(shutil.rmtree, base, True)
                self.data_dir = base
            tag = h64(self.seed, self.n_users, self.now, self.web_url, self.P) % 16**10
            root = os.path.join(base, f"s{self.seed}-{tag:010x}")
            os.makedirs(root, exist_ok=True)
            self._git_root = root
        return root

    def _plan(self, repo: Repo):
        from .history import build_plan

        key = repo.full_name.lower()
        with self._lock:
            got = self._histories.get(key)
            if got is None:
                got = build_plan(self, repo)
                self._histories[key] = got
        return got

    def history(self, repo: Repo):
        return self._plan(repo)[0]

    def content_spec(self, repo: Repo):
        return self._plan(repo)[1]

    def ensure_git(self, repo: Repo):
        """Build the repository's git data on disk if needed; return the History."""
        from .history import ensure_git

        hist, spec = self._plan(repo)
        ensure_git(self, repo, hist, spec)
        return hist

    def languages(self, repo: Repo) -> dict[str, int]:
        from .history import is_documentation, is_generated, is_vendored, language_of

        hist, spec = self._plan(repo)
        head = hist.heads.get(repo.default_branch)
        if head is None:
            return {}
        sizes: dict[str, int] = {}
        for path, v in hist.tree(head).items():
            lang = language_of(path)
            if lang and not (is_vendored(path) or is_documentation(path) or is_generated(path)):
                sizes[lang] = sizes.get(lang, 0) + len(spec.content(path, v))
        return dict(sorted(sizes.items(), key=lambda kv: (-kv[1], kv[0])))

    def commit_days(self, repo: Repo, login: str) -> list[str]:
        """Distinct UTC days of commits authored by login, on every branch."""
        hist = self.history(repo)
        low = login.lower()
        return sorted({day_of(c.date) for c in hist.commits if c.login and c.login.lower() == low})

    def _activity_repos(self, login: str) -> list[Repo]:
        u = self.get_user(login)
        repos = [r for r in self.user_repos(u.login) if not r.empty]
        if u.kind == "world":
            low = u.login.lower()
            repos += [
                r
                for r in self.all_world_repos()
                if low in {c.lower() for c in r.contributors} and r.owner.lower() != low
            ]
        return repos

    def active_days(self, login: str, since: int | None = None, until: int | None = None) -> dict:
        """The user's true commit days (all branches) per repo, with languages by file.

        Default window: the last 730 days up to the real current time.  Languages
        come from each commit's files (Linguist names), skipping vendored,
        documentation and generated paths; a path with an extension Linguist finds
        ambiguous counts only when its language is among the repository's languages.
        """
        import time as _time

        from .history import (
            is_ambiguous,
            is_documentation,
            is_generated,
            is_vendored,
            language_of,
        )

        u = self.get_user(login)
        until = int(_time.time()) if until is None else until
        since = until - 730 * DAY if since is None else since
        low = u.login.lower()
        days: dict[str, dict[str, set]] = {}
        repo_days: dict[str, set] = {}
        lang_days: dict[str, set] = {}
        commits_out = []
        for repo in self._activity_repos(u.login):
            hist, _spec = self._plan(repo)
            repo_langs = set(self.languages(repo))
            for c in hist.commits:
                if not (c.login and c.login.lower() == low and since <= c.date <= until):
                    continue
                d = day_of(c.date)
                files = []
                langs = set()
                for path in sorted(c.changes):
                    lang = language_of(path)
                    vend, doc, gen = is_vendored(path), is_documentation(path), is_generated(path)
                    files.append(
                        {
                            "path": path,
                            "language": lang,
                            "vendored": vend,
                            "documentation": doc,
                            "generated": gen,
                        }
                    )
                    known = not is_ambiguous(path) or not repo_langs or lang in repo_langs
                    if lang and not (vend or doc or gen) and known:
                        langs.add(lang)
                entry = days.setdefault(d, {"repos": set(), "languages": set()})
                entry["repos"].add(repo.full_name)
                entry["languages"] |= langs
                repo_days.setdefault(repo.full_name, set()).add(d)
                for lg in langs:
                    lang_days.setdefault(lg, set()).add(d)
                commits_out.append(
                    {
                        "repo": repo.full_name,
                        "branch": c.branch,
                        "date": _iso(c.date),
                        "message": c.message,
                        "languages": sorted(langs),
                        "files": files,
                    }
                )
        commits_out.sort(key=lambda x: (x["date"], x["repo"]))
        return {
            "login": u.login,
            "since": _iso(since),
            "until": _iso(until),
            "days": {
                d: {"repos": sorted(v["repos"]), "languages": sorted(v["languages"])}
                for d, v in sorted(days.items())
            },
            "repo_days": {k: sorted(v) for k, v in sorted(repo_days.items())},
            "language_days": {k: sorted(v) for k, v in sorted(lang_days.items())},
            "commits": commits_out,
        }

    def highlight_nominees(self, login: str) -> dict:
        """Linked repos per Gazer's rules and the strict highlight nominees."""
        import time as _time

        u = self.get_user(login)
        cutoff = int(_time.time()) - 730 * DAY
        owned = sorted(self.user_repos(u.login), key=lambda r: -r.pushed_at)[:30]
        kept = []
        for r in owned:
            if not r.language or r.pushed_at < cutoff:
                continue
            days = len(self.commit_days(r, u.login)) if not r.empty else 0
            if r.fork:
                if days >= 4:
                    kept.append((r, "fork_active", days))
            else:
                kept.append((r, "owned", days))
        have = {r.full_name.lower() for r, _, _ in kept} | {r.full_name.lower() for r in owned}
        if u.kind == "world":
            for r in self.all_world_repos():
                if u.login.lower() not in {c.lower() for c in r.contributors}:
                    continue
                if r.full_name.lower() in have or not r.language or r.pushed_at < cutoff:
                    continue
                days = len(self.commit_days(r, u.login))
                if days >= 4:
                    kept.append((r, "contributed", days))
        out = [
            {
                "full_name": r.full_name,
                "include_reason": why,
                "commit_days": days,
                "has_readme": r.has_readme and not r.empty,
            }
            for r, why, days in kept
        ]
        nominees = [x for x in out if x["has_readme"] and x["commit_days"] >= 4]
        return {"login": u.login, "linked": out, "nominees": nominees}

    # ----------------------------------------------------------------- truths
    def truth_stargazers(
        self, owner: str, name: str, limit: int = 100_000, start: int = 0, stop: int | None = None
    ) -> dict:
        """Full stargazer list (or the slice [start, stop)); only counts past ``limit``."""
        repo = self.get_repo(owner, name)
        out = {
            "full_name": repo.full_name,
            "stargazers_count": repo.stars,
            "restricted": repo.restricted,
        }
        if start or stop is not None:
            stop = repo.stars if stop is None else min(stop, repo.stars)
            out["start"] = start
            out["stargazers"] = [
                {"login": lg, "starred_at": _iso(t)}
                for lg, t in self.stargazers_page(repo, start, stop)
            ]
        elif repo.stars <= limit:
            out["stargazers"] = [
                {"login": lg, "starred_at": _iso(t)}
                for lg, t in self.stargazers_page(repo, 0, repo.stars)
            ]
        out["world_users"] = sorted(self.pool_login(w) for w in self._star_layout(repo)[2].values())
        return out

    def truth_starred(self, login: str) -> dict:
        u = self.get_user(login)
        items = self.starred(u.login)
        return {
            "login": u.login,
            "count": len(items),
            "starred": [{"full_name": r.full_name, "starred_at": _iso(t)} for r, t in items],
        }

    def truth_users(self) -> list[dict]:
        out = []
        for lg in self.world_logins:
            u = self.world_users[lg.lower()]
            out.append(
                {
                    "login": u.login,
                    "id": u.id,
                    "blog": u.blog,
                    "bio": u.bio,
                    "repos": [r.full_name for r in self._world_repos_by_owner[lg]],
                    "starred_count": len(self.world_starred[lg]),
                }
            )
        return out


def _iso(t: int) -> str:
    from .util import iso

    return iso(t)


def unit_for(*parts: object) -> float:
    return unit(*parts)
