"""tapeflow/keras/utils/image_dataset.py and image_utils.py: image_dataset_from_directory
(file order, labels, split as Keras 3) and load_img / img_to_array / array_to_img / save_img."""
import os

import numpy as np
import pytest

import tapeflow as tf

PIL = pytest.importorskip("PIL.Image")
utils = tf.keras.utils


@pytest.fixture
def folder(tmp_path):
    """Three classes of small PNG/JPEG files of varied sizes, one nested, plus a non-image."""
    rng = np.random.default_rng(0)
    for c, name in enumerate(["cat", "dog", "emu"]):
        os.makedirs(tmp_path / name / "more")
        for i in range(5 + c):
            h, w = 6 + i, 8 + 2 * c
            img = rng.integers(0, 256, size=(h, w, 3)).astype(np.uint8)
            ext = "jpg" if i == 2 else "png"
            sub = "more" if i == 4 else ""
            PIL.fromarray(img).save(tmp_path / name / sub / f"img_{9 - i}.{ext}")
        (tmp_path / name / "notes.txt").write_text("not an image")
    return tmp_path


@pytest.fixture
def keras3():
    return pytest.importorskip("keras")


def _arrays(ds):
    xs, ys = zip(*[(x.numpy(), y.numpy()) for x, y in ds])
    return np.concatenate(xs), np.concatenate(ys)


def test_file_order_labels_and_images_match_keras(folder, keras3):
    kwargs = dict(image_size=(7, 9), batch_size=4, shuffle=False)
    mine = utils.image_dataset_from_directory(str(folder), **kwargs)
    theirs = keras3.utils.image_dataset_from_directory(str(folder), verbose=False, **kwargs)
    assert mine.class_names == theirs.class_names == ["cat", "dog", "emu"]
    assert mine.file_paths == theirs.file_paths
    (xm, ym), (xt, yt) = _arrays(mine), _arrays(theirs)
    np.testing.assert_array_equal(ym, yt)
    assert xm.dtype == np.float32 and xm.shape == xt.shape == (18, 7, 9, 3)
    png = np.array([not p.endswith(".jpg") for p in mine.file_paths])
    np.testing.assert_allclose(xm[png], xt[png], atol=1e-3)        # JPEG: TF's fast DCT
    assert np.abs(xm[~png] - xt[~png]).mean() < 3


@pytest.mark.parametrize("subset", ["training", "validation"])
def test_validation_split_matches_keras(folder, keras3, subset):
    kwargs = dict(image_size=(5, 5), validation_split=0.3, subset=subset, seed=42,
                  batch_size=3)
    mine = utils.image_dataset_from_directory(str(folder), **kwargs)
    theirs = keras3.utils.image_dataset_from_directory(str(folder), verbose=False, **kwargs)
    assert mine.file_paths == theirs.file_paths
    assert sorted(_arrays(mine)[1].tolist()) == sorted(_arrays(theirs)[1].tolist())


def test_subset_both_splits_without_overlap(folder):
    train, val = utils.image_dataset_from_directory(str(folder), image_size=(4, 4), seed=1,
                                                    validation_split=0.25, subset="both")
    assert len(train.file_paths) == 14 and len(val.file_paths) == 4
    assert not set(train.file_paths) & set(val.file_paths)


def test_shuffle_is_reproducible_by_seed(folder):
    def labels(seed):
        ds = utils.image_dataset_from_directory(str(folder), image_size=(4, 4), seed=seed,
                                                batch_size=5)
        return _arrays(ds)[1].tolist()
    assert labels(3) == labels(3)
    assert sorted(labels(3)) == [0] * 5 + [1] * 6 + [2] * 7


@pytest.mark.parametrize("mode,shape,dtype", [("int", (4,), np.int32),
                                              ("categorical", (4, 3), np.float32)])
def test_label_modes(folder, mode, shape, dtype):
    ds = utils.image_dataset_from_directory(str(folder), image_size=(4, 4), batch_size=4,
                                            label_mode=mode, shuffle=False)
    _, y = next(iter(ds))
    assert y.shape == shape and y.numpy().dtype == dtype


