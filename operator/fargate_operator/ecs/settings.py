"""How a gateway is set up and where it acts: shared by the gateway and the clients beside it (CloudWatch Logs)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GatewaySettings:
    region: str | None = None
    endpoint_url: str | None = None  # None: boto3's default (or AWS_ENDPOINT_URL_ECS)
    max_concurrency: int = 16
    max_attempts: int = 5
    connect_timeout: float = 5.0
    read_timeout: float = 30.0


OWN_IDENTITY = "own"


@dataclass(frozen=True)
class Where:
    """Where a gateway acts: shown in every error it raises (Events and conditions name the account)."""

    region: str | None
    account_id: str | None = None  # None: the operator's own account, not asked of STS
    role_arn: str | None = None  # the assumed role, if any
    account_name: str | None = None  # the FargateAccount, if any

    @property
    def identity(self) -> str:
        """Whose account: an assumed role's account id, or "own" (the operator's identity, account unasked)."""
        return self.account_id if self.role_arn and self.account_id else OWN_IDENTITY

    def __str__(self) -> str:
        account = f"account {self.account_id}" if self.account_id else "the operator's own account"
        parts = [account, f"region {self.region or 'default'}"]
        if self.role_arn:
            parts.append(f"as {self.role_arn} (FargateAccount {self.account_name})")
        return ", ".join(parts)
