"""What the grader needs of this assignment beyond its suites: the substitute functions,
the mistake catalogue, the training probe and the data set. Trusted side only: nothing
here enters a sandbox or the student bundle."""
