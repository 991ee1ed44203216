"""TensorFlow `NodeDef`s for tapeflow's random ops and dropout.

Stateless draws and `tf.random.Generator` draws are Philox streams that tapeflow computes
as TensorFlow does: the loaded function draws the same numbers. A traced
`tf.random.normal` / `uniform` / `truncated_normal` draws again at every call, as
TensorFlow's stateful random ops do. Its (seed, seed2) attributes are the pair tapeflow
derived as TensorFlow does, so with a global or op seed the loaded function (in
TensorFlow or tapeflow) draws tapeflow's numbers, call after call; unseeded, both draw
fresh numbers of the same shape, dtype, range and scale.
"""
from __future__ import annotations

import numpy as np

from tapeflow.framework import dtypes
from tapeflow.saved_model.export_ops import base_name, exports, input_refs, unsupported

_DEFAULT_GRAPH_SEED = 87654321


def _seeds(node) -> dict:
    """The op's (seed, seed2) attributes: the pair tapeflow derived as TF's `get_seed` does
    (so a seeded op draws TF's very numbers), or (87654321, seed) for an op seed alone."""
    seed = node.attrs.get("seed")
    if seed is None:
        return {}
    if "seed2" in node.attrs:
        return {"seed": int(seed), "seed2": int(node.attrs["seed2"])}
    return {"seed": _DEFAULT_GRAPH_SEED, "seed2": int(seed)}


def _scaled(w, node, name, draw, scale, shift):
    """draw * scale + shift, skipping a multiply by 1 and an add of 0."""
    t = {"T": node.outputs[0].dtype}
    np_dtype = node.outputs[0].dtype._np
    if scale != 1:
        draw = w.add_node("Mul", [draw, w.const(np.array(scale, np_dtype), name=f"{name}/scale")],
                          t, name=f"{name}/mul")[0]
    if shift != 0:
        draw = w.add_node("AddV2", [draw, w.const(np.array(shift, np_dtype),
                                                  name=f"{name}/shift")], t, name=f"{name}/add")[0]
    return [draw]


@exports("RandomStandardNormal", "TruncatedNormal")
def _normal(w, node):
    name = base_name(node)
    shape = w.const(np.array(node.attrs["shape"], np.int32), name=f"{name}/shape")
    attrs = {"dtype": node.outputs[0].dtype, "T": dtypes.int32, **_seeds(node)}
    draw = w.add_node(node.op.name, [shape], attrs, name=name, stateful=True)[0]
    return _scaled(w, node, name, draw, node.attrs.get("stddev", 1.0), node.attrs.get("mean", 0.0))


@exports("RandomUniform", "RandomUniformInt")
def _uniform(w, node):
    name = base_name(node)
    out = node.outputs[0].dtype
    shape = w.const(np.array(node.attrs["shape"], np.int32), name=f"{name}/shape")
    low, high = node.attrs.get("minval", 0), node.attrs.get("maxval", 1)
    if out.is_integer:
        bounds = [w.const(np.array(v, out._np), name=f"{name}/{part}")
                  for v, part in ((low, "min"), (high, "max"))]
        return w.add_node("RandomUniformInt", [shape] + bounds,
                          {"Tout": out, "T": dtypes.int32, **_seeds(node)}, name=name,
                          stateful=True)
    draw = w.add_node("RandomUniform", [shape], {"dtype": out, "T": dtypes.int32,
                                                 **_seeds(node)}, name=name, stateful=True)[0]
    return _scaled(w, node, name, draw, high - low, low)


@exports("Dropout")
def _dropout(w, node):
    """x * mask, mask = (uniform >= rate) / (1 - rate); the mask is the op's second output."""
    if node.attrs.get("noise_shape") is not None:
        unsupported(node, "dropout with a noise_shape")
    name = base_name(node)
    (x_ref,) = input_refs(w, node, name)
    x = node.inputs[0]
    t = {"T": x.dtype}
    shape = w.add_node("Shape", [x_ref], {"T": x.dtype}, name=f"{name}/Shape")[0]
    draw = w.add_node("RandomUniform", [shape], {"dtype": dtypes.float32, "T": dtypes.int32,
                                                 **_seeds(node)},
                      name=f"{name}/random_uniform", stateful=True)[0]
    rate = float(node.attrs["rate"])
    keep = w.add_node("GreaterEqual", [draw, w.const(np.float32(rate), name=f"{name}/rate")],
                      {"T": dtypes.float32}, name=f"{name}/GreaterEqual")[0]
    mask = w.add_node("Cast", [keep], {"SrcT": dtypes.bool, "DstT": x.dtype},
                      name=f"{name}/Cast")[0]
    mask = w.add_node("Mul", [mask, w.const(np.array(1.0 / (1.0 - rate), x.dtype._np),
                                            name=f"{name}/scale")], t, name=f"{name}/mask")[0]
    return [w.add_node("Mul", [x_ref, mask], t, name=name)[0], mask]


