"""How a worker process is started: bubblewrap when it works here, else a limited process.

With bubblewrap the worker gets its own network, PID, IPC and UTS namespaces, a private
``/tmp``, and a read-only view of only the Python runtime, site-packages, the student
helpers, the worker's two files and the submission; it dies with the grader. When the
grader runs as root, the worker also drops to an unprivileged uid (one per grading slot)
so that the kernel's process limit applies to it. Without bubblewrap, the worker is a
separate process with the same kernel limits, a scratch working directory and a scrubbed
environment, and the grader says so.
"""

from __future__ import annotations

import ctypes
import functools
import os
import resource
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from autograder.config import Config

BUBBLEWRAP = "bubblewrap"
PROCESS = "process"
SANDBOX_ROOT = Path("/sandbox")
SANDBOX_VENV = SANDBOX_ROOT / "venv"
_PR_SET_PDEATHSIG = 1
_WORKER_ENV = {
    "PATH": "/usr/bin:/bin",
    "LANG": "C.UTF-8",
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "MPLBACKEND": "Agg",
    "PYTHONHASHSEED": "0",
    "PYTHONIOENCODING": "utf-8",
}


@dataclass(frozen=True)
class Limits:
    """Kernel limits applied to every worker."""

    memory_bytes: int
    cpu_seconds: int
    processes: int
    file_bytes: int

    @classmethod
    def from_config(cls, config: Config) -> Limits:
        """Read the limits from grader_config."""
        return cls(
            memory_bytes=int(config.MEMORY_LIMIT_MB) * 1024 * 1024,
            cpu_seconds=int(config.CPU_TIME_LIMIT_S),
            processes=int(config.MAX_PROCESSES),
            file_bytes=int(config.MAX_FILE_SIZE_MB) * 1024 * 1024,
        )


@functools.cache
def bubblewrap_works() -> bool:
    """True if ``bwrap`` is installed and can create the namespaces the worker needs."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return False
    probe = [bwrap, *_namespace_flags(), "--ro-bind", "/", "/", "--proc", "/proc",
             "--dev", "/dev", "true"]
    try:
        return subprocess.run(probe, capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def isolation() -> str:
    """The isolation in effect on this machine: ``bubblewrap`` or ``process``."""
    return BUBBLEWRAP if bubblewrap_works() else PROCESS


def _namespace_flags() -> list[str]:
    flags = ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts",
             "--unshare-cgroup-try", "--die-with-parent", "--new-session"]
    if os.geteuid() != 0:
        flags.insert(0, "--unshare-user")
    return flags


def _runtime_binds() -> list[str]:
    """Read-only binds for the system libraries, the Python runtime and site-packages."""
    args: list[str] = ["--ro-bind", "/usr", "/usr"]
    if Path("/etc/fonts").is_dir():  # matplotlib's font lookup complains without it
        args += [*_readable_parents(Path("/etc/fonts")), "--ro-bind", "/etc/fonts", "/etc/fonts"]
    for name in ("lib", "lib64", "lib32", "bin", "sbin"):
        path = Path("/") / name
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    base = Path(sys.base_prefix)
    if not str(base).startswith("/usr/"):
        args += [*_readable_parents(base), "--ro-bind", str(base), str(base)]
    if _in_venv():
        # The virtual environment may live inside the project checkout; mounted at its own
        # path it would reveal the checkout's folder, so it gets a neutral one.
        args += [*_readable_parents(SANDBOX_VENV), "--ro-bind", sys.prefix, str(SANDBOX_VENV)]
    return args


def _in_venv() -> bool:
    return sys.prefix != sys.base_prefix


def _sandbox_python() -> str:
    """The grader's interpreter as the worker sees it inside the sandbox."""
    if _in_venv():
        return str(SANDBOX_VENV / Path(sys.executable).relative_to(sys.prefix))
    return sys.executable


