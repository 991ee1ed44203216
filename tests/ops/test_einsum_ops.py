"""tapeflow/ops/einsum_ops.py: einsum values and gradients against TF and numerics."""
import numpy as np
import pytest

import tapeflow as tf
from tapeflow.testing import check_gradients, tf_parity

CASES = [("ij,jk->ik", [(2, 3), (3, 4)]), ("bij,bjk->bik", [(2, 2, 3), (2, 3, 2)]),
         ("i,i->", [(3,), (3,)]), ("i,j->ij", [(2,), (3,)]), ("ij->ji", [(2, 3)]),
         ("ij->", [(2, 3)]), ("ij", [(2, 3)]), ("ij,jk", [(2, 3), (3, 2)]),
         ("...ij,...jk->...ik", [(2, 2, 3), (3, 2)]), ("bi,bj,bk->bijk", [(2, 2), (2, 3), (2, 2)]),
         ("ijk,k->i", [(2, 3, 2), (2,)])]


@pytest.mark.parametrize("eq,shapes", CASES, ids=[c[0] for c in CASES])
def test_einsum(eq, shapes, rng, real_tf):
    xs = [rng.normal(size=s) for s in shapes]
    check_gradients(lambda *a: tf.einsum(eq, *a), xs)
    tf_parity.check(lambda m, *a: m.einsum(eq, *a), [x.astype(np.float32) for x in xs],
                    real_tf=real_tf)


def test_einsum_errors():
    with pytest.raises(ValueError, match="2 operands but 1"):
        tf.einsum("ij,jk->ik", tf.ones((2, 2)))
    with pytest.raises(tf.errors.InvalidArgumentError, match="float32, float64"):
        tf.einsum("i,i->", tf.ones(2), tf.ones(2, tf.float64))
    with pytest.raises(ValueError, match="rank 2"):
        tf.einsum("ijk->i", tf.ones((2, 2)))


@pytest.mark.parametrize("equation", ["...j->j", "ij...->j", "...ij->ji", "i...->i"])
def test_ellipsis_dims_left_out_of_the_output_are_refused_as_in_tensorflow(equation, real_tf):
    x = np.ones((2, 3, 4), np.float32)
    with pytest.raises(real_tf.errors.InvalidArgumentError, match="no ellipsis"):
        real_tf.einsum(equation, x)
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=r"broadcasting dimension\(s\) but no ellipsis"):
        tf.einsum(equation, x)
    np.testing.assert_array_equal(tf.einsum("...ijk->kji", x).numpy(),
                                  real_tf.einsum("...ijk->kji", x).numpy())
