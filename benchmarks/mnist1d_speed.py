"""How fast does course.mnist1d make the dataset? 01_mnist1d against the official generator.

The course's generator draws the random numbers first, in the original per-example order,
then transforms all examples as arrays; the official one (its `make_dataset`, never
`get_dataset`, which downloads) transforms one example at a time with SciPy's interp1d. Both
must make the same arrays, bit for bit. The original is the `mnist1d` package (a dev
dependency of the course, Apache-2.0), or a checkout of github.com/greydanus/mnist1d given
with `--original`.

    OMP_NUM_THREADS=1 python benchmarks/mnist1d_speed.py --save
    python benchmarks/mnist1d_speed.py --smoke       # 100 examples, one repeat (make test)
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import race  # noqa: E402

from course import mnist1d  # noqa: E402


def official(directory, num_samples):
    """The official make_dataset with default arguments, or None when it is not importable."""
    if directory is not None:
        race.add_original_to_path(directory)
    try:
        from mnist1d import data
    except ImportError:
        return None
    args = data.get_dataset_args()
    args.num_samples = num_samples
    return lambda: data.make_dataset(args)


def same(ours, theirs):
    for key in ("x", "y", "x_test", "y_test"):
        if not np.array_equal(np.asarray(ours[key]), np.asarray(theirs[key])):
            raise AssertionError(f"{key} differs between course.mnist1d and the official generator")
    return "x, y, x_test, y_test equal bit for bit"


def main(argv=None):
    args = race.arguments(__doc__.split("\n\n")[0], argv, default_repeats=5)
    num_samples = 100 if args.smoke else 5000
    theirs = official(args.original, num_samples)
    record = race.race("01_mnist1d_generator", f"01 MNIST-1D generator, {num_samples:,} examples",
                       lambda: mnist1d.make_dataset(num_samples=num_samples), theirs, same,
                       repeats=args.repeats, threads=args.threads, unit="s")
    return race.report(record, save=args.save)


if __name__ == "__main__":
    main()
