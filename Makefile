# fargate-operator developer commands. `make test` installs everything it needs by itself.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The AWS CLI, a client nobody here wrote, in a venv of its own: it pins its own botocore.
AWSCLI_VENV := .venv-awscli
AWSCLI_STAMP := $(AWSCLI_VENV)/.installed
# The documentation site's output (git-ignored); the release workflow passes SITE=_site.
SITE ?= site
MKDOCS := NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs

.PHONY: help venv assets node-assets generate lint docs check test test-unit test-integration test-e2e test-node chaos ha fuzz drift-soak long bench run run-node release-local install-yaml lock clean

# Test modules run on this many workers (pytest-xdist; a module, or one of two serial units, per worker:
# tests/conftest.py). 3 keeps 2 cores busy: most of a test's time is waiting for a process.
JOBS ?= 3
PARALLEL := -n $(JOBS) --dist loadfile
# make check has no serial units: a fourth worker brings it from 5 min 42 s to 4 min 33 s here.
CHECK_JOBS ?= 4

help:
	@echo "make check the inner loop: lint, unit, controller and adapter tests (no root, no node tier)"
	@echo "make run    local control plane + ECS emulator (writes .run/kubeconfig and .run/env)"
	@echo "make run-node  a real node with the operator image installed by Helm (root; writes .run/node-env)"
	@echo "make release-local  push the image and chart at the current version to that node's registry"
	@echo "make install-yaml IMAGE=<repo>:<tag>@<digest> OUT=<file>  the release's install.yaml (release.yml runs it)"
	@echo "make test   install, provision, lint, and run the whole suite"
	@echo "make docs  the documentation site (mkdocs.yml, docs/) into $(SITE)/, links checked"
	@echo "make generate | lint | assets | chaos | ha | fuzz | drift-soak | long (= chaos + ha + fuzz + drift-soak) | bench | lock | clean"

# The three distributions of this repository, editable: the operator (.), the ECS emulator
# (operator/ecs-sim) and the test world with the development commands (operator/devenv).
DISTS := -e ".[test,bench,docs]" -e ./operator/ecs-sim -e ./operator/devenv

$(STAMP): pyproject.toml operator/ecs-sim/pyproject.toml operator/devenv/pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -c requirements.lock $(DISTS)
	touch $(STAMP)

$(AWSCLI_STAMP): requirements-awscli.lock
	test -x $(AWSCLI_VENV)/bin/python || $(PYTHON) -m venv $(AWSCLI_VENV)
	$(AWSCLI_VENV)/bin/python -m pip install --quiet -r requirements-awscli.lock
	touch $(AWSCLI_STAMP)

venv: $(STAMP) $(AWSCLI_STAMP)

# etcd, kube-apiserver, kubectl, helm: KUBEBUILDER_ASSETS, else a per-version cache outside the repo.
assets: venv
	$(BIN)/fargate-devenv assets

# The node tier (root): Debian packages, kubelet & co., CoreDNS, and the images built from the Dockerfile.
node-assets: assets
	$(BIN)/fargate-devenv assets --node

generate: venv
	$(BIN)/fargate-devenv codegen

lint: venv
	$(BIN)/ruff check operator tests bench
	$(BIN)/ruff format --check operator tests bench
	$(BIN)/mypy
	$(BIN)/mypy --config-file tests/mypy.ini  # tests and benchmarks, less strictly
	$(BIN)/lint-imports --no-logo
	$(BIN)/python -m fargate_devenv.go_tools actionlint  # .github/workflows/ (built from the Go proxy if missing)
	cd tools/argocd-health && test -z "$$(gofmt -l .)" && go vet -mod=readonly ./...  # the Argo CD health harness
	$(MKDOCS) build --strict --quiet --site-dir $(SITE)  # links between the pages and their anchors
	$(BIN)/pytest -q -p no:cacheprovider tests/unit/test_doc_links.py  # the README's links and anchors

# The documentation site: mkdocs.yml and docs/ (the README's quick start included); broken links
# or anchors fail it (--strict). The release workflow builds it and publishes it to GitHub Pages.
docs: venv
	$(MKDOCS) build --strict --site-dir $(SITE)

# The inner loop: what most changes need, on the real API server and the emulator; no root, no node tier.
check: venv assets lint
	$(BIN)/pytest -n $(CHECK_JOBS) --dist loadfile tests/unit tests/integration/controller tests/integration/adapter

test: venv assets node-assets lint
	$(BIN)/pytest $(PARALLEL) tests --durations=15

