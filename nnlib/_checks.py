"""The checks every module makes of what it is given, each written once.

Each raises a ValueError (a wrong value) or a TypeError (a wrong kind of thing) whose
message starts with ``owner``, the class or function that was called, and says what it got
and what it expects: the library's one style of error.
"""

import math
import numbers

import numpy as np

__all__ = ["is_number", "check_size", "check_dtype", "as_rng", "as_real_array", "as_float_array"]


def is_number(value):
    """True for a finite real number such as 0.5 or np.float32(2); not True, "0.5" or inf."""
    real = isinstance(value, numbers.Real) and not isinstance(value, bool)
    return real and math.isfinite(value)


def check_size(owner, **sizes):
    """Sizes must be whole numbers >= 1 (not 2.5, not True)."""
    for name, value in sizes.items():
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
            raise ValueError(f"{owner}: {name} must be an integer >= 1, got {value!r}")


def check_dtype(owner, dtype):
    """Parameters are float32 (fast) or float64 (gradient checks).

    Not float16: the optimizers' eps of 1e-8 is 0 there, and its largest number is 65504.
    """
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        dtype = repr(dtype)  # not a dtype at all, such as "bogus"
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"{owner}: dtype must be np.float32 or np.float64, got {dtype}")
    return dtype


def as_rng(owner, rng):
    """``np.random.default_rng(rng)``: a Generator from a seed, a Generator or None."""
    try:
        return np.random.default_rng(rng)
    except (TypeError, ValueError):
        raise TypeError(
            f"{owner}: rng must be a seed (an integer >= 0), a numpy.random.Generator or None, "
            f"got {rng!r}"
        ) from None


def as_real_array(owner, x, name="input"):
    """x as a NumPy array of real numbers (booleans, integers, floats); lists are accepted.

    Complex numbers, text and other objects are not numbers a network computes with.
    """
    try:
        x = np.asarray(x)
    except ValueError:  # e.g. rows of different lengths
        raise ValueError(f"{owner}: {name} is not a rectangular array of numbers") from None
    if x.dtype.kind not in "biuf":
        raise TypeError(f"{owner}: expected {name} of real numbers, got dtype {x.dtype}")
    return x


def as_float_array(owner, x, name="input"):
    """``as_real_array``, with booleans and integers as floats: what a layer computes with.

    uint8 images become float32 (not NumPy's float16, which exp would give), int64 float64.
    """
    x = as_real_array(owner, x, name)
    return x if x.dtype.kind == "f" else x.astype(np.result_type(x.dtype, np.float32))
