"""The per-repo steps, run for each highlighted repo: blurb, emphasis, keywords, kind,
link and README media.

Prompts, answer checks and fallbacks are in repos.enrichment; these steps clone, ask the
LLM gateway and write the outcome on the repo (under the user row lock, so a deletion
running at the same time either waits for them or makes them stop quietly).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from repos import enrichment
from repos.gallery import readme_media_collect
from repos.models import Repo
from repos.services import repo_derived_update
from users.pipeline.graph import StepContext, StepSkipped, UserGone, llm_answer_kept, locked_user
from workers.github import errors as gh_errors
from workers.github.git import GitError, clone_repo
from workers.llm import LlmAnswer, count_tokens, llm_json


def _save_repo_fields(ctx: StepContext, **values: Any) -> None:
    with locked_user(ctx.user.id):
        if not repo_derived_update(repo_id=ctx.repo.id, **values):
            raise UserGone()


def _blurb_or_skip(ctx: StepContext) -> str:
    repo = Repo.objects.filter(id=ctx.repo.id).only("blurb").first() if ctx.repo else None
    if repo is None:
        raise UserGone()
    if not repo.blurb.strip():
        raise StepSkipped({"reason": "no_generated_description"})
    return repo.blurb


# --------------------------------------------------------------------------- blurb
def _blurb_ask(repo: Repo, root: Path | None) -> tuple[LlmAnswer | None, int, int]:
    """(answer or None when the prompt is over the call limit, context files, tokens)."""
    prompt, files = enrichment.blurb_prompt(repo, root)
    tokens = count_tokens(prompt)
    if tokens >= enrichment.BLURB_CALL_LIMIT:
        return None, files, tokens
    answer = llm_json(
        task="repo_blurb",
        prompt=prompt,
        shape='{"blurb": "one paragraph"}',
        validate=enrichment.blurb_validate,
        fallback=lambda: enrichment.blurb_heuristic(repo, root),
        fallback_on_failure=True,
    )
    return answer, files, tokens


def repo_blurb(ctx: StepContext) -> dict[str, Any]:
    repo = ctx.repo
    assert repo is not None
    clone_error = ""
    try:
        with clone_repo(repo.full_name, depth=1, token=ctx.token) as root:
            answer, files, tokens = _blurb_ask(repo, root)
            fallback_text = enrichment.blurb_heuristic(repo, root)
    except gh_errors.EmptyRepository:
        raise StepSkipped({"reason": "empty_repository"}) from None
    except (gh_errors.RateLimited, gh_errors.SecondaryRateLimited, gh_errors.Transient):
        raise  # the step waits on its row: a passing error never makes a lesser blurb
    except (gh_errors.GitHubError, GitError, OSError) as exc:
        # No clone (gone, too large, git error): describe from the metadata alone.
        clone_error = str(exc)[:300]
        answer, files, tokens = _blurb_ask(repo, None)
        fallback_text = enrichment.blurb_heuristic(repo, None)
    blurb = answer.value if answer is not None else fallback_text
    source = answer.source if answer is not None else "fallback"
    if answer is not None and (kept := llm_answer_kept(ctx, source=source, error=answer.error)):
        return kept
    _save_repo_fields(ctx, blurb=blurb)
    return {
        "description_len": len(blurb),
        "context_files": files,
        "prompt_tokens": tokens,
        "source": source,
        "clone_error": clone_error or None,
    }


# ----------------------------------------------------------- emphasis, keywords, kind
def _repo_list_step(
    ctx: StepContext,
    *,
    field: str,
    prompt: str,
    item: str,
    high: int,
    fallback: Callable[[str], list[str]],
) -> dict[str, Any]:
    """Ask for a list of 1-`high` strings about the blurb, save it on the repo's `field`."""
    blurb = _blurb_or_skip(ctx)
    answer = llm_json(
        task=f"repo_{field}",
        prompt=prompt + blurb,
        shape=f'{{"{field}": ["{item}", "..."]}}',
        validate=lambda v: enrichment.string_list_validate(v, field, low=1, high=high),
        fallback=lambda: fallback(blurb),
        fallback_on_failure=True,
    )
    if kept := llm_answer_kept(ctx, source=answer.source, error=answer.error):
        return kept
    _save_repo_fields(ctx, **{field: answer.value})
    return {field: answer.value, "count": len(answer.value), "source": answer.source}


def repo_emphasis(ctx: StepContext) -> dict[str, Any]:
    return _repo_list_step(
        ctx,
        field="emphasis",
        prompt=enrichment.EMPHASIS_PROMPT,
        item="technology",
        high=20,
        fallback=lambda blurb: enrichment.emphasis_heuristic(ctx.repo, blurb),
    )


def repo_keywords(ctx: StepContext) -> dict[str, Any]:
    return _repo_list_step(
        ctx,
        field="keywords",
        prompt=enrichment.KEYWORDS_PROMPT,
        item="skill",
        high=4,
        fallback=lambda blurb: enrichment.keywords_heuristic(ctx.repo),
    )


def repo_kind(ctx: StepContext) -> dict[str, Any]:
    blurb = _blurb_or_skip(ctx)
    answer = llm_json(
        task="repo_kind",
        prompt=enrichment.KIND_PROMPT + blurb,
        shape='{"kind": "noun phrase"}',
        validate=enrichment.kind_validate,
        fallback=lambda: enrichment.kind_heuristic(ctx.repo, blurb),
        fallback_on_failure=True,
    )
    if kept := llm_answer_kept(ctx, source=answer.source, error=answer.error):
        return kept
    _save_repo_fields(ctx, kind=answer.value)
    return {"kind": answer.value, "source": answer.source}


# ---------------------------------------------------------------------- link, media
def repo_link(ctx: StepContext) -> dict[str, Any]:
    link = enrichment.homepage_link(ctx.repo.homepage if ctx.repo else None)
    _save_repo_fields(ctx, link=link or "")
    return {"link": link}


def repo_media(ctx: StepContext) -> dict[str, Any]:
    return readme_media_collect(repo_id=ctx.repo.id, token=ctx.token)
