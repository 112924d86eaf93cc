"""Every version of a kind's objects in one namespace, as a watch sees them: to count writes and see order.

A thread follows a watch from a list's resourceVersion and, when the stream ends or breaks, goes on
from the last version it saw, so no write between two streams is missed (a 410 Gone -- the version
compacted away -- fails the recorder: the history would have a hole). `versions(name)` is each
object's versions in order; `redundant(name)` the writes that changed neither spec, metadata (but
the resourceVersion and managedFields) nor status: what "nothing written twice" forbids.
"""

from __future__ import annotations

import itertools
import threading
import time
from typing import Any

import kubernetes
import urllib3

from fargate_devenv.control_plane import ControlPlane

GROUP, VERSION = "ecs.fargate.dev", "v1alpha1"
Obj = dict[str, Any]


class ObjectHistory:
    def __init__(self, cp: ControlPlane, namespace: str, plural: str) -> None:
        cfg = kubernetes.client.Configuration()
        kubernetes.config.load_kube_config(config_file=str(cp.kubeconfig), client_configuration=cfg)
        self.api = kubernetes.client.CustomObjectsApi(kubernetes.client.ApiClient(cfg))
        self.namespace, self.plural = namespace, plural
        self._versions: dict[str, list[Obj]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.error: BaseException | None = None
        self._watch: kubernetes.watch.Watch | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> ObjectHistory:
        listed: Any = self.api.list_namespaced_custom_object(GROUP, VERSION, self.namespace, self.plural)
        for obj in listed["items"]:
            self._record(obj)
        self._resource_version = str(listed["metadata"]["resourceVersion"])
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._watch is not None:
            self._watch.stop()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._watch = kubernetes.watch.Watch()
            try:
                for event in self._watch.stream(
                    self.api.list_namespaced_custom_object,
                    GROUP,
                    VERSION,
                    self.namespace,
                    self.plural,
                    resource_version=self._resource_version,
                    timeout_seconds=30,
                ):
                    obj = event["object"]
                    self._resource_version = str(obj["metadata"]["resourceVersion"])
                    if event["type"] in ("ADDED", "MODIFIED"):
                        self._record(obj)
                    if self._stop.is_set():
                        return
            except kubernetes.client.ApiException as err:
                if err.status == 410:  # compacted: the versions in between are gone, the history has a hole
                    self.error = err
                    return
                time.sleep(0.2)
            except (urllib3.exceptions.HTTPError, OSError):
                time.sleep(0.2)

    def _record(self, obj: Obj) -> None:
        name = obj["metadata"]["name"]
        with self._lock:
            seen = self._versions.setdefault(name, [])
            if not seen or seen[-1]["metadata"]["resourceVersion"] != obj["metadata"]["resourceVersion"]:
                seen.append(obj)

    def versions(self, name: str) -> list[Obj]:
        assert self.error is None, f"the watch lost versions: {self.error}"
        with self._lock:
            return list(self._versions.get(name, []))

    def statuses(self, name: str) -> list[Obj]:
        return [v.get("status") or {} for v in self.versions(name)]

    def redundant(self, name: str) -> list[str]:
        """The resourceVersions of writes that changed nothing but the resourceVersion."""
        out, versions = [], self.versions(name)
        for before, after in itertools.pairwise(versions):
            if _content(before) == _content(after):
                out.append(str(after["metadata"]["resourceVersion"]))
        return out


def _content(obj: Obj) -> Obj:
    meta = {k: v for k, v in obj["metadata"].items() if k not in ("resourceVersion", "managedFields")}
    return {"metadata": meta, "spec": obj.get("spec"), "status": obj.get("status")}
