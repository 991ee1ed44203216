"""tapeflow/keras/layers/image_preprocessing.py: Resizing, CenterCrop and the random
augmentation layers (Keras 3 semantics)."""
import numpy as np
import pytest

import tapeflow as tf

L = tf.keras.layers
RANDOM_LAYERS = {
    "flip": lambda seed: L.RandomFlip(seed=seed),
    "rotation": lambda seed: L.RandomRotation(0.2, seed=seed),
    "zoom": lambda seed: L.RandomZoom((-0.3, 0.2), seed=seed),
    "translation": lambda seed: L.RandomTranslation(0.2, 0.3, fill_mode="constant", seed=seed),
    "contrast": lambda seed: L.RandomContrast(0.5, seed=seed),
    "brightness": lambda seed: L.RandomBrightness(0.2, seed=seed),
    "crop": lambda seed: L.RandomCrop(5, 6, seed=seed),
}


@pytest.fixture
def images(rng):
    return rng.uniform(0, 255, size=(3, 8, 10, 3)).astype(np.float32)


@pytest.fixture
def keras3():
    return pytest.importorskip("keras")


@pytest.mark.parametrize("kwargs", [
    dict(height=5, width=4), dict(height=12, width=20, interpolation="nearest"),
    dict(height=5, width=4, crop_to_aspect_ratio=True),
    dict(height=6, width=4, pad_to_aspect_ratio=True),
    dict(height=5, width=7, interpolation="bicubic", antialias=True),
    dict(height=5, width=7, interpolation="area")])
def test_resizing_matches_keras(images, keras3, kwargs):
    mine = L.Resizing(**kwargs)(images).numpy()
    theirs = np.asarray(keras3.layers.Resizing(**kwargs)(images))
    np.testing.assert_allclose(mine, theirs, atol=2e-4)


@pytest.mark.parametrize("size", [(5, 4), (8, 10), (12, 6), (20, 30)])
def test_center_crop_matches_keras(images, keras3, size):
    mine = L.CenterCrop(*size)(images).numpy()
    np.testing.assert_allclose(mine, np.asarray(keras3.layers.CenterCrop(*size)(images)),
                               atol=2e-4)
    np.testing.assert_allclose(L.CenterCrop(*size)(images[0]).numpy(), mine[0], atol=1e-5)


@pytest.mark.parametrize("size", [(12, 20), (8, 10), (3, 10)])
def test_random_crop_of_a_not_larger_image_matches_keras(images, keras3, size):
    mine = L.RandomCrop(*size)(images).numpy()
    np.testing.assert_allclose(mine, np.asarray(keras3.layers.RandomCrop(*size)(images)),
                               atol=2e-4)


@pytest.mark.parametrize("name", sorted(RANDOM_LAYERS))
def test_random_layers_keep_shapes_and_are_reproducible_by_seed(images, name):
    a = RANDOM_LAYERS[name](7)(images, training=True).numpy()
    b = RANDOM_LAYERS[name](7)(images, training=True).numpy()
    np.testing.assert_array_equal(a, b)
    expected = (3, 5, 6, 3) if name == "crop" else images.shape
    assert a.shape == expected and a.dtype == np.float32
    assert not np.array_equal(a, RANDOM_LAYERS[name](8)(images, training=True).numpy())
    single = RANDOM_LAYERS[name](7)(images[0], training=True)
    assert single.shape == expected[1:]


@pytest.mark.parametrize("name", sorted(RANDOM_LAYERS))
def test_random_layers_pass_through_at_inference(images, name):
    np.testing.assert_array_equal(RANDOM_LAYERS[name](1)(images, training=False).numpy(),
                                  images)


def test_random_layers_augment_on_a_direct_call_as_keras3(images):
    assert not np.array_equal(L.RandomFlip("horizontal", seed=3)(images).numpy(), images)


def test_random_values_stay_in_range(images):
    out = L.RandomBrightness(0.5, seed=1)(images, training=True).numpy()
    assert out.min() >= 0 and out.max() <= 255
    out = L.RandomContrast(0.9, seed=1)(images, training=True).numpy()
    assert out.min() >= 0 and out.max() <= 255
    for img, src in zip(L.RandomFlip(seed=2)(images, training=True).numpy(), images):
        assert any(np.array_equal(img, f) for f in (src, src[::-1], src[:, ::-1],
                                                   src[::-1, ::-1]))


