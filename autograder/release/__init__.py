"""The release of the assignment: the student bundle and its leak check.

:mod:`.bundle` writes the release (``autograder release DIR``), :mod:`.leakcheck` makes
sure no solution leaves the kit, and :mod:`.expectations` computes the public checks'
expected values from the reference.
"""
