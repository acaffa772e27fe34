"""The user-scoped LLM steps: choosing the highlighted repos, and the user's theme.

Prompts, answer checks and fallbacks are in repos.enrichment; these steps read the
user's repos, ask the LLM gateway and write the outcome.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from repos import enrichment
from repos import selectors as repo_selectors
from repos.models import Repo, UserRepo
from repos.services import user_highlights_set
from users.models import GitHubUser, WorkItem
from users.pipeline.fetch import MIN_COMMIT_DAYS
from users.pipeline.graph import SELECT_HIGHLIGHTS, StepContext, llm_answer_kept, locked_user
from workers.github import errors as gh_errors
from workers.github import github
from workers.llm import llm_json

NOMINEES_LIMIT = 30


def select_highlights(ctx: StepContext) -> dict[str, Any]:
    links = repo_selectors.user_links_list(user_id=ctx.user.id)
    candidates = [link for link in links if (link.commit_days or 0) >= MIN_COMMIT_DAYS]
    unknown = [link.repo for link in candidates if link.repo.has_readme is None]
    if unknown:
        gw = github()
        for repo in unknown:
            try:
                repo.has_readme = gw.readme(repo.full_name, token=ctx.token) is not None
            except (gh_errors.NotFound, gh_errors.EmptyRepository, gh_errors.Blocked):
                repo.has_readme = False
        Repo.objects.bulk_update(unknown, ["has_readme"])
    nominees = [link for link in candidates if link.repo.has_readme][:NOMINEES_LIMIT]
    if not nominees:
        with locked_user(ctx.user.id):
            user_highlights_set(user_id=ctx.user.id, repo_ids=[])
        return {"repos": [], "theme": "", "nominees": 0, "source": "none"}

    prompt, used = enrichment.highlights_prompt([link.repo for link in nominees])
    answer = llm_json(
        task="select_highlights",
        prompt=prompt,
        shape='{"theme": "short noun phrase", "repos": ["repo name", "..."]}',
        validate=enrichment.highlights_validate,
        fallback=lambda: enrichment.highlights_heuristic(nominees[:used] or nominees),
        fallback_on_failure=True,
    )
    if kept := llm_answer_kept(ctx, source=answer.source, error=answer.error):
        return kept
    value, source = answer.value, answer.source
    ids = repo_selectors.highlight_resolve(
        user_login=ctx.user.login, links=links, names=value["repos"]
    )
    if not ids:
        # The answer named nothing we know: the heuristic picks instead.
        value, source = enrichment.highlights_heuristic(nominees), "fallback"
        ids = repo_selectors.highlight_resolve(
            user_login=ctx.user.login, links=links, names=value["repos"]
        )
    ids = ids[:5]
    with locked_user(ctx.user.id):
        user_highlights_set(user_id=ctx.user.id, repo_ids=ids)
    by_id = {link.repo_id: link.repo for link in links}
    return {
        "repos": [by_id[i].name for i in ids],
        "full_names": [by_id[i].full_name for i in ids],
        "theme": value.get("theme", ""),
        "nominees": len(nominees),
        "prompt_nominees": used,
        "source": source,
        "llm_error": answer.error or None,
    }


def _highlighted_repos(user_id: int) -> list[Repo]:
    links = (
        UserRepo.objects.filter(user_id=user_id, highlight_rank__isnull=False)
        .select_related("repo")
        .order_by("highlight_rank")
    )
    return [link.repo for link in links]


def user_theme(ctx: StepContext) -> dict[str, Any]:
    repos = _highlighted_repos(ctx.user.id)
    if not repos:
        theme, source = "", "none"
    else:
        selected = (
            WorkItem.objects.filter(user_id=ctx.user.id, step=SELECT_HIGHLIGHTS, repo=None)
            .values_list("output", flat=True)
            .first()
        ) or {}

        def fallback() -> dict[str, str]:
            # The highlight answer's theme when the LLM gave one, else a heuristic.
            if selected.get("source") == "llm" and selected.get("theme"):
                return {"theme": selected["theme"]}
            return {"theme": enrichment.theme_heuristic(repos)}

        prompt, _ = enrichment.highlights_prompt(repos)
        # An answer that is not clean JSON still counts: the gateway parses tolerantly,
        # and a theme the answer lacks comes from the fallback, never an empty one.
        answer = llm_json(
            task="user_theme",
            prompt=prompt,
            shape='{"theme": "short noun phrase"}',
            validate=enrichment.theme_validate,
            fallback=fallback,
            fallback_on_failure=True,
        )
        if kept := llm_answer_kept(ctx, source=answer.source, error=answer.error):
            return kept
        theme, source = answer.value["theme"], answer.source
    with locked_user(ctx.user.id):
        GitHubUser.objects.filter(id=ctx.user.id).update(theme=theme, updated_at=timezone.now())
    return {"theme": theme, "source": source}
