"""A kernel-enforced bound on all the memory one submission's workers hold: a control group.

``RLIMIT_AS`` bounds only what a process maps; tmpfs pages, ``memfd`` files, pipe buffers
and kernel memory escape it. A memory cgroup charges every page the workers cause to
exist, whichever way, and the kernel stops (OOM-kills) the worker at the limit.

One group per submission holds both of its workers (and everything they start):
``memory.max`` (v2) or ``memory.limit_in_bytes`` (v1, with swap capped too) is
``MEMORY_LIMIT_MB``; ``pids.max`` bounds its processes. The group is made under the
grading process's own cgroup, the worker joins it before it starts (so nothing it does
runs outside it), and closing the group kills whatever is left in it and removes it.

cgroup v2 is used when its memory controller is available to this process; else the v1
memory and pids hierarchies; else nothing, and :func:`probe` says why (that reason goes
into the gradebook's ``isolation`` column; the address-space limit still applies).
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

_counter = itertools.count()


@dataclass(frozen=True)
class Layout:
    """Where this machine lets the grader make groups, or why it does not."""

    version: str                  # "v2", "v1" or "" when no group can be made
    parents: tuple[Path, ...]     # v2: (unified,); v1: (memory, pids)
    reason: str = ""

    def describe(self) -> str:
        """How the memory bound is enforced, for the gradebook's isolation column."""
        if self.version:
            return f"cgroup {self.version} memory limit"
        return f"no cgroup ({self.reason}); address-space limit only"


def _own_paths() -> dict[str, str]:
    """Controller (or "" for v2) -> this process's cgroup path."""
    paths: dict[str, str] = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        for name in controllers.split(",") if controllers else [""]:
            paths[name] = path
    return paths


def _mounts() -> dict[str, tuple[Path, str]]:
    """Controller (or "" for v2) -> (mount point, root of the mount) from mountinfo."""
    found: dict[str, tuple[Path, str]] = {}
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields, _, tail = line.partition(" - ")
        parts, rest = fields.split(), tail.split()
        if len(parts) < 5 or len(rest) < 3:
            continue
        if rest[0] == "cgroup2":
            found.setdefault("", (Path(parts[4]), parts[3]))
        elif rest[0] == "cgroup":
            for option in rest[2].split(","):
                found.setdefault(option, (Path(parts[4]), parts[3]))
    return found


def _own_dir(controller: str, mounts: dict, own: dict) -> Path | None:
    if controller not in mounts or controller not in own:
        return None
    mount, root = mounts[controller]
    relative = os.path.relpath(own[controller], root) if own[controller].startswith(root) else "."
    path = (mount / relative).resolve()
    return path if path.is_dir() else None


def _write(path: Path, value: str) -> None:
    path.write_text(value)


def _try_v2(mounts: dict, own: dict) -> Layout | str:
    parent = _own_dir("", mounts, own)
    if parent is None:
        return "no cgroup v2 hierarchy"
    if "memory" not in (parent / "cgroup.controllers").read_text().split():
        return "cgroup v2 has no memory controller here"
    try:
        wanted = " ".join(f"+{c}" for c in ("memory", "pids")
                          if c in (parent / "cgroup.controllers").read_text().split())
        _write(parent / "cgroup.subtree_control", wanted)
    except OSError as error:
        return f"cannot delegate the v2 memory controller ({error.strerror})"
    return Layout("v2", (parent,))


def _try_v1(mounts: dict, own: dict) -> Layout | str:
    memory, pids = _own_dir("memory", mounts, own), _own_dir("pids", mounts, own)
    if memory is None:
        return "no cgroup v1 memory hierarchy"
    return Layout("v1", (memory,) if pids is None else (memory, pids))


