"""Grading a submission with a suite, and a class with a batch of grading processes.

``submission``, ``notebook`` and ``target`` find and stage submissions; ``grade`` runs a
suite on one (``python -m autograder.grading`` is that run as a process of its own);
``pytest_plugin`` gives suites their fixtures and records outcomes;
``scoring`` turns outcomes into points; ``batch`` grades a folder, ``--jobs`` at a time, in
processes forked from ``fork_server`` (``host`` forks them for a cluster worker, which
may not itself); ``checks`` and ``validate`` are the comparisons and value checks the
suites call.
"""
