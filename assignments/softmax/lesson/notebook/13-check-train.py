X_small = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.5, -1.0]])
Y_small = np.eye(3)[[0, 1, 2, 0]]
params, losses = train_softmax(X_small, Y_small, lr=0.5, epochs=5)
print("losses:", np.round(losses, 4))
print("first loss:", round(losses[0], 4), "(expected log(3) = 1.0986: W and b start at zero)")
print("the loss goes down:", bool(np.all(np.diff(losses) < 0)))
print("shapes:", params["W"].shape, params["b"].shape, "(expected (2, 3) and (1, 3))")
