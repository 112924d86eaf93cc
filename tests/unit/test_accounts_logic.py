"""Many accounts, pure logic: which FargateAccount serves a namespace, regions, placement, sessions."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from fargate_operator.models import accounts as m
from fargate_operator.reconcile import accounts as a


def mapping_obj(name: str, **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": name, "generation": 1}, "spec": {"region": "us-east-1", **spec}}


A = a.parse_mapping(
    mapping_obj(
        "team-a",
        roleArn="arn:aws:iam::111111111111:role/fo",
        externalId="x-1",
        sessionTags=[{"key": "team", "value": "a"}],
        transitiveTagKeys=["team"],
        allowedRegions=["eu-west-1"],
        namespaces={"names": ["a"]},
    )
)
B = a.parse_mapping(
    mapping_obj(
        "team-b",
        roleArn="arn:aws:iam::222222222222:role/fo",
        region="us-west-2",
        namespaces={
            "selector": {
                "matchLabels": {"team": "b"},
                "matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["dev"]}],
            }
        },
    )
)


def test_parse_keeps_every_member_and_names_what_is_missing() -> None:
    assert A.account_id == "111111111111" and A.regions() == ("us-east-1", "eu-west-1")
    assert A.session_tags == (("team", "a"),) and A.transitive_tag_keys == ("team",)
    with pytest.raises(a.MappingInvalid, match=r"spec\.region is required"):
        a.parse_mapping({"metadata": {"name": "x"}, "spec": {}})
    with pytest.raises(a.MappingInvalid, match=r"spec\.roleArn 'arn:aws:s3:::b' is not an IAM role ARN"):
        a.parse_mapping(mapping_obj("x", roleArn="arn:aws:s3:::b"))


def test_namespaces_by_name_and_by_selector() -> None:
    assert a.resolve("a", {}, [A, B]).mapping == A
    assert a.resolve("b1", {"team": "b"}, [A, B]).mapping == B
    assert a.resolve("b2", {"team": "b", "tier": "dev"}, [A, B]).mapping is None  # NotIn dev
    assert a.resolve("a", None, [A]).mapping == A  # labels unknown, but no mapping reads them
    exists = m.Selector(expressions=(m.Requirement("x", "Exists"),))
    assert exists.matches({"x": ""}) and not exists.matches({})
    assert m.Selector(expressions=(m.Requirement("x", "DoesNotExist"),)).matches({})
    assert m.Selector(expressions=(m.Requirement("x", "In", ("1", "2")),)).matches({"x": "2"})


def test_a_namespace_whose_labels_are_not_known_yet_waits_while_a_mapping_selects_by_label() -> None:
    """A Namespace applied with its objects may reach the watch cache after them: "no FargateAccount" would
    act in the operator's own account, and the objects would be refused for good once the labels arrive."""
    for namespace in ("b1", "a"):  # a selector might claim it, even one a mapping names (a conflict then)
        unseen = a.resolve(namespace, None, [A, B])
        assert unseen.mapping is None
        with pytest.raises(a.PlacementWaiting, match=f"namespace {namespace} is not in the operator's watch cache"):
            a.placement(unseen, None, None, None, "us-east-1")
        assert "FargateAccount team-b selects namespaces by label" in str(unseen.waiting_message)
    # Names alone decide without the labels: no wait.
    assert a.placement(a.resolve("u", None, [A]), None, None, None, "us-east-1").mapping is None
    assert a.placement(a.resolve("a", None, [A]), None, None, None, "us-east-1").mapping == A


def test_two_mappings_for_one_namespace_are_a_conflict_on_both() -> None:
    both = a.parse_mapping(
        mapping_obj("other", namespaces={"names": ["a"], "selector": {"matchLabels": {"team": "b"}}})
    )
    res = a.resolve("a", {}, [A, both])
    assert res.mapping is None and res.conflict == ("other", "team-a")
    assert "claimed by FargateAccounts other and team-a" in str(res.waiting_message)
    table = a.served_table([A, B, both], {"a": {}, "b1": {"team": "b"}, "c": {}})
    assert table["team-a"].conflicts == {"a": ["other"]} and table["other"].conflicts == {
        "a": ["team-a"],
        "b1": ["team-b"],
    }
    assert table["team-b"].namespaces == [] and table["team-b"].conflicts == {"b1": ["other"]}
    # A named namespace that does not exist yet is served once it does (listed already).
    assert a.served_table([A], {})["team-a"].namespaces == ["a"]


