"""The kit's assignments, one folder each (see ``autograder.assignment``)."""