@functools.cache
def probe() -> Layout:
    """Find where groups can be made and check, with a throw-away group, that they can."""
    try:
        mounts, own = _mounts(), _own_paths()
    except OSError as error:
        return Layout("", (), f"cannot read /proc ({error.strerror})")
    reasons = []
    for attempt in (_try_v2, _try_v1):
        try:
            layout = attempt(mounts, own)
        except OSError as error:
            layout = f"{error.strerror}"
        if isinstance(layout, str):
            reasons.append(layout)
            continue
        try:
            _sweep(layout)
            Group.create(layout, memory_bytes=64 * 2**20, processes=8).close()
        except OSError as error:
            reasons.append(f"cannot create a {layout.version} group ({error.strerror})")
            continue
        return layout
    return Layout("", (), "; ".join(reasons))


def _sweep(layout: Layout) -> None:
    """Remove groups left by grading processes that died before closing them (their
    remaining processes, if any, are killed first)."""
    for parent in layout.parents:
        for path in parent.glob("regkit-*-*"):
            pid = path.name.split("-")[1]
            if pid.isdigit() and not Path(f"/proc/{pid}").exists():
                Group(layout, [path]).close()


class Group:
    """One submission's group: limits set, joined by each worker, killed and removed at close."""

    def __init__(self, layout: Layout, dirs: list[Path]) -> None:
        self.layout, self.dirs = layout, dirs

    @classmethod
    def create(cls, layout: Layout, *, memory_bytes: int, processes: int) -> Group:
        """Make the group with its limits (raises OSError when the machine refuses)."""
        name = f"regkit-{os.getpid()}-{next(_counter)}"
        group = cls(layout, [])
        try:
            for parent in layout.parents:
                path = parent / name
                path.mkdir()
                group.dirs.append(path)
            group._limit(memory_bytes, processes)
        except OSError:
            group.close()
            raise
        return group

    def _limit(self, memory_bytes: int, processes: int) -> None:
        if self.layout.version == "v2":
            path = self.dirs[0]
            _write(path / "memory.max", str(memory_bytes))
            if (path / "memory.swap.max").exists():
                _write(path / "memory.swap.max", "0")
            if (path / "pids.max").exists():
                _write(path / "pids.max", str(processes))
            return
        memory = self.dirs[0]
        _write(memory / "memory.limit_in_bytes", str(memory_bytes))
        if (memory / "memory.memsw.limit_in_bytes").exists():
            _write(memory / "memory.memsw.limit_in_bytes", str(memory_bytes))
        for path in self.dirs[1:]:
            _write(path / "pids.max", str(processes))

    def join(self) -> None:
        """Move the calling process into the group (run in the worker before exec)."""
        for path in self.dirs:
            with open(path / "cgroup.procs", "w") as stream:
                stream.write("0")

    def peak_bytes(self) -> int | None:
        """The most memory the group has held so far, as the kernel counted it."""
        name = "memory.peak" if self.layout.version == "v2" else "memory.max_usage_in_bytes"
        try:
            return int((self.dirs[0] / name).read_text())
        except (OSError, ValueError, IndexError):
            return None

    def pids(self) -> list[int]:
        """Processes in the group now."""
        found: set[int] = set()
        for path in self.dirs:
            with contextlib.suppress(OSError, ValueError):
                found.update(int(p) for p in (path / "cgroup.procs").read_text().split())
        return sorted(found)

    def kill(self) -> None:
        """SIGKILL everything in the group, until it is empty (or 5 s have passed).

        The group is checked again after 1 ms, then at doubling intervals up to 20 ms: a
        killed worker's last processes are usually gone within a millisecond or two, and
        every grading waits for this at its end."""
        deadline = time.monotonic() + 5
        pause = 0.001
        while (pids := self.pids()) and time.monotonic() < deadline:
            if self.layout.version == "v2" and (self.dirs[0] / "cgroup.kill").exists():
                with contextlib.suppress(OSError):
                    _write(self.dirs[0] / "cgroup.kill", "1")
            for pid in pids:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(pause)
            pause = min(2 * pause, 0.02)

    def close(self) -> None:
        """Kill what is left in the group and remove it."""
        self.kill()
        for path in reversed(self.dirs):
            for _ in range(50):
                try:
                    path.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.02)  # the last killed task is still being torn down
        self.dirs = []
