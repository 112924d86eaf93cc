"""A flood of made-up bearer tokens is bounded, and valid callers keep their cached answers through it.

Every distinct well-formed token the operator does not know costs a TokenReview. One client (the
flooder, sending from 127.0.0.2 to the operator on 127.0.0.1) sends a bounded number of random
tokens; meanwhile a valid caller (from 127.0.0.1) keeps reading with its Kubernetes token, and a
second valid caller shows up with a token never seen before. Latency figures are the benchmark's
(bench/token_flood.py); this test checks what must hold: the flood's reviews stay within its
client's bounds and it is answered 403 or 429 (never a 5xx), the valid caller is answered from
the cache throughout, and the newcomer is reviewed and let in.
"""

from __future__ import annotations

import base64
import http.client
import json
import secrets
import threading
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from fargate_devenv.world import World
from support import identity as identity_support
from support.operator_process import OperatorProcess

FLOOD = 600  # tokens, each sent once
FLOOD_SECONDS = 30.0  # the flood stops here at the latest
FLOODER = "127.0.0.2"  # loopback too: another client as far as the operator can tell
RATE, BURST = 10, 40  # TokenReviews per client: a second, at once (the operator's defaults, set explicitly)
TARGET = "AmazonEC2ContainerServiceV20141113."


def made_up_token() -> str:
    """A well-formed JWT (header.claims.signature) that no issuer signed."""

    def part(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).decode().rstrip("=")

    claims = {"iss": "https://kubernetes.default.svc", "sub": f"system:serviceaccount:x:{uuid.uuid4().hex}"}
    header = part(json.dumps({"alg": "RS256", "kid": "made-up"}).encode())
    return f"{header}.{part(json.dumps(claims).encode())}.{part(secrets.token_bytes(256))}"


@pytest.fixture(scope="module")
def flood_operator(world: World, namespace: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OperatorProcess]:
    # Answers kept 2 minutes: the valid caller's one review must carry it through the whole flood.
    env = {
        "FARGATE_OPERATOR_AUTH_CACHE_TTL": "120",
        "FARGATE_OPERATOR_TOKEN_REVIEW_RATE": str(RATE),
        "FARGATE_OPERATOR_TOKEN_REVIEW_BURST": str(BURST),
    }
    op = OperatorProcess(
        world.control_plane, world.ecs.endpoint, namespace, tmp_path_factory.mktemp("flood") / "operator.log", env=env
    ).start()
    op.wait_ready()
    yield op
    op.stop()


def _post(
    endpoint: str, path: str, token: str, body: dict[str, Any], headers: dict[str, str], source: str = "127.0.0.1"
) -> tuple[int, dict[str, Any], dict[str, str]]:
    host, port = endpoint.split("://", 1)[1].split(":")
    conn = http.client.HTTPConnection(host, int(port.split("/")[0]), timeout=30, source_address=(source, 0))
    try:
        conn.request("POST", path, body=json.dumps(body), headers={**headers, "Authorization": f"Bearer {token}"})
        response = conn.getresponse()
        data = response.read()
        try:
            answer = json.loads(data) if data else {}
        except ValueError:
            answer = {"raw": data[:200].decode(errors="replace")}
        return response.status, answer, {name.lower(): value for name, value in response.getheaders()}
    finally:
        conn.close()


def describe(endpoint: str, token: str, source: str = "127.0.0.1") -> tuple[int, dict[str, Any], dict[str, str]]:
    headers = {"X-Amz-Target": TARGET + "DescribeClusters", "Content-Type": "application/x-amz-json-1.1"}
    return _post(endpoint, "/", token, {"clusters": ["none-here"]}, headers, source)


def mcp_list_tools(endpoint: str, token: str, source: str) -> tuple[int, dict[str, Any], dict[str, str]]:
    headers = {
        "Content-Type": "application/json",
        "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": "2025-06-18",
    }
    return _post(endpoint, "/mcp", token, {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}, headers, source)


