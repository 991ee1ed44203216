"""WhileTakeBlock / WhilePadBlock (function/while_grad.py): the block of a padded loop
variable and its gradient, each other's rules."""
import numpy as np

import tapeflow as tf
from tapeflow.framework.op import execute
from tapeflow.function import while_grad
from tapeflow.testing import check_gradients


def test_take_block_and_pad_block_differentiate_to_any_order(rng):
    size = tf.constant(np.array([2, 3], np.int64))
    check_gradients(lambda x: execute(while_grad._TAKE_BLOCK, (x, size)),
                    [rng.normal(size=(4, 5))])
    like = tf.constant(np.zeros((4, 5)))
    check_gradients(lambda dy: execute(while_grad._PAD_BLOCK, (dy, like)),
                    [rng.normal(size=(2, 3))])
