#!/usr/bin/env python3
"""Regenerates the reference .npy files the circuit-tensor unit tests read.

Run from anywhere with numpy installed: `python3 gen_npy.py`. The files are written next
to this script. Tests hard-code the same values, and the files written with plain
`np.save` (version 1.0, little-endian, C order) double as byte-for-byte oracles for our
writer, so regenerate them only with a numpy that still writes the same header layout
(numpy >= 1.23 pads the header with spare space for growth; generated with numpy 2.4).
"""

import os

import numpy as np
from numpy.lib import format as npy_format

HERE = os.path.dirname(os.path.abspath(__file__))


def save(name, array):
    np.save(os.path.join(HERE, name), array, allow_pickle=False)


def save_version(name, array, version):
    with open(os.path.join(HERE, name), "wb") as f:
        npy_format.write_array(f, array, version=version, allow_pickle=False)


# Written exactly like numpy.save: our writer must reproduce these bytes.
save("f4_2x3.npy", np.arange(6, dtype="<f4").reshape(2, 3) * np.float32(0.5) - np.float32(1))
save("f2_4.npy", np.array([0.5, -1.0, 65504.0, np.inf], dtype="<f2"))
save("f8_scalar.npy", np.array(3.5, dtype="<f8"))
save("f4_empty_0x3.npy", np.zeros((0, 3), dtype="<f4"))
save("i1_4.npy", np.array([-128, -1, 0, 127], dtype="i1"))
save("i2_3.npy", np.array([-32768, 1, 32767], dtype="<i2"))
save("i8_3.npy", np.array([-(2**62), 0, 2**62 + 5], dtype="<i8"))
save("u1_5.npy", np.array([0, 1, 127, 128, 255], dtype="u1"))
save("b1_1x3.npy", np.array([[True, False, True]]))

# Layouts and byte orders our reader must convert.
save("f8_fortran_3x4.npy", np.asfortranarray(np.arange(12, dtype="<f8").reshape(3, 4)))
save("i2_fortran_2x3x4.npy", np.asfortranarray(np.arange(24, dtype="<i2").reshape(2, 3, 4)))
save("i4_be_4.npy", np.array([1, -2, 3, 70000], dtype=">i4"))
save("f8_be_2x2.npy", np.array([[1.5, -2.25], [1e300, -0.0]], dtype=">f8"))

# Newer header versions (4-byte header length; 3.0 is UTF-8).
save_version("i2_v2_3.npy", np.array([7, -8, 9], dtype="<i2"), (2, 0))
save_version("f4_v3_2.npy", np.array([0.25, -4.0], dtype="<f4"), (3, 0))

# A store entry written by numpy: torch.tensor([1, 2, 3, 3, 2, 1]) hashes (rust_circuit
# 0.4.3) to the name below, so TensorStore::load must accept it and verify the hash.
os.makedirs(os.path.join(HERE, "store"), exist_ok=True)
save(
    "store/292d9fdb22d57c8b600197ef739f4df2b5db1b729caa1fd8d50cae3ab4c4b87f.npy",
    np.array([1, 2, 3, 3, 2, 1], dtype="<i8"),
)
