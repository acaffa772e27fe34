"""The profile's own steps, registered like any other.

fetch_profile → fetch_repos → select_highlights → per highlighted repo: repo_blurb,
repo_link, repo_media, and after the blurb repo_emphasis, repo_keywords, repo_kind →
user_theme. Repo steps whose prompt holds the generated description also need their
repo's blurb. Only the two fetches are required: every other step may fail and the
profile still stands.
"""

from __future__ import annotations

from users.pipeline import fetch_graphql, graph, highlights, repo_steps
from users.pipeline.graph import Step, step_register

# Repo steps run once per highlighted repo; those whose prompt holds the blurb need it first.
HIGHLIGHTED = (graph.SELECT_HIGHLIGHTS,)
BLURBED = (graph.SELECT_HIGHLIGHTS, graph.REPO_BLURB)

BUILTIN_STEPS = (
    # GraphQL where it batches, else REST (users.pipeline.fetch_graphql picks).
    Step(
        graph.FETCH_PROFILE,
        "user",
        fetch_graphql.fetch_profile_step,
        required=True,
        label="Profile",
    ),
    Step(
        graph.FETCH_REPOS,
        "user",
        fetch_graphql.fetch_repos_step,
        (graph.FETCH_PROFILE,),
        required=True,
        label="Repositories",
    ),
    Step(
        graph.SELECT_HIGHLIGHTS,
        "user",
        highlights.select_highlights,
        (graph.FETCH_REPOS,),
        label="Highlights",
    ),
    Step(graph.REPO_BLURB, "repo", repo_steps.repo_blurb, HIGHLIGHTED, label="Blurb"),
    Step(graph.REPO_EMPHASIS, "repo", repo_steps.repo_emphasis, BLURBED, label="Technologies"),
    Step(graph.REPO_KEYWORDS, "repo", repo_steps.repo_keywords, BLURBED, label="Keywords"),
    Step(graph.REPO_KIND, "repo", repo_steps.repo_kind, BLURBED, label="Kind"),
    Step(graph.REPO_LINK, "repo", repo_steps.repo_link, HIGHLIGHTED, label="Link"),
    Step(graph.REPO_MEDIA, "repo", repo_steps.repo_media, HIGHLIGHTED, label="Gallery"),
    Step(graph.USER_THEME, "user", highlights.user_theme, HIGHLIGHTED, label="Theme"),
)

for _step in BUILTIN_STEPS:
    step_register(_step)
