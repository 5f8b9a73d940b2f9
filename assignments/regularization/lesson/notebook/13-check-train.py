from nn_helpers import accuracy, init_params, one_hot

# Two classes in 20 dimensions, a 20-32-16-2 network, both regularizers on.
toy_rng = np.random.default_rng(1)
X_toy = toy_rng.standard_normal((256, 20))
Y_toy = one_hot((X_toy[:, 0] + X_toy[:, 1] > 0).astype(int), 2)
toy_params = init_params([20, 32, 16, 2], toy_rng, scale=0.5)
toy_before = {name: value.copy() for name, value in toy_params.items()}
trained, history = train_mlp(
    toy_params, X_toy, Y_toy, lr=0.1, epochs=15, batch_size=32,
    lambda_=0.001, keep_prob=0.9, rng=np.random.default_rng(2),
)
print("loss per epoch:", np.round(history["loss"], 3))
print("loss went down:", history["loss"][-1] < history["loss"][0])
print("training accuracy:", accuracy(trained, X_toy, Y_toy), "(expected well above 0.5)")
unchanged = all(np.array_equal(toy_params[name], toy_before[name]) for name in toy_params)
print("params passed in unchanged:", unchanged)
