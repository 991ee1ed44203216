"""A text classifier trained from text files with TextVectorization.

The example writes its own corpus: short reviews made from a positive and a negative
word list (plus neutral filler words and some label noise), one review per line in
`pos.txt` / `neg.txt` under a temporary folder. It reads them back with
`tf.data.TextLineDataset`, adapts a `TextVectorization` layer to the training text,
trains an Embedding + pooling classifier on the integer sequences for a few epochs,
then saves the whole model (vocabulary included) in the .keras format, reloads it and
classifies raw strings with it.

    python examples/text_classifier.py [--lines 300] [--epochs 5]
"""
from __future__ import annotations

import argparse
import os
import random
import tempfile

import numpy as np

import tapeflow as tf

POSITIVE = ["great", "wonderful", "excellent", "loved", "superb", "delightful", "fun",
            "brilliant", "charming", "moving"]
NEGATIVE = ["awful", "boring", "terrible", "hated", "dull", "poor", "bad", "weak",
            "tedious", "messy"]
FILLER = ["the", "film", "was", "a", "plot", "actors", "story", "really", "quite", "and",
          "with", "it", "music", "ending", "this", "movie"]


def write_corpus(folder: str, lines: int, seed: int = 0) -> list:
    """Writes `lines` reviews per class into folder/pos.txt and folder/neg.txt."""
    rng = random.Random(seed)
    paths = []
    for name, words, other in (("pos", POSITIVE, NEGATIVE), ("neg", NEGATIVE, POSITIVE)):
        path = os.path.join(folder, f"{name}.txt")
        with open(path, "w", encoding="utf-8") as f:
            for _ in range(lines):
                text = rng.choices(FILLER, k=rng.randint(4, 9)) + rng.choices(words, k=2)
                if rng.random() < 0.2:          # some reviews are mixed
                    text.append(rng.choice(other))
                rng.shuffle(text)
                text[0] = text[0].capitalize()
                f.write(" ".join(text) + rng.choice([".", "!", "..."]) + "\n")
        paths.append(path)
    return paths


def labelled_lines(paths):
    """(text, label) pairs: 1 for lines of pos.txt, 0 for neg.txt."""
    pos = tf.data.TextLineDataset(paths[0]).map(lambda s: (s, tf.constant(1)))
    neg = tf.data.TextLineDataset(paths[1]).map(lambda s: (s, tf.constant(0)))
    return pos.concatenate(neg)


def build_model(vectorizer, vocab_size: int):
    inputs = tf.keras.Input(shape=(1,), dtype="string")
    x = vectorizer(inputs)
    x = tf.keras.layers.Embedding(vocab_size, 16)(x)
    x = tf.keras.layers.GlobalAveragePooling1D()(x)
    x = tf.keras.layers.Dense(16, activation="relu")(x)
    outputs = tf.keras.layers.Dense(1, activation="sigmoid")(x)
    return tf.keras.Model(inputs, outputs)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=300, help="reviews per class")
    parser.add_argument("--epochs", type=int, default=5)
    args = parser.parse_args(argv)
    tf.keras.utils.set_random_seed(0)
    folder = tempfile.mkdtemp(prefix="text_classifier_")
    paths = write_corpus(folder, args.lines)

    data = labelled_lines(paths).shuffle(2 * args.lines, seed=0)
    n_train = int(1.6 * args.lines)
    train = data.take(n_train).batch(32)
    test = data.skip(n_train).batch(64)

    vectorizer = tf.keras.layers.TextVectorization(max_tokens=200, output_sequence_length=12)
    vectorizer.adapt(train.map(lambda text, label: text))
    print("vocabulary:", len(vectorizer.get_vocabulary()), "tokens, first:",
          vectorizer.get_vocabulary()[:6])

    model = build_model(vectorizer, 200)
    model.compile(optimizer=tf.keras.optimizers.Adam(0.01), loss="binary_crossentropy",
                  metrics=["accuracy"])
    as_column = lambda text, label: (tf.reshape(text, [-1, 1]), label)  # noqa: E731
    history = model.fit(train.map(as_column), epochs=args.epochs, verbose=0)
    loss, accuracy = model.evaluate(test.map(as_column), verbose=0)
    print(f"train loss {history.history['loss'][0]:.3f} -> {history.history['loss'][-1]:.3f}")
    print(f"test accuracy {accuracy:.3f}")

    path = os.path.join(folder, "text_classifier.keras")
    model.save(path)
    reloaded = tf.keras.models.load_model(path)
    reviews = tf.constant([["A wonderful and moving film!"], ["Boring, dull and terrible."]])
    scores = reloaded.predict(reviews, verbose=0)[:, 0]
    np.testing.assert_allclose(scores, model.predict(reviews, verbose=0)[:, 0], rtol=1e-5)
    for text, score in zip(reviews.numpy()[:, 0], scores):
        print(f"{score:.2f}  {text.decode()}")
    return accuracy


if __name__ == "__main__":
    main()
