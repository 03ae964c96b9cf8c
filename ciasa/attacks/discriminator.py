"""The frame discriminator of CIASA's GAN term."""

from __future__ import annotations

import torch
from torch import Tensor, nn

# Frames scored per convolution call on the CPU. One call over every frame of a batch
# (32 clips x 64 frames x real + fake = 4,096 maps) runs ~3x slower than the same frames in
# chunks of 256: the activations then stay in cache. Each frame is scored on its own (no
# batch statistics), so the scores are the same either way.
CPU_CHUNK = 256


class BoneCosineDiscriminator(nn.Module):
    """Judges whether one frame's bone-cosine map ``(1, B, B)`` comes from real motion.

    Two 3x3 convolutions of 32 channels and one fully connected layer, sigmoid output in
    [0, 1]. The convolutions use stride 2: the discriminator scores every frame of every
    clip in each attack iteration (NTU: 300 frames x 2 bodies x batch), and strided
    convolutions cut its cost about twelvefold against stride 1 while still covering
    every bone pair.

    Shape: ``(F, 1, B, B)`` -> ``(F,)``.
    """

    def __init__(self, num_bones: int, channels: int = 32, slope: float = 0.2) -> None:
        super().__init__()
        if num_bones < 1:
            raise ValueError(f"the discriminator needs at least one bone, got {num_bones}")
        self.num_bones = num_bones
        self.features = nn.Sequential(
            nn.Conv2d(1, channels, 3, stride=2, padding=1),
            nn.LeakyReLU(slope),
            nn.Conv2d(channels, channels, 3, stride=2, padding=1),
            nn.LeakyReLU(slope),
        )
        side = _conv_out(_conv_out(num_bones))
        self.fc = nn.Linear(channels * side * side, 1)

    def forward(self, maps: Tensor) -> Tensor:
        if maps.dim() == 3:
            maps = maps.unsqueeze(1)
        if maps.shape[-1] != self.num_bones or maps.shape[-2] != self.num_bones:
            raise ValueError(f"discriminator built for {self.num_bones}x{self.num_bones} maps, got {tuple(maps.shape)}")
        if maps.device.type == "cpu" and maps.shape[0] > CPU_CHUNK:
            return torch.cat([self._score(part) for part in maps.split(CPU_CHUNK)])
        return self._score(maps)

    def _score(self, maps: Tensor) -> Tensor:
        h = self.features(maps)
        return torch.sigmoid(self.fc(h.flatten(1))).squeeze(1)


def _conv_out(size: int) -> int:
    return (size + 2 - 3) // 2 + 1
