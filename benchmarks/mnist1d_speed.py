"""How fast does course.mnist1d make the dataset? Side by side with the `mnist1d` package.

The course's generator draws the random numbers first, in the original per-example order,
then transforms all 5,000 examples as arrays (01_mnist1d); the official generator
(PyPI `mnist1d`, its `make_dataset`, never `get_dataset`, which downloads) transforms one
example at a time with SciPy's interp1d. Both make the same arrays (tests/test_mnist1d.py
checks that); this script only times them. Calls alternate so that both see the same
load (the course's machines are shared), and the median of each is printed with the ratio.
Without the package, only course.mnist1d is timed.

Usage:
    OMP_NUM_THREADS=1 python benchmarks/mnist1d_speed.py [--repeats N] [--num-samples N]
"""
from __future__ import annotations

import argparse
import statistics
import time

from course import mnist1d, validate


def official_generator(num_samples):
    """The package's make_dataset with default arguments, or None when it is not installed."""
    try:
        from mnist1d import data
    except ImportError:
        return None
    args = data.get_dataset_args()
    args.num_samples = num_samples
    return lambda: data.make_dataset(args)


def median_seconds(fns, repeats):
    times = [[] for _ in fns]
    for _ in range(repeats):
        for fn, bucket in zip(fns, times):
            start = time.perf_counter()
            fn()
            bucket.append(time.perf_counter() - start)
    return [statistics.median(t) for t in times]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--num-samples", type=int, default=5000)
    args = parser.parse_args(argv)
    validate.positive_int("--repeats", args.repeats)
    validate.integer("--num-samples", args.num_samples, lo=10)

    ours = lambda: mnist1d.make_dataset(num_samples=args.num_samples)  # noqa: E731
    theirs = official_generator(args.num_samples)
    fns = [ours] if theirs is None else [ours, theirs]
    for fn in fns:
        fn()  # warm-up: imports, caches
    seconds = median_seconds(fns, args.repeats)
    print(f"MNIST-1D, {args.num_samples} examples, median of {args.repeats} alternating runs")
    print(f"  course.mnist1d        {seconds[0]:8.3f} s")
    if theirs is None:
        print("  mnist1d (package)     not installed: pip install mnist1d")
        return seconds
    print(f"  mnist1d (package)     {seconds[1]:8.3f} s")
    print(f"  ratio package/course  {seconds[1] / seconds[0]:8.1f}x")
    return seconds


if __name__ == "__main__":
    main()
