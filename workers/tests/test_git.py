"""Git helpers against the simulator's smart-HTTP server."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest

from ghsim.testing import SimulatorProcess, fault_seed
from workers.github import errors as gh_errors
from workers.github.git import (
    GitError,
    GitTransient,
    clone_repo,
    git_changed_files,
    git_fetch_shas,
    git_log,
    git_ls_remote,
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


@pytest.fixture
def faults(web):
    yield web
    web.configure(faults={"error_rate": 0.0, "path_prefix": ""})


def test_a_passing_git_failure_is_asked_again_within_the_call(faults, settings):
    """The refs advertisement answers 502, then 502 again, then 200: the clone succeeds
    on its third attempt, and nothing of the failed attempts is left behind."""
    settings.GITHUB_RETRY_BACKOFF_SECONDS = 0.001
    full_name = _main_repo(faults)
    before = faults.stats()["faults"].get("error", 0)
    faults.configure(
        faults={
            "error_rate": 0.5,
            "error_status": 502,
            "seed": fault_seed("xx."),
            "path_prefix": f"/{full_name}.git/info/refs",
        }
    )
    with clone_repo(full_name, depth=1) as path:
        assert (path / "README.md").exists()
    assert faults.stats()["faults"]["error"] - before == 2
    assert os.listdir(work_root()) == []


def test_git_failures_past_the_retries_are_transient_others_permanent(faults, settings):
    settings.GITHUB_RETRY_BACKOFF_SECONDS = 0.001
    full_name = _main_repo(faults)
    faults.configure(
        faults={"error_rate": 1.0, "error_status": 503, "path_prefix": f"/{full_name}.git/"}
    )
    before = faults.stats()["faults"].get("error", 0)
    with pytest.raises(GitTransient, match="503") as caught:
        git_ls_remote(full_name)
    # A transient GitHub error to the engine: the step waits on its row.
    assert isinstance(caught.value, gh_errors.Transient)
    assert faults.stats()["faults"]["error"] - before == 1 + settings.GITHUB_RETRIES
    with pytest.raises(GitTransient):
        _clone_and_leave(full_name, depth=1)
    assert os.listdir(work_root()) == []

    # A missing repository is asked once and is not transient.
    faults.configure(faults={"error_rate": 0.0, "path_prefix": ""})
    requests_before = faults.stats()["requests_total"]
    with pytest.raises(GitError) as missing:
        git_ls_remote("avery-lin/no-such-repo")
    assert not isinstance(missing.value, GitTransient)
    assert faults.stats()["requests_total"] - requests_before == 1
