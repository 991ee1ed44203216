"""tf.print: TF's formatting, stderr by default, every call inside tf.function."""
import sys

import numpy as np
import pytest

import tapeflow as tf


@pytest.mark.parametrize("value, text", [
    (tf.constant([1, 2, 3]), "[1 2 3]"),
    (tf.constant(3), "3"),
    (tf.constant(3.0), "3"),
    (tf.constant([1.5, 2.0, 0.1]), "[1.5 2 0.1]"),
    (tf.constant([[1.0, 2.0], [3.0, 4.0]]), "[[1 2]\n [3 4]]"),
    (tf.range(20), "[0 1 2 ... 17 18 19]"),
    (tf.constant(True), "1"),
    (tf.constant(1e-8), "1e-08"),
    (tf.constant(123456789.0), "123456792"),
    (tf.constant(0.123456789), "0.123456791"),
    (tf.constant([1e10, 1.0]), "[1e+10 1]"),
    (tf.constant(2.5, tf.float64), "2.5"),
    ("text", "text"),
    ([tf.constant(1), 2, "a"], "[1, 2, 'a']"),
    ({"a": tf.constant([1, 2])}, "{'a': [1 2]}"),
])
def test_formats_like_tensorflow(capsys, value, text):
    tf.print(value)
    assert capsys.readouterr().err == text + "\n"


def test_summarizes_both_axes_of_large_matrices(capsys):
    tf.print(tf.reshape(tf.range(100), (10, 10)))
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "[[0 1 2 ... 7 8 9]"
    assert lines[3] == " ..."
    assert lines[-1] == " [90 91 92 ... 97 98 99]]"


def test_several_inputs_sep_end_and_stream(capsys):
    tf.print("loss:", tf.constant(0.5), 3, sep="|", end="!\n", output_stream=sys.stdout)
    assert capsys.readouterr().out == "loss:|0.5|3!\n"


def test_file_output_stream(tmp_path):
    path = tmp_path / "log.txt"
    tf.print("a", tf.constant([1, 2]), output_stream=f"file://{path}")
    tf.print("b", output_stream=f"file://{path}")
    assert path.read_text() == "a [1 2]\nb\n"


def test_bad_output_stream_is_a_clear_error():
    with pytest.raises(ValueError, match="output_stream must be sys.stderr"):
        tf.print("x", output_stream="stdout-please")


def test_prints_on_every_call_of_a_function_python_print_only_once(capsys):
    v = tf.Variable(0)

    @tf.function
    def step(x):
        print("tracing")
        v.assign_add(1)
        tf.print("step", v, "x =", x)
        return x

    for i in range(3):
        step(tf.constant(float(i)))
    captured = capsys.readouterr()
    assert captured.out == "tracing\n"
    assert captured.err == "step 1 x = 0\nstep 2 x = 1\nstep 3 x = 2\n"


def test_summarize_minus_one_prints_everything(capsys):
    tf.print(np.arange(8), summarize=-1)
    assert capsys.readouterr().err == "[0 1 2 3 4 5 6 7]\n"
