"""The parser's labels where it is sure, correspondences elsewhere: the rule on synthetic logits and
features whose answer is known, then the whole parser path (stand-in and tiny random parsers, a tiny
random VGG) through :func:`dpst.segment.choose.choose_masks`."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import dpst
from dpst.neural.vgg import VGGFeatures, random_weights
from dpst.segment import hybrid, semantic
from dpst.segment.choose import SceneParsers, choose_masks
from dpst.segment.correspond import nearest
from dpst.segment.hybrid import (
    HybridSettings,
    cell_groups,
    content_probabilities,
    hybrid_probabilities,
    sure_cells,
    vote,
)
from dpst.segment.semantic import GROUP_COLOURS, GROUPS, semantic_labels
from tests.conftest import photo

G = {name: i for i, name in enumerate(GROUPS)}
SKY, TREE, BUILDING, WATER = (
    G["sky"],
    G["tree, plant, grass"],
    G["building, structure"],
    G["water, sea, river, lake"],
)
N_GROUPS = len(GROUPS)


def _logits(groups: list[dict[int, float]]) -> torch.Tensor:
    """(G, N) group logits of N cells: each cell's {group: probability}, the rest shared equally."""
    out = torch.empty(N_GROUPS, len(groups), dtype=torch.float64)
    for n, want in enumerate(groups):
        rest = (1 - sum(want.values())) / (N_GROUPS - len(want))
        p = torch.full((N_GROUPS,), rest, dtype=torch.float64)
        for g, v in want.items():
            p[g] = v
        out[:, n] = p.log()
    return out


def _features(directions: list[int], dim: int = 6, noise: float = 0.05, seed: int = 0) -> torch.Tensor:
    """(N, dim) unit descriptors: each cell near the axis ``directions[n]``."""
    rng = np.random.default_rng(seed)
    x = np.eye(dim)[directions] + noise * rng.standard_normal((len(directions), dim))
    return torch.nn.functional.normalize(torch.from_numpy(x).float(), dim=1)


def _labels(logits, votes, allowed, sure=0.65) -> list[int]:
    prob = hybrid_probabilities(logits, votes, allowed, sure)
    return torch.tensor(allowed)[prob.argmax(0)].tolist()


# the style: 6 sky cells (features along axis 0) and 6 tree cells (along axis 1)
STYLE_LABELS = torch.tensor([SKY] * 6 + [TREE] * 6)
STYLE_FEATURES = _features([0] * 6 + [1] * 6, seed=1)
ALLOWED = [SKY, TREE]


def _votes(content_features: torch.Tensor, k: int = 3) -> torch.Tensor:
    sims, idx = nearest(content_features, STYLE_FEATURES, k)
    return vote(STYLE_LABELS, sims, idx, N_GROUPS)


def test_sure_cells_keep_the_parser_group_whatever_their_correspondences_say():
    # sure of sky and of trees, but each looks like the other region of the style
    logits = _logits([{SKY: 0.9}, {TREE: 0.8}, {SKY: 0.7}])
    votes = _votes(_features([1, 0, 1]))
    assert _labels(logits, votes, ALLOWED) == [SKY, TREE, SKY]
    assert sure_cells(logits, ALLOWED, 0.65).tolist() == [True, True, True]


def test_an_orphan_region_takes_the_style_region_its_features_match():
    # water (absent from the style) the parser is sure of, its next guess sky; it looks like the trees
    logits = _logits([{WATER: 0.9, SKY: 0.08, TREE: 0.001}] * 4 + [{SKY: 0.95}] * 2)
    votes = _votes(_features([1, 1, 1, 1, 0, 0], seed=2))
    assert _labels(logits, votes, ALLOWED) == [TREE] * 4 + [SKY] * 2
    assert not sure_cells(logits, ALLOWED, 0.65)[:4].any()  # sure of water, but an orphan
    # the parser alone (the paper's restriction by its next guess) would have made it sky
    assert semantic.restricted_labels(logits[..., None], ALLOWED)[:4, 0].tolist() == [SKY] * 4


