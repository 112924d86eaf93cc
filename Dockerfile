# fargate-operator image: the operator (and, as they land, the REST adapter and MCP endpoint).
# Build: docker build -t fargate-operator:dev .   (no Docker engine on the project's CI machines;
# see README "Container image" for what is checked there).
FROM python:3.11-slim AS build
WORKDIR /src
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY requirements.lock pyproject.toml README.md ./
COPY operator ./operator
# Versions come from the lock file; only runtime dependencies are installed.
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install -c requirements.lock .

FROM python:3.11-slim
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="fargate-operator" \
      org.opencontainers.image.description="Run AWS ECS Fargate workloads declaratively from Kubernetes" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0"
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin operator
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
USER 10001
ENTRYPOINT ["fargate-operator"]
CMD ["run"]