def test_binary_labels_and_color_modes(folder):
    ds = utils.image_dataset_from_directory(str(folder), image_size=(4, 4), batch_size=4,
                                            label_mode="binary", class_names=["dog", "cat"],
                                            color_mode="grayscale", shuffle=False)
    x, y = next(iter(ds))
    assert x.shape == (4, 4, 4, 1) and y.shape == (4, 1)
    np.testing.assert_array_equal(y.numpy()[:, 0], [0, 0, 0, 0])   # dog comes first
    x = next(iter(utils.image_dataset_from_directory(str(folder), image_size=(4, 4),
                                                     labels=None)))
    assert x.shape[1:] == (4, 4, 3)


@pytest.mark.parametrize("option", ["crop_to_aspect_ratio", "pad_to_aspect_ratio"])
def test_aspect_ratio_options_match_keras(folder, keras3, option):
    kwargs = dict(image_size=(6, 3), batch_size=32, shuffle=False, interpolation="nearest",
                  **{option: True})
    mine = _arrays(utils.image_dataset_from_directory(str(folder), **kwargs))[0]
    theirs = _arrays(keras3.utils.image_dataset_from_directory(str(folder), verbose=False,
                                                               **kwargs))[0]
    png = np.array([not p.endswith(".jpg") for p in
                    utils.image_dataset_from_directory(str(folder), **kwargs).file_paths])
    np.testing.assert_allclose(mine[png], theirs[png], atol=1e-4)


def test_bad_arguments_are_explained(folder):
    with pytest.raises(ValueError, match="must provide a `seed`"):
        utils.image_dataset_from_directory(str(folder), validation_split=0.2,
                                           subset="training")
    with pytest.raises(ValueError, match="exactly 2"):
        utils.image_dataset_from_directory(str(folder), label_mode="binary")
    with pytest.raises(ValueError, match="class_names"):
        utils.image_dataset_from_directory(str(folder), class_names=["cat", "owl"])


def test_a_corrupt_file_names_itself(folder):
    (folder / "cat" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    ds = utils.image_dataset_from_directory(str(folder), image_size=(4, 4), shuffle=False)
    with pytest.raises(tf.errors.InvalidArgumentError, match="broken.png"):
        for _ in ds:
            pass


def test_image_utils_round_trip(tmp_path, rng):
    arr = rng.integers(0, 256, size=(5, 7, 3)).astype(np.float32)
    path = str(tmp_path / "x.png")
    utils.save_img(path, arr, scale=False)
    img = utils.load_img(path)
    assert img.size == (7, 5)
    np.testing.assert_array_equal(utils.img_to_array(img), arr)
    assert utils.img_to_array(utils.load_img(path, color_mode="grayscale")).shape == (5, 7, 1)
    assert utils.load_img(path, target_size=(3, 4)).size == (4, 3)
    scaled = utils.img_to_array(utils.array_to_img(arr / 255.0))
    assert scaled.min() == 0 and scaled.max() == 255


def test_image_utils_match_keras(tmp_path, rng, keras3):
    arr = rng.integers(0, 256, size=(9, 6, 3)).astype(np.uint8)
    path = str(tmp_path / "y.png")
    PIL.fromarray(arr).save(path)
    for kwargs in (dict(), dict(target_size=(4, 5), interpolation="bilinear"),
                   dict(target_size=(4, 5), keep_aspect_ratio=True),
                   dict(color_mode="grayscale")):
        np.testing.assert_array_equal(utils.img_to_array(utils.load_img(path, **kwargs)),
                                      keras3.utils.img_to_array(
                                          keras3.utils.load_img(path, **kwargs)))


def test_verbose_reports_what_it_found(folder, capsys):
    utils.image_dataset_from_directory(str(folder), image_size=(4, 4), seed=1,
                                       validation_split=0.5, subset="training")
    assert capsys.readouterr().out == ("Found 18 files belonging to 3 classes.\n"
                                       "Using 9 files for training.\n")
    utils.image_dataset_from_directory(str(folder), image_size=(4, 4), verbose=False)
    assert capsys.readouterr().out == ""
