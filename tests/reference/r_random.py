"""R's default random numbers (Mersenne-Twister + Inversion), to rebuild published test inputs.

NHSRplotthedots' XmR snapshot uses ``set.seed(123); rnorm(20)``. R documents its generator in
``?RNG``: the seed is scrambled by 50 steps of the congruential ``seed = 69069 seed + 1``
(mod 2^32), the 625-word Mersenne-Twister state is filled by further steps (the first word is
the position, set to 624 so the next draw regenerates), uniforms are ``u32 x 2^-32`` kept inside
(0, 1), and ``rnorm`` by inversion combines two uniforms: ``qnorm((floor(2^27 u1) + u2) / 2^27)``.
numpy's MT19937 is the same twister, so we load the state into it.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import norm

__all__ = ["r_rnorm"]

_LCG_MULTIPLIER = 69069
_SCRAMBLE_STEPS = 50
_MT_WORDS = 624
_TWO_POW_MINUS_32 = 2.3283064365386963e-10
_UNIFORM_EDGE = 2.328306437080797e-10  # R's fixup: keep uniforms strictly inside (0, 1)
_INVERSION_BIG = 134217728  # 2^27


def r_rnorm(seed: int, n: int) -> np.ndarray:
    """The values R gives for ``set.seed(seed); rnorm(n)`` with the default generators."""
    state = seed
    for _ in range(_SCRAMBLE_STEPS):
        state = (_LCG_MULTIPLIER * state + 1) & 0xFFFFFFFF
    words = []
    for _ in range(_MT_WORDS + 1):
        state = (_LCG_MULTIPLIER * state + 1) & 0xFFFFFFFF
        words.append(state)
    generator = np.random.MT19937(0)
    generator.state = {"bit_generator": "MT19937",
                       "state": {"key": np.array(words[1:], dtype=np.uint32), "pos": _MT_WORDS}}

    def uniform() -> float:
        value = int(generator.random_raw()) * _TWO_POW_MINUS_32
        return min(max(value, _UNIFORM_EDGE), 1 - _UNIFORM_EDGE)

    draws = []
    for _ in range(n):
        u = uniform()
        u = int(_INVERSION_BIG * u) + uniform()
        draws.append(norm.ppf(u / _INVERSION_BIG))
    return np.array(draws)
