# {{ stub function train_mlp }}
