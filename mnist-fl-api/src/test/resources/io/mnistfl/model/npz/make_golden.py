"""Writes this folder's golden .npy files with NumPy (run: python make_golden.py; NumPy 2.4.6 made them).

NpzWeightsTest assembles its .npz files (np.savez's layout: one stored .npy entry per array, named
after the keyword or arr_0, arr_1, ...) from .npy bytes checked against these, so no .npz is kept.

tiny: ModelSpec.builder().name("tiny").input(4, 4).flatten().dense(3).relu()
      .logits(Initializer.GLOROT_UNIFORM).build(), whose arrays are dense_1/kernel [16, 3],
      dense_1/bias [3], dense_3/kernel [3, 10], dense_3/bias [10]; array k holds
      (arange(size) - 7) / 4 + k, as float32, in C order.
"""
import numpy as np

shapes = {"dense_1/kernel": (16, 3), "dense_1/bias": (3,), "dense_3/kernel": (3, 10), "dense_3/bias": (10,)}
arrays = {n: ((np.arange(np.prod(s)) - 7) / 4 + k).astype(np.float32).reshape(s) for k, (n, s) in enumerate(shapes.items())}
np.save("kernel.npy", arrays["dense_1/kernel"])     # what Flower's Array chunks concatenate to
np.save("scalar.npy", np.float32(2.5))
np.save("fortran.npy", np.asfortranarray(arrays["dense_1/kernel"]))
np.save("float64.npy", arrays["dense_1/kernel"].astype(np.float64))