test-unit: venv
	$(BIN)/pytest tests/unit

test-integration: venv assets
	$(BIN)/pytest $(PARALLEL) tests/integration

test-e2e: venv assets
	$(BIN)/pytest tests/e2e

test-node: venv node-assets
	$(BIN)/pytest tests/node

# The long chaos variant: 1,000 FargateTasks, 100 services, 10 SIGKILL rounds (make test runs 200/20/5).
chaos: venv assets
	FARGATE_CHAOS_SCALE=5 FARGATE_CHAOS_WAIT=900 $(BIN)/pytest -s tests/integration/chaos

# High availability: 20 leader SIGKILLs with the chart's election durations (lease 15 s, renew
# deadline 10 s, retry 2 s) for the takeover distribution; make test runs 3 with 6 / 4 / 1.
ha: venv assets
	FARGATE_HA_KILLS=20 FARGATE_HA_LEASE=15,10,2 $(BIN)/pytest -s tests/integration/ha/test_ha_failover.py

# Hostile input, long variant: 10,000 cases each for the REST adapter, MCP tools and CRD specs.
fuzz: venv assets
	FARGATE_FUZZ_EXAMPLES=10000 $(BIN)/pytest -s tests/integration/adapter/test_rest_fuzz.py \
		tests/integration/adapter/test_mcp_fuzz.py tests/integration/test_crd_fuzz.py

# Drift, long variant: the "human in the console" flips a value for the issue's full minute
# (make test stops once the correction bound is reached and held for 3 status intervals).
drift-soak: venv assets
	FARGATE_DRIFT_HUMAN_SECONDS=60 $(BIN)/pytest -s tests/integration/controller/drift/test_drift_corrections.py \
		-k human_flipping

# The long variants of the chaos, HA, hostile-input and drift suites, in one command.
long: chaos ha fuzz drift-soak

# The scale benchmarks (docs/scale.md): tables on stdout, JSON in bench/results/,
# charts in docs/bench/. About 45 minutes together; each takes --help.
bench: venv assets
	$(BIN)/python bench/create_to_running.py --count 1000 --repeat 3
	$(BIN)/python bench/create_to_ready.py --count 500 --repeat 3 --kind taskdefinitions
	$(BIN)/python bench/create_to_ready.py --count 500 --kind services
	$(BIN)/python bench/create_to_ready.py --count 500 --kind clusters
	$(BIN)/python bench/memory_restart.py --each 1000 --tasks 10000
	$(BIN)/python bench/rest_adapter.py
	$(BIN)/python bench/drift_cost.py --count 1000
	$(BIN)/python bench/token_flood.py

run: venv assets
	$(BIN)/fargate-devenv run --run-dir .run

run-node: venv node-assets
	$(BIN)/fargate-devenv node --run-dir .run

# The release path locally: image + chart at the current version, pushed to the registry of a running
# `make run-node` (its address is in .run/node-env), or REGISTRY=host:port.
release-local: venv node-assets
	$(BIN)/fargate-devenv release-local --run-dir .run $(if $(REGISTRY),--registry $(REGISTRY))

# install.yaml for a pushed image, pinned by digest: the one renderer (release.yml runs this target;
# release-local calls the same module). Needs only python3 and helm on PATH (HELM=… otherwise), no venv.
HELM ?= helm
install-yaml:
	@test -n "$(IMAGE)" -a -n "$(OUT)" || { echo "usage: make install-yaml IMAGE=<repo>:<tag>@sha256:<digest> OUT=<file>"; exit 2; }
	PYTHONPATH=operator/devenv/src $(PYTHON) -m fargate_devenv.install_yaml --helm "$(HELM)" --image "$(IMAGE)" --out "$(OUT)"

# Re-resolve the pinned versions of every dependency (the lower bounds stay in pyproject.toml).
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet --upgrade "pip>=24"
	.lock-venv/bin/python -m pip install --quiet ".[test,bench,docs]" ./operator/ecs-sim ./operator/devenv
	.lock-venv/bin/python -m pip freeze --exclude-editable | grep -Ev '^fargate-(operator|ecs-sim|devenv)' > requirements.lock
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet "awscli>=1.40"
	.lock-venv/bin/python -m pip freeze > requirements-awscli.lock
	rm -rf .lock-venv

clean:
	rm -rf $(VENV) $(AWSCLI_VENV) .run .pytest_cache .mypy_cache .ruff_cache site _site
