//! The uniform spatial grid that every collision query goes through.
//!
//! A grid is rebuilt every frame inside the frame's scratch arena by a stable counting sort: count
//! the objects per cell, turn the counts into offsets, then drop each object's index into its cell.
//! Objects of a cell are listed in index order, so queries visit them in a deterministic order.

use bumpalo::Bump;

use crate::fixed::Fixed;
use crate::SimError;

/// The error for a scratch arena too small for the frame's grids.
pub(super) const SCRATCH_EXHAUSTED: SimError = SimError::SCRATCH_EXHAUSTED;

/// The shape of a grid: square cells of `2^cell_shift` world units covering the world.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct GridGeom {
    /// Right shift from a raw [`Fixed`] coordinate to a cell coordinate (16 + log2 of the cell size).
    shift: u32,
    /// Cells per side.
    dim: usize,
}

impl GridGeom {
    /// The finest grid with cells of at least `2^min_cell_shift` units and at most `max_dim` (at
    /// most 256) per side.
    pub fn new(world_size: i32, min_cell_shift: u32, max_dim: usize) -> GridGeom {
        let max_dim = max_dim.min(256);
        let world = i64::from(world_size.max(1));
        let mut s = min_cell_shift;
        while (world + (1 << s) - 1) >> s > max_dim as i64 {
            s += 1;
        }
        let dim = ((world + (1 << s) - 1) >> s).max(1) as usize;
        GridGeom { shift: 16 + s, dim }
    }

    /// The number of cells.
    pub fn cells(&self) -> usize {
        self.dim * self.dim
    }

    /// The scratch bytes one grid of this shape over `entries` objects takes (without alignment).
    pub fn bytes(&self, entries: usize) -> usize {
        (self.cells() + 1) * size_of::<u32>() + 2 * entries * size_of::<u16>()
    }

    /// The cell coordinate of a position coordinate, clamped into the grid.
    #[inline]
    fn coord(&self, v: Fixed) -> usize {
        (v.raw() >> self.shift).clamp(0, self.dim as i64 - 1) as usize
    }

    #[inline]
    fn cell(&self, x: Fixed, y: Fixed) -> usize {
        self.coord(y) * self.dim + self.coord(x)
    }
}

/// Scratch memory for one grid, allocated before the frame changes any state.
#[derive(Debug)]
pub(super) struct GridBuf<'a> {
    geom: GridGeom,
    starts: &'a mut [u32],
    entries: &'a mut [u16],
    /// Each object's cell (a grid has at most 256 × 256 cells), computed once per build.
    cell_of: &'a mut [u16],
}

impl<'a> GridBuf<'a> {
    /// Allocates a grid for at most `max_entries` objects (at most 65,536) in `scratch`.
    pub fn alloc(scratch: &'a Bump, geom: GridGeom, max_entries: usize) -> Result<GridBuf<'a>, SimError> {
        let starts = scratch.try_alloc_slice_fill_copy(geom.cells() + 1, 0u32).map_err(|_| SCRATCH_EXHAUSTED)?;
        let entries = scratch.try_alloc_slice_fill_copy(max_entries, 0u16).map_err(|_| SCRATCH_EXHAUSTED)?;
        let cell_of = scratch.try_alloc_slice_fill_copy(max_entries, 0u16).map_err(|_| SCRATCH_EXHAUSTED)?;
        Ok(GridBuf { geom, starts, entries, cell_of })
    }

    /// Sorts objects `0..n` (positions given by `pos`) into the cells. `n` is capped to the
    /// allocated number of entries.
    pub fn build(self, n: usize, pos: impl Fn(usize) -> (Fixed, Fixed)) -> Grid<'a> {
        let GridBuf { geom, starts, entries, cell_of } = self;
        let n = n.min(entries.len());
        for (i, slot) in cell_of[..n].iter_mut().enumerate() {
            let (x, y) = pos(i);
            let c = geom.cell(x, y);
            *slot = c as u16;
            starts[c] += 1;
        }
        // Inclusive prefix sums: starts[c] becomes the end of cell c.
        let mut acc = 0;
        for s in starts.iter_mut() {
            acc += *s;
            *s = acc;
        }
        // Walking backwards moves each starts[c] down to the start of cell c and keeps index order.
        for (i, &c) in cell_of[..n].iter().enumerate().rev() {
            let c = usize::from(c);
            starts[c] -= 1;
            entries[starts[c] as usize] = i as u16;
        }
        Grid { geom, starts, entries }
    }
}

/// A built grid: the objects of cell `c` are `entries[starts[c]..starts[c + 1]]`.
#[derive(Debug)]
pub(super) struct Grid<'a> {
    geom: GridGeom,
    starts: &'a [u32],
    entries: &'a [u16],
}

impl Grid<'_> {
    /// The indices of every object in the cells that the square `[x - r, x + r] × [y - r, y + r]`
    /// touches (a superset of the objects within `r`), row by row, in index order within a cell.
    #[inline]
    pub fn query(&self, x: Fixed, y: Fixed, r: Fixed) -> impl Iterator<Item = usize> + '_ {
        let g = self.geom;
        let (x0, x1) = (g.coord(x - r), g.coord(x + r));
        let (y0, y1) = (g.coord(y - r), g.coord(y + r));
        (y0..=y1).flat_map(move |cy| {
            let row = cy * g.dim;
            let (a, b) = (self.starts[row + x0] as usize, self.starts[row + x1 + 1] as usize);
            self.entries[a..b].iter().map(|&e| usize::from(e))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geometry() {
        let g = GridGeom::new(1024, 5, 64);
        assert_eq!((g.shift, g.dim), (21, 32));
        let g = GridGeom::new(1 << 20, 5, 64);
        assert_eq!((g.shift, g.dim), (30, 64));
        let g = GridGeom::new(100, 5, 64);
        assert_eq!(g.dim, 4);
        assert_eq!(g.coord(Fixed::from_int(-5)), 0);
        assert_eq!(g.coord(Fixed::from_int(1000)), 3);
    }

    #[test]
    fn query_finds_neighbours_in_order() {
        let pts: Vec<(Fixed, Fixed)> =
            (0..200).map(|i| (Fixed::from_int((i * 37) % 256), Fixed::from_int((i * 91) % 256))).collect();
        let bump = Bump::new();
        let geom = GridGeom::new(256, 5, 64);
        let grid = GridBuf::alloc(&bump, geom, pts.len()).expect("alloc").build(pts.len(), |i| pts[i]);
        let (qx, qy, r) = (Fixed::from_int(100), Fixed::from_int(120), Fixed::from_int(20));
        let found: Vec<usize> = grid.query(qx, qy, r).collect();
        for (i, &(x, y)) in pts.iter().enumerate() {
            let near = (x - qx).abs() <= r && (y - qy).abs() <= r;
            assert!(!near || found.contains(&i), "point {i} missed");
        }
        let mut sorted = found.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), found.len(), "no duplicates");
    }

    #[test]
    fn exhaustion_is_an_error() {
        let bump = Bump::new();
        bump.set_allocation_limit(Some(0));
        let err = GridBuf::alloc(&bump, GridGeom::new(1024, 5, 64), 10).map(|_| ());
        assert_eq!(err, Err(SCRATCH_EXHAUSTED));
    }
}
