"""Every op the SavedModel writer translates, checked by TensorFlow's loader, op registry
and kernels against tapeflow's values.
"""
import numpy as np
import pytest

import tapeflow as tf
from tapeflow.saved_model import _protos

X = np.array([[0.5, 1.5, 2.0], [1.0, 0.25, 3.0]], np.float32)


def _spec(shape=(2, 3), dtype=tf.float32):
    return tf.TensorSpec(shape, dtype)


_OPS = {
    "add_sub_mul_div": (lambda a: (a + 1.0) * a / 3.0 - a, _spec()),
    "neg_square_sqrt_rsqrt": (lambda a: -tf.square(a) + tf.sqrt(a) + tf.math.rsqrt(a), _spec()),
    "exp_log_pow": (lambda a: tf.exp(a) + tf.math.log(a) + a ** 2.5, _spec()),
    "max_min_abs": (lambda a: tf.maximum(a, 1.0) + tf.minimum(a, 1.0) + tf.abs(a - 1.0),
                    _spec()),
    "activations": (lambda a: tf.tanh(a) + tf.sigmoid(a) + tf.nn.relu(a - 1.0)
                    + tf.nn.relu6(a * 4.0) + tf.nn.elu(a - 1.0) + tf.nn.selu(a - 1.0)
                    + tf.nn.softplus(a), _spec()),
    "softmax": (lambda a: tf.nn.softmax(a) + tf.nn.log_softmax(a, axis=0), _spec()),
    "matmul": (lambda a: tf.matmul(a, a, transpose_b=True)
               + tf.matmul(a, a, transpose_a=True)[:2, :2], _spec()),
    "batch_matmul": (lambda a: tf.matmul(tf.reshape(a, [1, 2, 3]), tf.reshape(a, [1, 3, 2])),
                     _spec()),
    "bias_add": (lambda a: tf.nn.bias_add(a, tf.constant([1.0, 2.0, 3.0])), _spec()),
    "reshape_transpose": (lambda a: tf.transpose(tf.reshape(a, [3, -1])), _spec()),
    "reshape_to_traced_shape": (lambda a: tf.reshape(a, tf.stack([tf.shape(a)[0] * 3, -1])),
                                _spec((None, 3))),
    "concat_stack": (lambda a: tf.concat([a, a * 2.0], 1)[:, 2:5]
                     + tf.reduce_sum(tf.stack([a, a], 1), 1), _spec()),
    "unstack": (lambda a: tf.unstack(a, axis=1)[2], _spec()),
    "squeeze_expand": (lambda a: tf.squeeze(tf.expand_dims(a, 0), axis=0) + tf.squeeze(a[:1]),
                       _spec()),
    "shape_fill_zeros": (lambda a: tf.fill(tf.shape(a), 2.0) + tf.zeros_like(a) + tf.ones_like(a),
                         _spec((None, 3))),
    "strided_slice": (lambda a: a[0, 1:] + a[-1, ::-2][:1] + a[..., 1][tf.newaxis, 1], _spec()),
    "slice_gather": (lambda a: tf.slice(a, [0, 1], [2, 2]) + tf.gather(a, [2, 0], axis=1),
                     _spec()),
    "cast": (lambda a: tf.cast(tf.cast(a * 2.0, tf.int32), tf.float32), _spec()),
    "reductions": (lambda a: tf.reduce_sum(a, 1, keepdims=True) + tf.reduce_mean(a)
                   + tf.reduce_max(a, 0) + tf.reduce_min(a) + tf.reduce_prod(a, [0, 1]),
                   _spec((None, 3))),
    "arg_reductions": (lambda a: tf.argmax(a, 1) + tf.argmin(a, 0)[:2], _spec()),
    "comparisons": (lambda a: tf.cast(tf.logical_or(tf.logical_and(a > 1.0, a <= 2.0),
                                                    tf.logical_not(a >= 0.3)), tf.float32)
                    + tf.cast(tf.equal(a, 1.0), tf.float32) - tf.cast(a < 1.0, tf.float32)
                    + tf.cast(tf.not_equal(a, 0.5), tf.float32), _spec()),
    "all_any": (lambda a: tf.logical_and(tf.reduce_all(a > 0.0, 1), tf.reduce_any(a > 2.5, 1)),
                _spec()),
    "where_identity_tile": (lambda a: tf.tile(tf.identity(tf.where(a > 1.0, a, -a)), [2, 1]),
                            _spec()),
    "avg_pool": (lambda a: tf.nn.avg_pool2d(tf.reshape(tf.tile(a, [2, 2]), [1, 4, 3, 2]), 2, 1,
                                            "SAME"), _spec()),
    "one_hot": (lambda a: tf.one_hot(tf.cast(a * 2.0, tf.int64), 4, on_value=2.0,
                                     off_value=-1.0, axis=0), _spec()),
    "cumsum": (lambda a: tf.cumsum(a, axis=1) + tf.cumsum(a, 0, exclusive=True, reverse=True),
               _spec()),
    "split": (lambda a: tf.split(a, [1, 2], axis=1)[1] * tf.split(a, 3, axis=1)[2], _spec()),
    "broadcast_to": (lambda a: tf.broadcast_to(a[0], [4, 3]), _spec()),
    "pad": (lambda a: tf.pad(a, [[1, 0], [0, 2]], constant_values=1.5)
            + tf.pad(a, [[1, 0], [1, 1]], mode="REFLECT"), _spec()),
    "einsum": (lambda a: tf.einsum("ij,kj->ik", a, a), _spec()),
    "top_k": (lambda a: tf.math.top_k(a, 2).values
              + tf.cast(tf.math.top_k(a, 2).indices, tf.float32), _spec()),
    "gather_nd": (lambda a: tf.gather_nd(a, [[0, 1], [1, 2]]), _spec()),
    "logical_xor": (lambda a: tf.math.logical_xor(a > 1.0, a < 2.5), _spec()),
    "check_numerics_roll": (lambda a: tf.roll(tf.debugging.check_numerics(a, "bad"), 1, 1),
                            _spec()),
    "unique": (lambda a: tf.unique(tf.cast(a[:, 0] * 2.0, tf.int32))[1], _spec()),
    "in_top_k": (lambda a: tf.math.in_top_k([2, 0], a, 1), _spec()),
    "traced_slice_bounds": (lambda a: a[0][1:tf.cast(a[0, 0] * 6.0, tf.int32)], _spec()),
    "where_indices": (lambda a: tf.where(a > 1.0), _spec()),
    "sparse_xent": (lambda a: tf.nn.sparse_softmax_cross_entropy_with_logits([0, 2], a),
                    _spec()),
    "range": (lambda a: tf.cast(tf.range(1, tf.shape(a)[0] * 3, 2), tf.float32), _spec((None, 3))),
}


