"""Gunicorn settings shared by every way the web process starts (Procfile, Dockerfile,
docker-compose, the tests): `gunicorn config.wsgi -c config/gunicorn_conf.py ...`.

Gunicorn's default request-line limit (4094 bytes) answers longer paths itself with an
HTML 414 before Django sees them; 8190 (its maximum) lets paths up to about 8 KB reach
Django, which answers them in the API's JSON error shape (e.g. `invalid_username`).
Request lines beyond 8190 bytes are still refused by gunicorn (HTTP 414).
"""

limit_request_line = 8190
limit_request_field_size = 8190
limit_request_fields = 100
