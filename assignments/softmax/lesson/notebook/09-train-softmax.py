# {{ stub function train_softmax }}
