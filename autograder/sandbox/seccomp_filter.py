"""The seccomp filter every sandboxed worker runs under: the kernel calls student code never needs.

Built with libseccomp (through ``pyseccomp``, its ctypes binding with the same API as
libseccomp's own Python module) and handed to bubblewrap as compiled BPF (``--seccomp FD``),
so it applies to the worker and everything it starts, and cannot be removed from inside.

Refused with ``EPERM``: the kernel keyrings (``add_key``, ``keyctl``, ``request_key``: a key
stored by one submission could otherwise be read by the next in the same slot, or the
grader's own keys read), new namespaces (``unshare``, ``setns``, and ``clone`` with any
``CLONE_NEW*`` flag: a nested user namespace could mount a tmpfs outside the memory
limits), ``io_uring_*``, ``ptrace``/``process_vm_*``, ``mount`` and friends, ``bpf``,
``perf_event_open``, ``userfaultfd``, kernel modules and kexec. ``clone3`` answers
``ENOSYS`` (its flags sit behind a pointer a filter cannot read), so the C library falls
back to ``clone``, whose flags are checked. System calls of another architecture kill the
process (libseccomp's default for a foreign architecture).
"""

from __future__ import annotations

import ctypes
import errno
import functools
import os
import tempfile

REFUSED = (
    "add_key", "keyctl", "request_key",
    "unshare", "setns",
    "io_uring_setup", "io_uring_enter", "io_uring_register",
    "ptrace", "process_vm_readv", "process_vm_writev",
    "mount", "umount2", "pivot_root", "chroot", "move_mount", "open_tree", "fsopen",
    "fsconfig", "fsmount", "fspick", "mount_setattr",
    "bpf", "perf_event_open", "userfaultfd",
    "init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load",
    "swapon", "swapoff", "reboot", "acct", "quotactl",
)
# CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET (CLONE_NEWTIME exists
# only for clone3 and unshare, both refused whole).
CLONE_NAMESPACE_FLAGS = (0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000,
                         0x20000000, 0x40000000)


_PR_SET_NO_NEW_PRIVS = 38
_PR_SET_SECCOMP = 22
_SECCOMP_MODE_FILTER = 2


class _Program(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


class SeccompUnavailable(RuntimeError):
    """libseccomp or its Python binding is missing: the kit cannot build its filter."""


def _binding():
    try:
        import pyseccomp
    except (ImportError, OSError) as error:  # OSError: the binding found no libseccomp.so
        raise SeccompUnavailable(
            "the seccomp filter needs libseccomp (Debian: libseccomp2) and the 'pyseccomp' "
            f"package; run scripts/setup.sh ({error})") from error
    return pyseccomp


@functools.cache
def compiled() -> bytes:
    """The filter as BPF bytes, ready for ``bwrap --seccomp``; built once per process."""
    seccomp = _binding()
    refuse = seccomp.ERRNO(errno.EPERM)
    rules = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
    for name in REFUSED:
        rules.add_rule(refuse, name)
    rules.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")
    for flag in CLONE_NAMESPACE_FLAGS:
        rules.add_rule(refuse, "clone", seccomp.Arg(0, seccomp.MASKED_EQ, flag, flag))
    with tempfile.TemporaryFile() as stream:
        rules.export_bpf(stream)
        stream.seek(0)
        return stream.read()


def available() -> tuple[bool, str]:
    """Whether the filter can be built here, and why not when it cannot."""
    try:
        compiled()
    except SeccompUnavailable as error:
        return False, str(error)
    return True, ""


def open_fd() -> int:
    """A readable file descriptor holding the compiled filter (the caller closes it)."""
    fd = os.memfd_create("regkit-seccomp", os.MFD_CLOEXEC)
    os.write(fd, compiled())
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


class Installer:
    """Puts the calling process under the filter, for a worker started without bubblewrap.

    Everything is prepared in the parent; calling the instance (in the child, just before
    exec) only makes the two ``prctl`` calls.
    """

    def __init__(self) -> None:
        program = compiled()
        self._buffer = ctypes.create_string_buffer(program, len(program))  # outlives fork
        self._program = _Program(len(program) // 8, ctypes.addressof(self._buffer))
        self._libc = ctypes.CDLL(None, use_errno=True)

    def __call__(self) -> None:
        libc = self._libc
        if (libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 or libc.prctl(
                _PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(self._program), 0, 0)):
            raise OSError(ctypes.get_errno(), "cannot install the seccomp filter")
