"""Drawing the arena with numpy alone: players, aim, health bars and projectiles."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ._arena import ArenaState

__all__ = ["PALETTE", "draw_arena"]

#: One colour per slot (cycled), RGB.
PALETTE = np.array(
    [
        (31, 119, 180),
        (255, 127, 14),
        (44, 160, 44),
        (214, 39, 40),
        (148, 103, 189),
        (140, 86, 75),
        (227, 119, 194),
        (188, 189, 34),
        (23, 190, 207),
        (127, 127, 127),
    ],
    dtype=np.uint8,
)
_BACKGROUND = (24, 24, 28)
_PLAYER_RADIUS = 8.0  # world units (framelock_core::arena::PLAYER_RADIUS)


def draw_arena(state: ArenaState, world_size: int, size: int = 256) -> npt.NDArray[np.uint8]:
    """An RGB image ``(size, size, 3)`` uint8 of the arena: each player a disc in its slot's
    colour (dead players as a dim ring), a white aim line, a health bar above it (green / red),
    projectiles as small squares in their owner's colour."""
    img = np.empty((size, size, 3), dtype=np.uint8)
    img[:] = _BACKGROUND
    scale = size / float(world_size)
    r = max(2.0, _PLAYER_RADIUS * scale)
    yy, xx = np.ogrid[0:size, 0:size]
    for i in range(state.players):
        cx, cy = state.positions[i] * scale
        colour = PALETTE[i % len(PALETTE)]
        d2 = (xx - cx) ** 2 + (yy - cy) ** 2
        if state.respawn[i] > 0:
            img[(d2 <= r * r) & (d2 >= (r - 1.5) ** 2)] = colour // 2
            continue
        img[d2 <= r * r] = colour
        # aim: a line from the centre to 2.2 radii along the facing direction
        t = np.linspace(0.0, 2.2 * r, max(4, int(3 * r)))
        ax = np.clip((cx + t * np.cos(state.facing[i])).astype(int), 0, size - 1)
        ay = np.clip((cy + t * np.sin(state.facing[i])).astype(int), 0, size - 1)
        img[ay, ax] = (255, 255, 255)
        # health bar, 2 px high, above the disc
        top = int(cy - r - 4)
        left, width = int(cx - r), max(2, int(2 * r))
        if 0 <= top < size - 2:
            x0, x1 = max(0, left), min(size, left + width)
            split = left + int(round(width * float(state.health[i]) / 100.0))
            if x1 > x0:
                img[top : top + 2, x0:x1] = (200, 40, 40)
                if split > x0:
                    img[top : top + 2, x0 : min(split, x1)] = (60, 200, 60)
    if state.projectiles:
        px = np.clip((state.projectile_positions[:, 0] * scale).astype(int), 0, size - 2)
        py = np.clip((state.projectile_positions[:, 1] * scale).astype(int), 0, size - 2)
        colours = np.minimum(PALETTE[state.projectile_owner.astype(int) % len(PALETTE)].astype(int) + 80, 255)
        for dy in (0, 1):
            for dx in (0, 1):
                img[py + dy, px + dx] = colours.astype(np.uint8)
    return img
