"""A GAN on Fashion-MNIST trained with two GradientTapes, with tapeflow.

The application seed 004 names: a generator and a discriminator, each with its own loss,
tape and optimizer, updated together in one `tf.function` step (the pattern of TensorFlow's
DCGAN tutorial, with small dense networks so it trains in a couple of minutes on a CPU).
Writes a PNG grid of generated samples after every epoch (from the same fixed noise, so the
grids show the generator learning) and a plot of both losses.

    python examples/gan_fashion_mnist.py                     # 8 epochs, writes runs/gan/
    python examples/gan_fashion_mnist.py --epochs 1 --limit 6400 --out /tmp/gan
"""
import argparse
import os
import time

import matplotlib
import numpy as np

import tapeflow as tf

matplotlib.use('Agg')                # files only: no display needed
import matplotlib.pyplot as plt

NOISE_DIM = 64


def make_generator():
    return tf.keras.Sequential([
        tf.keras.Input(shape=(NOISE_DIM,)),
        tf.keras.layers.Dense(256, activation=tf.nn.leaky_relu),   # leaky: alpha 0.2
        tf.keras.layers.Dense(512, activation=tf.nn.leaky_relu),
        tf.keras.layers.Dense(28 * 28, activation='tanh'),
        tf.keras.layers.Reshape((28, 28, 1)),
    ], name='generator')


def make_discriminator():
    return tf.keras.Sequential([
        tf.keras.Input(shape=(28, 28, 1)),
        tf.keras.layers.Flatten(),
        tf.keras.layers.Dense(512, activation=tf.nn.leaky_relu),
        tf.keras.layers.Dense(256, activation=tf.nn.leaky_relu),
        tf.keras.layers.Dense(1),
    ], name='discriminator')


def image_grid(images, cols=8, pad=2, zoom=2):
    """Tiles (N, 28, 28, 1) images in [-1, 1] into one uint8 grayscale image."""
    images = np.clip((np.asarray(images)[..., 0] + 1.0) * 127.5, 0, 255).astype(np.uint8)
    n, h, w = images.shape
    rows = -(-n // cols)
    grid = np.full((rows * (h + pad) + pad, cols * (w + pad) + pad), 255, np.uint8)
    for i, img in enumerate(images):
        r, c = divmod(i, cols)
        grid[pad + r * (h + pad):pad + r * (h + pad) + h,
             pad + c * (w + pad):pad + c * (w + pad) + w] = img
    return np.kron(grid, np.ones((zoom, zoom), np.uint8))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--epochs', type=int, default=8)
    p.add_argument('--batch-size', type=int, default=128)
    p.add_argument('--limit', type=int, default=None, help='use the first N training images')
    p.add_argument('--out', default=os.path.join('runs', 'gan'))
    p.add_argument('--seed', type=int, default=0)
    args = p.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    tf.random.set_seed(args.seed)

    (x_train, _), _ = tf.keras.datasets.fashion_mnist.load_data()
    x_train = x_train[:args.limit]
    # Scaled to [-1, 1] to match the generator's tanh output.
    x_train = (x_train[..., None].astype(np.float32) - 127.5) / 127.5
    dataset = (tf.data.Dataset.from_tensor_slices(x_train).shuffle(10000, seed=args.seed)
               .batch(args.batch_size, drop_remainder=True))
    steps = len(x_train) // args.batch_size
    if steps == 0:
        p.error(f'--limit {args.limit} gives no full batch of {args.batch_size}')

    generator, discriminator = make_generator(), make_discriminator()
    cross_entropy = tf.keras.losses.BinaryCrossentropy(from_logits=True)
    generator_optimizer = tf.keras.optimizers.Adam(2e-4, beta_1=0.5)
    discriminator_optimizer = tf.keras.optimizers.Adam(2e-4, beta_1=0.5)

    def discriminator_loss(real_output, fake_output):
        real_loss = cross_entropy(tf.ones_like(real_output), real_output)
        fake_loss = cross_entropy(tf.zeros_like(fake_output), fake_output)
        return real_loss + fake_loss

    def generator_loss(fake_output):
        return cross_entropy(tf.ones_like(fake_output), fake_output)

    @tf.function
    def train_step(images):
        noise = tf.random.normal([tf.shape(images)[0], NOISE_DIM])
        # Two tapes: each loss is differentiated only for its own network's variables.
        with tf.GradientTape() as gen_tape, tf.GradientTape() as disc_tape:
            generated_images = generator(noise, training=True)
            real_output = discriminator(images, training=True)
            fake_output = discriminator(generated_images, training=True)
            gen_loss = generator_loss(fake_output)
            disc_loss = discriminator_loss(real_output, fake_output)
        gradients_of_generator = gen_tape.gradient(gen_loss, generator.trainable_variables)
        gradients_of_discriminator = disc_tape.gradient(
            disc_loss, discriminator.trainable_variables)
        generator_optimizer.apply_gradients(
            zip(gradients_of_generator, generator.trainable_variables))
        discriminator_optimizer.apply_gradients(
            zip(gradients_of_discriminator, discriminator.trainable_variables))
        return gen_loss, disc_loss

    fixed_noise = tf.random.normal([64, NOISE_DIM])
    history = {'generator': [], 'discriminator': []}
    print(f'Fashion-MNIST GAN: {steps * args.batch_size} images, batch {args.batch_size}, '
          f'{args.epochs} epoch(s)', flush=True)
    for epoch in range(args.epochs):
        print(f'Epoch {epoch + 1}/{args.epochs}', flush=True)
        bar = tf.keras.utils.Progbar(steps, stateful_metrics=['gen_loss', 'disc_loss'])
        g_sum = d_sum = 0.0
        start = time.perf_counter()
        for step, images in enumerate(dataset, 1):
            gen_loss, disc_loss = train_step(images)
            g_sum, d_sum = g_sum + float(gen_loss), d_sum + float(disc_loss)
            bar.update(step, values=[('gen_loss', g_sum / step), ('disc_loss', d_sum / step)])
        history['generator'].append(g_sum / steps)
        history['discriminator'].append(d_sum / steps)
        grid_path = os.path.join(args.out, f'samples_epoch{epoch + 1:02d}.png')
        plt.imsave(grid_path, image_grid(generator(fixed_noise, training=False)), cmap='gray',
                   vmin=0, vmax=255)
        print(f'epoch {epoch + 1}: generator loss {g_sum / steps:.4f}, discriminator loss '
              f'{d_sum / steps:.4f} ({time.perf_counter() - start:.1f} s); samples: {grid_path}',
              flush=True)

    final = os.path.join(args.out, 'samples.png')
    plt.imsave(final, image_grid(generator(fixed_noise, training=False)), cmap='gray',
               vmin=0, vmax=255)
    fig, ax = plt.subplots(figsize=(6.4, 4.8))
    epochs = np.arange(1, args.epochs + 1)
    ax.plot(epochs, history['generator'], marker='o', label='generator')
    ax.plot(epochs, history['discriminator'], marker='o', label='discriminator')
    ax.set(title='GAN losses', xlabel='epoch', ylabel='mean loss')
    ax.legend()
    ax.grid(alpha=0.3)
    curves = os.path.join(args.out, 'losses.png')
    fig.savefig(curves, dpi=100)
    plt.close(fig)
    print(f'generated samples: {final}')
    print(f'loss curves: {curves}')


if __name__ == '__main__':
    main()
