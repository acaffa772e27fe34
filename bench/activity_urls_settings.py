"""Settings of the activity benchmark's web server: Gazer's, plus a plain view."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.activity_urls"
