#!/usr/bin/env python3
"""Regenerates the reference .safetensors file the circuit-tensor unit tests read.

Needs numpy and the `safetensors` package (`pip install safetensors`); the tests only
read the committed output, so neither is needed to run them. Tests hard-code the values.
"""

import os

import numpy as np
from safetensors.numpy import save_file

HERE = os.path.dirname(os.path.abspath(__file__))

save_file(
    {
        "weight": np.arange(6, dtype=np.float32).reshape(2, 3) - np.float32(2.5),
        "bias": np.array([0.5, -1.0], dtype=np.float16),
        "ids": np.array([[1, -2], [3, 2**40]], dtype=np.int64),
        "mask": np.array([True, False, True]),
        "scalar": np.array(2.25, dtype=np.float64),
        "bytes": np.array([0, 255], dtype=np.uint8),
        "empty": np.zeros((0, 4), dtype=np.int32),
        "small": np.array([-3, 4], dtype=np.int8),
        "short": np.array([-300, 300], dtype=np.int16),
    },
    os.path.join(HERE, "reference.safetensors"),
    metadata={"format": "np", "note": "circuit-tensor test"},
)
