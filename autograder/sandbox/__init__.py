"""Where student code runs and how the grader talks to it.

``launch`` starts a worker (bubblewrap, kernel limits, uid per slot) with ``view`` (the
read-only package view), ``seccomp_filter`` and ``cgroup``; ``worker`` and
``substitution`` are the only files that run inside; ``protocol`` is the plain-data wire
format both sides speak, ``replies`` checks what comes back, ``proxy`` is the trusted
side's handle on a worker, and ``errors`` carries student-facing problems out of it.
"""
