"""JSON payload builders using GitHub's REST field names."""

from __future__ import annotations

from .util import iso, node_id
from .world import Repo, User, World

DOCS = "https://docs.github.com/rest"


def simple_user(u: User, api: str, web: str) -> dict:
    login = u.login
    ua = f"{api}/users/{login}"
    return {
        "login": login,
        "id": u.id,
        "node_id": node_id("Organization" if u.type == "Organization" else "User", u.id),
        "avatar_url": f"{web}/_avatars/u/{u.id}?v=4",
        "gravatar_id": "",
        "url": ua,
        "html_url": f"{web}/{login}",
        "followers_url": f"{ua}/followers",
        "following_url": f"{ua}/following{{/other_user}}",
        "gists_url": f"{ua}/gists{{/gist_id}}",
        "starred_url": f"{ua}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{ua}/subscriptions",
        "organizations_url": f"{ua}/orgs",
        "repos_url": f"{ua}/repos",
        "events_url": f"{ua}/events{{/privacy}}",
        "received_events_url": f"{ua}/received_events",
        "type": u.type,
        "user_view_type": "public",
        "site_admin": False,
    }


def full_user(world: World, u: User, api: str, web: str) -> dict:
    d = simple_user(u, api, web)
    d.update(
        {
            "name": u.name,
            "company": u.company,
            "blog": u.blog,
            "location": u.location,
            "email": None,
            "hireable": None,
            "bio": u.bio,
            "twitter_username": None,
            "public_repos": len(world.user_repos(u.login)),
            "public_gists": u.public_gists,
            "followers": u.followers,
            "following": u.following,
            "created_at": iso(u.created_at),
            "updated_at": iso(u.updated_at),
        }
    )
    return d


def repo_payload(world: World, repo: Repo, api: str, web: str, full: bool = False) -> dict:
    owner = world.get_user(repo.owner)
    fn = repo.full_name
    ra = f"{api}/repos/{fn}"
    size = 0 if repo.empty else 40 + (repo.id * 37) % 9000
    d = {
        "id": repo.id,
        "node_id": node_id("Repository", repo.id),
        "name": repo.name,
        "full_name": fn,
        "private": False,
        "owner": simple_user(owner, api, web),
        "html_url": f"{web}/{fn}",
        "description": repo.description,
        "fork": repo.fork,
        "url": ra,
        "forks_url": f"{ra}/forks",
        "keys_url": f"{ra}/keys{{/key_id}}",
        "collaborators_url": f"{ra}/collaborators{{/collaborator}}",
        "teams_url": f"{ra}/teams",
        "hooks_url": f"{ra}/hooks",
        "issue_events_url": f"{ra}/issues/events{{/number}}",
        "events_url": f"{ra}/events",
        "assignees_url": f"{ra}/assignees{{/user}}",
        "branches_url": f"{ra}/branches{{/branch}}",
        "tags_url": f"{ra}/tags",
        "blobs_url": f"{ra}/git/blobs{{/sha}}",
        "git_tags_url": f"{ra}/git/tags{{/sha}}",
        "git_refs_url": f"{ra}/git/refs{{/sha}}",
        "trees_url": f"{ra}/git/trees{{/sha}}",
        "statuses_url": f"{ra}/statuses/{{sha}}",
        "languages_url": f"{ra}/languages",
        "stargazers_url": f"{ra}/stargazers",
        "contributors_url": f"{ra}/contributors",
        "subscribers_url": f"{ra}/subscribers",
        "subscription_url": f"{ra}/subscription",
        "commits_url": f"{ra}/commits{{/sha}}",
        "git_commits_url": f"{ra}/git/commits{{/sha}}",
        "comments_url": f"{ra}/comments{{/number}}",
        "issue_comment_url": f"{ra}/issues/comments{{/number}}",
        "contents_url": f"{ra}/contents/{{+path}}",
        "compare_url": f"{ra}/compare/{{base}}...{{head}}",
        "merges_url": f"{ra}/merges",
        "archive_url": f"{ra}/{{archive_format}}{{/ref}}",
        "downloads_url": f"{ra}/downloads",
        "issues_url": f"{ra}/issues{{/number}}",
        "pulls_url": f"{ra}/pulls{{/number}}",
        "milestones_url": f"{ra}/milestones{{/number}}",
        "notifications_url": f"{ra}/notifications{{?since,all,participating}}",
        "labels_url": f"{ra}/labels{{/name}}",
        "releases_url": f"{ra}/releases{{/id}}",
        "deployments_url": f"{ra}/deployments",
        "created_at": iso(repo.created_at),
        "updated_at": iso(repo.updated_at),
        "pushed_at": iso(repo.pushed_at),
        "git_url": f"{web.replace('http://', 'git://').replace('https://', 'git://')}/{fn}.git",
        "ssh_url": f"git@ghsim.local:{fn}.git",
        "clone_url": f"{web}/{fn}.git",
        "svn_url": f"{web}/{fn}",
        "homepage": repo.homepage,
        "size": size,
        "stargazers_count": repo.stars,
        "watchers_count": repo.stars,
        "language": repo.language,
        "has_issues": not repo.fork,
        "has_projects": True,
        "has_downloads": True,
        "has_wiki": True,
        "has_pages": False,
        "has_discussions": False,
        "forks_count": repo.forks_count,
        "mirror_url": None,
        "archived": repo.archived,
        "disabled": False,
        "open_issues_count": repo.open_issues,
        "license": None,
        "allow_forking": True,
        "is_template": False,
        "web_commit_signoff_required": False,
        "topics": list(repo.topics),
        "visibility": "public",
        "forks": repo.forks_count,
        "open_issues": repo.open_issues,
        "watchers": repo.stars,
        "default_branch": repo.default_branch,
    }
    if full:
        d["temp_clone_token"] = None
        d["network_count"] = repo.forks_count
        d["subscribers_count"] = max(1, repo.stars // 25)
        if owner.type == "Organization":
            d["organization"] = simple_user(owner, api, web)
        if repo.fork and repo.parent:
            parent = world.get_repo_by_full_name(repo.parent)
            if parent is not None:
                d["parent"] = repo_payload(world, parent, api, web)
                src = parent
                while src.fork and src.parent:
                    nxt = world.get_repo_by_full_name(src.parent)
                    if nxt is None:
                        break
                    src = nxt
                d["source"] = repo_payload(world, src, api, web)
    return d


def error(message: str, doc: str = DOCS, status: int | None = None) -> dict:
    d = {"message": message, "documentation_url": doc}
    if status is not None:
        d["status"] = str(status)
    return d
