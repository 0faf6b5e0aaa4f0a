"""Writes this folder's golden files with NumPy (run: python make_golden.py; NumPy 2.4.6 made them).

tiny: ModelSpec.builder().name("tiny").input(4, 4).flatten().dense(3).relu()
      .logits(Initializer.GLOROT_UNIFORM).build(), whose arrays are dense_1/kernel [16, 3],
      dense_1/bias [3], dense_3/kernel [3, 10], dense_3/bias [10]; array k holds
      (arange(size) - 7) / 4 + k, as float32, in C order.
"""
import numpy as np

shapes = {"dense_1/kernel": (16, 3), "dense_1/bias": (3,), "dense_3/kernel": (3, 10), "dense_3/bias": (10,)}
arrays = {n: ((np.arange(np.prod(s)) - 7) / 4 + k).astype(np.float32).reshape(s) for k, (n, s) in enumerate(shapes.items())}
np.savez("tiny-named.npz", **arrays)              # entries dense_1/kernel.npy, ...
np.savez("tiny-positional.npz", *arrays.values())   # entries arr_0.npy, ... (a Flower run's final.npz)
np.savez("tiny-float64.npz", *[a.astype(np.float64) for a in arrays.values()])
np.savez("tiny-swapped.npz", *[arrays["dense_1/bias"], arrays["dense_1/kernel"], arrays["dense_3/kernel"], arrays["dense_3/bias"]])
np.save("kernel.npy", arrays["dense_1/kernel"])     # what Flower's Array chunks concatenate to
np.save("scalar.npy", np.float32(2.5))
np.save("fortran.npy", np.asfortranarray(arrays["dense_1/kernel"]))
np.save("float64.npy", arrays["dense_1/kernel"].astype(np.float64))
