"""The emulator process: moto's server with the ECS backend and responses replaced, plus a ticker thread.

`fargate-ecs-sim --port 4566 [--host 127.0.0.1] [--step-seconds S] [--cloudtrail-events]` (or `python -m
fargate_ecs_sim`). The speed is seconds per lifecycle transition: the flag, else FARGATE_ECS_SIM_STEP_SECONDS,
else 0.2. ECS events go to EventBridge (served on the same port, with SQS); API calls too, as CloudTrail
events, with --cloudtrail-events (or FARGATE_ECS_SIM_CLOUDTRAIL_EVENTS=1).
Everything else (EC2, /moto-api/reset, other services) is moto's own server, unchanged.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import time
from typing import Any

import moto.ecs.models
import moto.ecs.urls
from moto.core.responses import BaseResponse
from moto.moto_api._internal.models import MotoAPIBackend
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from moto.sqs.responses import SQSResponse
from werkzeug.serving import run_simple

from fargate_ecs_sim import ec2_ext, ecs_events, sts_ext
from fargate_ecs_sim.backend import SimBackend
from fargate_ecs_sim.clock import LOCK, PACE, mono, wall
from fargate_ecs_sim.responses import SimResponse

STEP_ENV = "FARGATE_ECS_SIM_STEP_SECONDS"
STS_SESSION_ENV = "FARGATE_ECS_SIM_STS_SESSION_SECONDS"
CLOUDTRAIL_ENV = "FARGATE_ECS_SIM_CLOUDTRAIL_EVENTS"
DEFAULT_STEP_SECONDS = 0.2
DEFAULT_PORT = 4566  # the port AWS emulators customarily use, so endpoint settings carry over
log = logging.getLogger("ecs_sim")


def install(step_seconds: float, sts_session_seconds: int = 0, cloudtrail_events: bool = False) -> None:
    """Swap moto's ECS backend class and response handler for ours, before any request arrives.

    cloudtrail_events: a trail records management events, so ECS API calls reach EventBridge too."""
    PACE.step_seconds = step_seconds
    ecs_events.install(cloudtrail_events)
    sts_ext.SETTINGS.session_seconds = sts_session_seconds
    sts_ext.install()
    moto.ecs.models.ecs_backends.backend = SimBackend
    moto.ecs.urls.url_paths = {"{0}/$": SimResponse.dispatch}
    ec2_ext.install()
    call_action = BaseResponse.call_action
    if not getattr(call_action, "__sim_locked__", False):

        def locked_call_action(self: BaseResponse) -> Any:
            if isinstance(self, SQSResponse):
                # A long poll (ReceiveMessage WaitTimeSeconds, up to 20 s) waits inside the call: under the
                # lock it would stop time, and the events it waits for. moto's SQS has its own queue locks.
                return call_action(self)
            with LOCK:  # EC2 and the other services too: the ticker reads subnets and ENIs
                expired = sts_ext.expired_answer(self.headers)
                return expired if expired is not None else call_action(self)

        locked_call_action.__sim_locked__ = True  # type: ignore[attr-defined]
        BaseResponse.call_action = locked_call_action  # type: ignore[method-assign]
    reset = MotoAPIBackend.reset
    if not getattr(reset, "__sim_locked__", False):

        def locked_reset(self: MotoAPIBackend) -> None:
            with LOCK:  # the ticker must not walk backends that /moto-api/reset is tearing down
                reset(self)

        locked_reset.__sim_locked__ = True  # type: ignore[attr-defined]
        MotoAPIBackend.reset = locked_reset  # type: ignore[method-assign]


def tick_once() -> None:
    with LOCK:
        now, stamp = mono(), wall()
        for _, _, backend in moto.ecs.models.ecs_backends.iter_backends():
            if isinstance(backend, SimBackend):
                backend.tick(now, stamp)


def _ticker() -> None:
    while True:
        time.sleep(PACE.tick_seconds)
        try:
            tick_once()
        except Exception:  # one bad pass must not stop time for every task
            log.exception("ticker pass failed")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="fargate-ecs-sim", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "-H", "--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)"
    )
    parser.add_argument("-p", "--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    parser.add_argument(
        "--step-seconds",
        type=float,
        default=float(os.environ.get(STEP_ENV, DEFAULT_STEP_SECONDS)),
        help=f"seconds per task lifecycle transition (env {STEP_ENV}; default {DEFAULT_STEP_SECONDS})",
    )
    parser.add_argument(
        "--sts-session-seconds",
        type=int,
        default=int(os.environ.get(STS_SESSION_ENV) or 0),
        help=f"at most this long an AssumeRole session lasts (env {STS_SESSION_ENV}; default 0: as asked)",
    )
    parser.add_argument(
        "--cloudtrail-events",
        action="store_true",
        default=os.environ.get(CLOUDTRAIL_ENV, "") not in ("", "0", "false"),
        help=f"a trail records management events: ECS API calls reach EventBridge (env {CLOUDTRAIL_ENV}; default off)",
    )
    args = parser.parse_args(argv)
    if args.step_seconds <= 0:
        parser.error("--step-seconds must be positive")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    install(args.step_seconds, args.sts_session_seconds, args.cloudtrail_events)
    threading.Thread(target=_ticker, name="ecs-sim-ticker", daemon=True).start()

    def stop(*_: Any) -> None:
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info(
        "ECS emulator on %s:%d, %.2f s per lifecycle step, CloudTrail events %s",
        args.host,
        args.port,
        args.step_seconds,
        "on" if args.cloudtrail_events else "off",
    )
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(args.host, args.port, app, threaded=True, request_handler=MotoRequestHandler)
