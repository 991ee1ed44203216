"""TensorFlow `NodeDef`s for the Keras optimizers' update ops: a traced `apply_gradients`.

tapeflow runs each optimizer update as one stateful op around an in-place kernel
(`keras/optimizers/algorithms.py`). TensorFlow's `ResourceApply*` ops follow other
conventions (TF 1's Adam epsilon, RMSprop without Keras 3's centring order), so each update
is written as Keras 3's formulas in TF ops: slot reads, arithmetic, `AssignVariableOp`s, in
the order the kernel updates them (the writer chains them by control edges). The op's
result, the updated Variable, is read after the last assignment.
"""
from __future__ import annotations

import numpy as np

from tapeflow.saved_model.export_ops import base_name, exports, unsupported


class _Math:
    """Arithmetic in one dtype on references, named under the update's name scope."""

    def __init__(self, w, node, var):
        self.w, self.name, self.dtype = w, base_name(node), var.dtype
        self.t = {"T": var.dtype}

    def const(self, value):
        return self.w.const(np.array(value, self.dtype._np), name=f"{self.name}/Const")

    def op(self, op_type, *refs):
        ins = [self.const(r) if isinstance(r, (int, float)) else r for r in refs]
        return self.w.add_node(op_type, ins, self.t, name=f"{self.name}/{op_type}")[0]

    def value(self, x):
        """A tensor or Variable operand, read now and cast to the update's dtype."""
        ref = self.w.ref(x, name=f"{self.name}/operand")
        if x.dtype is not self.dtype:
            ref = self.w.add_node("Cast", [ref], {"SrcT": x.dtype, "DstT": self.dtype},
                                  name=f"{self.name}/Cast")[0]
        return ref

    def assign(self, var, ref, op_type="AssignVariableOp"):
        self.w.add_node(op_type, [self.w.resource(var), ref], {"dtype": var.dtype},
                        name=f"{self.name}/{op_type}", stateful=True)
        return ref

    def ema(self, slot, target, decay):
        """slot + (target - slot) * (1 - decay), assigned to the slot Variable."""
        old = self.value(slot)
        return self.assign(slot, self.op("AddV2", old, self.op(
            "Mul", self.op("Sub", target, old), 1.0 - decay)))

    def result(self, var):
        return [self.w.read(var, name=f"{self.name}/ReadVariableOp")]


@exports("ResourceApplyKerasMomentum")
def _sgd(w, node):
    var, grad, lr, *velocity = node.inputs
    m = _Math(w, node, var)
    step = m.op("Mul", m.value(lr), m.value(grad))
    momentum = float(node.attrs["momentum"])
    if not velocity or momentum == 0.0:
        m.assign(var, step, "AssignSubVariableOp")
        return m.result(var)
    new_velocity = m.assign(velocity[0], m.op("Sub", m.op("Mul", m.value(velocity[0]), momentum),
                                              step))
    if node.attrs.get("nesterov"):
        new_velocity = m.op("Sub", m.op("Mul", new_velocity, momentum), step)
    m.assign(var, new_velocity, "AssignAddVariableOp")
    return m.result(var)


@exports("ResourceApplyAdam")
def _adam(w, node):
    """alpha = lr*sqrt(1-beta_2**t)/(1-beta_1**t), t = iterations + 1."""
    var, m_slot, v_slot, grad, lr, iterations, *vhat = node.inputs
    m = _Math(w, node, var)
    b1, b2 = float(node.attrs["beta_1"]), float(node.attrs["beta_2"])
    t = m.op("AddV2", m.value(iterations), 1.0)
    alpha = m.op("RealDiv", m.op("Mul", m.value(lr), m.op("Sqrt", m.op(
        "Sub", 1.0, m.op("Pow", b2, t)))), m.op("Sub", 1.0, m.op("Pow", b1, t)))
    g = m.value(grad)
    new_m = m.ema(m_slot, g, b1)
    new_v = m.ema(v_slot, m.op("Mul", g, g), b2)
    if vhat:
        new_v = m.assign(vhat[0], m.op("Maximum", m.value(vhat[0]), new_v))
    step = m.op("RealDiv", m.op("Mul", alpha, new_m),
                m.op("AddV2", m.op("Sqrt", new_v), float(node.attrs["epsilon"])))
    m.assign(var, step, "AssignSubVariableOp")
    return m.result(var)


@exports("ResourceApplyRMSProp")
def _rmsprop(w, node):
    var, ms, grad, lr, *extra = node.inputs
    m = _Math(w, node, var)
    rho, momentum = float(node.attrs["rho"]), float(node.attrs["momentum"])
    g = m.value(grad)
    denominator = m.ema(ms, m.op("Mul", g, g), rho)
    if node.attrs.get("centered"):
        mg = m.ema(extra.pop(0), g, rho)
        denominator = m.op("Sub", denominator, m.op("Mul", mg, mg))
    increment = m.op("RealDiv", m.op("Mul", m.value(lr), g), m.op(
        "Sqrt", m.op("AddV2", denominator, float(node.attrs["epsilon"]))))
    if momentum > 0:
        mom = extra.pop(0)
        increment = m.assign(mom, m.op("AddV2", m.op("Mul", m.value(mom), momentum), increment))
    m.assign(var, increment, "AssignSubVariableOp")
    return m.result(var)


@exports("ResourceApplyAdagrad")
def _adagrad(w, node):
    var, acc, grad, lr = node.inputs
    m = _Math(w, node, var)
    g = m.value(grad)
    new_acc = m.assign(acc, m.op("AddV2", m.value(acc), m.op("Mul", g, g)))
    step = m.op("RealDiv", m.op("Mul", m.value(lr), g), m.op(
        "Sqrt", m.op("AddV2", new_acc, float(node.attrs["epsilon"]))))
    m.assign(var, step, "AssignSubVariableOp")
    return m.result(var)


@exports("WeightDecay")
def _weight_decay(w, node):
    """var -= var * weight_decay * lr (decoupled weight decay, before the update)."""
    var, lr = node.inputs
    if not var._is_variable:
        unsupported(node, "a decay of a value that is not a Variable")
    m = _Math(w, node, var)
    decay = m.op("Mul", m.op("Mul", m.value(var), float(node.attrs["weight_decay"])),
                 m.value(lr))
    m.assign(var, decay, "AssignSubVariableOp")
    return m.result(var)
