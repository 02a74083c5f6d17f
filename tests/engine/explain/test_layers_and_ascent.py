"""Feature maps, activation statistics and gradient-ascent images on the classifier built by hand
(known_model): its first layer's channel 0 measures redness, so the image that maximises it is red."""
import numpy as np
import torch

from engine.explain import Explainable
from engine.explain.features import activation_statistics, feature_maps
from engine.explain.visualise import deepdream, visualise_filter

from .known_model import CATEGORIES, RegionClassifier, region_image


def _model():
    torch.manual_seed(0)
    return Explainable(RegionClassifier(), categories=CATEGORIES)


def test_feature_grid_orders_channels_by_mean_activation_and_statistics_follow_the_layers():
    model = _model()
    grid = feature_maps(model, region_image(), "act1", top_k=4, gap=2)
    assert grid.grid.shape == (2 * 64 + 2, 2 * 64 + 2) and 0 <= grid.grid.min() and grid.grid.max() <= 1
    assert grid.tile_means == sorted(grid.tile_means, reverse=True) and sorted(grid.channels) == [0, 1, 2, 3]
    assert grid.channels[0] == 3  # brightness is the most active channel on a grey image
    stats = {s.layer: s for s in activation_statistics(model, region_image())}
    assert list(stats) == ["conv1", "act1", "conv2", "act2"]
    assert stats["act1"].channels == 4 and (stats["act1"].height, stats["act1"].width) == (64, 64)
    assert stats["conv1"].sparsity < 0.01 < 0.3 < stats["act1"].sparsity  # the ReLU silences what is not its colour


def test_filter_visualisation_finds_the_colour_a_channel_detects():
    model = _model()
    for channel, colour in ((0, 0), (1, 1)):
        for fourier in (False, True):
            img = visualise_filter(model, "conv1", channel, size=(32, 32), steps=24, fourier=fourier, seed=1)
            assert img.shape == (32, 32, 3) and img.dtype == np.uint8
            means = img.reshape(-1, 3).mean(0)
            assert means.argmax() == colour, (channel, fourier, means)


def test_deepdream_amplifies_the_layer_on_the_image():
    model = _model()
    image = region_image()
    dreamed = deepdream(model, image, "act1", octaves=2, steps=8, lr=0.05)
    assert dreamed.shape == image.shape and dreamed.dtype == np.uint8

    def energy(rgb):
        with torch.no_grad():
            return float(model.activations(model.to_input(rgb), "act1")[0].pow(2).mean())
    assert energy(dreamed) > 1.2 * energy(image)
