from __future__ import annotations

from ghsim.history import ensure_git
from ghsim.world import World


def test_same_seed_same_shas(tmp_path):
    a = World(seed=5, data_dir=str(tmp_path / "a"))
    b = World(seed=5, data_dir=str(tmp_path / "b"))
    ra, rb = a.all_world_repos()[0], b.all_world_repos()[0]
    ha, hb = a.ensure_git(ra), b.ensure_git(rb)
    assert ha.shas == hb.shas and ha.trees == hb.trees
    assert a.languages(ra) == b.languages(rb)
    # a rebuilt World reuses the repo already on disk
    c = World(seed=5, data_dir=str(tmp_path / "a"))
    rc = c.all_world_repos()[0]
    hc, spec = c._plan(rc)
    ensure_git(c, rc, hc, spec)
    assert hc.shas == ha.shas


def test_users_option_and_cases():
    w = World(seed=1, users=20)
    assert len(w.world_logins) == 20
    repos = w.all_world_repos()
    assert any(r.fork for r in repos) and any(r.archived for r in repos)
    assert any(r.empty for r in repos) and any(r.language is None for r in repos)
    assert {r.default_branch for r in repos} >= {"main", "master", "develop"}
    homepages = {r.homepage for r in repos}
    assert None in homepages and "" in homepages
    assert any(h and h.startswith("//") for h in homepages)
    assert any(h and "://" not in h and not h.startswith("//") for h in homepages)
    old = [r for r in repos if r.pushed_at < w.now - 2 * 365 * 86400]
    assert old
    forks = [r for r in repos if r.fork]
    days = [len(w.commit_days(r, r.owner)) for r in forks]
    assert any(d >= 4 for d in days) and any(d < 4 for d in days)


def test_pool_user_starred_matches_stargazers():
    w = World(seed=2)
    repo = w.catalog[40]
    for login, at in w.stargazers_page(repo, 0, min(20, repo.stars)):
        starred = dict((r.full_name, t) for r, t in w.starred(login))
        assert starred[repo.full_name] == at


def test_load_user_is_deterministic():
    a, b = World(seed=1), World(seed=1)
    ra = [(r.name, r.pushed_at, r.fork) for r in a.user_repos("load-300r-4")]
    rb = [(r.name, r.pushed_at, r.fork) for r in b.user_repos("load-300r-4")]
    assert ra == rb and len(ra) == 300
