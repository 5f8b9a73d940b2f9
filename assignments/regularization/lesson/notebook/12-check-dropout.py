A = np.ones((1000, 200))
out, mask = dropout(A, 0.8, training=True, rng=np.random.default_rng(0))
print("fraction kept:", np.mean(mask > 0), "(expected close to 0.8)")
print("mask values:", np.unique(mask), "(expected [0.   1.25])")
print("mean activation:", out.mean(), "(expected close to 1.0, as without dropout)")
print("A unchanged:", np.all(A == 1.0))
out_eval, mask_eval = dropout(A, 0.8, training=False)
print("evaluation leaves A as it is:", np.array_equal(out_eval, A), "and mask", mask_eval)
try:
    dropout(A, 1.5)
except ValueError as error:
    print("p = 1.5 rejected:", error)
else:
    print("p = 1.5 should have raised ValueError")
