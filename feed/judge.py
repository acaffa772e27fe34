"""Stage 2 of the feed: the LLM judges stage 1's best candidates, many per prompt.

The question is asked per candidate ("would this developer find it useful or
interesting? If unsure, false"), but one prompt carries `FEED_JUDGE_BATCH_SIZE`
candidates and answers `{"judgments": [{"id", "include"}]}`. Each answer is cached per
viewer-profile fingerprint × candidate fingerprint × model (`FeedJudgment`): an unchanged
pair is never asked again, and a change to the viewer's profile or to one repo invalidates exactly
its pairs. A batch whose answer is unusable (malformed, a judgment missing) or whose
call fails keeps stage 1's verdict (not judged, ranked by its score); once the LLM
gateway answers that no LLM worker was there (`unavailable`), the remaining batches fall
back at once instead of waiting for each.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from feed.models import FeedEntry, FeedJudgment
from feed.scoring import Scored
from feed.selectors import viewer_profile_repos
from users.models import GitHubUser
from workers.llm import TEMPERATURE, LlmAnswer, llm_json, model_name

logger = logging.getLogger(__name__)

TASK = "feed_judgments"
# Part of every fingerprint: a change to the prompt's wording invalidates the cache.
PROMPT_VERSION = "feed-judge-v1"
SHAPE = '{"judgments": [{"id": "<the id line of the repository>", "include": true|false}]}'
INSTRUCTIONS = (
    "Decide, for each repository below, whether this developer would find it useful or "
    "interesting given their engineering and vision domain. If unsure, false. Give one "
    "judgment per repository, by its id."
)


def _line(label: str, value: Any) -> str:
    text = " ".join(str(value or "").split())
    return f"  {label}: {text[:400]}" if text else ""


def viewer_text(viewer: GitHubUser) -> str:
    """The developer part of the prompt: who they are and what they highlight (all their
    highlights, repos owned by others included)."""
    lines = [f"username: {viewer.login}"]
    if viewer.bio:
        lines.append(f"bio: {' '.join(viewer.bio.split())[:400]}")
    if viewer.theme:
        lines.append(f"theme: {viewer.theme}")
    lines.append("highlighted repositories:")
    repos = viewer_profile_repos(viewer=viewer)
    blocks = []
    for repo in repos[:5] if repos and repos[0].get("highlight_rank") else repos[:10]:
        block = [f"- {repo['full_name']}"]
        for label, key in (
            ("description", "description"),
            ("generated_description", "blurb"),
            ("language", "language"),
        ):
            line = _line(label, repo.get(key))
            if line:
                block.append(line)
        if repo.get("keywords"):
            block.append(_line("keywords", ", ".join(map(str, repo["keywords"]))))
        blocks.append("\n".join(block))
    lines.append("\n\n".join(blocks) if blocks else "(none)")
    return "\n".join(lines)


def candidate_text(s: Scored) -> str:
    c = s.candidate
    lines = [f"id: {c.full_name}", f"  author: {c.author_login}"]
    for label, value in (
        ("description", c.description),
        ("generated_description", c.blurb),
        ("language", c.language_label),
        ("keywords", ", ".join(c.keyword_list)),
        ("kind", c.kind_label),
    ):
        line = _line(label, value)
        if line:
            lines.append(line)
    return "\n".join(lines)


def _sha(text: str) -> str:
    return hashlib.sha256(f"{PROMPT_VERSION}\n{text}".encode()).hexdigest()


@dataclass
class Fingerprints:
    viewer: str
    model: str
    candidates: dict[int, str]  # repo_id → fingerprint
    viewer_text: str = ""


def fingerprints(*, viewer: GitHubUser, scored: list[Scored]) -> Fingerprints:
    text = viewer_text(viewer)
    return Fingerprints(
        viewer=_sha(text),
        model=f"{model_name()}@{TEMPERATURE}"[:200],
        candidates={s.candidate.repo_id: _sha(candidate_text(s)) for s in scored},
        viewer_text=text,
    )


def batch_prompt(viewer_part: str, batch: list[Scored]) -> str:
    items = "\n\n".join(candidate_text(s) for s in batch)
    return f"{INSTRUCTIONS}\n\nDeveloper:\n{viewer_part}\n\nRepositories:\n{items}"


def _validator(ids: list[str]):
    def validate(value: Any) -> dict[str, bool]:
        rows = value.get("judgments") if isinstance(value, dict) else value
        if not isinstance(rows, list):
            raise ValueError("no judgments list")
        found: dict[str, bool] = {}
        for row in rows:
            if isinstance(row, dict) and isinstance(row.get("include"), bool):
                found[str(row.get("id", "")).strip().lower()] = row["include"]
        missing = [i for i in ids if i.lower() not in found]
        if missing:
            raise ValueError(f"{len(missing)} of {len(ids)} judgments missing, e.g. {missing[0]}")
        return {i: found[i.lower()] for i in ids}

    return validate


@dataclass
class Outcome:
    verdicts: dict[int, tuple[bool | None, str]] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)


def _cached_includes(*, viewer: GitHubUser, fps: Fingerprints) -> dict[int, bool]:
    """The stored verdicts still valid for these fingerprints: repo id → include."""
    rows = FeedJudgment.objects.filter(
        viewer_id=viewer.pk,
        repo_id__in=list(fps.candidates),
        viewer_fingerprint=fps.viewer,
        model=fps.model,
    ).values("repo_id", "include", "candidate_fingerprint")
    return {
        row["repo_id"]: row["include"]
        for row in rows
        if row["candidate_fingerprint"] == fps.candidates[row["repo_id"]]
    }


def _judgments_store(
    *, viewer: GitHubUser, fps: Fingerprints, batch: list[Scored], verdicts: dict[str, bool]
) -> None:
    """Cache one batch's verdicts under the fingerprints they were given for."""
    rows = [
        FeedJudgment(
            viewer_id=viewer.pk,
            repo_id=s.candidate.repo_id,
            include=verdicts[s.candidate.full_name],
            viewer_fingerprint=fps.viewer,
            candidate_fingerprint=fps.candidates[s.candidate.repo_id],
            model=fps.model,
        )
        for s in batch
    ]
    FeedJudgment.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["viewer", "repo"],
        update_fields=[
            "include",
            "viewer_fingerprint",
            "candidate_fingerprint",
            "model",
            "judged_at",
        ],
    )


