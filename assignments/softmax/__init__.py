"""The softmax assignment: softmax, cross-entropy and a softmax classifier on digits."""
