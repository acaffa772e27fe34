"""Settings of the feed benchmark's web process: the project's, plus one plain view."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.feed_urls"
