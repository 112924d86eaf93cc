# fargate-operator image: the operator (and, as they land, the REST adapter and MCP endpoint).
# Build: docker build -t fargate-operator:dev .
# BASE_IMAGE: any Debian-based Python 3.11 with `python` on PATH; the default is the official image.
# The test world (no registry reachable) passes one made with debootstrap: see fargate_devenv/image.py.
# Only the operator's distribution is installed: operator/ecs-sim and operator/devenv (the ECS emulator and
# the test world) are projects of their own that never enter the image (.dockerignore leaves them out too).
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE} AS build
WORKDIR /src
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# Versions come from the lock file; only runtime dependencies are installed. They get a layer of
# their own (the project installed once with only its __init__.py, which holds the version
# pyproject.toml reads, and no README), so a change to the sources rebuilds only the last step.
COPY requirements.lock pyproject.toml ./
COPY operator/fargate_operator/__init__.py ./operator/fargate_operator/
RUN touch README.md \
 && python -m venv /opt/venv \
 && /opt/venv/bin/pip install -c requirements.lock .
COPY README.md ./
COPY operator/fargate_operator ./operator/fargate_operator
RUN /opt/venv/bin/pip install --no-deps --force-reinstall . \
 && /opt/venv/bin/python -c "import fargate_operator.cli"

FROM ${BASE_IMAGE}
# Stamped from operator/fargate_operator/__init__.py by `make generate`; the release workflow passes it too.
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="fargate-operator" \
      org.opencontainers.image.description="Run AWS ECS Fargate workloads declaratively from Kubernetes" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0"
# Debian's base-passwd already has a group "operator" (gid 37), so a user of that name cannot get its
# own group: the user and group are "fargate-operator", uid/gid 10001 (the chart's runAsUser/runAsGroup).
RUN groupadd --system --gid 10001 fargate-operator \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin fargate-operator
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
USER 10001
ENTRYPOINT ["fargate-operator"]
CMD ["run"]
