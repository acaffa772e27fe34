from __future__ import annotations

import base64
import io
import subprocess
import time

from PIL import Image

from ghsim.tests.conftest import tok
from ghsim.tests.test_rest_core import links

H = tok("avery-lin", "content")


def _main_repo(sim):
    return sim.world.all_world_repos()[0]


def test_commits_payload_and_filters(fresh, http):
    repo = _main_repo(fresh)
    r = http.get(fresh.api_url + f"/repos/{repo.full_name}/commits?per_page=10", headers=H)
    assert r.status_code == 200
    c = r.json()[0]
    assert len(c["sha"]) == 40
    assert set(c["commit"]) >= {"author", "committer", "message", "tree"}
    assert set(c["commit"]["author"]) == {"name", "email", "date"}
    assert c["parents"] and "sha" in c["parents"][0]
    assert "next" in links(r)
    r = http.get(
        fresh.api_url + f"/repos/{repo.full_name}/commits?author={repo.owner}&per_page=100",
        headers=H,
    )
    rows = r.json()
    assert rows and all(x["author"]["login"] == repo.owner for x in rows)
    days = {x["commit"]["author"]["date"][:10] for x in rows}
    assert days <= set(fresh.world.commit_days(repo, repo.owner))
    since = rows[len(rows) // 2]["commit"]["author"]["date"]
    r = http.get(
        fresh.api_url + f"/repos/{repo.full_name}/commits?since={since}&per_page=100", headers=H
    )
    assert all(x["commit"]["author"]["date"] >= since for x in r.json())


def test_contributor_commits_visible(fresh, http):
    w = fresh.world
    repo = next(r for r in w.all_world_repos() if r.contributors)
    login, ndays = next(iter(repo.contributors.items()))
    r = http.get(
        fresh.api_url + f"/repos/{repo.full_name}/commits?author={login}&per_page=100", headers=H
    )
    days = {x["commit"]["author"]["date"][:10] for x in r.json()}
    assert len(days) == ndays


def test_empty_repo_409(fresh, http):
    repo = next(r for r in fresh.world.all_world_repos() if r.empty)
    r = http.get(fresh.api_url + f"/repos/{repo.full_name}/commits", headers=H)
    assert r.status_code == 409 and r.json()["message"] == "Git Repository is empty."
    assert http.get(fresh.api_url + f"/repos/{repo.full_name}/readme", headers=H).status_code == 404


def test_big_commit_files_paged(fresh, http):
    repo = next(r for r in fresh.world.all_world_repos() if r.big_commit)
    r = http.get(
        fresh.api_url + f"/repos/{repo.full_name}/commits?path=vendor/modules.txt", headers=H
    )
    sha = r.json()[0]["sha"]
    r = http.get(fresh.api_url + f"/repos/{repo.full_name}/commits/{sha}", headers=H)
    d = r.json()
    assert len(d["files"]) == 300
    assert d["stats"]["additions"] > 0
    f = d["files"][0]
    assert set(f) >= {"filename", "status", "additions", "deletions", "changes", "sha", "blob_url"}
    assert "raw_url" in f and "patch" in f
    nxt = links(r)["next"]
    r2 = http.get(nxt, headers=H)
    assert len(r2.json()["files"]) == 21
    assert r2.json()["sha"] == sha


def test_branches_languages(fresh, http):
    repo = _main_repo(fresh)
    b = http.get(fresh.api_url + f"/repos/{repo.full_name}/branches", headers=H).json()
    names = {x["name"] for x in b}
    assert repo.default_branch in names and len(names) >= 2
    langs = http.get(fresh.api_url + f"/repos/{repo.full_name}/languages", headers=H).json()
    assert next(iter(langs)) == repo.language
    for r in fresh.world.all_world_repos()[:24]:
        got = fresh.world.languages(r)
        if r.language:
            assert next(iter(got)) == r.language, r.full_name
        else:
            assert got == {}


def test_readme_json_and_raw(fresh, http):
    repo = _main_repo(fresh)
    r = http.get(fresh.api_url + f"/repos/{repo.full_name}/readme", headers=H)
    d = r.json()
    assert d["encoding"] == "base64" and d["name"] == "README.md"
    text = base64.b64decode(d["content"]).decode()
    raw = http.get(
        fresh.api_url + f"/repos/{repo.full_name}/readme",
        headers={**H, "Accept": "application/vnd.github.raw+json"},
    )
    assert raw.text == text
    assert http.get(d["download_url"]).text == text
    nr = next(x for x in fresh.world.all_world_repos() if not x.has_readme and not x.empty)
    assert http.get(fresh.api_url + f"/repos/{nr.full_name}/readme", headers=H).status_code == 404


def test_readme_images_truth(fresh, http):
    repo = _main_repo(fresh)
    t = fresh.truth(f"repos/{repo.full_name}/readme-images", web_url=fresh.web_url)
    imgs = t["images"]
    kinds = {i["kind"] for i in imgs}
    assert {"image", "badge", "video", "broken", "absolute"} <= kinds
    reasons = {i["drop_reason"] for i in imgs}
    assert {"badge", "video", "unreachable", "too_small", "aspect", None} <= reasons
    for img in imgs:
        url = img["resolved_url"]
        if img["kind"] in ("image", "absolute"):
            r = http.get(url, headers={"Range": "bytes=0-50000"})
            assert r.status_code in (200, 206), url
            size = Image.open(io.BytesIO(http.get(url).content)).size
            assert size == (img["width"], img["height"])
        if img["kind"] == "broken":
            assert http.get(url).status_code == 404
    r = http.get(fresh.web_url + "/_img/800x600.png", headers={"Range": "bytes=0-99"})
    assert r.status_code == 206 and len(r.content) == 100
    assert r.headers["Content-Range"].startswith("bytes 0-99/")


def test_clone_matches_api(fresh, http, tmp_path):
    repo = _main_repo(fresh)
    url = fresh.web_url + f"/{repo.full_name}.git"
    d1 = tmp_path / "c1"
    subprocess.run(
        ["git", "clone", "-q", "--filter=blob:none", "--depth", "1", url, str(d1)], check=True
    )
    head = subprocess.run(
        ["git", "-C", str(d1), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    api = http.get(fresh.api_url + f"/repos/{repo.full_name}/commits?per_page=1", headers=H).json()
    assert api[0]["sha"] == head
    since_ts = time.time() - 365 * 86400
    since = time.strftime("%Y-%m-%d", time.gmtime(since_ts))
    d2 = tmp_path / "c2"
    subprocess.run(
        [
            "git",
            "clone",
            "-q",
            "--filter=blob:none",
            "--no-tags",
            f"--shallow-since={since}",
            fresh.web_url + f"/{repo.full_name}",
            str(d2),
        ],
        check=True,
    )
    log = subprocess.run(
        ["git", "-C", str(d2), "log", "--format=%H %aI %ae"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\n")
    shas = [x.split()[0] for x in log if x.strip()]
    iso_since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(since_ts))
    api_shas = []
    url_api = fresh.api_url + f"/repos/{repo.full_name}/commits?per_page=100&since={iso_since}"
    while url_api:
        r = http.get(url_api, headers=H)
        api_shas += [x["sha"] for x in r.json()]
        url_api = links(r).get("next")
    assert api_shas and set(api_shas) <= set(shas)
    # fetch one SHA at depth 1 and list its files
    target = api_shas[-1]
    subprocess.run(
        ["git", "-C", str(d2), "fetch", "-q", "--depth", "1", "origin", target], check=True
    )
    out = subprocess.run(
        ["git", "-C", str(d2), "show", "--name-only", "--format=", target],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.strip()


def test_contents_file_and_dir(fresh, http):
    repo = _main_repo(fresh)
    root = http.get(fresh.api_url + f"/repos/{repo.full_name}/contents", headers=H).json()
    names = {x["name"]: x["type"] for x in root}
    assert names["README.md"] == "file" and names["docs"] == "dir"
    f = http.get(fresh.api_url + f"/repos/{repo.full_name}/contents/README.md", headers=H).json()
    readme = http.get(fresh.api_url + f"/repos/{repo.full_name}/readme", headers=H).json()
    assert f["sha"] == readme["sha"] and f["content"] == readme["content"]
    docs = http.get(fresh.api_url + f"/repos/{repo.full_name}/contents/docs", headers=H).json()
    assert all(x["path"].startswith("docs/") for x in docs)
    r = http.get(fresh.api_url + f"/repos/{repo.full_name}/contents/nope.txt", headers=H)
    assert r.status_code == 404
