"""The stable activations (lossutils.activations) against PyTorch, float64."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import lossutils as lu
from helpers import SETTINGS


@SETTINGS
@given(
    x=hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3), elements=st.floats(-50, 50)),
    axis=st.integers(-3, 2),
)
def test_activations_match_torch(x, axis):
    axis = axis % x.ndim
    tx = torch.tensor(x)
    np.testing.assert_allclose(lu.sigmoid(x), torch.sigmoid(tx), rtol=1e-14, atol=0)
    np.testing.assert_allclose(lu.log_sigmoid(x), F.logsigmoid(tx), rtol=1e-14, atol=1e-300)
    np.testing.assert_allclose(
        lu.softmax(x, axis=axis), torch.softmax(tx, axis), rtol=1e-13, atol=1e-300
    )
    np.testing.assert_allclose(
        lu.log_softmax(x, axis=axis), torch.log_softmax(tx, axis), rtol=1e-13, atol=1e-15
    )


def test_scalars_give_scalars():
    assert lu.sigmoid(0.0) == 0.5 and np.shape(lu.sigmoid(0.0)) == ()
    assert lu.log_sigmoid(np.float32(0.0)).dtype == np.float32


@pytest.mark.parametrize("fn", [lu.softmax, lu.log_softmax])
def test_softmax_needs_an_axis(fn):
    with pytest.raises(ValueError, match=r"x must have at least one dimension.*got a scalar"):
        fn(1.0)
    with pytest.raises(TypeError, match=r"x must be an array of real numbers, got dtype <U1"):
        fn(["a", "b"])
