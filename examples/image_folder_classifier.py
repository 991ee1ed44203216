"""An image classifier trained from a folder of PNG files, with tapeflow.

Writes a few hundred Fashion-MNIST images as PNG files into ten class folders (the
layout `image_dataset_from_directory` reads), loads them back as batched training and
validation datasets, and trains a small CNN with augmentation layers (RandomFlip,
RandomTranslation, RandomZoom), `prefetch` and `fit`; then prints the validation
accuracy and the prediction for one file read with `load_img`.

    python examples/image_folder_classifier.py                  # 60 images per class
    python examples/image_folder_classifier.py --per-class 30 --epochs 3 --out /tmp/fm
"""
import argparse
import os
import tempfile
import time

import numpy as np

import tapeflow as tf

CLASSES = ["t_shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker",
           "bag", "ankle_boot"]


def write_png_folder(root, per_class):
    """root/<class>/<n>.png for the first `per_class` training images of each class."""
    (x, y), _ = tf.keras.datasets.fashion_mnist.load_data()
    for label, name in enumerate(CLASSES):
        os.makedirs(os.path.join(root, name), exist_ok=True)
        for n, i in enumerate(np.flatnonzero(y == label)[:per_class]):
            png = tf.io.encode_png(x[i][..., None])          # [28, 28, 1] uint8
            data = png.numpy() if hasattr(png, "numpy") else png
            with open(os.path.join(root, name, f"{n:04d}.png"), "wb") as f:
                f.write(data)
    return len(CLASSES) * per_class


def make_model():
    return tf.keras.Sequential([
        tf.keras.Input((28, 28, 1)),
        tf.keras.layers.Rescaling(1.0 / 255),
        tf.keras.layers.RandomFlip("horizontal", seed=1),
        tf.keras.layers.RandomTranslation(0.05, 0.05, seed=2),
        tf.keras.layers.RandomZoom(0.05, seed=3),
        tf.keras.layers.Conv2D(16, 3, activation="relu"),
        tf.keras.layers.MaxPooling2D(),
        tf.keras.layers.Conv2D(32, 3, activation="relu"),
        tf.keras.layers.MaxPooling2D(),
        tf.keras.layers.Flatten(),
        tf.keras.layers.Dense(64, activation="relu"),
        tf.keras.layers.Dense(len(CLASSES)),
    ])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-class", type=int, default=60)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--out", default=None, help="folder for the PNG files (default: temp)")
    args = parser.parse_args(argv)
    if args.out:
        run(args.out, args.per_class, args.epochs)
    else:
        with tempfile.TemporaryDirectory(prefix="fashion_png_") as root:
            run(root, args.per_class, args.epochs)


def run(root, per_class, epochs):
    tf.keras.utils.set_random_seed(0)
    start = time.time()
    n = write_png_folder(root, per_class)
    print(f"wrote {n} PNG files to {root} in {time.time() - start:.1f}s")

    train, val = tf.keras.utils.image_dataset_from_directory(
        root, image_size=(28, 28), color_mode="grayscale", batch_size=32, seed=7,
        validation_split=0.2, subset="both")
    class_names = train.class_names
    print("classes:", class_names)
    train, val = train.prefetch(tf.data.AUTOTUNE), val.prefetch(tf.data.AUTOTUNE)

    model = make_model()
    model.compile(optimizer=tf.keras.optimizers.Adam(2e-3),
                  loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    start = time.time()
    model.fit(train, epochs=epochs, verbose=2)
    loss, accuracy = model.evaluate(val, verbose=0)
    print(f"trained in {time.time() - start:.1f}s; validation loss {loss:.4f}, "
          f"validation accuracy {accuracy:.4f}")

    path = os.path.join(root, CLASSES[1], "0000.png")
    img = tf.keras.utils.img_to_array(tf.keras.utils.load_img(path, color_mode="grayscale"))
    logits = model.predict(img[None], verbose=0)
    # Class folders are indexed in sorted order (as Keras): map through class_names.
    print(f"{os.path.relpath(path, root)} -> {class_names[int(np.argmax(logits))]}")


if __name__ == "__main__":
    main()
