"""Platform adapters: translate course platforms' folder layouts and result formats
(nbgrader, Gradescope, LMS gradebooks) at the edges of the one grading path."""
