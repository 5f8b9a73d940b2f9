# {{ stub function l2_regularization }}
