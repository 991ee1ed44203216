"""The public tf.* namespace (`tapeflow/__init__.py` and its namespace modules) holds
TensorFlow's names only: no internal subpackages, no names TF does not have."""
import types

import pytest

import tapeflow as tf

# tapeflow's own namespaces beside the TF API (none of them is a TF name).
OWN_NAMESPACES = {"debug", "testing", "experimental"}
SUBNAMESPACES = ["math", "nn", "linalg", "random", "dtypes", "errors", "nest", "data",
                 "keras.layers", "profiler", "profiler.experimental", "autodiff"]


@pytest.fixture(scope="module")
def ref():
    return pytest.importorskip("tensorflow")


def _public(module):
    return {n for n in dir(module) if not n.startswith("_")}


def _resolve(root, path):
    for part in path.split("."):
        root = getattr(root, part)
    return root


def test_top_level_names_are_tensorflows(ref):
    extra = _public(tf) - _public(ref) - OWN_NAMESPACES
    assert not extra, f"tapeflow names TF does not have at top level: {sorted(extra)}"


@pytest.mark.parametrize("path", SUBNAMESPACES)
def test_namespace_names_are_tensorflows(ref, path):
    extra = _public(_resolve(tf, path)) - _public(_resolve(ref, path))
    assert not extra, f"tf.{path} has names TF does not: {sorted(extra)}"


@pytest.mark.parametrize("name", ["backend", "framework", "ops", "utils"])
def test_internal_subpackages_are_not_attributes(name):
    assert not hasattr(tf, name)


@pytest.mark.parametrize("path", [
    "keras.layers", "keras.models", "keras.optimizers", "data", "autodiff"])
def test_namespace_packages_hide_their_implementation_modules(path):
    modules = [n for n, v in vars(_resolve(tf, path)).items()
               if isinstance(v, types.ModuleType) and not n.startswith("_")]
    assert modules in ([], ["schedules"], ["experimental"])


def test_internal_modules_still_import_by_path():
    from tapeflow.keras.layers import core
    from tapeflow.ops import math_ops
    assert core.Dense is tf.keras.layers.Dense
    assert tf.math.log.__wrapped__ is math_ops.log


def test_functions_tf_has_only_under_tf_math_are_not_top_level(ref):
    for name in ("log", "rsqrt", "reduce_std", "reduce_variance"):
        assert not hasattr(ref, name) and not hasattr(tf, name)
        assert hasattr(tf.math, name)
