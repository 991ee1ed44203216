"""Random compositions of row-selecting stages, compared with TF's tf.data element by element.

Each plan chains take/skip/repeat/batch/shard/unbatch/enumerate/cache/prefetch over
one of three sources; element_spec, cardinality and every element must equal TF's.
"""
import random

import numpy as np
import pytest

import tapeflow as tf

STAGES = [
    ("take", lambda r: r.choice([0, 1, 3, 7, -1])),
    ("skip", lambda r: r.choice([0, 1, 2, 5, -1])),
    ("repeat", lambda r: r.choice([1, 2, 3])),
    ("batch", lambda r: (r.choice([1, 2, 3, 4]), r.choice([False, True]))),
    ("shard", lambda r: (3, r.choice([0, 1, 2]))),
    ("unbatch", None), ("enumerate", None), ("cache", None), ("prefetch", None),
]


def _build(lib, source, plan):
    x = np.arange(20, dtype=np.float32).reshape(10, 2)
    ds = {"range": lambda: lib.data.Dataset.range(10),
          "slices": lambda: lib.data.Dataset.from_tensor_slices((x, np.arange(10, dtype=np.uint8))),
          "tensors": lambda: lib.data.Dataset.from_tensors(np.arange(3))}[source]()
    for name, arg in plan:
        if name == "batch":
            ds = ds.batch(arg[0], drop_remainder=arg[1])
        elif name == "shard":
            ds = ds.shard(*arg)
        elif arg is None:
            ds = getattr(ds, name)() if name != "prefetch" else ds.prefetch(2)
        else:
            ds = getattr(ds, name)(arg)
    return ds


def _flat(e):
    if isinstance(e, tuple):
        return [x for v in e for x in _flat(v)]
    return [(np.asarray(e).dtype.name, np.asarray(e).tolist())]


def _plans(n, seed=0):
    r = random.Random(seed)
    for _ in range(n):
        plan = []
        for _ in range(r.randint(1, 4)):
            name, arg = r.choice(STAGES)
            plan.append((name, arg(r) if arg else None))
        yield r.choice(["range", "slices", "tensors"]), plan


@pytest.mark.parametrize("source,plan", list(_plans(60)), ids=lambda p: str(p)[:60])
def test_random_pipeline_matches_tensorflow(source, plan, real_tf):
    try:
        theirs = _build(real_tf, source, plan)
        expected = [_flat(e) for e in theirs.as_numpy_iterator()]
    except Exception:   # noqa: BLE001 - TF refuses the plan: tapeflow must refuse it too
        with pytest.raises((ValueError, TypeError)):
            list(_build(tf, source, plan))
        return
    ours = _build(tf, source, plan)
    assert repr(ours.element_spec) == repr(theirs.element_spec)
    assert int(ours.cardinality()) == int(theirs.cardinality())
    assert [_flat(e) for e in ours.as_numpy_iterator()] == expected