class _OpModule(tf.Module):
    pass


@pytest.fixture(scope="module")
def saved_ops(real_tf, tmp_path_factory):
    module = _OpModule()
    for name, (fn, spec) in _OPS.items():
        setattr(module, name, tf.function(fn, input_signature=[spec]))
    expected = {name: getattr(module, name)(X).numpy() for name in _OPS}
    path = tmp_path_factory.mktemp("ops") / "ops"
    tf.saved_model.save(module, str(path))
    return real_tf.saved_model.load(str(path)), expected, path


@pytest.mark.parametrize("name", sorted(_OPS))
def test_translated_op_gives_tapeflows_value_in_tensorflow(saved_ops, name):
    loaded, expected, _ = saved_ops
    got = getattr(loaded, name)(X).numpy()
    assert got.dtype == expected[name].dtype
    np.testing.assert_allclose(got, expected[name], rtol=2e-6, atol=1e-6)


_SPD = np.array([[4.0, 1.0, 0.5], [1.0, 3.0, 0.2], [0.5, 0.2, 2.0]], np.float32)


def test_linear_algebra_gives_tapeflows_values_in_tensorflow(save_load, tmp_path):
    module = _OpModule()
    module.linalg = tf.function(lambda m: {
        "inv": tf.linalg.inv(m), "det": tf.linalg.det(m), "chol": tf.linalg.cholesky(m),
        "solve": tf.linalg.solve(m, m[:, :1]),
        "tri": tf.linalg.triangular_solve(m, m, lower=False),
        "band": tf.linalg.band_part(m, 1, 0), "logdet": tf.linalg.slogdet(m)[1],
        "r_abs": tf.abs(tf.linalg.qr(m)[1]), "s": tf.linalg.svd(m, compute_uv=False),
        "eig": tf.linalg.eigh(m)[0], "diag_part": tf.linalg.diag_part(m),
        "diag": tf.linalg.diag(m[0]), "set_diag": tf.linalg.set_diag(m, m[1]),
        "trace": tf.linalg.trace(m)}, input_signature=[tf.TensorSpec([3, 3], tf.float32)])
    expected = module.linalg(_SPD)
    got = save_load(module, tmp_path / "linalg").linalg(_SPD)
    assert sorted(got) == sorted(expected)
    for key in expected:
        np.testing.assert_allclose(got[key].numpy(), expected[key].numpy(), rtol=1e-5,
                                   atol=1e-5, err_msg=key)