def test_regions_allowed_and_refused() -> None:
    mapped = a.Resolution("a", A)
    assert a.region_verdict(mapped, None, "us-east-1") == ("us-east-1", None)
    assert a.region_verdict(mapped, "eu-west-1", "us-east-1") == ("eu-west-1", None)
    region, why = a.region_verdict(mapped, "ap-south-1", "us-east-1")
    assert region is None and why and "allows us-east-1, eu-west-1" in why
    plain = a.Resolution("u")
    assert a.region_verdict(plain, None, "us-east-1") == ("us-east-1", None)
    assert a.region_verdict(plain, "us-east-1", "us-east-1") == ("us-east-1", None)
    assert "operator's own region us-east-1 only" in str(a.region_verdict(plain, "eu-west-1", "us-east-1")[1])


def test_objects_stay_where_their_resources_are() -> None:
    mapped = a.Resolution("a", A)
    assert a.placement(mapped, None, "111111111111", "eu-west-1", "us-east-1") == a.Placement(A, "eu-west-1")
    with pytest.raises(a.PlacementRefused, match=r"in account 999999999999 .* now acts in account 111111111111"):
        a.placement(mapped, None, "999999999999", "us-east-1", "us-east-1")
    with pytest.raises(a.PlacementRefused, match=r"in region ap-south-1 \(status\.region\)"):
        a.placement(mapped, None, None, "ap-south-1", "us-east-1")
    # Made through a FargateAccount that no longer serves the namespace: not acted on with the operator's own identity.
    with pytest.raises(a.PlacementRefused, match=r"made through FargateAccount team-a"):
        a.placement(a.Resolution("a"), None, "111111111111", "us-east-1", "us-east-1", "team-a")
    # Made with the operator's own identity, now served by a FargateAccount of another account: refused too.
    with pytest.raises(a.PlacementRefused, match=r"in account 123456789012"):
        a.placement(mapped, None, "123456789012", "us-east-1", "us-east-1", None)
    assert a.placement(a.Resolution("u"), None, "123456789012", "us-east-1", "us-east-1", None).mapping is None
    # ... and a FargateAccount without a role is the operator's own identity too.
    own = a.parse_mapping(mapping_obj("own", namespaces={"names": ["a"]}))
    with pytest.raises(a.PlacementRefused, match=r"made through FargateAccount team-a's role"):
        a.placement(a.Resolution("a", own), None, "111111111111", "us-east-1", "us-east-1", "team-a")
    assert a.placement(a.Resolution("a", own), None, "123456789012", "us-east-1", "us-east-1", None).mapping == own
    with pytest.raises(a.PlacementWaiting, match="claimed by FargateAccounts"):
        a.placement(a.Resolution("a", conflict=("x", "y")), None, None, None, "us-east-1")


def test_assume_role_request_names_the_mapping() -> None:
    params = m.assume_role_params(A)
    assert params["RoleArn"] == A.role_arn and params["ExternalId"] == "x-1" and params["DurationSeconds"] == 3600
    assert params["RoleSessionName"] == "fargate-operator.team-a"
    assert params["Tags"] == [{"Key": m.ACCOUNT_TAG, "Value": "team-a"}, {"Key": "team", "Value": "a"}]
    assert params["TransitiveTagKeys"] == ["team"] and "SourceIdentity" not in params
    long = a.parse_mapping(mapping_obj("x" * 80 + "/y", roleArn="arn:aws:iam::111111111111:role/fo", namespaces={}))
    name = m.session_name(long)
    assert len(name) == 64 and "/" not in name


def test_arn_parts() -> None:
    arn = "arn:aws:ecs:eu-west-1:111111111111:cluster/c"
    assert (a.account_of_arn(arn), a.region_of_arn(arn)) == ("111111111111", "eu-west-1")
    assert (a.account_of_arn("c"), a.region_of_arn(None)) == (None, None)


class _Sts:
    def __init__(self, lifetime: float) -> None:
        self.lifetime, self.calls = lifetime, 0

    def assume_role(self, **params: Any) -> dict[str, Any]:
        self.calls += 1
        expires = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=self.lifetime)
        return {
            "Credentials": {
                "AccessKeyId": f"AK{self.calls}",
                "SecretAccessKey": "s",
                "SessionToken": "t",
                "Expiration": expires,
            }
        }


