"""Line plots to PNG with NumPy only: axes, ticks, tick labels, titles and a legend.

Enough for training curves and benchmark charts; not a general plotting library. Text uses a
built-in 5x7 bitmap font (ASCII letters, digits and common punctuation), drawn at an integer
scale. Lines are stamped discs along each segment, so they have a width and no gaps.

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "curve.png")
    >>> ax = Axes(title="loss", xlabel="epoch")
    >>> ax.plot([0, 1, 2], [1.0, 0.5, 0.4], label="train")
    >>> save_figure(path, [ax])
    >>> from tapeflow.utils.png import read_png
    >>> read_png(path).shape
    (360, 480, 3)
"""
from __future__ import annotations

import math

import numpy as np

from tapeflow.utils.png import write_png

# Rows of each 5-pixel-wide glyph, top to bottom, most significant bit leftmost.
_FONT = {
    "0": (14, 17, 19, 21, 25, 17, 14), "1": (4, 12, 4, 4, 4, 4, 14),
    "2": (14, 17, 1, 2, 4, 8, 31), "3": (31, 2, 4, 2, 1, 17, 14),
    "4": (2, 6, 10, 18, 31, 2, 2), "5": (31, 16, 30, 1, 1, 17, 14),
    "6": (6, 8, 16, 30, 17, 17, 14), "7": (31, 1, 2, 4, 8, 8, 8),
    "8": (14, 17, 17, 14, 17, 17, 14), "9": (14, 17, 17, 15, 1, 2, 12),
    "A": (14, 17, 17, 17, 31, 17, 17), "B": (30, 17, 17, 30, 17, 17, 30),
    "C": (14, 17, 16, 16, 16, 17, 14), "D": (28, 18, 17, 17, 17, 18, 28),
    "E": (31, 16, 16, 30, 16, 16, 31), "F": (31, 16, 16, 30, 16, 16, 16),
    "G": (14, 17, 16, 23, 17, 17, 15), "H": (17, 17, 17, 31, 17, 17, 17),
    "I": (14, 4, 4, 4, 4, 4, 14), "J": (7, 2, 2, 2, 2, 18, 12),
    "K": (17, 18, 20, 24, 20, 18, 17), "L": (16, 16, 16, 16, 16, 16, 31),
    "M": (17, 27, 21, 21, 17, 17, 17), "N": (17, 17, 25, 21, 19, 17, 17),
    "O": (14, 17, 17, 17, 17, 17, 14), "P": (30, 17, 17, 30, 16, 16, 16),
    "Q": (14, 17, 17, 17, 21, 18, 13), "R": (30, 17, 17, 30, 20, 18, 17),
    "S": (15, 16, 16, 14, 1, 1, 30), "T": (31, 4, 4, 4, 4, 4, 4),
    "U": (17, 17, 17, 17, 17, 17, 14), "V": (17, 17, 17, 17, 17, 10, 4),
    "W": (17, 17, 17, 21, 21, 21, 10), "X": (17, 17, 10, 4, 10, 17, 17),
    "Y": (17, 17, 17, 10, 4, 4, 4), "Z": (31, 1, 2, 4, 8, 16, 31),
    "a": (0, 0, 14, 1, 15, 17, 15), "b": (16, 16, 22, 25, 17, 17, 30),
    "c": (0, 0, 14, 16, 16, 17, 14), "d": (1, 1, 13, 19, 17, 17, 15),
    "e": (0, 0, 14, 17, 31, 16, 14), "f": (6, 9, 8, 28, 8, 8, 8),
    "g": (0, 15, 17, 17, 15, 1, 14), "h": (16, 16, 22, 25, 17, 17, 17),
    "i": (4, 0, 12, 4, 4, 4, 14), "j": (2, 0, 6, 2, 2, 18, 12),
    "k": (16, 16, 18, 20, 24, 20, 18), "l": (12, 4, 4, 4, 4, 4, 14),
    "m": (0, 0, 26, 21, 21, 17, 17), "n": (0, 0, 22, 25, 17, 17, 17),
    "o": (0, 0, 14, 17, 17, 17, 14), "p": (0, 0, 30, 17, 30, 16, 16),
    "q": (0, 0, 13, 19, 15, 1, 1), "r": (0, 0, 22, 25, 16, 16, 16),
    "s": (0, 0, 14, 16, 14, 1, 30), "t": (8, 8, 28, 8, 8, 9, 6),
    "u": (0, 0, 17, 17, 17, 19, 13), "v": (0, 0, 17, 17, 17, 10, 4),
    "w": (0, 0, 17, 17, 21, 21, 10), "x": (0, 0, 17, 10, 4, 10, 17),
    "y": (0, 0, 17, 17, 15, 1, 14), "z": (0, 0, 31, 2, 4, 8, 31),
    " ": (0,) * 7, ".": (0, 0, 0, 0, 0, 12, 12), ",": (0, 0, 0, 0, 12, 4, 8),
    "-": (0, 0, 0, 31, 0, 0, 0), "+": (0, 4, 4, 31, 4, 4, 0),
    "%": (24, 25, 2, 4, 8, 19, 3), "(": (2, 4, 8, 8, 8, 4, 2),
    ")": (8, 4, 2, 2, 2, 4, 8), ":": (0, 12, 12, 0, 12, 12, 0),
    "/": (0, 1, 2, 4, 8, 16, 0), "_": (0, 0, 0, 0, 0, 0, 31),
    "=": (0, 0, 31, 0, 31, 0, 0), "[": (14, 8, 8, 8, 8, 8, 14),
    "]": (14, 2, 2, 2, 2, 2, 14), "?": (14, 17, 1, 2, 4, 0, 4),
}
GLYPH_W, GLYPH_H = 5, 7
# A qualitative palette (blue, orange, green, red, purple, brown) readable on white.
PALETTE = ((31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
           (140, 86, 75))
_BITS = {ch: np.array([[(row >> (4 - i)) & 1 for i in range(5)] for row in rows], bool)
         for ch, rows in _FONT.items()}


def text_size(text: str, scale: int = 1) -> tuple[int, int]:
    """(width, height) in pixels of `text` drawn with `draw_text` at `scale`."""
    return max(len(text) * (GLYPH_W + 1) - 1, 0) * scale, GLYPH_H * scale


def draw_text(img: np.ndarray, text: str, x: int, y: int, color=(0, 0, 0), scale: int = 1,
              vertical: bool = False) -> None:
    """Draws `text` with its top-left corner at (x, y); clipped at the image border.

    With `vertical`, the text runs bottom to top starting at (x, y) as its bottom-left.
    """
    for k, ch in enumerate(text):
        glyph = _BITS.get(ch, _BITS["?"])
        if vertical:
            # Rotated 90 degrees counter-clockwise: glyph columns become rows, bottom up.
            glyph = np.rot90(glyph)
        glyph = np.kron(glyph, np.ones((scale, scale), bool))
        if vertical:
            gx, gy = x, y - (k + 1) * (GLYPH_W + 1) * scale + scale
        else:
            gx, gy = x + k * (GLYPH_W + 1) * scale, y
        h, w = glyph.shape
        y0, x0 = max(gy, 0), max(gx, 0)
        y1, x1 = min(gy + h, img.shape[0]), min(gx + w, img.shape[1])
        if y1 <= y0 or x1 <= x0:
            continue
        mask = glyph[y0 - gy:y1 - gy, x0 - gx:x1 - gx]
        img[y0:y1, x0:x1][mask] = color


def draw_polyline(img: np.ndarray, xs, ys, color, width: float = 2.0) -> None:
    """Draws connected segments through pixel coordinates (xs, ys) with round joins."""
    xs, ys = np.asarray(xs, float), np.asarray(ys, float)
    if xs.size == 0:
        return
    # Points every quarter pixel along each segment; each point stamps a disc of the width.
    pts = [np.stack([xs[:1], ys[:1]], 1)]
    for i in range(len(xs) - 1):
        n = max(int(math.hypot(xs[i + 1] - xs[i], ys[i + 1] - ys[i]) * 4), 1)
        t = np.linspace(0.0, 1.0, n + 1)[1:]
        pts.append(np.stack([xs[i] + t * (xs[i + 1] - xs[i]), ys[i] + t * (ys[i + 1] - ys[i])], 1))
    p = np.concatenate(pts)
    r = width / 2.0
    ir = math.ceil(r)
    offs = np.array([(dx, dy) for dx in range(-ir, ir + 1) for dy in range(-ir, ir + 1)
                     if dx * dx + dy * dy <= r * r + 0.25], float)
    px = np.rint(p[:, None, 0] + offs[None, :, 0]).astype(int).ravel()
    py = np.rint(p[:, None, 1] + offs[None, :, 1]).astype(int).ravel()
    keep = (px >= 0) & (px < img.shape[1]) & (py >= 0) & (py < img.shape[0])
    img[py[keep], px[keep]] = color


def nice_ticks(lo: float, hi: float, target: int = 6) -> list[float]:
    """Round tick values (steps of 1, 2 or 5 times a power of ten) covering [lo, hi].

        >>> nice_ticks(0.0, 1.0)
        [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    """
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ValueError(f"nice_ticks needs a finite range, got [{lo}, {hi}]")
    if hi <= lo:
        hi = lo + (abs(lo) * 0.1 or 1.0)
    raw = (hi - lo) / max(target, 1)
    mag = 10.0 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.ceil(lo / step - 1e-9) * step
    ticks, k = [], 0
    while start + k * step <= hi + step * 1e-9:
        ticks.append(round(start + k * step, 12))
        k += 1
    return ticks


def _fmt(v: float, step: float) -> str:
    decimals = max(0, -math.floor(math.log10(step))) if step > 0 else 0
    if step > 0 and abs(round(step, decimals) - step) > step * 1e-6:
        decimals += 1
    return f"{v:.{decimals}f}"


class Axes:
    """One panel: a title, axis labels and any number of labelled line series.

    Args:
        title: drawn above the panel.
        xlabel: drawn under the x axis.
        ylabel: drawn left of the y axis, bottom to top.
        legend: 'upper right', 'lower right', 'upper left', 'lower left' or None.
        xlim: optional fixed (low, high) for the x axis; otherwise the data's range.
        ylim: optional fixed (low, high) for the y axis; otherwise fitted to the data.
    """

    def __init__(self, title: str = "", xlabel: str = "", ylabel: str = "",
                 legend: str | None = "upper right", xlim=None, ylim=None):
        self.title, self.xlabel, self.ylabel = title, xlabel, ylabel
        self.legend, self.xlim, self.ylim = legend, xlim, ylim
        self.series: list[tuple[str, np.ndarray, np.ndarray, tuple, bool]] = []

    def plot(self, x, y, label: str = "", color=None, markers: bool | None = None) -> None:
        """Adds a line through points (x[i], y[i]).

        Markers (small squares at each point) default on when there are few points, so a
        single-point series is still visible.
        """
        x, y = np.asarray(x, float).ravel(), np.asarray(y, float).ravel()
        if x.shape != y.shape:
            raise ValueError(f"plot: x and y differ in length ({x.size} vs {y.size})")
        color = tuple(color) if color is not None else PALETTE[len(self.series) % len(PALETTE)]
        if markers is None:
            markers = x.size <= 30
        self.series.append((label, x, y, color, markers))

    def _limits(self):
        xs = [s[1] for s in self.series if s[1].size]
        ys = [s[2][np.isfinite(s[2])] for s in self.series if s[2].size]
        if not xs:
            return (0.0, 1.0), self.ylim or (0.0, 1.0)
        xlo, xhi = min(float(a.min()) for a in xs), max(float(a.max()) for a in xs)
        if self.xlim is not None:
            xlo, xhi = self.xlim
        if xhi <= xlo:
            xlo, xhi = xlo - 0.5, xhi + 0.5
        if self.ylim is not None:
            return (xlo, xhi), tuple(self.ylim)
        ys = [a for a in ys if a.size]
        if not ys:
            return (xlo, xhi), (0.0, 1.0)
        ylo, yhi = min(float(a.min()) for a in ys), max(float(a.max()) for a in ys)
        pad = (yhi - ylo) * 0.05 or (abs(yhi) * 0.05 or 0.5)
        return (xlo, xhi), (ylo - pad, yhi + pad)

    def render(self, img: np.ndarray, left: int, top: int, width: int, height: int,
               scale: int = 1) -> None:
        """Draws the panel into img[top:top+height, left:left+width]."""
        s = scale
        (xlo, xhi), (ylo, yhi) = self._limits()
        yt = nice_ticks(ylo, yhi)
        xt = nice_ticks(xlo, xhi)
        ylo, yhi = min(ylo, yt[0]), max(yhi, yt[-1])
        ystep = yt[1] - yt[0] if len(yt) > 1 else 1.0
        xstep = xt[1] - xt[0] if len(xt) > 1 else 1.0
        ylabels = [_fmt(v, ystep) for v in yt]
        label_w = max(text_size(t, s)[0] for t in ylabels)
        # Plot area inside the panel, leaving room for title, labels and ticks.
        px0 = left + label_w + (GLYPH_H + 10) * s + 6 * s
        px1 = left + width - 10 * s
        py0 = top + (GLYPH_H * 2 + 10) * s
        py1 = top + height - (GLYPH_H * 2 + 14) * s

        def to_px(x, y):
            fx = (np.asarray(x) - xlo) / (xhi - xlo)
            fy = (np.asarray(y) - ylo) / (yhi - ylo)
            return px0 + fx * (px1 - px0), py1 - fy * (py1 - py0)

        grid, axis = (228, 228, 228), (40, 40, 40)
        for v, t in zip(yt, ylabels):
            _, ty = to_px(xlo, v)
            ty = round(ty)
            img[ty, px0:px1 + 1] = grid
            img[ty, px0 - 4 * s:px0] = axis
            tw, th = text_size(t, s)
            draw_text(img, t, px0 - 6 * s - tw, ty - th // 2, axis, s)
        for v in xt:
            if v < xlo - 1e-9 or v > xhi + 1e-9:
                continue
            tx, _ = to_px(v, ylo)
            tx = round(tx)
            img[py0:py1 + 1, tx] = grid
            img[py1:py1 + 4 * s, tx] = axis
            t = _fmt(v, xstep)
            tw, _ = text_size(t, s)
            draw_text(img, t, tx - tw // 2, py1 + 6 * s, axis, s)
        img[py0:py1 + 1, px0] = axis
        img[py0:py1 + 1, px1] = axis
        img[py0, px0:px1 + 1] = axis
        img[py1, px0:px1 + 1] = axis
        if self.title:
            tw, _ = text_size(self.title, 2 * s)
            draw_text(img, self.title, (px0 + px1 - tw) // 2, top + 4 * s, (0, 0, 0), 2 * s)
        if self.xlabel:
            tw, _ = text_size(self.xlabel, s)
            draw_text(img, self.xlabel, (px0 + px1 - tw) // 2, py1 + (GLYPH_H + 10) * s, axis, s)
        if self.ylabel:
            tw, _ = text_size(self.ylabel, s)
            draw_text(img, self.ylabel, left + 2 * s, (py0 + py1 + tw) // 2, axis, s,
                      vertical=True)
        # Clip the series to the plot area by drawing into a view of it.
        area = img[py0 + 1:py1, px0 + 1:px1]
        for _, x, y, color, markers in self.series:
            ok = np.isfinite(y)
            qx, qy = to_px(x[ok], y[ok])
            draw_polyline(area, qx - px0 - 1, qy - py0 - 1, color, width=2.0 * s)
            if markers:
                for mx, my in zip(qx - px0 - 1, qy - py0 - 1):
                    mx, my = round(mx), round(my)
                    area[max(my - 3 * s, 0):max(my + 3 * s + 1, 0),
                         max(mx - 3 * s, 0):max(mx + 3 * s + 1, 0)] = color
        self._render_legend(img, px0, py0, px1, py1, s)

    def _render_legend(self, img, px0, py0, px1, py1, s):
        labelled = [(lab, c) for lab, _, _, c, _ in self.series if lab]
        if not self.legend or not labelled:
            return
        tw = max(text_size(lab, s)[0] for lab, _ in labelled)
        row = (GLYPH_H + 6) * s
        bw, bh = tw + 30 * s, row * len(labelled) + 6 * s
        bx = px1 - bw - 6 * s if "right" in self.legend else px0 + 6 * s
        by = py0 + 6 * s if "upper" in self.legend else py1 - bh - 6 * s
        img[by:by + bh, bx:bx + bw] = (255, 255, 255)
        img[by, bx:bx + bw] = img[by + bh - 1, bx:bx + bw] = (160, 160, 160)
        img[by:by + bh, bx] = img[by:by + bh, bx + bw - 1] = (160, 160, 160)
        for i, (lab, color) in enumerate(labelled):
            cy = by + 6 * s + i * row + GLYPH_H * s // 2
            img[cy - s:cy + s + 1, bx + 5 * s:bx + 20 * s] = color
            draw_text(img, lab, bx + 24 * s, cy - GLYPH_H * s // 2, (0, 0, 0), s)


def render_figure(panels: list[Axes], panel_size=(480, 360), scale: int = 1,
                  ncols: int | None = None) -> np.ndarray:
    """Renders panels left to right (wrapping after `ncols`) into an (H, W, 3) uint8 image."""
    ncols = ncols or len(panels)
    nrows = -(-len(panels) // ncols)
    pw, ph = panel_size[0] * scale, panel_size[1] * scale
    img = np.full((nrows * ph, ncols * pw, 3), 255, dtype=np.uint8)
    for i, ax in enumerate(panels):
        r, c = divmod(i, ncols)
        ax.render(img, c * pw, r * ph, pw, ph, scale)
    return img


def save_figure(path: str, panels: list[Axes], panel_size=(480, 360), scale: int = 1,
                ncols: int | None = None) -> None:
    """Renders panels (see `render_figure`) and writes them to `path` as a PNG."""
    write_png(path, render_figure(panels, panel_size, scale, ncols))


def plot_training_curves(path: str, history: dict, title_prefix: str = "") -> None:
    """Writes a two-panel PNG (loss, accuracy) of train and test curves.

    Args:
        path: where to write the PNG.
        history: {"train": {"x": [...], "loss": [...], "accuracy": [...]},
            "test": {"x": [...], "loss": [...], "accuracy": [...]}}; x in epochs (may be
            fractional for curves sampled within an epoch); accuracy as fractions in [0, 1].
        title_prefix: put before each panel title (e.g. the dataset's name).
    """
    xs = [np.asarray(h["x"], float) for h in history.values() if h and len(h.get("x", ()))]
    # Epoch axes start at 0 so a one-epoch run still reads as "the first epoch".
    xlim = (0.0, max(float(x.max()) for x in xs)) if xs else None
    loss = Axes(title=f"{title_prefix}loss", xlabel="epoch", ylabel="loss",
                legend="upper right", xlim=xlim)
    acc = Axes(title=f"{title_prefix}accuracy", xlabel="epoch", ylabel="accuracy (%)",
               legend="lower right", xlim=xlim)
    for name, color in (("train", PALETTE[0]), ("test", PALETTE[1])):
        h = history.get(name)
        if not h or not len(h.get("x", ())):
            continue
        loss.plot(h["x"], h["loss"], label=name, color=color)
        acc.plot(h["x"], np.asarray(h["accuracy"], float) * 100.0, label=name, color=color)
    save_figure(path, [loss, acc], panel_size=(480, 360), scale=2)
