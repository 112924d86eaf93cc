"""Credentials for a FargateAccount: boto3's default chain, then sts:AssumeRole, refreshed by botocore.

The chain starts from the operator's own identity (boto3's default chain: IRSA web identity, EKS
Pod Identity, environment, profile), which signs an sts:AssumeRole of the FargateAccount's role
with its External ID, session tags and session name. The temporary credentials are botocore's
refreshable credentials: botocore refreshes them before they expire, on the thread that needs them
(no timer of ours). botocore's refresh windows (15 minutes ahead, 10 minutes ahead at the latest)
suit the hour-long sessions STS grants by default; a shorter session gets windows in proportion
(a quarter and a sixth of its lifetime: exactly botocore's for an hour), so it is neither
refreshed on every call nor late.
"""

from __future__ import annotations

import datetime
import threading
import time
from collections.abc import Callable
from typing import Any

import botocore.session
from botocore.config import Config
from botocore.credentials import CredentialProvider, CredentialResolver, DeferredRefreshableCredentials
from botocore.exceptions import BotoCoreError, ClientError

from fargate_operator.models.accounts import AccountMapping, assume_role_params

ADVISORY_SECONDS = 15 * 60  # botocore's own windows (RefreshableCredentials)
MANDATORY_SECONDS = 10 * 60
FAILURE_HOLD_SECONDS = 30.0  # a refused AssumeRole is not asked again sooner (the calls it would cost)


class CredentialsRefused(Exception):
    """sts:AssumeRole failed: the message names the role (and whether an External ID was sent). Always
    retried (gateway.py): even an AccessDenied is fixed by the admin (trust policy, External ID), not the spec."""

    def __init__(self, mapping: AccountMapping, code: str, message: str) -> None:
        external = "with" if mapping.external_id else "without"
        super().__init__(
            f"sts:AssumeRole of {mapping.role_arn} ({external} External ID) for FargateAccount {mapping.name}: "
            f"{code}: {message}"
        )
        self.code = code


class AssumedRoleCredentials(DeferredRefreshableCredentials):  # type: ignore[misc]
    """botocore's refreshable credentials over AssumeRole, refresh windows scaled to the session's lifetime."""

    def __init__(self, mapping: AccountMapping, sts: Any) -> None:
        super().__init__(refresh_using=self._assume, method="assume-role")
        self._mapping, self._sts = mapping, sts
        self.assumed = 0  # sessions made so far (the figure the acceptance asks to keep bounded)
        self.on_assumed: Callable[[], None] = lambda: None  # e.g. a metric
        self._failed: tuple[float, str, str] | None = None  # when STS last said no, and what
        self._count_lock = threading.Lock()

    def _assume(self) -> dict[str, Any]:
        failed = self._failed
        if failed is not None and time.monotonic() - failed[0] < FAILURE_HOLD_SECONDS:
            # STS said no moments ago: the account's every ECS call must not ask it again (a new exception
            # each time: one raised from many threads would share, and grow, one traceback).
            raise CredentialsRefused(self._mapping, failed[1], failed[2])
        try:
            answer = self._sts.assume_role(**assume_role_params(self._mapping))
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code, message = str(error.get("Code") or "Unknown"), str(error.get("Message") or exc)
        except BotoCoreError as exc:  # STS unreachable
            code, message = type(exc).__name__, str(exc)
        else:
            return self._credentials_of(answer)
        self._failed = (time.monotonic(), code, message)
        raise CredentialsRefused(self._mapping, code, message)

    def _credentials_of(self, answer: dict[str, Any]) -> dict[str, Any]:
        self._failed = None
        with self._count_lock:
            self.assumed += 1
        self.on_assumed()
        creds = answer["Credentials"]
        expires: datetime.datetime = creds["Expiration"]
        lifetime = (expires - datetime.datetime.now(datetime.UTC)).total_seconds()
        # Instance values of RefreshableCredentials' advisory/mandatory windows (its constructor takes them too).
        self._advisory_refresh_timeout = min(ADVISORY_SECONDS, max(1.0, lifetime / 4))
        self._mandatory_refresh_timeout = min(MANDATORY_SECONDS, max(0.5, lifetime / 6))
        return {
            "access_key": creds["AccessKeyId"],
            "secret_key": creds["SecretAccessKey"],
            "token": creds["SessionToken"],
            "expiry_time": expires.isoformat(),
        }


class _AssumeRoleProvider(CredentialProvider):  # type: ignore[misc]
    METHOD = "fargate-account-assume-role"
    CANONICAL_NAME = "FargateAccount"

    def __init__(self, credentials: AssumedRoleCredentials) -> None:
        super().__init__()
        self._credentials = credentials

    def load(self) -> AssumedRoleCredentials:
        return self._credentials


def assumed_role_session(
    base: botocore.session.Session, mapping: AccountMapping, region: str
) -> tuple[botocore.session.Session, AssumedRoleCredentials]:
    """A botocore session acting as the mapping's role, and its credentials object.

    It shares `base`'s data loader, so the ECS model is read and held once however many
    accounts are in use. The STS client that assumes the role is `base`'s (the operator's own
    identity), in `region` (STS's regional endpoint; AWS_ENDPOINT_URL_STS overrides it).
    """
    sts = base.create_client("sts", region_name=region, config=Config(retries={"mode": "standard", "max_attempts": 3}))
    credentials = AssumedRoleCredentials(mapping, sts)
    session = botocore.session.Session()
    session.register_component("data_loader", base.get_component("data_loader"))
    session.register_component("credential_provider", CredentialResolver(providers=[_AssumeRoleProvider(credentials)]))
    return session, credentials
