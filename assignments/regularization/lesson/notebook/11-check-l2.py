# The lesson's first exercise: 0.01 * (30 + 21) = 0.51.
W1 = np.array([[1.0, 2.0], [3.0, 4.0]])
W2 = np.array([[0.5, 1.5], [2.5, 3.5]])
penalty, grads = l2_regularization([W1, W2], 0.01)
print("penalty:", penalty, "(expected 0.51)")
print("penalty is a Python float:", isinstance(penalty, float))
print("gradient for W1:\n", grads[0])
print("gradient for W2:\n", grads[1])
same = [np.allclose(grad, 0.02 * W) for grad, W in zip(grads, [W1, W2], strict=True)]
print("grads equal 2 * lambda * W:", same, "(expected [True, True])")
print("empty list:", l2_regularization([], 0.01), "(expected (0.0, []))")
