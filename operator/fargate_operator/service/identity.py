"""Who a call acts as: a Kubernetes user and groups, and the namespace the call addresses.

The front doors (web/) authenticate -- a Kubernetes token through TokenReview, or an access key
or bearer token from a credential Secret, which names the user and groups the key acts as -- and
hand a Principal to the service layer, which authorizes every read and write for that user (see
access.py and acting.py). Nothing here calls Kubernetes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

SA_PREFIX = "system:serviceaccount:"
AUTHENTICATED = "system:authenticated"
ALL_SERVICE_ACCOUNTS = "system:serviceaccounts"
# A namespace name: a DNS-1123 label (Kubernetes' own rule for namespaces).
_NAMESPACE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


def valid_namespace(name: str) -> bool:
    return bool(_NAMESPACE.match(name))


def service_account(user: str) -> tuple[str, str] | None:
    """(namespace, name) of a ServiceAccount user name `system:serviceaccount:<ns>:<name>`, else None."""
    if not user.startswith(SA_PREFIX):
        return None
    namespace, sep, name = user[len(SA_PREFIX) :].partition(":")
    if not sep or not valid_namespace(namespace) or not name or ":" in name:
        return None
    return namespace, name


def service_account_groups(namespace: str) -> tuple[str, ...]:
    """The groups the API server gives every ServiceAccount of `namespace` (and authenticated users)."""
    return (ALL_SERVICE_ACCOUNTS, f"{ALL_SERVICE_ACCOUNTS}:{namespace}", AUTHENTICATED)


def effective_groups(user: str, groups: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """The groups RBAC sees for `user`: the ones given, else a ServiceAccount's own; always authenticated.

    A SubjectAccessReview evaluates exactly the groups it is sent (it derives none), so they must be
    complete: what TokenReview answered, or for a key Secret what the API server would give that user.
    """
    out = list(dict.fromkeys(g for g in groups if g))
    if not out and (sa := service_account(user)):
        out = list(service_account_groups(sa[0]))
    if AUTHENTICATED not in out:
        out.append(AUTHENTICATED)
    return tuple(out)


@dataclass(frozen=True)
class Principal:
    """The caller: the Kubernetes user and groups its calls act as, and the namespace they address.

    `namespace` is the one the call works in: a ServiceAccount's own, a key Secret's `namespace`, or
    the one the caller named (X-Fargate-Namespace); None when nothing names one. `read_only` (a key
    Secret's `readOnly`) narrows what RBAC allows, never widens it. `via` says how the caller
    authenticated, for messages and logs (never a secret).
    """

    user: str
    groups: tuple[str, ...]
    namespace: str | None
    read_only: bool = False
    via: str = "token"

    def addressing(self, namespace: str) -> Principal:
        return replace(self, namespace=namespace)

    def impersonation_headers(self) -> list[tuple[str, str]]:
        """Impersonate-User / Impersonate-Group headers that make the API server see this caller.

        A ServiceAccount whose groups are exactly its own is impersonated by user name alone: the
        API server then adds those same groups itself, and the operator needs no right to impersonate
        groups. Otherwise every group is sent but `system:authenticated`, which the API server adds
        to any impersonated user (and which would need a right of its own).
        Kubernetes docs, "User impersonation": "Impersonate-Group: A group name. Can be provided
        multiple times"; a ServiceAccount user "is automatically added" its groups when none are given.
        """
        headers = [("Impersonate-User", self.user)]
        sa = service_account(self.user)
        if sa and set(self.groups) == set(service_account_groups(sa[0])):
            return headers
        headers += [("Impersonate-Group", g) for g in self.groups if g != AUTHENTICATED]
        return headers