def _batch_ask(*, fps: Fingerprints, batch: list[Scored]) -> LlmAnswer[dict[str, bool] | None]:
    """One prompt for the batch; a failed or unusable answer comes back as the fallback."""
    return llm_json(
        task=TASK,
        prompt=batch_prompt(fps.viewer_text, batch),
        shape=SHAPE,
        validate=_validator([s.candidate.full_name for s in batch]),
        fallback=lambda: None,
        fallback_on_failure=True,
        max_attempts=2,
    )


def judge_top(*, viewer: GitHubUser, scored: list[Scored]) -> Outcome:
    """Judge stage 1's top `FEED_JUDGE_TOP_N`: cached pairs reused, the rest in batches."""
    top = scored[: settings.FEED_JUDGE_TOP_N]
    fps = fingerprints(viewer=viewer, scored=top)
    cached = _cached_includes(viewer=viewer, fps=fps)
    outcome = Outcome()
    for repo_id, include in cached.items():
        outcome.verdicts[repo_id] = (include, FeedEntry.JudgedBy.CACHE)
    todo = [s for s in top if s.candidate.repo_id not in cached]
    size = settings.FEED_JUDGE_BATCH_SIZE
    batches = [todo[i : i + size] for i in range(0, len(todo), size)]
    calls = fallbacks = judged = 0
    unavailable = False
    for batch in batches:
        # Once no LLM worker answered, every later prompt would wait as long: skipped.
        answer = None if unavailable else _batch_ask(fps=fps, batch=batch)
        if answer is not None and answer.source == "llm" and answer.value is not None:
            calls += answer.attempts
            _judgments_store(viewer=viewer, fps=fps, batch=batch, verdicts=answer.value)
            for s in batch:
                include = answer.value[s.candidate.full_name]
                outcome.verdicts[s.candidate.repo_id] = (include, FeedEntry.JudgedBy.LLM)
            judged += len(batch)
            continue
        fallbacks += 1
        if answer is not None:
            calls += answer.attempts
            unavailable = answer.unavailable
            logger.warning(
                "feed.batch_fallback",
                extra={"viewer_id": viewer.pk, "size": len(batch), "error": answer.error},
            )
        for s in batch:
            outcome.verdicts[s.candidate.repo_id] = (None, FeedEntry.JudgedBy.FALLBACK)
    outcome.stats = {
        "judge_top": len(top),
        "cached": len(cached),
        "judged": judged,
        "batches": len(batches),
        "llm_calls": calls,
        "fallback_batches": fallbacks,
        "model": fps.model,
    }
    return outcome
