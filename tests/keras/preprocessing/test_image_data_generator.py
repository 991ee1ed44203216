"""keras.preprocessing.image.ImageDataGenerator: transforms, standardization, iterators."""
import os

import numpy as np
import pytest

from tapeflow import keras

image = keras.preprocessing.image
IMG = np.arange(5 * 6 * 2, dtype=np.float32).reshape(5, 6, 2)


def test_rescale_and_samplewise_standardization():
    gen = image.ImageDataGenerator(rescale=0.5, samplewise_center=True,
                                   samplewise_std_normalization=True)
    out = gen.standardize(IMG.copy())
    assert abs(out.mean()) < 1e-6 and out.std() == pytest.approx(1.0, rel=1e-4)


def test_featurewise_statistics_come_from_fit():
    gen = image.ImageDataGenerator(featurewise_center=True, featurewise_std_normalization=True)
    with pytest.raises(ValueError, match="fit"):
        gen.standardize(IMG.copy())
    batch = np.stack([IMG, IMG * 2])
    gen.fit(batch)
    np.testing.assert_allclose(gen.mean.ravel(), batch.mean(axis=(0, 1, 2)), rtol=1e-6)
    out = np.stack([gen.standardize(b) for b in batch])
    np.testing.assert_allclose(out.mean(axis=(0, 1, 2)), 0, atol=1e-4)


@pytest.mark.parametrize("params, expected", [
    ({"flip_horizontal": True}, IMG[:, ::-1]), ({"flip_vertical": True}, IMG[::-1]),
    ({"tx": 1.0, "ty": 2.0}, None)])
def test_apply_transform_flips_and_shifts(params, expected):
    gen = image.ImageDataGenerator(fill_mode="constant", cval=-1.0)
    out = gen.apply_transform(IMG, params)
    if expected is None:        # output pixel (r, c) reads source (r + 1, c + 2)
        np.testing.assert_allclose(out[:-1, :-2], IMG[1:, 2:], atol=1e-5)
        assert (out[-1] == -1).all() and (out[:, -2:] == -1).all()
    else:
        np.testing.assert_array_equal(out, expected)


def test_rotation_by_a_right_angle_about_the_centre_of_a_square_image():
    img = np.arange(16, dtype=np.float32).reshape(4, 4, 1)
    out = image.apply_affine_transform(img, theta=90, fill_mode="constant", cval=-1.0)
    # Keras's centre is (h/2 + 0.5): a quarter turn maps the grid onto itself shifted by one.
    assert out.shape == img.shape and np.isin(out[out != -1], img).all()


def test_random_transform_is_reproducible_with_a_seed():
    gen = image.ImageDataGenerator(rotation_range=30, zoom_range=0.2, width_shift_range=0.1,
                                   horizontal_flip=True)
    np.testing.assert_array_equal(gen.random_transform(IMG, seed=3),
                                  gen.random_transform(IMG, seed=3))
    assert gen.get_random_transform(IMG.shape, seed=3)["theta"] != 0


def test_flow_batches_cover_the_data_once_per_epoch_with_labels_kept():
    x = np.stack([np.full((2, 2, 1), i, np.float32) for i in range(10)])
    it = image.ImageDataGenerator().flow(x, np.arange(10), batch_size=4, seed=1)
    assert len(it) == 3
    batches = [next(it) for _ in range(3)]
    assert [len(b[1]) for b in batches] == [4, 4, 2]
    labels = np.concatenate([b[1] for b in batches])
    assert sorted(labels.tolist()) == list(range(10))
    for bx, by in batches:
        np.testing.assert_array_equal(bx[:, 0, 0, 0], by)


def test_flow_subsets_split_off_the_first_fraction_for_validation():
    gen = image.ImageDataGenerator(validation_split=0.25)
    x = np.zeros((8, 2, 2, 1), np.float32)
    val = gen.flow(x, np.arange(8), shuffle=False, subset="validation", batch_size=8)
    train = gen.flow(x, np.arange(8), shuffle=False, subset="training", batch_size=8)
    assert next(val)[1].tolist() == [0, 1] and next(train)[1].tolist() == list(range(2, 8))


def _write_images(root):
    from PIL import Image
    for cls, n in (("cats", 3), ("dogs", 2)):
        os.makedirs(root / cls)
        for i in range(n):
            Image.fromarray(np.full((8, 6, 3), 40 * i, np.uint8)).save(root / cls / f"{i}.png")
    (root / "cats" / "notes.txt").write_text("not an image")


def test_flow_from_directory_lists_classes_and_files_as_keras(tmp_path, real_tf):
    pytest.importorskip("PIL")
    _write_images(tmp_path)
    ours = image.ImageDataGenerator(rescale=1 / 255).flow_from_directory(
        str(tmp_path), target_size=(4, 4), batch_size=5, shuffle=False)
    theirs = real_tf.keras.preprocessing.image.ImageDataGenerator(
        rescale=1 / 255).flow_from_directory(str(tmp_path), target_size=(4, 4), batch_size=5,
                                             shuffle=False)
    assert ours.class_indices == theirs.class_indices
    assert ours.filenames == theirs.filenames
    np.testing.assert_array_equal(ours.classes, theirs.classes)
    (ox, oy), (tx, ty) = ours[0], theirs[0]
    assert ox.shape == tx.shape == (5, 4, 4, 3)
    np.testing.assert_allclose(ox, tx, atol=1e-6)
    np.testing.assert_array_equal(oy, ty)


def test_zca_whitening_is_refused_clearly():
    with pytest.raises(NotImplementedError, match="zca_whitening"):
        image.ImageDataGenerator(zca_whitening=True)


def test_saving_augmented_images_is_refused_clearly(tmp_path):
    with pytest.raises(NotImplementedError, match="save_to_dir"):
        image.ImageDataGenerator().flow(np.zeros((1, 2, 2, 1)), save_to_dir=str(tmp_path))
