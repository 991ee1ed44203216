"""Learning-rate schedules (`keras/optimizers/schedules.py`) against Keras 3."""
import numpy as np
import pytest

from tapeflow import keras

S = keras.optimizers.schedules

CASES = [
    ("ExponentialDecay", {"initial_learning_rate": 0.1, "decay_steps": 3, "decay_rate": 0.5}),
    ("ExponentialDecay", {"initial_learning_rate": 0.1, "decay_steps": 3, "decay_rate": 0.5,
                          "staircase": True}),
    ("InverseTimeDecay", {"initial_learning_rate": 0.2, "decay_steps": 2, "decay_rate": 0.7}),
    ("InverseTimeDecay", {"initial_learning_rate": 0.2, "decay_steps": 2, "decay_rate": 0.7,
                          "staircase": True}),
    ("CosineDecay", {"initial_learning_rate": 0.3, "decay_steps": 4, "alpha": 0.1}),
]


@pytest.fixture(scope="module")
def ref():
    return pytest.importorskip("tensorflow").keras.optimizers.schedules


@pytest.mark.parametrize("name,args", CASES)
def test_rates_match_keras(ref, name, args):
    ours, theirs = getattr(S, name)(**args), getattr(ref, name)(**args)
    for step in range(7):
        np.testing.assert_allclose(float(ours(step)), float(theirs(step)), rtol=1e-6)


@pytest.mark.parametrize("name", ["ExponentialDecay", "InverseTimeDecay", "CosineDecay"])
@pytest.mark.parametrize("steps", [0, -2])
def test_decay_steps_must_be_positive_in_every_decay_schedule(ref, name, steps):
    args = {"initial_learning_rate": 0.1, "decay_steps": steps}
    if name != "CosineDecay":
        args["decay_rate"] = 0.5
    with pytest.raises(ValueError, match=f"decay_steps={steps}"):
        getattr(ref, name)(**args)
    with pytest.raises(ValueError, match=rf"{name}: argument `decay_steps` must be > 0.*"
                                         rf"decay_steps={steps}"):
        getattr(S, name)(**args)


@pytest.mark.parametrize("name,args", CASES)
def test_config_round_trips(name, args):
    schedule = getattr(S, name)(**args)
    again = S.deserialize(S.serialize(schedule))
    assert type(again) is type(schedule) and again.get_config() == schedule.get_config()
    assert float(again(5)) == float(schedule(5))
