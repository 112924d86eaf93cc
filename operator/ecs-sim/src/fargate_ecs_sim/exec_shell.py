"""What an ECS Exec session runs in the emulator: a small simulated shell, never a real process.

Nothing is executed on the host. The shell understands `;`, `&&`, `||`, single and double quotes,
`$?`, `$1`.., `$NAME`/`${NAME}` (from the container's environment), `sh -c SCRIPT [NAME ARGS..]`
(also bash/ash/dash) and these commands: echo [-n], printf (the format's \\n only), exit [N],
true, false, sleep N (wall time, bounded by the session), env/printenv [NAME], seq [FIRST] LAST,
pwd, hostname, whoami, id. Anything else: "sh: NAME: not found", status 127.
Bounds (docs/ecs-emulator.md): a session lasts at most MAX_SESSION_SECONDS and writes at most
MAX_OUTPUT_BYTES; seq prints at most MAX_SEQ lines.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

MAX_SESSION_SECONDS = 300.0
MAX_OUTPUT_BYTES = 1 << 20
MAX_SEQ = 100_000
SHELLS = {"sh", "bash", "ash", "dash"}
OPERATORS = (";", "&&", "||", "\n")


class Stop(Exception):
    """`exit N`, or a bound reached: the status the session ends with."""

    def __init__(self, status: int) -> None:
        self.status = status


def tokens(script: str, variables: dict[str, str]) -> list[str | tuple[str]]:
    """Words (with quotes removed and $ expanded) and operators (as 1-tuples), POSIX-style, no globbing."""
    out: list[str | tuple[str]] = []
    word: list[str] | None = None
    i, n = 0, len(script)

    def expand(at: int) -> tuple[str, int]:
        if at + 1 < n and script[at + 1] == "{":
            end = script.find("}", at)
            if end < 0:
                return "$", at + 1
            return variables.get(script[at + 2 : end], ""), end + 1
        j = at + 1
        if j < n and (script[j] in "?#" or script[j].isdigit()):
            return variables.get(script[j], ""), j + 1
        while j < n and (script[j].isalnum() or script[j] == "_"):
            j += 1
        if j == at + 1:
            return "$", j
        return variables.get(script[at + 1 : j], ""), j

    while i < n:
        c = script[i]
        two = script[i : i + 2]
        if c in " \t" or two in ("&&", "||") or c in ";\n":
            if word is not None:
                out.append("".join(word))
                word = None
            if two in ("&&", "||"):
                out.append((two,))
                i += 2
                continue
            if c in ";\n":
                out.append((c,))
            i += 1
            continue
        word = word if word is not None else []
        if c == "'":
            end = script.find("'", i + 1)
            end = n if end < 0 else end
            word.append(script[i + 1 : end])
            i = end + 1
        elif c == '"':
            i += 1
            while i < n and script[i] != '"':
                if script[i] == "\\" and i + 1 < n and script[i + 1] in '"\\$':
                    word.append(script[i + 1])
                    i += 2
                elif script[i] == "$":
                    text, i = expand(i)
                    word.append(text)
                else:
                    word.append(script[i])
                    i += 1
            i += 1
        elif c == "\\" and i + 1 < n:
            word.append(script[i + 1])
            i += 2
        elif c == "$":
            text, i = expand(i)
            word.append(text)
        elif c == "#" and not word:
            while i < n and script[i] != "\n":
                i += 1
            word = None
        else:
            word.append(c)
            i += 1
    if word is not None:
        out.append("".join(word))
    return out


class Shell:
    """One session's shell: `write` receives its output; `deadline` is monotonic seconds."""

    def __init__(self, env: dict[str, str], write: Callable[[bytes], None], deadline: float, host: str) -> None:
        # Set by the channel: Ctrl-C or TerminateSession from the client, or the client gone.
        self.cancel = threading.Event()
        self.env = dict(env)
        self.write_out = write
        self.deadline = deadline
        self.host = host
        self.written = 0
        self.status = 0

    def write(self, text: str) -> None:
        if self.cancel.is_set():
            raise Stop(130)  # as a process killed by SIGINT
        data = text.replace("\n", "\r\n").encode()  # a TTY: ECS Exec sessions are interactive
        room = MAX_OUTPUT_BYTES - self.written
        self.written += len(data)
        self.write_out(data[: max(room, 0)])
        if self.written > MAX_OUTPUT_BYTES:
            raise Stop(141)  # as a writer killed by SIGPIPE

    def run(self, script: str, args: list[str] | None = None) -> int:
        """Run a script; positional parameters from args ($0 first). `$?` is expanded per command."""
        positional = {str(i): v for i, v in enumerate(args or [])}
        positional["#"] = str(max(len(args or []) - 1, 0))
        skip = False
        for text, op in split(script):
            if not skip:
                words = [
                    w for w in tokens(text, {**self.env, **positional, "?": str(self.status)}) if isinstance(w, str)
                ]
                if words:
                    self.status = self.command(words)
            skip = (op == "&&" and self.status != 0) or (op == "||" and self.status == 0)
        return self.status

    def command(self, argv: list[str]) -> int:
        if time.monotonic() > self.deadline:
            raise Stop(124)
        if self.cancel.is_set():
            raise Stop(130)
        name, args = argv[0].rsplit("/", 1)[-1], argv[1:]
        if name in SHELLS:
            if len(args) >= 2 and args[0] == "-c":
                saved = self.status
                try:
                    return self.run(args[1], args[2:] or [name])
                except Stop as stop:
                    if stop.status in (124, 130, 141):  # a bound or Ctrl-C, not the script's exit: end it all
                        raise
                    return stop.status
                finally:
                    self.status = saved
            if not args:
                return 0  # an interactive shell is served by the channel, line by line
        match name, args:
            case "echo", ["-n", *rest]:
                self.write(" ".join(rest))
            case "echo", _:
                self.write(" ".join(args) + "\n")
            case "printf", [fmt, *rest]:
                self.write(fmt.replace("\\n", "\n").replace("%s", " ".join(rest)))
            case "exit", []:
                raise Stop(self.status)
            case "exit", [code] if code.lstrip("-").isdigit():
                raise Stop(int(code) % 256)
            case "true", _:
                return 0
            case "false", _:
                return 1
            case "sleep", [seconds] if _seconds(seconds) is not None:
                wait = min(_seconds(seconds) or 0.0, max(self.deadline - time.monotonic(), 0.0))
                if self.cancel.wait(wait):
                    raise Stop(130)
                if time.monotonic() >= self.deadline:
                    raise Stop(124)
            case (("env" | "printenv"), []):
                self.write("".join(f"{k}={v}\n" for k, v in sorted(self.env.items())))
            case "printenv", [var]:
                if var not in self.env:
                    return 1
                self.write(self.env[var] + "\n")
            case "seq", [last] if last.isdigit():
                self._seq(1, int(last))
            case "seq", [first, last] if first.isdigit() and last.isdigit():
                self._seq(int(first), int(last))
            case "pwd", []:
                self.write("/\n")
            case "hostname", []:
                self.write(self.host + "\n")
            case "whoami", []:
                self.write("root\n")
            case "id", []:
                self.write("uid=0(root) gid=0(root) groups=0(root)\n")
            case _:
                self.write(f"sh: 1: {argv[0]}: not found\n")
                return 127
        return 0

    def _seq(self, first: int, last: int) -> None:
        last = min(last, first + MAX_SEQ - 1)
        for start in range(first, last + 1, 1000):
            self.write("".join(f"{k}\n" for k in range(start, min(start + 1000, last + 1))))


def split(script: str) -> list[tuple[str, str]]:
    """The script's commands, each with the operator after it (`;`, newline, `&&`, `||`), quotes respected."""
    out: list[tuple[str, str]] = []
    i, begin, n = 0, 0, len(script)
    while i < n:
        c = script[i]
        if c in "'\"":
            end = script.find(c, i + 1)
            while c == '"' and end > 0 and script[end - 1] == "\\":
                end = script.find(c, end + 1)
            i = n if end < 0 else end + 1
            continue
        if c == "\\":
            i += 2
            continue
        two = script[i : i + 2]
        if two in ("&&", "||") or c in ";\n":
            op = two if two in ("&&", "||") else ";"
            out.append((script[begin:i], op))
            i += len(op) if op != ";" else 1
            begin = i
            continue
        i += 1
    out.append((script[begin:], ";"))
    return out


def _seconds(text: str) -> float | None:
    try:
        value = float(text.rstrip("s"))
    except ValueError:
        return None
    return value if value >= 0 else None
