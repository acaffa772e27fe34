"""Git helpers against the simulator's smart-HTTP server."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest

from ghsim.testing import SimulatorProcess
from workers.github.git import (
    GitError,
    clone_repo,
    git_changed_files,
    git_fetch_shas,
    git_log,
    work_root,
)
from workers.tests.gh_helpers import gateway, new_token


@pytest.fixture(scope="module")
def sim():
    with SimulatorProcess(seed=1) as process:
        yield process


@pytest.fixture
def web(sim, settings, tmp_path):
    settings.GITHUB_WEB_URL = sim.web_url
    settings.GITHUB_TOKENS = []
    settings.GAZER_GIT_DIR = str(tmp_path / "git")
    return sim


def _main_repo(sim) -> str:
    return gateway(sim).user_repos("avery-lin", limit=1)[0]["full_name"]


def test_blobless_shallow_clone_is_removed_on_exit(web):
    full_name = _main_repo(web)
    with clone_repo(full_name, depth=5, blobless=True) as path:
        assert (path / ".git").is_dir()
        assert (path / "README.md").exists()
        log = git_log(path)
        assert len(log) == 5
        assert (path / ".git" / "shallow").exists()
        config = (path / ".git" / "config").read_text()
        assert "partialclonefilter = blob:none" in config
        files = git_changed_files(path, log[0]["sha"])
        assert files and all(not f.startswith(" ") for f in files)
    assert not path.exists()
    assert os.listdir(path.parent.parent) == []


def test_shallow_since_and_changed_files_match_the_api(web):
    full_name = _main_repo(web)
    gw = gateway(web)
    since = datetime.now(UTC) - timedelta(days=400)
    api_commits = gw.commits(full_name, since=since)
    with clone_repo(full_name, shallow_since=since.date(), no_checkout=True) as path:
        log = git_log(path)
        shas = {c["sha"] for c in log}
        assert {c["sha"] for c in api_commits} <= shas
        sample = api_commits[0]["sha"]
        api_files = sorted(f["filename"] for f in gw.commit(full_name, sample)["files"])
        assert sorted(git_changed_files(path, sample)) == api_files


def test_fetch_given_shas_in_chunks(web):
    full_name = _main_repo(web)
    gw = gateway(web)
    commits = gw.commits(full_name, limit=12)
    wanted = [c["sha"] for c in commits[4:12]]
    with clone_repo(full_name, depth=1, no_checkout=True) as path:
        with pytest.raises(GitError):
            git_changed_files(path, wanted[0])  # not fetched yet
        git_fetch_shas(path, wanted, chunk=3)
        for sha in wanted:
            api_files = sorted(f["filename"] for f in gw.commit(full_name, sha)["files"])
            assert sorted(git_changed_files(path, sha)) == api_files


def test_token_goes_in_a_header_never_the_url_or_config(web, settings):
    token = new_token()
    settings.GITHUB_TOKENS = [token]
    with clone_repo(_main_repo(web), depth=1) as path:
        config = (path / ".git" / "config").read_text()
        assert token not in config
        assert "url = " + web.web_url in config


def _clone_and_leave(full_name: str, **options) -> None:
    with clone_repo(full_name, **options):
        pass


def test_failures_and_caps_are_git_errors(web):
    with pytest.raises(GitError):
        _clone_and_leave("avery-lin/no-such-repo", depth=1)
    with pytest.raises(GitError, match="cap"):
        _clone_and_leave(_main_repo(web), depth=1, max_bytes=1_000)
    with pytest.raises(GitError, match="repository name"):
        _clone_and_leave("../etc/passwd")


def test_clone_limits_default_to_the_settings(web, settings, tmp_path):
    assert work_root() == tmp_path / "git"
    settings.GIT_CLONE_MAX_MB = 0.001  # about a kilobyte: no repository fits
    with pytest.raises(GitError, match="cap"):
        _clone_and_leave(_main_repo(web), depth=1)
    assert os.listdir(work_root()) == []  # nothing of it left behind
