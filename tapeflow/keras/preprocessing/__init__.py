"""`keras.preprocessing` (Keras 3's compatibility namespace): `sequence.pad_sequences`,
`image.ImageDataGenerator` and the dataset builders that also live in `keras.utils`."""
from tapeflow.keras.preprocessing import image, sequence  # noqa: F401
from tapeflow.keras.utils import (  # noqa: F401
    image_dataset_from_directory, text_dataset_from_directory)
