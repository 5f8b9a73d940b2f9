"""How a worker process is started: bubblewrap when it works here, else a limited process.

With bubblewrap the worker gets its own network, PID, IPC and UTS namespaces, a private
``/tmp``, a seccomp filter (:mod:`autograder.sandbox.seccomp_filter`), and a read-only view of
only the system libraries, the standard library, the allowed packages
(:mod:`autograder.sandbox.view`), the student helpers, the worker's files and the
submission; it dies with the grader. When the grader runs as root, the worker also drops
to an unprivileged uid (one per grading slot) so that the kernel's process limit applies
to it. In every mode the worker joins its submission's memory group
(:mod:`autograder.sandbox.cgroup`) when the machine allows one, and a fresh, empty session
keyring. Without bubblewrap, the worker is a separate process with the same kernel
limits, a scratch working directory and a scrubbed environment, and the grader says so.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import platform
import resource
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from autograder import environment
from autograder.config import Config
from autograder.sandbox import cgroup, seccomp_filter
from autograder.sandbox import view as sandbox_view

BUBBLEWRAP = "bubblewrap"
PROCESS = "process"
SANDBOX_ROOT = Path("/sandbox")
_PR_SET_PDEATHSIG = 1
_KEYCTL_SYSCALL = {"x86_64": 250, "aarch64": 219}
_KEYCTL_JOIN_SESSION_KEYRING = 1
_WORKER_ENV = {
    "PATH": "/usr/bin:/bin",
    "LANG": "C.UTF-8",
    **environment.ONE_BLAS_THREAD,
    "MPLBACKEND": "Agg",
    "PYTHONHASHSEED": "0",
    "PYTHONIOENCODING": "utf-8",
    **environment.REUSING_ALLOCATOR,
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
    """The isolation in effect on this machine: ``bubblewrap`` or ``process``.

    bubblewrap is used only together with its seccomp filter; without libseccomp the
    worker falls back to a plain process (and ``--require-sandbox`` refuses to grade).
    """
    return BUBBLEWRAP if bubblewrap_works() and seccomp_filter.available()[0] else PROCESS


def _namespace_flags() -> list[str]:
    flags = ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts",
             "--unshare-cgroup-try", "--die-with-parent", "--new-session"]
    if os.geteuid() != 0:
        flags.insert(0, "--unshare-user")
    return flags


def _runtime_binds() -> list[str]:
    """Read-only binds for the system libraries, the standard library and allowed packages.

    The interpreter's prefix is mounted for its standard library, with its own
    ``site-packages`` (and the system's ``dist-packages``) covered by empty folders; the
    allowed packages come from :mod:`autograder.sandbox.view`, never the virtual
    environment.
    """
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
    for folder in sandbox_view.hidden_site_folders():
        args += ["--tmpfs", folder, "--remount-ro", folder]
    args += [*_readable_parents(Path(sandbox_view.MOUNT_POINT)),
             "--ro-bind", str(sandbox_view.package_view()), sandbox_view.MOUNT_POINT]
    return args


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


@dataclass
class Launch:
    """How to start one worker: its argv and the descriptors it inherits."""

    argv: list[str]
    pass_fds: tuple[int, ...]
    own_fds: tuple[int, ...] = ()

    def close(self) -> None:
        """Close the descriptors made for this launch (after the worker has started)."""
        for fd in self.own_fds:
            with contextlib.suppress(OSError):
                os.close(fd)


def _memfd(name: str, data: bytes) -> int:
    fd = os.memfd_create(name, os.MFD_CLOEXEC)
    os.write(fd, data)
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


def worker_launch(stage: Stage, fds: tuple[int, int], substitute: bool, slot: int,
                  config: Config, mode: str) -> Launch:
    """How to start one worker in the given isolation mode.

    Under bubblewrap, the seccomp filter and bubblewrap's own arguments travel through
    descriptors (``--seccomp``, ``--args``), so no host path shows in the sandbox's
    ``/proc/1/cmdline``.
    """
    assignment = config.assignment
    flags = [f"--module={assignment.module}", f"--functions={','.join(assignment.functions)}",
             *(["--substitute"] if substitute else [])]
    runtime = stage.substitute_runtime if substitute else stage.runtime
    if mode != BUBBLEWRAP:
        return Launch([sys.executable, "-E", "-s", "-B", str(runtime / "worker.py"),
                       str(fds[0]), str(fds[1]), str(stage.submission), str(stage.lib),
                       *flags], fds)
    seccomp_fd = seccomp_filter.open_fd()
    tmp_bytes = int(config.MAX_FILE_SIZE_MB) * 4 * 1024 * 1024
    command = [*_namespace_flags(), "--seccomp", str(seccomp_fd),
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
    args_fd = _memfd("regkit-bwrap-args", b"".join(a.encode() + b"\0" for a in command))
    inside = []
    if os.geteuid() == 0:
        # Each worker of each slot has a uid of its own, so that processes one worker
        # leaves behind never count against another worker's process limit.
        uid = str(int(config.SANDBOX_UID_BASE) + 2 * slot + int(substitute))
        inside += ["setpriv", "--reuid", uid, "--regid", uid, "--clear-groups",
                   "--no-new-privs", "--inh-caps=-all", "--bounding-set=-all"]
    inside += [sandbox_view.interpreter(), "-I", "-S", "-B",
               str(SANDBOX_ROOT / "runtime/worker.py"), str(fds[0]), str(fds[1]),
               str(SANDBOX_ROOT / "submission"), str(SANDBOX_ROOT / "lib"),
               f"--packages={sandbox_view.MOUNT_POINT}", *flags]
    return Launch([shutil.which("bwrap"), "--args", str(args_fd), "--", *inside],
                  (*fds, seccomp_fd, args_fd), (seccomp_fd, args_fd))


def describe(mode: str, layout: cgroup.Layout) -> str:
    """The gradebook's ``isolation`` value: sandbox, system-call filter, memory bound."""
    parts = [mode]
    if mode == BUBBLEWRAP or seccomp_filter.available()[0]:
        parts.append("seccomp")
    parts.append(layout.describe())
    return "; ".join(parts)


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


def _join_fresh_keyring(libc: ctypes.CDLL) -> None:
    """Give the calling process a new, empty, anonymous session keyring.

    The grader's session keyring (and any key a submission could add to one) is then out
    of the worker's reach even before the seccomp filter refuses every keyring call.
    """
    number = _KEYCTL_SYSCALL.get(platform.machine())
    if number is not None:
        libc.syscall(number, _KEYCTL_JOIN_SESSION_KEYRING, None)


def limits_preexec(limits: Limits, mode: str,
                   group: cgroup.Group | None = None) -> Callable[[], None]:
    """A function to run in the child before exec: kernel limits and death with the grader.

    The child joins the submission's memory group (when there is one) and a fresh session
    keyring; without bubblewrap it also installs the seccomp filter. When the worker keeps
    the grader's uid, the process limit counts every process of that uid, so it is set
    above the count that already exists.
    """
    dropping_uid = mode == BUBBLEWRAP and os.geteuid() == 0
    processes = limits.processes if dropping_uid else _count_own_processes() + limits.processes
    libc = ctypes.CDLL(None, use_errno=True)
    parent = os.getpid()
    # bubblewrap loads the filter itself (--seccomp); a plain process installs it last.
    install_filter = (seccomp_filter.Installer()
                      if mode != BUBBLEWRAP and seccomp_filter.available()[0] else None)

    def apply() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:
            os._exit(1)
        if group is not None:
            group.join()
        _join_fresh_keyring(libc)
        resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
        resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 5))
        resource.setrlimit(resource.RLIMIT_NPROC, (processes, processes))
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_bytes, limits.file_bytes))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))
        if install_filter is not None:
            install_filter()

    return apply
