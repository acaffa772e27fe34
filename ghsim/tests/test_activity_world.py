"""What activity needs from the simulator: activity users, generated / documentation
/ ambiguous files, pushed commits, blocked repos and git traffic counters."""

from __future__ import annotations

import subprocess

import pytest

from ghsim.history import is_ambiguous, is_documentation, is_generated


def test_activity_user_has_twenty_repos_with_three_to_five_branches(fresh, http):
    repos = http.get(fresh.api_url + "/users/act-500c-1/repos?per_page=100").json()
    assert len(repos) == 20
    for repo in repos[:5]:
        branches = http.get(f"{fresh.api_url}/repos/{repo['full_name']}/branches").json()
        assert 3 <= len(branches) <= 5
    days = fresh.truth("users/act-500c-1/active-days")
    commits = len(days["commits"])
    assert 350 <= commits <= 650, commits


def test_owner_commits_touch_documentation_generated_and_ambiguous_paths(fresh):
    world = fresh.world
    paths = set()
    for login in world.world_logins:
        truth = world.active_days(login, since=0, until=world.now + 10**6)
        for c in truth["commits"]:
            paths.update(f["path"] for f in c["files"])
    assert any(is_generated(p) and not is_documentation(p) for p in paths)
    assert any(p.startswith("docs/examples/") for p in paths)
    assert any(p.endswith(".h") and is_ambiguous(p) for p in paths)


def test_pushed_commit_is_listed_cloned_and_in_the_truth(fresh, http, tmp_path):
    full = "act-500c-2/work-03"
    before = {
        b["name"]: b["commit"]["sha"]
        for b in http.get(f"{fresh.api_url}/repos/{full}/branches").json()
    }
    out = fresh.push_commit(full, login="act-500c-2", paths=["src/new_module.py"])
    after = {
        b["name"]: b["commit"]["sha"]
        for b in http.get(f"{fresh.api_url}/repos/{full}/branches").json()
    }
    assert after["main"] == out["sha"] != before["main"]
    listed = http.get(f"{fresh.api_url}/repos/{full}/commits?author=act-500c-2").json()
    assert listed[0]["sha"] == out["sha"]
    subprocess.run(
        [
            "git",
            "clone",
            "-q",
            "--filter=blob:none",
            "--no-checkout",
            f"{fresh.web_url}/{full}.git",
            str(tmp_path / "c"),
        ],
        check=True,
    )
    head = subprocess.run(
        ["git", "-C", str(tmp_path / "c"), "rev-parse", "HEAD"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    assert head == out["sha"]
    stats = fresh.stats()
    assert stats["git_bytes"] > 0 and stats["git_upload_packs"][full] >= 1
    truth = fresh.truth("users/act-500c-2/active-days")
    assert any(c["date"][:10] == out["date"][:10] and c["repo"] == full for c in truth["commits"])


@pytest.mark.parametrize("suffix", ["", "/commits", "/languages"])
def test_blocked_repo_answers_451(fresh, http, suffix):
    fresh.configure(blocked_repos=["avery-lin/avery-scratch"])
    r = http.get(f"{fresh.api_url}/repos/avery-lin/avery-scratch{suffix}")
    assert r.status_code == 451 and r.json()["message"] == "Repository access blocked"
    git = http.get(f"{fresh.web_url}/avery-lin/avery-scratch.git/info/refs?service=git-upload-pack")
    assert git.status_code == 451


def test_users_commit_with_a_personal_address_github_attributes_to_them(fresh, http):
    commits = http.get(
        f"{fresh.api_url}/repos/act-500c-1/work-00/commits?author=act-500c-1&per_page=100"
    ).json()
    emails = {c["commit"]["author"]["email"] for c in commits}
    assert "act-500c-1@mail.example" in emails
    assert any(e.endswith("@users.noreply.github.com") for e in emails)
    assert {c["author"]["login"] for c in commits} == {"act-500c-1"}
