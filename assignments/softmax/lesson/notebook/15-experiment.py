from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

digits = load_digits()
X_train, X_test, y_train, y_test = train_test_split(
    digits.data / 16.0, digits.target, test_size=0.25, random_state=0, stratify=digits.target)
params, losses = train_softmax(X_train, np.eye(10)[y_train], lr=0.5, epochs=100)
predicted = np.argmax(X_test @ params["W"] + params["b"], axis=1)
print(f"loss: {losses[0]:.3f} before training, {losses[-1]:.3f} after {len(losses)} epochs")
print(f"test accuracy: {np.mean(predicted == y_test):.3f}")
