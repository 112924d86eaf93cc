"""Where the e2e tests run (e2e_support.choose_cluster): pure logic, so every case is checked here.

The emulator cannot show this: reproducing it needs a Docker engine answering on the default socket
and then pytest-kind's download of `kind` and of a kind node image, neither of which is reachable here.
"""

from __future__ import annotations

from support.e2e import Facts, choose_cluster

NODE = (True, "the local node")


def test_a_docker_engine_without_a_kind_node_image_uses_the_local_node() -> None:
    """Before: any answering Docker engine meant kind, whose image and binary cannot be fetched here."""
    mode, why = choose_cluster(Facts((True, "Docker engine available"), (), "/usr/local/bin/kind", NODE))
    assert mode == "node" and "no kindest/node image" in why


def test_kind_runs_only_with_engine_image_and_binary() -> None:
    assert choose_cluster(Facts((True, "ok"), ("kindest/node:v1.34.0",), "/usr/bin/kind", NODE))[0] == "kind"
    mode, why = choose_cluster(Facts((True, "ok"), ("kindest/node:v1.34.0",), None, NODE))
    assert mode == "node" and "no `kind` binary" in why


def test_no_engine_and_no_node_falls_back_to_the_control_plane() -> None:
    mode, why = choose_cluster(Facts((False, "no docker CLI on PATH"), (), None, (False, "the node tier needs root")))
    assert mode == "control-plane" and "no docker CLI" in why and "needs root" in why