def test_refresh_windows_scale_with_the_session_lifetime() -> None:
    from fargate_operator.ecs.credentials import AssumedRoleCredentials

    hour = AssumedRoleCredentials(A, _Sts(3600))
    assert hour.get_frozen_credentials().access_key == "AK1"
    assert hour._advisory_refresh_timeout == pytest.approx(900, abs=1)  # botocore's own windows for an hour
    assert hour._mandatory_refresh_timeout == pytest.approx(600, abs=1)
    short_sts = _Sts(20)
    short = AssumedRoleCredentials(A, short_sts)
    for _ in range(50):  # many calls within one lifetime: one session
        short.get_frozen_credentials()
    assert short_sts.calls == 1 and short.assumed == 1
    assert short._advisory_refresh_timeout == pytest.approx(5, abs=0.2)


class _RefusingSts:
    def __init__(self) -> None:
        self.calls = 0

    def assume_role(self, **params: Any) -> dict[str, Any]:
        self.calls += 1
        error = {"Error": {"Code": "AccessDenied", "Message": "not authorized to perform sts:AssumeRole"}}
        raise ClientError(error, "AssumeRole")


def test_a_refused_assume_role_is_held_and_each_caller_gets_its_own_error() -> None:
    from fargate_operator.ecs.credentials import AssumedRoleCredentials, CredentialsRefused

    sts = _RefusingSts()
    creds = AssumedRoleCredentials(A, sts)
    raised = []
    for _ in range(3):
        with pytest.raises(CredentialsRefused) as err:
            creds.get_frozen_credentials()
        raised.append(err.value)
    assert sts.calls == 1  # held: the account's ECS calls do not ask STS again within FAILURE_HOLD_SECONDS
    assert len({id(e) for e in raised}) == 3  # a fresh exception each time (no shared, growing traceback)
    assert A.role_arn is not None
    assert all(e.code == "AccessDenied" and A.role_arn in str(e) for e in raised)


def test_a_run_task_retry_stays_where_the_first_attempt_went() -> None:
    """The RunTask mark names the account ("own" for the operator's identity) and region before RunTask: a retry
    (or the deletion's ListTasks) never goes elsewhere, where it would find nothing and start a second task."""
    from fargate_operator.controllers.task import moved as _moved
    from fargate_operator.ecs.settings import Where

    own = Where("us-east-1")
    role = Where("us-east-1", "111111111111", "arn:aws:iam::111111111111:role/fo", "team-a")
    mark = {"cluster": "c", "taskDefinition": "td", "at": 1.0, "region": "us-east-1", "account": "own"}
    assert _moved(mark, own) is None
    assert "account own" in str(_moved(mark, role))
    assert _moved({**mark, "account": "111111111111"}, role) is None
    assert _moved({**mark, "account": "111111111111"}, own) is not None
    assert _moved({**mark, "region": "eu-west-1"}, own) is not None
    assert _moved({"cluster": "c", "taskDefinition": "td", "at": 1.0}, role) is None  # a mark from before accounts


def test_a_revision_is_in_the_same_place_only_in_the_same_account_and_region() -> None:
    from fargate_operator.reconcile.accounts import same_place

    arn_a = "arn:aws:ecs:us-east-1:111111111111:task-definition/shared:1"
    through_a = {"fargateAccount": "a", "accountId": "111111111111"}
    own = {"fargateAccount": None, "accountId": "123456789012"}
    own_arn = "arn:aws:ecs:us-east-1:123456789012:task-definition/shared:1"
    # The operator's own identity (account not asked): another FargateAccount's revision is elsewhere,
    # another own-identity object's revision is here.
    assert not same_place(arn_a, through_a, "us-east-1", None)
    assert same_place(own_arn, own, "us-east-1", None)
    # A role's account is known: the ARN's account decides.
    assert same_place(arn_a, through_a, "us-east-1", "111111111111")
    assert not same_place(arn_a, through_a, "us-east-1", "222222222222")
    assert not same_place(own_arn, own, "us-east-1", "222222222222")
    # Another region is another place.
    assert not same_place(arn_a, through_a, "eu-west-1", "111111111111")