def test_unsure_cells_follow_their_correspondences():
    # the parser hesitates between sky and trees (or leans to sky); the features say trees, then sky
    logits = _logits([{SKY: 0.5, TREE: 0.45}, {SKY: 0.6, TREE: 0.2}, {TREE: 0.55, SKY: 0.4}])
    votes = _votes(_features([1, 1, 0], seed=3))
    assert _labels(logits, votes, ALLOWED) == [TREE, TREE, SKY]
    assert _labels(logits, votes, ALLOWED, sure=0.45) == [SKY, SKY, TREE]  # a lower bar: the parser's


def test_sure_everywhere_with_every_group_in_the_style_is_the_parser_alone():
    logits = _logits([{SKY: 0.97}, {TREE: 0.7}, {SKY: 0.66, TREE: 0.3}])
    votes = _votes(_features([1, 0, 0]))
    assert torch.equal(hybrid_probabilities(logits, votes, ALLOWED, 0.65), torch.softmax(logits[ALLOWED], 0))


def test_votes_are_weighted_by_similarity_and_sum_to_one():
    labels = torch.tensor([SKY, SKY, TREE])
    sims = torch.tensor([[0.9, 0.2, 0.1], [0.1, 0.1, 0.9], [-0.5, -0.4, 0.0]])
    idx = torch.tensor([[0, 2, 1], [0, 1, 2], [0, 1, 2]])
    v = vote(labels, sims, idx, N_GROUPS)
    assert v.shape == (N_GROUPS, 3)
    torch.testing.assert_close(v.sum(0), torch.ones(3))
    torch.testing.assert_close(v[SKY, 0], torch.tensor(1.0 / 1.2), atol=1e-5, rtol=0)  # (0.9 + 0.1) / 1.2
    assert v[TREE, 1] > v[SKY, 1]  # one close neighbour outweighs two far ones
    torch.testing.assert_close(v[SKY, 2], torch.tensor(2 / 3))  # nothing similar: an equal vote
    assert v[[g for g in range(N_GROUPS) if g not in (SKY, TREE)]].abs().max() == 0


def test_cell_groups_pool_the_allowed_probabilities_over_each_cell():
    # (G, 4, 4) logits: the top 2 rows sky, the bottom 2 water (next guess sky), the bottom right trees
    p = torch.full((N_GROUPS, 4, 4), 0.01)
    p[SKY, :2], p[WATER, 2:], p[SKY, 2:], p[TREE, 2:, 2:] = 0.9, 0.9, 0.05, 0.95
    assert cell_groups(p.log(), (2, 2), [SKY, TREE]).tolist() == [SKY, SKY, SKY, TREE]
    with pytest.raises(ValueError, match="no group allowed"):
        cell_groups(p.log(), (2, 2), [])


def test_the_inputs_are_checked_with_messages():
    with pytest.raises(ValueError, match=r"vote: sims \(3, 2\) and idx \(3, 1\) must both be \(N, k\)"):
        vote(STYLE_LABELS, torch.zeros(3, 2), torch.zeros(3, 1, dtype=torch.long), N_GROUPS)
    with pytest.raises(ValueError, match=r"logits \(9, 2\) but votes \(9, 3\)"):
        hybrid_probabilities(torch.zeros(N_GROUPS, 2), torch.zeros(N_GROUPS, 3), ALLOWED, 0.6)
    with pytest.raises(ValueError, match=r"HybridSettings.sure 1.5: "):
        HybridSettings(sure=1.5)
    with pytest.raises(ValueError, match=r"HybridSettings.k 0: "):
        HybridSettings(k=0)


class StandinParser:
    """Stands for a :class:`dpst.segment.semantic.SceneParser`: the logits given, for the content and
    then the style (the order in which ``semantic_labels`` asks)."""

    def __init__(self, content: torch.Tensor, style: torch.Tensor) -> None:
        self.queue = [content, style]

    def logits(self, rgb: np.ndarray) -> torch.Tensor:
        return self.queue.pop(0)


