"""The profile pipeline: a graph of registered steps, and the steps themselves.

    from users.pipeline import Step, StepContext, StepSkipped, StepFailed, step_register

    step_register(Step(name="user_activity", scope="user", depends_on=("fetch_repos",),
                       run=user_activity, required=False))

Modules, one job each: `graph` (Step, StepContext, the outcomes, the registry and the
order derived from it), `fetch` (the GitHub-fetching steps), `highlights` (highlight and
theme steps), `repo_steps` (per-repo steps) and `builtin` (the registration of those).
The pure enrichment helpers (prompts, heuristics, key files, links) are in
repos.enrichment; the run engine that schedules steps is users.engine.
"""

from users.pipeline import builtin
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
    StepContext,
    StepFailed,
    StepSkipped,
    UserGone,
    depends_on,
    locked_user,
    step_get,
    step_known,
    step_label,
    step_register,
    step_unregister,
    steps_all,
    steps_from,
    steps_of_scope,
    steps_refreshing,
    steps_required,
)

__all__ = [
    "FETCH_PROFILE",
    "FETCH_REPOS",
    "REPO_BLURB",
    "REPO_EMPHASIS",
    "REPO_KEYWORDS",
    "REPO_KIND",
    "REPO_LINK",
    "REPO_MEDIA",
    "SELECT_HIGHLIGHTS",
    "USER_THEME",
    "Step",
    "StepContext",
    "StepFailed",
    "StepSkipped",
    "UserGone",
    "builtin",
    "depends_on",
    "locked_user",
    "step_get",
    "step_known",
    "step_label",
    "step_register",
    "step_unregister",
    "steps_all",
    "steps_from",
    "steps_of_scope",
    "steps_refreshing",
    "steps_required",
]
