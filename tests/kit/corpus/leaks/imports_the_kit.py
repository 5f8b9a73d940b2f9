"""Leak: the self-check runs the kit's own modules (the diagnosis re-trains the network)."""

from autograder import diagnose

explain = diagnose.train_cause
