"""`tf.saved_model.save` (being written)."""


class SaveOptions:
    """Options for `save` (being written)."""


def save(obj, export_dir, signatures=None, options=None):
    raise NotImplementedError("tf.saved_model.save is being written")
