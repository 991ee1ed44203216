"""Seed 001 (GradientTape tutorial) runs on tapeflow and prints what TensorFlow printed.

Each cell's code is checked to appear verbatim in the seed file, then run as a
notebook would (the value of a final expression is displayed with repr). The
Dense-layer cells belong to Keras and are tested there.
"""
import ast
import contextlib
import io
import pathlib
import re

import numpy as np

SEED = next((pathlib.Path(__file__).parents[2] / "shared" / "seeds").glob("001_*.txt"), None) \
    if (pathlib.Path(__file__).parents[2] / "shared" / "seeds").exists() else None

# (code as in the seed, expected output: a string, or a regex where values are random)
CELLS = [
    ("x = tf.Variable(3.0)\n\nwith tf.GradientTape() as tape :\n  y = x**2", ""),
    ("dy_dx = tape.gradient(y, x)\ndy_dx.numpy()", "6.0"),
    ("w = tf.Variable(tf.random.normal((3, 2)), name = 'w')\n"
     "b = tf.Variable(tf.zeros(2, dtype = tf.float32), name = 'b')\n"
     "x = [[1., 2., 3.]]\n\n"
     "with tf.GradientTape(persistent=True) as tape:\n"
     "  y = x @ w + b\n"
     "  loss = tf.reduce_mean(y**2)", ""),
    ("[dl_dw, dl_db] = tape.gradient(loss, [w, b]) "
     "# 각 소스에 대한 그래디언트는 소스의 형상을 갖는다\n\n"
     "print(w.shape)\nprint(dl_dw.shape)", "(3, 2)\n(3, 2)"),
    ("my_vars = {'w':w, 'b':b}\n\ngrad = tape.gradient(loss, my_vars)\ngrad['b']",
     re.compile(r"<tf\.Tensor: shape=\(2,\), dtype=float32, numpy=array\(\[ *-?[\d.e+-]+ *, +"
                r"-?[\d.e+-]+ *\], dtype=float32\)>")),
    ("x0 = tf.Variable(3.0, name = 'x0')\n"
     "# Not trainable\n"
     "x1 = tf.Variable(3.0, name = 'x1', trainable=False)\n"
     "# Not a Variable: A variable + tensor returns a tensor.\n"
     "x2 = tf.Variable(2.0, name = 'x2') + 1.0\n"
     "# Not a Variable\n"
     "x3 = tf.constant(3.0, name = 'x3')\n\n"
     "with tf.GradientTape() as tape:\n"
     "  y = (x0**2) + (x1**2) + (x2**2)\n\n"
     "grad = tape.gradient(y, [x0, x1, x2, x3])\n\n"
     "for g in grad:\n  print(g)",
     "tf.Tensor(6.0, shape=(), dtype=float32)\nNone\nNone\nNone"),
    ("[var.name for var in tape.watched_variables()]", "['x0:0']"),
    ("x = tf.constant(3.0)\nwith tf.GradientTape() as tape:\n  tape.watch(x)\n  y = x**2\n\n"
     "# dy = 2x * dx\ndy_dx = tape.gradient(y, x)\nprint(dy_dx.numpy())", "6.0"),
    ("x0 = tf.Variable(0.0)\nx1 = tf.Variable(10.0)\n\n"
     "with tf.GradientTape(watch_accessed_variables=False) as tape:\n"
     "  tape.watch(x1)\n  y0 = tf.math.sin(x0)\n  y1 = tf.nn.softplus(x1)\n"
     "  y = y0 + y1\n  ys = tf.reduce_sum(y)", ""),
    ("grad = tape.gradient(ys, {'x0': x0, 'x1': x1})\n\n"
     "print('dy/dx0', grad['x0'])\nprint('dy/dx1', grad['x1'].numpy())",
     "dy/dx0 None\ndy/dx1 0.9999546"),
]


def _run_cell(code, namespace):
    """Runs one cell; a final expression is displayed like a notebook (str of a NumPy
    scalar, as NumPy 1 printed it in the seed, else repr)."""
    tree = ast.parse(code)
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(tree, "<seed001>", "exec"), namespace)
        if last is not None:
            value = eval(compile(ast.Expression(last.value), "<seed001>", "eval"), namespace)
            if value is not None:
                print(str(value) if isinstance(value, np.generic) else repr(value))
    return out.getvalue().rstrip("\n")


def test_seed_001_prints_what_tensorflow_printed():
    import tapeflow
    text = SEED.read_text(encoding="utf-8") if SEED else None
    assert SEED is None or SEED.exists()
    tapeflow.random.set_seed(1)      # the seed's random weights, made repeatable here
    namespace = {"tf": tapeflow, "np": np}
    for code, expected in CELLS:
        if text is not None:
            assert code in text, f"cell no longer in the seed:\n{code}"
        got = _run_cell(code, namespace)
        if isinstance(expected, str):
            assert got == expected, f"cell:\n{code}\nprinted:\n{got}\nexpected:\n{expected}"
        else:
            assert expected.fullmatch(got), f"cell:\n{code}\nprinted:\n{got}"
