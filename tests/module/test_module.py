"""tf.Module: names, name scopes, and reflection over attributes, checked against TF."""
import pytest

import tapeflow as tf
from tapeflow.module.module import camel_to_snake


def _make_tree(fw):
    """The same module tree built with either framework (`fw` is tapeflow or TF)."""

    class Leaf(fw.Module):
        def __init__(self, size, name=None):
            super().__init__(name=name)
            with self.name_scope:
                self.w = fw.Variable(fw.ones([size]), name="w")
                self.count = fw.Variable(0, trainable=False, name="count")

    class Tree(fw.Module):
        def __init__(self, name=None):
            super().__init__(name=name)
            with self.name_scope:
                self.zeta = Leaf(1, name="zeta")
                self.blocks = [Leaf(2, name="b0"), (Leaf(3, name="b1"),)]
                self.table = {"y": Leaf(4, name="y"), "x": Leaf(5, name="x")}
                self.scale = fw.Variable(2.0, name="scale")
                self.alias = self.scale          # the same Variable, reported once
                self.note = "not a leaf of interest"
    return Tree()


def _names(variables):
    return [v.name for v in variables]


def _submodule_names(module):
    return [m.name for m in module.submodules]


def test_default_name_is_the_snake_cased_class_name(real_tf):
    from tensorflow.python.module import module as tf_module
    for cls_name in ["MyModule", "MLP", "HTTPServer2", "Dense2D", "A", "simple"]:
        assert camel_to_snake(cls_name) == tf_module.camel_to_snake(cls_name)
    assert type("FlexibleDense", (tf.Module,), {})().name == "flexible_dense"


def test_invalid_names_raise_value_error_as_tf(real_tf):
    for bad in ["my module", "1abc", "a/b", ""]:
        with pytest.raises(ValueError) as ours:
            tf.Module(name=bad)
        with pytest.raises(ValueError) as theirs:
            real_tf.Module(name=bad)
        assert str(ours.value) == str(theirs.value)


def test_variables_are_listed_in_tf_order_with_tf_names(real_tf):
    ours, theirs = _make_tree(tf), _make_tree(real_tf)
    assert _names(ours.variables) == _names(theirs.variables)
    assert _names(ours.trainable_variables) == _names(theirs.trainable_variables)
    assert _names(ours.non_trainable_variables) == _names(theirs.non_trainable_variables)
    assert "tree/x/w:0" in _names(ours.variables)   # scopes, not attribute paths


def test_submodules_are_found_in_lists_tuples_and_dicts_in_tf_order(real_tf):
    ours, theirs = _make_tree(tf), _make_tree(real_tf)
    assert _submodule_names(ours) == _submodule_names(theirs)
    assert len(ours.submodules) == 5


def test_properties_return_tuples():
    tree = _make_tree(tf)
    assert isinstance(tree.variables, tuple) and isinstance(tree.submodules, tuple)


def test_shared_variable_is_listed_once():
    tree = _make_tree(tf)
    assert sum(v is tree.scale for v in tree.variables) == 1


def test_name_scope_is_fixed_where_the_module_is_created(real_tf):
    for fw in (tf, real_tf):
        with fw.name_scope("outer"):
            m = fw.Module(name="inner")
        assert m.name == "inner"
        assert m.name_scope.name == "outer/inner/"
        with fw.name_scope("elsewhere"), m.name_scope:   # absolute: not under 'elsewhere'
            v = fw.Variable(1.0, name="v")
        assert v.name == "outer/inner/v:0"


def test_name_scope_returns_the_scope_name_on_enter():
    m = tf.Module(name="box")
    with m.name_scope as scope:
        assert scope == "box/"
    with tf.name_scope("after"):
        assert tf.Variable(1.0, name="z").name == "after/z:0"   # the old scope is back


def test_with_name_scope_names_variables_created_in_the_method(real_tf):
    def make(fw):
        class Lazy(fw.Module):
            @fw.Module.with_name_scope
            def __call__(self, x):
                if not hasattr(self, "w"):
                    self.w = fw.Variable(fw.ones([x.shape[1], 2]), name="w")
                return fw.matmul(x, self.w)
        m = Lazy()
        m(fw.ones([1, 3]))
        return m
    assert make(tf).w.name == make(real_tf).w.name == "lazy/w:0"
    assert make(tf).__call__.__name__ == "__call__"


