"""Queue names: the only place they are spelled out.

Workers consume them in this order (Redis `queue_order_strategy="priority"`): a `high`
message is always taken before a `default` one, and `default` before `low`.
"""

HIGH = "high"  # new accounts and user-facing work someone is waiting for
DEFAULT = "default"  # pipeline steps, sweeps and maintenance
LOW = "low"  # refreshes of existing accounts, bulk re-processing

ALL = (HIGH, DEFAULT, LOW)

# LLM completions. Only the LLM worker (`workers.llm_worker`) consumes it; the general
# workers above never do, so they never load litellm.
LLM = "llm"
