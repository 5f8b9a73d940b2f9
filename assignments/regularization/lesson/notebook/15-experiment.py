from nn_helpers import (
    init_params,
    load_mnist,
    plot_training_curves,
    train_with_curves,
)

split = load_mnist()
runs = {
    "no regularization": {},
    "L2 0.01 + dropout 0.8": {"lambda_": 0.01, "keep_prob": 0.8},
}
trained, histories = {}, {}
for label, regularization in runs.items():
    start = init_params([784, 256, 128, 10], np.random.default_rng(7), scale=0.01)
    trained[label], histories[label] = train_with_curves(
        train_mlp, start, split, epochs=20, rng=np.random.default_rng(11),
        lr=0.1, batch_size=64, **regularization,
    )
    print(f"{label}: test accuracy after 20 epochs {histories[label]['test_accuracy'][-1]:.4f}")
plot_training_curves(histories)