def _halves(top: dict[int, float], bottom: dict[int, float], h: int = 12, w: int = 16) -> torch.Tensor:
    """(G, h, w) logits: ``top`` over the upper half, ``bottom`` over the lower."""
    cells = _logits([top, bottom]).float()
    out = cells[:, :1, None].expand(N_GROUPS, h, w).clone()
    out[:, h // 2 :] = cells[:, 1:, None]
    return out


def _sky_over_grass(h: int = 48, w: int = 64) -> np.ndarray:
    """A smooth blue sky over a green, noisy ground."""
    rng = np.random.default_rng(0)
    img = np.empty((h, w, 3), np.float32)
    img[: h // 2] = np.array([0.5, 0.7, 0.95]) - 0.2 * np.linspace(0, 1, h // 2)[:, None, None]
    img[h // 2 :] = np.array([0.25, 0.5, 0.2]) + 0.2 * rng.standard_normal((h - h // 2, w, 3))
    return np.clip(img, 0, 1)


@pytest.fixture(scope="module")
def net() -> VGGFeatures:
    return VGGFeatures(random_weights(0))


def test_the_whole_path_relabels_an_orphan_by_what_it_looks_like(net):
    # the same photo on both sides: its ground parsed as water (sure, its next guess sky) in the content
    # and as grass in the style; its deep features say grass
    rgb = _sky_over_grass()
    content = _halves({SKY: 0.95}, {WATER: 0.9, SKY: 0.09})
    style = _halves({SKY: 0.95}, {TREE: 0.95})
    c_alone, s_alone = semantic_labels(StandinParser(content, style), rgb, rgb)
    c, s = semantic_labels(StandinParser(content, style), rgb, rgb, net=net)
    sky, tree = GROUP_COLOURS[SKY], GROUP_COLOURS[TREE]
    assert np.array_equal(s, s_alone)  # the style's labels are the parser's
    assert (c_alone == sky).all()  # alone: the orphan goes to the next guess
    assert (c[:20] == sky).all() and (c[28:] == tree).mean() > 0.95


def test_the_whole_path_is_the_parser_alone_where_it_is_sure_of_groups_the_style_has(net):
    content = _halves({SKY: 0.9}, {TREE: 0.8})
    style = _halves({TREE: 0.95}, {SKY: 0.7})  # upside down: the correspondences disagree everywhere
    c_photo, s_photo = photo(48, 64, 0), photo(40, 40, 1)
    alone = semantic_labels(StandinParser(content, style), c_photo, s_photo)
    both = semantic_labels(StandinParser(content, style), c_photo, s_photo, net=net)
    assert np.array_equal(alone[0], both[0]) and np.array_equal(alone[1], both[1])


def test_content_probabilities_are_on_the_parser_grid_over_the_style_groups(net):
    lg_c = _halves({SKY: 0.5, TREE: 0.4}, {WATER: 0.9}, 10, 14)
    lg_s = _halves({SKY: 0.9}, {TREE: 0.9})
    prob = content_probabilities(net, photo(48, 64, 0), photo(40, 40, 1), (lg_c, lg_s), ALLOWED)
    assert prob.shape == (2, 10, 14)
    torch.testing.assert_close(prob.sum(0), torch.ones(10, 14))


@pytest.fixture(scope="module")
def tiny_segformer(tiny_parsers):
    from tests.segment.conftest import SEGFORMER

    return tiny_parsers[SEGFORMER]


def test_auto_with_a_tiny_parser_runs_the_hybrid_through_choose_masks(tiny_segformer, net, monkeypatch):
    calls = []
    real = hybrid.content_probabilities
    monkeypatch.setattr(semantic, "content_probabilities", lambda *a: calls.append(a) or real(*a))
    cfg = dpst.Config(segmenter=str(tiny_segformer))
    segment, line = choose_masks(cfg, net, SceneParsers(torch.device("cpu")))
    assert line == f"semantic (scene parser {tiny_segformer})"
    c, s = segment(photo(48, 64, 0), photo(40, 40, 1), ((24, 32), (20, 20)))
    assert len(calls) == 1 and calls[0][0] is net
    assert c.shape == (24, 32) and s.shape == (20, 20)
    assert set(np.unique(c)) <= set(np.unique(s)) <= set(GROUP_COLOURS.tolist())