def test_numbers_as_strings_give_tapeflows_text_in_tensorflow(save_load, tmp_path):
    module = _OpModule()
    module.text = tf.function(lambda a: tf.strings.as_string(a, precision=2),
                              input_signature=[_spec()])
    expected = module.text(X).numpy()
    loaded = save_load(module, tmp_path / "text")
    np.testing.assert_array_equal(loaded.text(X).numpy(), expected)


def test_string_ops_give_tapeflows_text_in_tensorflow(save_load, real_tf, tmp_path):
    module = _OpModule()
    module.text = tf.function(lambda s: {
        "upper": tf.strings.upper(s), "lower": tf.strings.lower(s),
        "length": tf.strings.length(s, unit="UTF8_CHAR"),
        "replaced": tf.strings.regex_replace(s, "a+", "b"),
        "matches": tf.strings.regex_full_match(s, "A.*"),
        "joined": tf.strings.join([s, s], separator="-") + s,
        "number": tf.strings.to_number(tf.strings.regex_replace(s, "[^0-9]", "")),
        "stripped": tf.strings.strip(s), "all": tf.strings.reduce_join(s, separator=",")},
        input_signature=[tf.TensorSpec([2], tf.string)])
    text = np.array([b" Aab12 ", "\u00e9t\u00e98".encode()], dtype=object)
    expected = module.text(text)
    got = save_load(module, tmp_path / "strings").text(real_tf.constant(text))
    for key in expected:
        np.testing.assert_array_equal(got[key].numpy(), expected[key].numpy(), err_msg=key)


def test_tf_print_prints_tapeflows_text_from_tensorflow(save_load, real_tf, tmp_path):
    target = tmp_path / "printed.txt"

    class Printer(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([3])])
        def show(self, a):
            stream = f"file://{target}"
            tf.print("x is", a, {"k": a * 2, "s": "lit{}"}, [1, a], summarize=2, end="!\n",
                     output_stream=stream)
            tf.print(tf.strings.format("a={} b={}", (a, a + 1)), output_stream=stream)
            return a + 1

    printer = Printer()
    printer.show(tf.constant([1.0, 2.0, 3.0]))
    by_tapeflow = target.read_text()
    target.unlink()
    save_load(printer, tmp_path / "print").show(real_tf.constant([1.0, 2.0, 3.0]))
    assert target.read_text() == by_tapeflow


def test_every_written_node_has_tensorflows_op_and_required_attrs(saved_ops, node_problems):
    _, _, path = saved_ops
    assert node_problems(path) == []
    _, metas = _protos.decode_saved_model((path / "saved_model.pb").read_bytes())
    written = {n.op for f in metas[0].graph_def.library.function for n in f.node_def}
    assert {"MatMul", "BatchMatMulV2", "StridedSlice", "Sum", "ConcatV2", "Fill"} <= written


def test_every_exportable_registered_op_has_an_exporter():
    from tapeflow.framework.op import registered_ops
    from tapeflow.saved_model import export_ops
    registered = registered_ops()
    names = [n for n in export_ops.exportable_op_names() if n in registered]
    assert {"MatMul", "Conv2D", "StridedSlice", "ReadVariableOp", "ResourceApplyAdam"} <= set(names)
    assert [n for n in names if export_ops.exporter_for(registered[n]) is None] == []
