"""The regularization assignment (Part 4.4: L2 regularization and dropout in NumPy)."""
