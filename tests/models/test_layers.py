"""Shared blocks: the NAFNet-style block the deblur U-Net can be built with (bench/deblur_blocks.py)."""

from __future__ import annotations

import torch

from stream_restore.models.deblur_unet import DeblurUNet
from stream_restore.models.layers import NAFBlock


def _randomised(block: NAFBlock) -> NAFBlock:
    torch.manual_seed(0)
    with torch.no_grad():
        for p in block.parameters():
            p.add_(0.3 * torch.randn_like(p))
    return block.eval()


def test_a_new_naf_block_is_the_identity() -> None:
    x = torch.randn(2, 8, 9, 11)
    with torch.no_grad():
        torch.testing.assert_close(NAFBlock(8)(x), x)


def test_a_naf_block_sees_only_its_3x3_neighbourhood() -> None:
    """No global pooling: changing a pixel changes the output within one pixel of it and nowhere
    else, so tiles with overlap give the untiled output (NAFNet's channel attention would not)."""
    block = _randomised(NAFBlock(8))
    x = torch.randn(1, 8, 15, 17)
    y = x.clone()
    y[0, :, 7, 8] += 5.0 * torch.randn(8)  # not the same shift on every channel: the norm removes that
    with torch.no_grad():
        changed = (block(y) - block(x)).abs().amax(1)[0] > 1e-6
    rows, cols = torch.nonzero(changed, as_tuple=True)
    assert changed[7, 8] and changed.sum() > 1
    assert rows.min() >= 6 and rows.max() <= 8 and cols.min() >= 7 and cols.max() <= 9


def test_the_naf_unet_keeps_the_shape_and_costs_about_the_resblock_unets() -> None:
    from torch.utils.flop_counter import FlopCounterMode

    costs = {}
    for block in ("res", "naf"):
        model = DeblurUNet(16, 2, block).eval()
        x = torch.rand(1, 3, 37, 45)
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            assert model(x).shape == x.shape
        costs[block] = counter.get_total_flops()
    assert 0.9 < costs["naf"] / costs["res"] < 1.1
