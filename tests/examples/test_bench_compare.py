"""bench/compare.py and bench/workloads.py: the frameworks run the same model; the verdicts."""
import os
import sys

import numpy as np
import pytest

BENCH = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "bench")
sys.path.insert(0, BENCH)

import compare  # noqa: E402  (found through the sys.path entry above)
import workloads  # noqa: E402


def test_tapeflow_and_pytorch_start_from_the_same_network():
    torch = pytest.importorskip("torch")
    import tapeflow as tf
    x, y = workloads.synthetic_batch(4, seed=1)
    keras_loop = workloads.KerasSeedLoop(tf, use_function=False)
    torch_loop = workloads.TorchSeedLoop()
    want = keras_loop.model(tf.constant(x)).numpy()
    with torch.no_grad():
        logits = torch_loop.model(torch_loop.batch(x, y)[0])
    # Same weights (kernels transposed, the flatten order permuted): same predictions.
    np.testing.assert_allclose(torch.softmax(logits, 1).numpy(), want, rtol=1e-4, atol=1e-6)


def _table(rows):
    t = compare.Table()
    for workload, fw, value, unit, hib in rows:
        t.add(workload, fw, [value], unit, hib)
    return t


def test_targets_report_met_and_missed_with_the_numbers():
    t = _table([
        ("train step, function, batch 32", "tapeflow", 1000.0, "img/s", True),
        ("train step, function, batch 32", "tensorflow", 630.0, "img/s", True),
        ("train step, eager, batch 32", "tapeflow", 600.0, "img/s", True),
        ("train step, eager, batch 32", "tensorflow", 315.0, "img/s", True),
        ("train step, eager, batch 32", "pytorch", 730.0, "img/s", True),
        ("seed epoch, 60000 img: peak RSS", "tapeflow", 900.0, "MiB", False),
        ("seed epoch, 60000 img: peak RSS", "tensorflow", 800.0, "MiB", False),
    ])
    lines = compare.targets(t)
    assert lines[0].startswith("MET ") and "PyTorch eager 730" in lines[0] and "1.37x" in lines[0]
    assert lines[1].startswith("MISS") and "600 vs 630" in lines[1]
    assert lines[2].startswith("MISS") and "900 vs 800 MiB" in lines[2]


def test_speed_up_column_is_tapeflow_relative_in_both_directions():
    t = _table([("step", "tapeflow", 200.0, "img/s", True),
                ("step", "tensorflow", 100.0, "img/s", True),
                ("rss", "tapeflow", 50.0, "MiB", False),
                ("rss", "tensorflow", 100.0, "MiB", False)])
    text = "\n".join(t.lines())
    # tapeflow twice as fast, and half the memory: both read as 2.00x in its favour.
    assert text.count("2.00x") == 2 and text.count("1.00x") == 2
    assert t.lines(markdown=True)[0].startswith("| workload |")


def test_targets_cover_batch_128_the_epoch_and_memory_at_0_6x():
    t = _table([
        ("train step, function, batch 128", "tapeflow", 2000.0, "img/s", True),
        ("train step, function, batch 128", "tensorflow", 1500.0, "img/s", True),
        ("train step, eager, batch 128", "tapeflow", 1600.0, "img/s", True),
        ("seed epoch, 6400 img: train", "tapeflow", 900.0, "img/s", True),
        ("seed epoch, 6400 img: train", "tensorflow", 800.0, "img/s", True),
        ("seed epoch, 6400 img: peak RSS", "tapeflow", 500.0, "MiB", False),
        ("seed epoch, 6400 img: peak RSS", "tensorflow", 800.0, "MiB", False),
    ])
    lines = compare.targets(t, batches=(128,))
    assert lines[0].startswith("MET ") and "(batch 128)" in lines[0] and "1.33x" in lines[0]
    assert lines[1].startswith("MET ") and "1600 vs 1500" in lines[1]
    assert lines[2].startswith("MET ") and "900 vs 800 img/s" in lines[2]
    assert lines[3].startswith("MISS") and "0.62x" in lines[3]


def test_step_flops_count_three_products_per_layer_but_the_first():
    import peak
    per_image = (2 * 2 * 26 * 26 * 9 * 32
                 + 3 * 2 * (24 * 24 * 9 * 32 * 64 + 24 * 24 * 64 * 128 + 128 * 10))
    assert peak.step_flops(32) == 32 * per_image
    assert round(per_image / 1e6, 1) == 92.8


def test_achieved_gflops_rows_follow_the_images_per_second(monkeypatch):
    t = _table([("train step, function, batch 32", "tapeflow", 1000.0, "img/s", True)])
    monkeypatch.setattr(compare, "_run", lambda spec: {"n": 64, "openblas": 100.0,
                                                       "onednn": 200.0})
    notes = compare._against_the_limit(t, ["tapeflow"], [32])
    gflops = t.value("train step GFLOP/s, function, batch 32", "tapeflow")
    assert gflops == pytest.approx(1000.0 * 92.8e6 / 1e9, rel=1e-3)
    assert "oneDNN 200 GFLOP/s" in notes[0] and "46% of that peak" in notes[1]
