"""ghsim: a deterministic GitHub simulator (REST, GraphQL, raw/web, git smart HTTP, LLM)."""

from .world import World

__all__ = ["World"]
