"""Autograder engine: grades the assignments declared under ``assignments/``.

Student code runs only in a sandboxed worker process (``autograder.sandbox.launch``,
``autograder.sandbox.worker``); the public and hidden pytest suites run in the trusted grader
process and reach the student's functions through ``autograder.sandbox.proxy``.
"""

__version__ = "0.1.0"
