import numpy as np
import pytest

from ciasa.skeleton import LAYOUTS, NTU_RGBD, OPENPOSE_18, bone_lengths, get_layout


@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_layout_is_consistent(name):
    layout = get_layout(name)
    layout.validate()
    # Every non-root joint has exactly one bone; tree levels list each joint once.
    assert len(layout.bones) == layout.num_joints - 1
    assert sorted(j for level in layout.tree_levels for j in level) == list(range(layout.num_joints))
    for level_index, level in enumerate(layout.tree_levels[1:], start=1):
        for j in level:
            assert layout.depth[layout.parents[j]] == level_index - 1


def test_ntu_tree_follows_kinect():
    p = {NTU_RGBD.joint_names[j]: NTU_RGBD.joint_names[k] for j, k in NTU_RGBD.bones}
    assert NTU_RGBD.root == 0
    assert p["left_thumb"] == "left_wrist" and p["right_hand_tip"] == "right_hand"
    assert p["neck"] == "spine_shoulder" and p["left_hip"] == "spine_base"
    assert NTU_RGBD.graph_center == NTU_RGBD.index("spine_shoulder")
    # The official ST-GCN graph links hand tip to thumb and thumb to hand.
    assert (21, 22) in NTU_RGBD.graph_edges and (22, 7) in NTU_RGBD.graph_edges


def test_advanced_mode_defaults():
    eps = NTU_RGBD.hierarchical_eps()
    assert eps[NTU_RGBD.index("left_hip")] == pytest.approx(0.01)
    assert eps[NTU_RGBD.index("right_knee")] == pytest.approx(0.05)
    assert eps[NTU_RGBD.index("left_ankle")] == pytest.approx(0.15)
    assert eps[NTU_RGBD.index("right_foot")] == pytest.approx(0.25)
    assert np.count_nonzero(eps) == 8 == len(NTU_RGBD.region_joints("legs"))
    assert OPENPOSE_18.region_joints("all") == tuple(range(18))


def test_unknown_names_raise():
    with pytest.raises(KeyError, match="no attack region"):
        NTU_RGBD.region_joints("arms")
    with pytest.raises(KeyError, match="unknown skeleton layout"):
        get_layout("smpl")


def test_bone_lengths_shapes_and_values():
    x = np.zeros((3, 2, 25, 1))
    x[1, :, NTU_RGBD.index("spine_mid"), 0] = 0.3  # spine_mid 0.3 m above the base
    lengths = bone_lengths(x, NTU_RGBD)
    assert lengths.shape == (2, 24, 1)
    bone = [c for c, _ in NTU_RGBD.bones].index(NTU_RGBD.index("spine_mid"))
    assert lengths[0, bone, 0] == pytest.approx(0.3)
    assert bone_lengths(x[None], NTU_RGBD, channel_axis=1).shape == (1, 2, 24, 1)
