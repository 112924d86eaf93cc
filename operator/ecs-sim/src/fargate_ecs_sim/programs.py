"""What a container "does" in the emulator: read from its definition after RunTask's overrides.

No container runs; the emulator only decides, from the request alone, when a container exits and
with which code. The conventions (docs/ecs-emulator.md, "What a container does"):

- no command: the image's own process runs until stopped and ends on SIGTERM (exit 143);
- `exit N` / `true` / `false`, alone or in `sh -c "..."` (also a one-element command with spaces):
  exits N / 0 / 1 right after it starts;
- `sleep N` (also `sleep N; exit M`, `sleep N && exit M`): runs N seconds of wall time, then exits
  0 (or M); the speed setting does not scale it, so `sleep 30` is 30 s in `make run` and in tests;
- anything else (`./manage.py migrate`, `nginx`): runs until stopped, ends on SIGTERM (143);
- `sleep` or a shell as PID 1 has no SIGTERM handler (Linux ignores default-action signals for a
  namespace's init), so docker stop waits `stopTimeout` (default 30 s, at most 120 s on Fargate)
  and sends SIGKILL: exit 137. `linuxParameters.initProcessEnabled` puts an init in front that
  forwards SIGTERM, so the process dies of it: 143;
- `echo WORDS` prints WORDS (one line, at the time the script reaches it: after the sleeps before it);
  that is all a container ever prints, which an `awslogs` container sends to CloudWatch Logs (logs.py);
- an image on a registry under the reserved `.invalid` TLD (RFC 6761) cannot be pulled:
  CannotPullContainerError, and the task stops with TaskFailedToStart.
"""

from __future__ import annotations

import math
import re
import shlex
from dataclasses import dataclass
from typing import Any

SIGTERM_EXIT = 128 + 15
SIGKILL_EXIT = 128 + 9
# ContainerDefinition.stopTimeout: "the max stop timeout value is 120 seconds and if the parameter
# is not specified, the default value of 30 seconds is used" (Fargate).
DEFAULT_STOP_TIMEOUT = 30.0
MAX_STOP_TIMEOUT = 120.0
SHELLS = {"sh", "bash", "ash", "dash", "zsh"}
UTILITIES = SHELLS | {"sleep", "true", "false", "exit"}


@dataclass(frozen=True)
class Program:
    """runs_for: seconds from start to its own exit (None: until stopped); exit_code: its code then;
    handles_sigterm: docker stop ends it at once (143), else SIGKILL after stop_timeout (137);
    output: the lines it prints, each with the seconds after its start when it prints it."""

    runs_for: float | None
    exit_code: int
    handles_sigterm: bool
    stop_timeout: float
    pull_error: str | None
    output: tuple[tuple[float, str], ...] = ()


def program_for(definition: dict[str, Any], override: dict[str, Any] | None = None) -> Program:
    """The program of a container definition, with a RunTask containerOverride applied."""
    command = list((override or {}).get("command") or definition.get("command") or [])
    argv = [*(definition.get("entryPoint") or []), *command]
    init = bool((definition.get("linuxParameters") or {}).get("initProcessEnabled"))
    stop_timeout = min(float(definition.get("stopTimeout") or DEFAULT_STOP_TIMEOUT), MAX_STOP_TIMEOUT)
    pull_error = cannot_pull(str(definition.get("image", "")))
    if not argv:
        return Program(None, 0, True, stop_timeout, pull_error)
    runs_for, code, known, output = _interpret(argv)
    if runs_for is not None and math.isinf(runs_for):
        runs_for = None
    # A shell utility as PID 1 ignores SIGTERM; an init in front of it, or an unknown program
    # (a server, which traps SIGTERM), ends on it.
    handles = init or not known
    return Program(runs_for, code, handles, stop_timeout, pull_error, output)


Output = tuple[tuple[float, str], ...]


def _interpret(argv: list[str]) -> tuple[float | None, int, bool, Output]:
    """(seconds until it exits or None, exit code, whether PID 1 is a shell utility, what it prints)."""
    first = argv[0].rsplit("/", 1)[-1]
    if first in SHELLS and len(argv) >= 3 and argv[1] == "-c":
        return _as_utility(_script(argv[2]))
    if len(argv) == 1 and " " in argv[0]:
        return _as_utility(_script(argv[0]))
    runs_for, code, output = _script(shlex.join([first, *argv[1:]]))
    return runs_for, code, first in UTILITIES, output


def _as_utility(walked: tuple[float | None, int, Output]) -> tuple[float | None, int, bool, Output]:
    return walked[0], walked[1], True, walked[2]


def _script(script: str) -> tuple[float | None, int, Output]:
    """Walk `a; b && c`: sleeps add up, `echo` prints, `exit N` ends it, an unknown command runs until stopped."""
    elapsed, status = 0.0, 0
    output: list[tuple[float, str]] = []
    for part in re.split(r"\s*(?:;|&&|\n)\s*", script.strip()):
        if not part:
            continue
        try:
            words = shlex.split(part)
        except ValueError:
            return None, 0, tuple(output)
        match words:
            case ["sleep", seconds] if _number(seconds) is not None:
                elapsed += _number(seconds) or 0.0
                status = 0
            case ["exit"]:
                return elapsed, status, tuple(output)
            case ["exit", code] if code.lstrip("-").isdigit():
                return elapsed, int(code) % 256, tuple(output)
            case ["echo", *text]:
                output.append((elapsed, " ".join(text)))
                status = 0
            case ["true"] | [":"]:
                status = 0
            case ["false"]:
                status = 1
            case _:
                return None, 0, tuple(output)
    return elapsed, status, tuple(output)


def _number(text: str) -> float | None:
    """`sleep` arguments: seconds, optionally with an s/m/h/d suffix ("infinity" never ends)."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([smhd]?)", text)
    if text == "infinity":
        return math.inf
    if not match:
        return None
    return float(match.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]


def registry_host(image: str) -> str | None:
    """The registry of an image reference, as docker parses it (None: Docker Hub)."""
    first, sep, _ = image.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        return first.split(":", 1)[0]
    return None


def cannot_pull(image: str) -> str | None:
    """CannotPullContainerError as Fargate platform 1.4 words a registry that does not resolve."""
    host = registry_host(image)
    if host is None or not (host == "invalid" or host.endswith(".invalid")):
        return None
    repository = image.split("/", 1)[1]
    name, _, tag = repository.rpartition(":") if ":" in repository else (repository, "", "latest")
    return (
        f"CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref "
        f'{image}: failed to do request: Head "https://{host}/v2/{name}/manifests/{tag}": '
        f"dial tcp: lookup {host}: no such host"
    )