# -- stateless draws (Philox): the loaded function draws the very numbers tapeflow does --------
# tapeflow carries a Philox state as one int64 vector [counter_lo, counter_hi, key] (a
# Generator's state Variable); TF's V2 ops take key (uint64[1]) and counter (uint64[2]).
_PHILOX = 1


def _key_counter(w, state_ref, name):
    """TF's (key, counter) operands of a tapeflow Philox state vector."""
    parts = []
    for part, (begin, end) in (("key", (2, 3)), ("counter", (0, 2))):
        consts = [w.const(np.array([v], np.int32), name=f"{name}/{part}_slice")
                  for v in (begin, end, 1)]
        sliced = w.add_node("StridedSlice", [state_ref] + consts,
                            {"T": dtypes.int64, "Index": dtypes.int32}, name=f"{name}/{part}")[0]
        parts.append(w.add_node("Bitcast", [sliced], {"T": dtypes.int64, "type": dtypes.uint64},
                                name=f"{name}/{part}_bits")[0])
    return parts


@exports("StatelessRandomGetKeyCounter")
def _get_key_counter(w, node):
    name = base_name(node)
    key, counter = w.add_node("StatelessRandomGetKeyCounter", input_refs(w, node, name),
                              {"Tseed": node.inputs[0].dtype}, name=name)
    words = [w.add_node("Bitcast", [ref], {"T": dtypes.uint64, "type": dtypes.int64},
                        name=f"{name}/{part}")[0]
             for ref, part in ((counter, "counter_bits"), (key, "key_bits"))]
    return w.add_node("ConcatV2", words + [w.const(np.int32(0), name=f"{name}/axis")],
                      {"N": 2, "T": dtypes.int64}, name=f"{name}/state")


@exports("StatelessRandomNormalV2", "StatelessRandomUniformV2", "StatelessTruncatedNormalV2",
         "StatelessRandomUniformIntV2", "StatelessRandomUniformFullIntV2")
def _stateless(w, node):
    name = base_name(node)
    state, *bounds = input_refs(w, node, name)
    shape = w.const(np.array(node.attrs["shape"], np.int32), name=f"{name}/shape")
    alg = w.const(np.int32(_PHILOX), name=f"{name}/alg")
    return w.add_node(node.op.name, [shape] + _key_counter(w, state, name) + [alg] + bounds,
                      {"dtype": node.outputs[0].dtype}, name=name)


@exports("StatelessMultinomial")
def _stateless_multinomial(w, node):
    """TF's op takes the seed pair and derives the Philox state itself, as tapeflow's
    `StatelessRandomGetKeyCounter` did: the seed is found behind that op."""
    logits, state = node.inputs
    source = getattr(state, "node", None)
    if source is None or source.op.name != "StatelessRandomGetKeyCounter":
        unsupported(node, "categorical draws from a state that no seed pair made")
    name = base_name(node)
    seed = source.inputs[0]
    refs = [w.ref(logits, name=f"{name}/logits"),
            w.const(np.int32(node.attrs["num_samples"]), name=f"{name}/num_samples"),
            w.ref(seed, name=f"{name}/seed")]
    return w.add_node("StatelessMultinomial", refs,
                      {"T": logits.dtype, "Tseed": seed.dtype,
                       "output_dtype": node.outputs[0].dtype}, name=name)


@exports("RngReadAndSkip")
def _read_and_skip(w, node):
    (var,) = node.inputs
    name = base_name(node)
    refs = [w.resource(var), w.const(np.int32(_PHILOX), name=f"{name}/alg"),
            w.const(np.uint64(node.attrs["delta"]), name=f"{name}/delta")]
    return w.add_node("RngReadAndSkip", refs, {}, name=name, stateful=True)
