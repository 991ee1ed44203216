"""tapeflow.utils.plot: ticks, text and lines land where they should."""
import numpy as np
import pytest

from tapeflow.utils.plot import (
    PALETTE,
    Axes,
    draw_polyline,
    draw_text,
    nice_ticks,
    plot_training_curves,
    render_figure,
    text_size,
)
from tapeflow.utils.png import read_png


@pytest.mark.parametrize("lo,hi,expected", [
    (0.0, 1.0, [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]),
    (72.0, 91.0, [75.0, 80.0, 85.0, 90.0]),
    (0.27, 0.83, [0.3, 0.4, 0.5, 0.6, 0.7, 0.8]),
    (0.0, 2.0, [0.0, 0.5, 1.0, 1.5, 2.0]),
])
def test_nice_ticks_are_round_and_inside_the_range(lo, hi, expected):
    assert nice_ticks(lo, hi) == pytest.approx(expected)


def test_nice_ticks_of_an_empty_range_still_gives_a_tick():
    assert len(nice_ticks(3.0, 3.0)) >= 1


def test_nice_ticks_rejects_non_finite_ranges():
    with pytest.raises(ValueError, match="finite"):
        nice_ticks(0.0, float("nan"))


def test_text_is_drawn_with_the_glyph_bitmaps():
    img = np.full((9, 20, 3), 255, np.uint8)
    draw_text(img, "1", 1, 1)
    ink = (img[..., 0] == 0)
    # '1' is 5x7 with a 3-pixel-wide base on its last row.
    assert ink[1:8, 1:6].sum() == 10 and ink[7, 2:5].all()
    assert text_size("ab", 2) == (22, 14)


def test_polyline_covers_the_segment_and_stays_in_bounds():
    img = np.zeros((10, 10, 3), np.uint8)
    draw_polyline(img, [-5, 15], [5, 5], (255, 0, 0), width=1.0)
    assert (img[5, :, 0] == 255).all() and (img[0, :, 0] == 0).all()


def test_series_are_drawn_in_their_colours():
    ax = Axes(title="t", xlabel="x", ylabel="y")
    ax.plot([0, 1, 2], [0.0, 1.0, 0.5], label="a")
    ax.plot([0, 2], [1.0, 0.0], label="b", color=(0, 200, 0))
    img = render_figure([ax], panel_size=(200, 150))
    assert img.shape == (150, 200, 3)
    assert _has_colour(img, PALETTE[0]) and _has_colour(img, (0, 200, 0))


def _has_colour(img, colour):
    return bool((img == np.array(colour, np.uint8)).all(axis=-1).any())


def test_mismatched_series_lengths_are_rejected():
    with pytest.raises(ValueError, match="differ in length"):
        Axes().plot([0, 1], [1.0])


def test_training_curves_png_has_two_panels(tmp_path):
    path = str(tmp_path / "c.png")
    hist = {"train": {"x": [0.5, 1.0], "loss": [0.9, 0.6], "accuracy": [0.7, 0.8]},
            "test": {"x": [1], "loss": [0.55], "accuracy": [0.82]}}
    plot_training_curves(path, hist, "Fashion-MNIST ")
    img = read_png(path)
    assert img.shape == (720, 1920, 3)
    # Both panels show the train (blue) and test (orange) colours.
    for half in (img[:, :960], img[:, 960:]):
        assert _has_colour(half, PALETTE[0]) and _has_colour(half, PALETTE[1])