def test_attribute_cycle_does_not_hang(real_tf):
    results = []
    for fw in (tf, real_tf):
        a, b = fw.Module(name="a"), fw.Module(name="b")
        a.b, b.a = b, a
        a.v = fw.Variable(1.0, name="va")
        b.v = fw.Variable(2.0, name="vb")
        results.append((_submodule_names(a), _submodule_names(b), _names(a.variables),
                        _names(b.variables)))
    assert results[0] == results[1] == (["b"], ["a"], ["va:0", "vb:0"], ["vb:0", "va:0"])


def test_flatten_with_path_names_the_attribute_route(real_tf):
    ours = dict(_make_tree(tf)._flatten(predicate=lambda x: isinstance(x, tf.Module),
                                        with_path=True))
    theirs = dict(_make_tree(real_tf)._flatten(
        predicate=lambda x: isinstance(x, real_tf.Module), with_path=True))
    assert sorted(ours) == sorted(theirs)
    assert ("blocks", 1, 0) in ours


def test_trackable_children_are_attributes_holding_variables_or_modules():
    tree = _make_tree(tf)
    children = tree._trackable_children()
    assert sorted(children) == ["alias", "blocks", "scale", "table", "zeta"]
    assert children["table"] is tree.table


def test_keras_layers_and_models_are_modules():
    layer = tf.keras.layers.Dense(2)
    model = tf.keras.Sequential([layer])
    assert isinstance(layer, tf.Module) and isinstance(model, tf.Module)
    assert layer.name_scope.name == layer.name + "/"


def test_subclassed_model_lists_its_layers_as_submodules():
    class Net(tf.keras.Model):
        def __init__(self):
            super().__init__()
            self.first = tf.keras.layers.Dense(3)
            self.second = tf.keras.layers.Dense(2)

        def call(self, x):
            return self.second(self.first(x))
    net = Net()
    net(tf.ones([1, 4]))
    assert net.submodules == (net.first, net.second)
    assert [v.name for v in net.variables] == [v.name for v in net.weights]


def test_module_holding_a_keras_layer_finds_its_weights_in_keras_order():
    class Holder(tf.Module):
        def __init__(self):
            super().__init__()
            with self.name_scope:
                self.norm = tf.keras.layers.BatchNormalization()
                self.norm(tf.ones([2, 3]))
    holder = Holder()
    assert _names(holder.variables) == _names(holder.norm.weights)
    # The layer's own name depends on how many were made before ('batch_normalization_3').
    layer = holder.norm.name
    assert _names(holder.trainable_variables) == [
        f"holder/{layer}/gamma:0", f"holder/{layer}/beta:0"]
    assert holder.submodules == (holder.norm,)


def test_flatten_follows_a_custom_attribute_order(real_tf):
    def names(fw):
        tree = _make_tree(fw)
        return [v.name for v in tree._flatten(
            predicate=lambda x: isinstance(x, fw.Variable),
            attribute_traversal_key=lambda name: name[::-1])]
    assert names(tf) == names(real_tf)


def _make_containers(fw):
    import collections
    Pair = collections.namedtuple("Pair", ["second", "first"])

    class Box(fw.Module):
        def __init__(self):
            super().__init__(name="box")
            self.pair = Pair(fw.Variable(1.0, name="p_second"), fw.Variable(2.0, name="p_first"))
            self.ordered = collections.OrderedDict(
                [("z", fw.Variable(3.0, name="od_z")), ("a", fw.Variable(4.0, name="od_a"))])
            self.nested = [{"k": (fw.Variable(5.0, name="deep"), fw.Module(name="inner"))}]
            self.label = "not a container"
            self._private = fw.Variable(7.0, name="private")
    return Box()


def test_namedtuples_ordered_dicts_and_nesting_walk_as_tf(real_tf):
    ours, theirs = _make_containers(tf), _make_containers(real_tf)
    assert _names(ours.variables) == _names(theirs.variables)
    assert _submodule_names(ours) == _submodule_names(theirs) == ["inner"]
