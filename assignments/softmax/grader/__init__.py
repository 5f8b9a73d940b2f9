"""The softmax assignment's trusted side: reference, known-good functions, mistake
catalogue and the digits data set. Nothing here enters a sandbox."""
