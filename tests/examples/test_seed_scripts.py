"""The seed programs in examples/ run under tapeflow and print what the seeds print."""
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLES = os.path.join(ROOT, "examples")


def run_example(name, timeout=600, **env):
    proc = subprocess.run([sys.executable, os.path.join(EXAMPLES, name)], capture_output=True,
                          check=False, text=True, timeout=timeout, cwd=ROOT,
                          env=dict(os.environ, **{k: str(v) for k, v in env.items()}))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout, proc.stderr


def test_seed_001_prints_the_seeds_values():
    out, _ = run_example("seed_001_autodiff_basics.py", timeout=120)
    lines = out.splitlines()
    # Deterministic outputs of the seed, verbatim and in order (grad['b'] depends on a
    # random w, so only its form is checked).
    expected = ["6.0", "(3, 2)", "(3, 2)", None,
                "dense/kernel:0, shape:(3, 2)", "dense/bias:0, shape:(2,)",
                "tf.Tensor(6.0, shape=(), dtype=float32)", "None", "None", "None",
                "['x0:0']", "6.0", "dy/dx0 None", "dy/dx1 0.9999546"]
    assert len(lines) == len(expected), out
    for got, want in zip(lines, expected):
        if want is not None:
            assert got == want
    assert re.fullmatch(r"<tf\.Tensor: shape=\(2,\), dtype=float32, numpy=array\(\[\s*-?\d+\.\d*"
                        r"\s*,\s+-?\d+\.\d*\s*\], dtype=float32\)>", lines[3]), lines[3]


def _needs_fashion_mnist():
    import tapeflow as tf
    try:
        tf.keras.datasets.fashion_mnist.load_data()
    except OSError as e:
        pytest.skip(f"Fashion-MNIST not available: {e}")


SEED_LINE = re.compile(r"에포크: 1, 손실: \d+\.\d{5}, 정확도: \d+\.\d{2}%, 테스트 손실: "
                       r"\d+\.\d{5}, 테스트 정확도: \d+\.\d{2}%")


def test_seed_000_runs_its_loop_and_prints_the_seed_line():
    _needs_fashion_mnist()
    out, _ = run_example("seed_000_gradient_tape_mnist.py", TAPEFLOW_EPOCHS=1,
                         TAPEFLOW_LIMIT=320)
    assert "(0.0, 1.0)" in out
    assert "(TensorShape([320, 28, 28, 1]), TensorShape([320, 28, 28, 1]))" in out
    assert "Total params: 4,738,826" in out
    assert SEED_LINE.search(out), out


def test_seed_002_runs_three_apis_and_skips_cifar_with_the_loaders_message():
    _needs_fashion_mnist()
    out, _ = run_example("seed_002_tf2_api_overview.py", TAPEFLOW_EPOCHS=1, TAPEFLOW_LIMIT=96)
    assert out.count("96 96") == 3
    assert len(re.findall(r"\[\d+\.\d+, \d+\.\d+\]", out)) >= 3     # evaluate() results
    assert "CIFAR-100 parts skipped" in out or "It took" in out
    assert out.count("using Fashion-MNIST") <= 1


@pytest.mark.slow
def test_seed_003_and_004_run_their_loops():
    _needs_fashion_mnist()
    out, _ = run_example("seed_003_custom_training.py", TAPEFLOW_EPOCHS=1, TAPEFLOW_LIMIT=96)
    assert re.search(r"Epoch 0: batch loss = \d+\.\d{4}", out)
    assert re.search(r"^0\.\d+$", out.splitlines()[-1])
    out, err = run_example("seed_004_gradient_tape_fn.py", TAPEFLOW_EPOCHS=1,
                           TAPEFLOW_LIMIT=96)
    assert out.count("tracing train_step") >= 1 and SEED_LINE.search(out)
    assert re.search(r"step 0 batch loss \d", err)        # tf.print writes to stderr


def test_gan_writes_a_sample_grid(tmp_path):
    _needs_fashion_mnist()
    plt = pytest.importorskip("matplotlib.pyplot")
    proc = subprocess.run(
        [sys.executable, os.path.join(EXAMPLES, "gan_fashion_mnist.py"), "--epochs", "1",
         "--limit", "512", "--out", str(tmp_path)], capture_output=True, text=True,
        timeout=300, cwd=ROOT, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    grid = plt.imread(str(tmp_path / "samples.png"))     # RGBA floats in [0, 1]
    assert grid.shape == (2 * (8 * 30 + 2), 2 * (8 * 30 + 2), 4)
    assert grid[..., 0].std() > 5 / 255     # not a blank image
    assert (tmp_path / "losses.png").exists()
