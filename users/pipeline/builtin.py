"""The profile's own steps, registered like any other (seed 000's graph).

fetch_profile → fetch_repos → select_highlights → per highlighted repo: repo_blurb,
repo_link, repo_media, and after the blurb repo_emphasis, repo_keywords, repo_kind →
user_theme. Repo steps that the seed fed the generated description also need their
repo's blurb. Only the two fetches are required: every other step may fail and the
profile still stands.
"""

from __future__ import annotations

from users.pipeline import fetch, highlights, repo_steps
from users.pipeline.graph import (
    FETCH_PROFILE,
    FETCH_REPOS,
    REPO_BLURB,
    REPO_EMPHASIS,
    REPO_KEYWORDS,
    REPO_KIND,
    REPO_LINK,
    REPO_MEDIA,
    SELECT_HIGHLIGHTS,
    USER_THEME,
    Step,
    step_register,
)

BUILTIN_STEPS = (
    Step(FETCH_PROFILE, "user", fetch.fetch_profile, required=True),
    Step(FETCH_REPOS, "user", fetch.fetch_repos, (FETCH_PROFILE,), required=True),
    Step(SELECT_HIGHLIGHTS, "user", highlights.select_highlights, (FETCH_REPOS,)),
    Step(REPO_BLURB, "repo", repo_steps.repo_blurb, (SELECT_HIGHLIGHTS,)),
    Step(REPO_EMPHASIS, "repo", repo_steps.repo_emphasis, (SELECT_HIGHLIGHTS, REPO_BLURB)),
    Step(REPO_KEYWORDS, "repo", repo_steps.repo_keywords, (SELECT_HIGHLIGHTS, REPO_BLURB)),
    Step(REPO_KIND, "repo", repo_steps.repo_kind, (SELECT_HIGHLIGHTS, REPO_BLURB)),
    Step(REPO_LINK, "repo", repo_steps.repo_link, (SELECT_HIGHLIGHTS,)),
    Step(REPO_MEDIA, "repo", repo_steps.repo_media, (SELECT_HIGHLIGHTS,)),
    Step(USER_THEME, "user", highlights.user_theme, (SELECT_HIGHLIGHTS,)),
)

for _step in BUILTIN_STEPS:
    step_register(_step)
