"""tf.version: the TensorFlow version tapeflow follows."""
import tapeflow as tf


def test_version_is_the_followed_tensorflow_release(real_tf):
    assert tf.version.VERSION == tf.__version__ == real_tf.version.VERSION


def test_graph_def_versions_are_tfs(real_tf):
    assert tf.version.GRAPH_DEF_VERSION == real_tf.version.GRAPH_DEF_VERSION
    assert (tf.version.GRAPH_DEF_VERSION_MIN_CONSUMER
            == real_tf.version.GRAPH_DEF_VERSION_MIN_CONSUMER)
