"""Leak: a mask drawn with binomial (the lesson's way), renamed so that no line matches."""


def reference_mask(shape, keep_probability, generator):
    drawn = generator.binomial(1, keep_probability, size=shape)
    return drawn / keep_probability