def test_affine_layers_at_exact_parameters(images):
    img = images[:1]
    half_turn = L.RandomRotation((0.5, 0.5), seed=0)(img, training=True).numpy()
    np.testing.assert_allclose(half_turn[0], img[0, ::-1, ::-1], atol=1e-3)
    np.testing.assert_allclose(L.RandomZoom((0.0, 0.0), seed=0)(img, training=True).numpy(),
                               img, atol=1e-4)
    moved = L.RandomTranslation((0.25, 0.25), (0.0, 0.0), fill_mode="constant",
                                seed=0)(img, training=True).numpy()   # 2 rows down
    np.testing.assert_allclose(moved[0, 2:], img[0, :-2], atol=1e-4)
    np.testing.assert_array_equal(moved[0, :2], 0.0)


@pytest.mark.parametrize("name", sorted(RANDOM_LAYERS))
def test_get_config_round_trips(name):
    layer = RANDOM_LAYERS[name](5)
    clone = type(layer).from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()


def test_layers_in_a_model_save_load_and_predict_without_augmenting(images, tmp_path):
    model = tf.keras.Sequential([
        tf.keras.Input((8, 10, 3)), L.Resizing(6, 8), L.RandomFlip(seed=1),
        L.RandomRotation(0.1, seed=2), L.RandomZoom(0.1, seed=3),
        L.RandomTranslation(0.1, 0.1, seed=4), L.RandomContrast(0.2, seed=5),
        L.RandomBrightness(0.1, seed=6), L.RandomCrop(5, 7, seed=7), L.CenterCrop(4, 6),
        L.Flatten(), L.Dense(2)])
    expected = model.predict(images, verbose=0)
    path = str(tmp_path / "aug.keras")
    model.save(path)
    loaded = tf.keras.models.load_model(path)
    assert [type(a).__name__ for a in loaded.layers] == [type(a).__name__ for a in model.layers]
    np.testing.assert_allclose(loaded.predict(images, verbose=0), expected, rtol=1e-5,
                               atol=1e-5)


def test_model_fits_with_augmentation(images):
    model = tf.keras.Sequential([tf.keras.Input((8, 10, 3)), L.RandomFlip(seed=1),
                                 L.RandomRotation(0.05, seed=2), L.Flatten(), L.Dense(2)])
    model.compile("adam", "sparse_categorical_crossentropy")
    history = model.fit(images, np.array([0, 1, 0]), epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()


def test_layers_work_in_dataset_map(images):
    flip = L.RandomFlip("horizontal", seed=1)
    ds = tf.data.Dataset.from_tensor_slices(images).batch(2).map(
        lambda x: flip(L.Resizing(4, 5)(x), training=True))
    shapes = [tuple(b.shape) for b in ds]
    assert shapes == [(2, 4, 5, 3), (1, 4, 5, 3)]


def test_bad_arguments_are_explained():
    with pytest.raises(ValueError, match="mode must be one of"):
        L.RandomFlip("diagonal")
    with pytest.raises(ValueError, match="fill_mode"):
        L.RandomRotation(0.1, fill_mode="mirror")
    with pytest.raises(ValueError, match=r"factor must be in \[0, 1\]"):
        L.RandomContrast(1.5)


def test_keras3_files_with_these_layers_load_and_the_reverse(images, keras3, tmp_path):
    K = keras3.layers
    theirs = keras3.Sequential([
        keras3.Input((8, 10, 3)), K.Resizing(6, 8), K.RandomFlip(seed=1),
        K.RandomRotation(0.1, seed=2), K.RandomZoom(0.1, seed=3),
        K.RandomTranslation(0.1, 0.1, seed=4), K.RandomContrast(0.2, seed=5),
        K.RandomBrightness(0.1, seed=6), K.RandomCrop(5, 7, seed=7), K.CenterCrop(4, 6),
        K.Flatten(), K.Dense(2)])
    want = theirs.predict(images, verbose=0)
    theirs.save(str(tmp_path / "k.keras"))
    mine = tf.keras.models.load_model(str(tmp_path / "k.keras"))
    np.testing.assert_allclose(mine.predict(images, verbose=0), want, rtol=1e-4, atol=5e-4)
    mine.save(str(tmp_path / "t.keras"))
    again = keras3.models.load_model(str(tmp_path / "t.keras"))
    np.testing.assert_allclose(again.predict(images, verbose=0), want, rtol=1e-5, atol=1e-5)
