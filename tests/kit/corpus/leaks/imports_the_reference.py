"""Leak: the self-check imports the kit's reference to compute expectations."""

from reference.regularization import dropout, l2_regularization, train_mlp

SOLUTIONS = (l2_regularization, dropout, train_mlp)