def _readable_parents(path: Path) -> list[str]:
    """Create ``path``'s parent folders world-readable (bubblewrap would make them 0700)."""
    args: list[str] = []
    for parent in reversed(path.parents[:-1]):
        if parent != Path("/tmp"):
            args += ["--perms", "0755", "--dir", str(parent)]
    return args


@dataclass(frozen=True)
class Stage:
    """The trusted-side folders a worker sees: runtime files, helpers, the submission."""

    runtime: Path
    substitute_runtime: Path
    lib: Path
    submission: Path
    scratch: Path


def worker_command(stage: Stage, fds: tuple[int, int], substitute: bool, slot: int,
                   config: Config, mode: str) -> list[str]:
    """The argv that starts one worker in the given isolation mode."""
    flags = ["--substitute"] if substitute else []
    runtime = stage.substitute_runtime if substitute else stage.runtime
    if mode != BUBBLEWRAP:
        return [sys.executable, "-E", "-s", "-B", str(runtime / "worker.py"),
                str(fds[0]), str(fds[1]), str(stage.submission), str(stage.lib), *flags]
    tmp_bytes = int(config.MAX_FILE_SIZE_MB) * 4 * 1024 * 1024
    command = [shutil.which("bwrap"), *_namespace_flags(),
               "--perms", "1777", "--size", str(tmp_bytes), "--tmpfs", "/tmp",
               *_runtime_binds(), "--proc", "/proc", "--dev", "/dev",
               *_readable_parents(SANDBOX_ROOT / "runtime"),
               "--ro-bind", str(runtime), str(SANDBOX_ROOT / "runtime"),
               "--ro-bind", str(stage.lib), str(SANDBOX_ROOT / "lib"),
               "--ro-bind", str(stage.submission), str(SANDBOX_ROOT / "submission"),
               "--chdir", "/tmp", "--clearenv", "--setenv", "HOME", "/tmp",
               "--setenv", "MPLCONFIGDIR", "/tmp"]
    for key, value in _WORKER_ENV.items():
        command += ["--setenv", key, value]
    command.append("--")
    if os.geteuid() == 0:
        # Each worker of each slot has a uid of its own, so that processes one worker
        # leaves behind never count against another worker's process limit.
        uid = str(int(config.SANDBOX_UID_BASE) + 2 * slot + int(substitute))
        command += ["setpriv", "--reuid", uid, "--regid", uid, "--clear-groups",
                    "--no-new-privs", "--inh-caps=-all", "--bounding-set=-all"]
    return command + [_sandbox_python(), "-E", "-s", "-B", str(SANDBOX_ROOT / "runtime/worker.py"),
                      str(fds[0]), str(fds[1]), str(SANDBOX_ROOT / "submission"),
                      str(SANDBOX_ROOT / "lib"), *flags]


def worker_environment(stage: Stage) -> dict[str, str]:
    """The scrubbed environment a worker starts with (bubblewrap clears it again)."""
    return {**_WORKER_ENV, "HOME": str(stage.scratch), "MPLCONFIGDIR": str(stage.scratch),
            "TMPDIR": str(stage.scratch)}


def _count_own_processes() -> int:
    uid = os.getuid()
    count = 0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    count += len(list((entry / "task").iterdir()))
            except OSError:
                continue
    return count


def limits_preexec(limits: Limits, mode: str) -> Callable[[], None]:
    """A function to run in the child before exec: kernel limits and death with the grader.

    When the worker keeps the grader's uid, the process limit counts every process of
    that uid, so it is set above the count that already exists.
    """
    dropping_uid = mode == BUBBLEWRAP and os.geteuid() == 0
    processes = limits.processes if dropping_uid else _count_own_processes() + limits.processes
    libc = ctypes.CDLL(None, use_errno=True)
    parent = os.getpid()

    def apply() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:
            os._exit(1)
        resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
        resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 5))
        resource.setrlimit(resource.RLIMIT_NPROC, (processes, processes))
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_bytes, limits.file_bytes))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))

    return apply
