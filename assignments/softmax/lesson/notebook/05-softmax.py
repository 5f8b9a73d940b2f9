# {{ stub function softmax }}