def token_cache(op: OperatorProcess) -> Counter[str]:
    """The operator's TokenReview cache lookups by outcome (hit; miss; joined), and `reviews`: the misses
    that were reviewed (those not refused over a bound)."""
    with urllib.request.urlopen(f"{op.rest_endpoint}/metrics", timeout=10) as resp:
        text = resp.read().decode()
    counts: Counter[str] = Counter()
    for line in text.splitlines():
        labels, _, value = line.rpartition(" ")
        if labels.startswith('fargate_operator_auth_cache_total{cache="tokenreview"'):
            counts[labels.split('outcome="')[1].split('"')[0]] = int(float(value))
        elif labels.startswith("fargate_operator_token_reviews_refused_total{"):
            counts["refused"] += int(float(value))
    counts["reviews"] = counts["miss"] - counts["refused"]
    return counts


def test_a_flood_of_made_up_tokens_is_bounded_and_valid_callers_keep_their_cached_answers(
    world: World, namespace: str, flood_operator: OperatorProcess
) -> None:
    cp = world.control_plane
    identity_support.install_roles(cp)
    identity_support.service_account(cp, namespace, "steady", identity_support.READ_ONLY)
    identity_support.service_account(cp, namespace, "newcomer", identity_support.READ_ONLY)
    steady = identity_support.token(cp, namespace, "steady")
    newcomer = identity_support.token(cp, namespace, "newcomer")
    endpoint = flood_operator.rest_endpoint
    assert describe(endpoint, steady)[0] == 200  # reviewed once, kept 2 minutes

    before = token_cache(flood_operator)
    done = threading.Event()
    steady_answers: list[int] = []

    def keep_reading() -> None:
        while not done.is_set():
            steady_answers.append(describe(endpoint, steady)[0])
            done.wait(0.02)

    reader = threading.Thread(target=keep_reading, daemon=True)
    reader.start()
    deadline = time.monotonic() + FLOOD_SECONDS

    over_bounds = threading.Event()  # the flooder has been refused: its bounds are reached

    def one_made_up(_: int) -> tuple[int, str, str]:
        if time.monotonic() > deadline:
            return 0, "not sent", ""
        status, answer, headers = describe(endpoint, made_up_token(), FLOODER)
        if status == 429:
            over_bounds.set()
        return status, str(answer.get("__type")), headers.get("retry-after", "")

    started = time.monotonic()
    with ThreadPoolExecutor(16) as pool:
        flooding = pool.map(one_made_up, range(FLOOD))
        # While the flooder is held back, a new valid caller (another address) is reviewed and let in.
        over_bounds.wait(FLOOD_SECONDS)
        newcomer_answer = describe(endpoint, newcomer)
        flood = list(flooding)
    elapsed = time.monotonic() - started
    done.set()
    reader.join(10)
    after = token_cache(flood_operator)

    outcomes = Counter((status, code) for status, code, _ in flood)
    assert set(outcomes) <= {(403, "UnrecognizedClientException"), (429, "ThrottlingException")}, outcomes
    assert outcomes[(429, "ThrottlingException")] > 0, f"nothing refused: every made-up token was reviewed {outcomes}"
    assert all(retry.isdigit() for status, _, retry in flood if status == 429), "429 says when to retry"
    reviews = after["reviews"] - before["reviews"]
    # The flooder's bucket (burst, then the rate) plus the newcomer's one review.
    allowed = BURST + RATE * elapsed + 1
    assert reviews <= allowed, f"{reviews} TokenReviews in {elapsed:.1f}s; the bounds allow {allowed:.0f}"
    assert newcomer_answer[0] == 200, newcomer_answer
    assert steady_answers and set(steady_answers) == {200}, Counter(steady_answers)
    hits = after["hit"] - before["hit"]
    assert hits >= len(steady_answers), f"{hits} cache hits for {len(steady_answers)} reads by the valid caller"
    print(
        f"\nflood of {len(flood)} in {elapsed:.1f}s: {dict(outcomes)}; {reviews} reviews; steady {len(steady_answers)}"
    )

    # The MCP endpoint shares the flooder's bounds: refused with 429, never a 5xx.
    with ThreadPoolExecutor(8) as pool:
        mcp = list(
            pool.map(lambda _: mcp_list_tools(flood_operator.mcp_endpoint, made_up_token(), FLOODER)[0], range(60))
        )
    assert set(mcp) <= {401, 429} and 429 in mcp, Counter(mcp)
    assert mcp_list_tools(flood_operator.mcp_endpoint, steady, "127.0.0.1")[0] == 200
    assert "Traceback" not in flood_operator.log_text()
