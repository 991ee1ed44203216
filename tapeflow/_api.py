"""Imports every module that declares public names (`@tf_export`), so that
`namespace(space)` sees them all when a `tf.*` namespace module is filled."""
from tapeflow.framework.api_export import namespace  # noqa: F401
from tapeflow.ops import (  # noqa: F401
    array_ops, clip_ops, conv_ops, dropout_ops, einsum_ops, indexing_ops, linalg_extra,
    linalg_ops, manip_ops, math_ops, nn_ops, random_generator, random_ops, reduce_ops, scan_ops,
    sort_ops, stateless_random_ops, string_ops, string_split_ops)
from tapeflow.ops import image_codec_ops, image_color_ops, image_ops  # noqa: F401,E402
from tapeflow.io import gfile, parsing_ops  # noqa: F401,E402
from tapeflow.profiler import _session as _profiler_session  # noqa: F401,E402
from tapeflow.distribute import losses as _distribute_losses  # noqa: F401,E402
