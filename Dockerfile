# Build stage: the pinned runtime dependencies in a virtualenv. The tests' and tooling's
# packages in requirements.txt (pytest, ruff, pip-tools and what only they need) are
# left out of the image.
FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1
COPY requirements.txt /tmp/requirements.txt
RUN grep -v -E '^(pytest|pytest-django|pytest-timeout|factory-boy|faker|ruff|import-linter|grimp|rich|markdown-it-py|mdurl|schemathesis|hypothesis|hypothesis-graphql|graphql-core|harfile|jsonschema-rs|pyrate-limiter|werkzeug|sortedcontainers|playwright|greenlet|pip-tools|build|pyproject-hooks|iniconfig|pluggy|pygments|wheel)==' \
        /tmp/requirements.txt > /tmp/requirements-runtime.txt \
    && python -m venv /venv \
    && /venv/bin/pip install --no-cache-dir -r /tmp/requirements-runtime.txt

# Runtime: the virtualenv, git (repo blurbs read a shallow clone) and the code, owned by
# root and read-only to the unprivileged user the processes run as.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PATH=/venv/bin:$PATH
RUN apt-get update \
    && apt-get install -y --no-install-recommends git \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 gazer
COPY --from=build /venv /venv
WORKDIR /app
COPY . .
# Build time only (no secret exists yet): collectstatic needs settings, not the real keys.
RUN DATABASE_URL=postgres://build@localhost/build SECRET_KEY=collectstatic-only \
    TOKEN_ENCRYPTION_KEY=collectstatic-only python manage.py collectstatic --noinput
USER gazer
EXPOSE 8000
CMD ["gunicorn", "config.wsgi", "-c", "config/gunicorn_conf.py", "-b", "0.0.0.0:8000", "-w", "2", "--threads", "4", "--timeout", "60"]
