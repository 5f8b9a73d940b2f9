"""Helpers of the notebook_folder submission."""

EPS = 1e-15


class Batches:
    """Consecutive slices of a permutation, the last one possibly shorter."""

    def __init__(self, order, size):
        self.order = order
        self.size = size

    def __iter__(self):
        for start in range(0, len(self.order), self.size):
            yield self.order[start:start + self.size]
