"""`keras.layers`: the layer classes (re-exports)."""
from tapeflow.keras.layers import tf_op_layer  # noqa: F401  (tf calls on Keras tensors)
from tapeflow.keras.layers.base import InputSpec, Layer  # noqa: F401
from tapeflow.keras.layers.conv import (  # noqa: F401
    AveragePooling1D,
    AveragePooling2D,
    AvgPool1D,
    AvgPool2D,
    Conv1D,
    Conv2D,
    Conv2DTranspose,
    Convolution2D,
    Convolution2DTranspose,
    GlobalAveragePooling1D,
    GlobalAveragePooling2D,
    GlobalAvgPool1D,
    GlobalAvgPool2D,
    GlobalMaxPool1D,
    GlobalMaxPool2D,
    GlobalMaxPooling1D,
    GlobalMaxPooling2D,
    MaxPool1D,
    MaxPool2D,
    MaxPooling1D,
    MaxPooling2D,
    UpSampling2D,
    ZeroPadding2D,
)
from tapeflow.keras.layers.core import (  # noqa: F401
    Activation,
    Dense,
    Dropout,
    Embedding,
    Flatten,
    Identity,
    Lambda,
    LeakyReLU,
    Masking,
    ReLU,
    Rescaling,
    Reshape,
    Softmax,
)
from tapeflow.keras.layers.input_layer import Input, InputLayer  # noqa: F401
from tapeflow.keras.layers.attention import MultiHeadAttention  # noqa: F401
from tapeflow.keras.layers.merge import (  # noqa: F401
    Add,
    Average,
    Concatenate,
    Maximum,
    Minimum,
    Multiply,
    Subtract,
    add,
    average,
    concatenate,
    maximum,
    minimum,
    multiply,
    subtract,
)
from tapeflow.keras.layers.normalization import BatchNormalization, LayerNormalization  # noqa: F401
from tapeflow.keras.layers.preprocessing import Normalization  # noqa: F401
from tapeflow.keras.layers.image_preprocessing import (  # noqa: F401
    CenterCrop, RandomBrightness, RandomContrast, RandomCrop, RandomFlip, RandomRotation,
    RandomTranslation, RandomZoom, Resizing)
from tapeflow.keras.layers.text_preprocessing import (  # noqa: F401
    CategoryEncoding, Hashing, IntegerLookup, StringLookup)
from tapeflow.keras.layers.text_vectorization import TextVectorization  # noqa: F401
from tapeflow.keras.layers.recurrent import (  # noqa: F401
    GRU,
    LSTM,
    Bidirectional,
    SimpleRNN,
    TimeDistributed,
)

# The implementation modules are reached by their paths (`from tapeflow.keras.layers import
# core`), not as attributes of the public keras.layers namespace.
del attention, base, conv, core, input_layer, masking, merge, node, normalization  # noqa: F821
del image_preprocessing, preprocessing, recurrent, tf_op_layer, weight_args  # noqa: F821
del text_preprocessing, text_vectorization  # noqa: F821
