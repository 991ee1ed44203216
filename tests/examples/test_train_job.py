"""The main job (python -m tapeflow.examples.train): options, a smoke run, what it writes."""
import os

import numpy as np
import pytest

from tapeflow.examples import train

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_defaults_match_the_seed_loop():
    args = train.parse_args([])
    assert (args.epochs, args.batch_size, args.eager, args.limit) == (2, 32, False, None)
    assert args.dataset is None     # MNIST when present, else Fashion-MNIST


@pytest.mark.parametrize("argv,message", [
    (["--epochs", "0"], "--epochs must be at least 1"),
    (["--batch-size", "0"], "--batch-size must be at least 1"),
    (["--limit", "0"], "--limit must be at least 1"),
    (["--dataset", "cifar10"], "invalid choice"),
])
def test_bad_options_are_refused_with_a_message(argv, message, capsys):
    with pytest.raises(SystemExit):
        train.parse_args(argv)
    assert message in capsys.readouterr().err


def test_missing_mnist_falls_back_to_fashion_mnist_and_says_so(monkeypatch, capsys):
    import tapeflow as tf

    def missing():
        raise FileNotFoundError("mnist.load_data(): MNIST is not on this machine. Put it there")
    monkeypatch.setattr(tf.keras.datasets.mnist, "load_data", missing)
    fake = ((np.zeros((2, 28, 28), np.uint8), np.zeros(2, np.uint8)),) * 2
    monkeypatch.setattr(tf.keras.datasets.fashion_mnist, "load_data", lambda: fake)
    data, name = train.load_dataset(None)
    assert name == "fashion_mnist" and data is fake
    out = capsys.readouterr().out
    assert "MNIST is not available (FileNotFoundError: mnist.load_data(): MNIST is not on " \
           "this machine)" in out and "using Fashion-MNIST instead" in out


def test_an_explicit_dataset_that_is_missing_fails_loudly(monkeypatch):
    import tapeflow as tf

    def missing():
        raise FileNotFoundError("no MNIST here")
    monkeypatch.setattr(tf.keras.datasets.mnist, "load_data", missing)
    with pytest.raises(FileNotFoundError, match="no MNIST here"):
        train.load_dataset("mnist")


def _fashion_mnist_or_skip():
    import tapeflow as tf
    try:
        tf.keras.datasets.fashion_mnist.load_data()
    except OSError as e:
        pytest.skip(f"Fashion-MNIST not available: {e}")


def test_smoke_run_writes_curves_and_a_loadable_model(tmp_path, capsys):
    _fashion_mnist_or_skip()
    out_dir = tmp_path / "run"
    result = train.train(train.parse_args(
        ["--limit", "256", "--epochs", "1", "--dataset", "fashion_mnist",
         "--out", str(out_dir)]))
    printed = capsys.readouterr().out

    # The seed's per-epoch line and the final summary.
    assert "에포크: 1, 손실: " in printed and "테스트 정확도: " in printed
    assert f"training curves: {out_dir / 'curves.png'}" in printed
    acc = result["results"]["test_accuracy"]
    assert f"final test accuracy: {acc * 100:.2f}%" in printed
    # 256 images, batch 32 -> 8 steps; 8 steps of Adam beat chance (10%) on 256 test images.
    assert 0.0 <= result["results"]["loss"] < 2.3 and acc > 0.2

    plt = pytest.importorskip("matplotlib.pyplot")
    png = out_dir / "curves.png"
    assert png.read_bytes()[:8] == PNG_SIGNATURE
    assert plt.imread(str(png)).shape == (450, 1200, 4)
    assert f"gradient flow: {out_dir / 'gradients.png'}" in printed
    assert (out_dir / "gradients.png").read_bytes()[:8] == PNG_SIGNATURE
    # 8 steps, fewer than 50 per epoch: every step's gradients are sampled, for 4 layers.
    flow = result["gradient_flow"].history
    assert len(flow) == 8 and len(flow[0][1].layers) == 4
    assert result["history"]["train"]["x"][-1] == pytest.approx(1.0)
    assert result["history"]["test"]["accuracy"] == [pytest.approx(acc)]

    import tapeflow as tf
    model_path = out_dir / "model.keras"
    assert os.path.getsize(model_path) > 4_738_826 * 4   # every weight, as float32
    loaded = tf.keras.models.load_model(str(model_path))
    assert loaded.count_params() == 4_738_826
    x = np.random.default_rng(0).random((4, 28, 28, 1), dtype=np.float32)
    np.testing.assert_allclose(loaded.predict(x, verbose=0),
                               tf.keras.models.load_model(str(model_path)).predict(x, verbose=0))


@pytest.mark.slow
def test_eager_mode_trains_like_function_mode(tmp_path, capsys):
    _fashion_mnist_or_skip()
    runs = {}
    for mode in ([], ["--eager"]):
        runs[bool(mode)] = train.train(train.parse_args(
            ["--limit", "256", "--epochs", "1", "--dataset", "fashion_mnist", "--seed", "3",
             "--out", str(tmp_path / str(bool(mode)))] + mode))["results"]
    assert "eager steps" in capsys.readouterr().out
    # Same seed, same data order and initial weights: the two modes compute the same steps.
    assert runs[True]["loss"] == pytest.approx(runs[False]["loss"], rel=1e-3)
