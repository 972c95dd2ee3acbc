# syntax=docker/dockerfile:1
#
# One image for every commentgate process: the web app (default command), the
# workers and the scheduler. Configure it with COMMENTGATE_* environment variables
# only; no secret is baked in.
#
#   docker build -t commentgate .
#   docker run --rm -p 8000:8000 -e COMMENTGATE_SECRET_KEY=... \
#       -e COMMENTGATE_REDIS_URL=redis://redis.internal:6379/0 commentgate
#   docker run --rm -e ... commentgate worker --queues commentgate.comments
#
# The `dashboard` stage is rq-dashboard, for `docker compose --profile dashboard up`.
# See docs/operations.md.

ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

# -- build: the commentgate wheel -------------------------------------------------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md* ./
COPY service ./service
COPY workers ./workers
COPY classifier ./classifier
RUN pip wheel --no-deps --wheel-dir /wheels .

# -- dashboard: rq-dashboard behind HTTP basic auth (not a commentgate dependency) -----
FROM ${PYTHON_IMAGE} AS dashboard
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
# rq-dashboard 0.9.0 imports six without declaring it.
RUN pip install "rq-dashboard==0.9.0" "rq>=3,<4" "six>=1.16" \
    && useradd --system --uid 10002 --user-group --no-create-home --home-dir /nonexistent dashboard
USER dashboard
EXPOSE 9181
# rq-dashboard serves anyone unless a username is set: refuse to start without one.
ENTRYPOINT ["/bin/sh", "-c", "if [ -z \"$RQ_DASHBOARD_USERNAME\" ] || [ -z \"$RQ_DASHBOARD_PASSWORD\" ]; then echo 'rq-dashboard: set RQ_DASHBOARD_USERNAME and RQ_DASHBOARD_PASSWORD' >&2; exit 64; fi; exec rq-dashboard \"$@\"", "rq-dashboard"]
CMD ["--bind", "0.0.0.0", "--port", "9181"]
# Any HTTP answer (401 included) means the server is up.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import urllib.error as e, urllib.request as r\ntry: r.build_opener(r.ProxyHandler({})).open('http://127.0.0.1:9181/', timeout=4)\nexcept e.HTTPError: pass"]

# -- app: the commentgate image (the default target: keep it last) ---------------------
FROM ${PYTHON_IMAGE} AS app
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MPLCONFIGDIR=/tmp/matplotlib \
    HEALTHCHECK_URL=http://127.0.0.1:8000/healthz
# Dependencies first, from pyproject.toml alone: editing the code reuses this layer.
COPY pyproject.toml /tmp/pyproject.toml
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('/tmp/pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt /tmp/pyproject.toml
# Then the code, as the wheel built above.
COPY --from=build /wheels /tmp/wheels
RUN pip install --no-deps /tmp/wheels/*.whl && rm -rf /tmp/wheels
RUN useradd --system --uid 10001 --user-group --no-create-home --home-dir /nonexistent commentgate
USER commentgate
WORKDIR /app
EXPOSE 8000
ENTRYPOINT ["commentgate"]
CMD ["web", "--bind", "0.0.0.0:8000"]
# Liveness of the web app. Worker and scheduler containers have no HTTP server:
# docker-compose.yml disables this check for them.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as r; r.build_opener(r.ProxyHandler({})).open(os.environ['HEALTHCHECK_URL'], timeout=4)"]
