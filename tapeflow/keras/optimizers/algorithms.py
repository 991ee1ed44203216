"""SGD, Adam, AdamW, RMSprop, Adagrad with Keras 3's defaults and update rules.

Each `update_step` executes one fused in-place kernel from
`tapeflow.backend.optim_kernels` as a stateful op (see `base.py`).

    >>> import tapeflow as tf
    >>> opt = tf.keras.optimizers.Adam()
    >>> opt.get_config()['learning_rate'], opt.beta_1, opt.beta_2, opt.epsilon
    (0.0010000000474974513, 0.9, 0.999, 1e-07)
"""
from __future__ import annotations

from tapeflow.backend import optim_kernels as K
from tapeflow.framework.op import execute
from tapeflow.keras.optimizers.base import Optimizer, update_op


def _lr(a):
    return float(a)


def _step(it):
    # `iterations` counts applied steps; the kernels take the 1-based step of this update.
    return int(it) + 1


def _sgd_kernel(var, grad, lr, *velocity, momentum, nesterov):
    K.sgd_update(var, grad, _lr(lr), momentum, nesterov, velocity[0] if velocity else None)
    return var


def _adam_kernel(var, m, v, grad, lr, it, *vhat, beta_1, beta_2, epsilon):
    K.adam_update(var, m, v, grad, _lr(lr), beta_1, beta_2, epsilon, _step(it),
                  vhat[0] if vhat else None)
    return var


def _rmsprop_kernel(var, ms, grad, lr, *extra, rho, momentum, epsilon, centered):
    extra = list(extra)
    mg = extra.pop(0) if centered else None
    mom = extra.pop(0) if momentum > 0 else None
    K.rmsprop_update(var, ms, grad, _lr(lr), rho, momentum, epsilon, centered, mg, mom)
    return var


def _adagrad_kernel(var, acc, grad, lr, epsilon):
    K.adagrad_update(var, acc, grad, _lr(lr), epsilon)
    return var


_SGD = update_op("ResourceApplyKerasMomentum", _sgd_kernel)
_ADAM = update_op("ResourceApplyAdam", _adam_kernel)
_RMSPROP = update_op("ResourceApplyRMSProp", _rmsprop_kernel)
_ADAGRAD = update_op("ResourceApplyAdagrad", _adagrad_kernel)


class SGD(Optimizer):
    """Gradient descent with optional (Nesterov) momentum; Keras default lr 0.01."""

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, **kwargs):
        super().__init__(learning_rate, **kwargs)
        if not 0 <= momentum <= 1:
            raise ValueError(f"SGD: `momentum` must be in [0, 1], received {momentum!r}")
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)

    def build(self, var_list):
        super().build(var_list)
        self._momentums = [self.add_variable_from_reference(v, "momentum") for v in var_list] \
            if self.momentum > 0 else []

    def update_step(self, gradient, variable, learning_rate):
        inputs = (variable, gradient, learning_rate)
        if self.momentum > 0:
            inputs += (self._momentums[self._var_index(variable)],)
        execute(_SGD, inputs, {"momentum": self.momentum, "nesterov": self.nesterov})

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


class Adam(Optimizer):
    """Adam (Keras 3: lr 0.001, beta_1 0.9, beta_2 0.999, epsilon 1e-7; AMSGrad optional)."""

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.beta_1, self.beta_2, self.epsilon = float(beta_1), float(beta_2), float(epsilon)
        self.amsgrad = bool(amsgrad)

    def build(self, var_list):
        super().build(var_list)
        self._momentums = [self.add_variable_from_reference(v, "momentum") for v in var_list]
        self._velocities = [self.add_variable_from_reference(v, "velocity") for v in var_list]
        self._velocity_hats = [self.add_variable_from_reference(v, "velocity_hat")
                               for v in var_list] if self.amsgrad else []

    def update_step(self, gradient, variable, learning_rate):
        i = self._var_index(variable)
        inputs = (variable, self._momentums[i], self._velocities[i], gradient, learning_rate,
                  self._iterations)
        if self.amsgrad:
            inputs += (self._velocity_hats[i],)
        execute(_ADAM, inputs, {"beta_1": self.beta_1, "beta_2": self.beta_2,
                                "epsilon": self.epsilon})

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon, "amsgrad": self.amsgrad}


class AdamW(Adam):
    """Adam with decoupled weight decay (default 0.004), applied before the Adam step."""

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-7, amsgrad=False, **kwargs):
        if weight_decay is None:
            raise ValueError("AdamW: `weight_decay` must be a float, received None")
        super().__init__(learning_rate, beta_1, beta_2, epsilon, amsgrad,
                         weight_decay=weight_decay, **kwargs)


class RMSprop(Optimizer):
    """RMSprop (Keras 3: lr 0.001, rho 0.9, momentum 0, epsilon 1e-7, centered False)."""

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7,
                 centered=False, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.rho, self.momentum, self.epsilon = float(rho), float(momentum), float(epsilon)
        self.centered = bool(centered)

    def build(self, var_list):
        super().build(var_list)
        self._velocities = [self.add_variable_from_reference(v, "velocity") for v in var_list]
        self._momentums = [self.add_variable_from_reference(v, "momentum") for v in var_list] \
            if self.momentum > 0 else []
        self._average_gradients = [self.add_variable_from_reference(v, "average_gradient")
                                   for v in var_list] if self.centered else []

    def update_step(self, gradient, variable, learning_rate):
        i = self._var_index(variable)
        inputs = (variable, self._velocities[i], gradient, learning_rate)
        if self.centered:
            inputs += (self._average_gradients[i],)
        if self.momentum > 0:
            inputs += (self._momentums[i],)
        execute(_RMSPROP, inputs, {"rho": self.rho, "momentum": self.momentum,
                                   "epsilon": self.epsilon, "centered": self.centered})

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "momentum": self.momentum,
                "epsilon": self.epsilon, "centered": self.centered}


class Adagrad(Optimizer):
    """Adagrad (Keras 3: lr 0.001, initial_accumulator_value 0.1, epsilon 1e-7)."""

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7,
                 **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.initial_accumulator_value = float(initial_accumulator_value)
        self.epsilon = float(epsilon)

    def build(self, var_list):
        super().build(var_list)
        self._accumulators = [
            self.add_variable_from_reference(v, "accumulator",
                                             initializer=self.initial_accumulator_value)
            for v in var_list]

    def update_step(self, gradient, variable, learning_rate):
        acc = self._accumulators[self._var_index(variable)]
        execute(_ADAGRAD, (variable, acc, gradient, learning_rate), {"epsilon": self.epsilon})

    def get_config(self):
        return {**super().get_config(),
                "initial_accumulator_value": self.initial_accumulator_value,
                "epsilon": self.epsilon}
