"""The tenancy config file (`--tenancy-config`): read at start, re-read when its content changes.

The Helm chart renders it from the `tenancy:` value into a ConfigMap in the operator's own
namespace (which tenants cannot edit) and mounts it as a directory, so the kubelet's
symlink swap on a ConfigMap change shows up as new content here. A file that became
unreadable or invalid keeps the last good policy (logged and counted); at start, it stops
the operator with an error naming the field.
"""

from __future__ import annotations

import logging
from pathlib import Path

import yaml
from prometheus_client import Counter

from fargate_operator.reconcile.tenancy import (
    DEFAULT_POLICY,
    Policy,
    TenancyConfigError,
    ambiguous_patterns,
    parse_policy,
)

log = logging.getLogger(__name__)
CONFIG_ERRORS = Counter(
    "fargate_operator_tenancy_config_errors_total", "Re-reads of the tenancy config that failed (last good kept)"
)


def load_policy(path: Path) -> tuple[Policy, str]:
    """The policy in the file, and the text it was read from."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise TenancyConfigError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise TenancyConfigError(f"{path}: not valid YAML: {exc}") from exc
    try:
        return parse_policy(data), text
    except TenancyConfigError as exc:
        raise TenancyConfigError(f"{path}: {exc}") from exc


class PolicySource:
    """The current policy: the built-in default without a path, else the file's."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path else None
        self.policy = DEFAULT_POLICY
        self._last_text: str | None = None
        if self.path is not None:
            self.policy, self._last_text = load_policy(self.path)  # at start an error is fatal
            self._warn_ambiguous()

    def _read(self) -> str | None:
        assert self.path is not None
        try:
            return self.path.read_text()
        except OSError:
            return None  # reported by load_policy below

    def reload(self) -> bool:
        """Re-read the file if its content changed; True when the policy changed."""
        if self.path is None:
            return False
        text = self._read()
        if text == self._last_text:
            return False
        self._last_text = text  # a bad version is reported once, not on every poll
        try:
            policy, _ = load_policy(self.path)
        except TenancyConfigError as exc:
            CONFIG_ERRORS.inc()
            log.error("tenancy config not reloaded, keeping the previous one (%s): %s", self.policy.digest, exc)
            return False
        if policy == self.policy:
            return False
        self.policy = policy
        log.info("tenancy config %s loaded from %s", policy.digest, self.path)
        self._warn_ambiguous()
        return True

    def _warn_ambiguous(self) -> None:
        for pattern in ambiguous_patterns(self.policy):
            log.warning(
                "tenancy pattern %r: {namespace} runs on into characters a namespace name can hold, so namespace "
                "'team' also matches what 'team-b' is meant to get; put '/' around it (docs/tenancy.md)",
                pattern,
            )
