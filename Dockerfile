# syntax=docker/dockerfile:1
# modpipe: the stream workers, the set-up commands and the review page in one slim, non-root image.
# Everything installed comes from what the project pins: the base image by version, uv by the version the `dev`
# script uses, the runtime packages from uv.lock (--locked fails the build if the lock is stale) and the build
# backend from docker/build-constraints.txt.
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ARG UV_VERSION=0.13.9
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_NO_CACHE=1 \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/opt/modpipe/venv \
    UV_BUILD_CONSTRAINT=/src/docker/build-constraints.txt
RUN python -m pip install "uv==${UV_VERSION}"
WORKDIR /src
# Dependencies first, in their own layer: it is rebuilt only when the lock changes.
COPY pyproject.toml uv.lock README.md ./
COPY docker/build-constraints.txt docker/
RUN uv sync --locked --no-dev --no-install-project --no-editable
COPY modpipe modpipe
COPY pipeline pipeline
COPY review review
COPY classifiers classifiers
COPY retention retention
COPY reports reports
COPY config config
RUN uv sync --locked --no-dev --no-editable
# The default model, trained once here on the corpus and the permissive public sets (docker/datasets/README.md)
# so that no worker trains on start-up.
COPY docker/datasets /src/datasets
RUN MODPIPE__STACK__HOME=/tmp/modpipe-build MODPIPE__CLASSIFIER__DATASETS_DIR=/src/datasets \
    /opt/modpipe/venv/bin/modpipe train --out /opt/modpipe/model \
    && rm -rf /tmp/modpipe-build /src/datasets

FROM ${PYTHON_IMAGE}
RUN groupadd --system --gid 10001 modpipe \
    && useradd --system --uid 10001 --gid modpipe --home-dir /var/lib/modpipe --no-create-home \
       --shell /usr/sbin/nologin modpipe \
    && mkdir -p /var/lib/modpipe/review /var/lib/modpipe/s3-config \
    && chown -R modpipe:modpipe /var/lib/modpipe
COPY --from=build /opt/modpipe /opt/modpipe
COPY docker/entrypoint.sh docker/setup.sh docker/healthcheck.py docker/wait_for.py docker/elastic_users.py \
     /opt/modpipe/docker/
ENV PATH=/opt/modpipe/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    MODPIPE__CLASSIFIER__MODEL_DIR=/opt/modpipe/model \
    MODPIPE__STACK__HOME=/var/lib/modpipe \
    MODPIPE__WORKER__WEB_HOST=0.0.0.0 \
    MODPIPE__REVIEW__HOST=0.0.0.0
USER modpipe:modpipe
WORKDIR /var/lib/modpipe
# 6066: a worker's /healthz and /metrics; 8080: the review page.
EXPOSE 6066 8080
HEALTHCHECK --interval=15s --timeout=6s --start-period=60s --retries=3 \
    CMD ["python", "/opt/modpipe/docker/healthcheck.py"]
ENTRYPOINT ["/opt/modpipe/docker/entrypoint.sh"]
CMD ["--help"]
