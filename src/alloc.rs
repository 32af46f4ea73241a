//! The global allocator of every statejet binary, load tester and bench: mimalloc, called the
//! short way for the blocks it aligns by itself.
//!
//! Invariant: every block comes from mimalloc and goes back to it. The `mimalloc` crate sends
//! every allocation through `mi_malloc_aligned`, which first re-checks the alignment, looks up
//! the size's page and tests the free block's address (~40 instructions a block); mimalloc's
//! own rule (`mi_malloc_is_naturally_aligned`, v2) is that a block of at least `align` bytes
//! with `align <= 16` is aligned by plain `mi_malloc`, so those layouts (all but a handful of
//! ours) take it, and the rest take the crate's aligned call. `mi_free` frees blocks of both.

use std::alloc::{GlobalAlloc, Layout};
use std::ffi::c_void;

use libmimalloc_sys::{mi_free, mi_malloc, mi_realloc, mi_zalloc};

/// mimalloc's `MI_MAX_ALIGN_SIZE` on every target statejet builds for.
const NATURAL: usize = 16;

/// The allocator: `#[global_allocator] static A: statejet::alloc::Allocator = statejet::alloc::Allocator;`
pub struct Allocator;

#[inline]
fn natural(layout: &Layout) -> bool {
    layout.align() <= NATURAL && layout.align() <= layout.size()
}

// SAFETY: the blocks are mimalloc's and meet the layout: plain `mi_malloc`/`mi_zalloc`/`mi_realloc`
// only where mimalloc guarantees the alignment (`natural`), its aligned calls otherwise; all are
// freed by `mi_free`, which takes any mimalloc block.
unsafe impl GlobalAlloc for Allocator {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if natural(&layout) {
            // SAFETY: a plain allocation of the layout's size, aligned as `natural` says.
            unsafe { mi_malloc(layout.size()) as *mut u8 }
        } else {
            // SAFETY: the caller's contract, passed on.
            unsafe { mimalloc::MiMalloc.alloc(layout) }
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if natural(&layout) {
            // SAFETY: as `alloc`, zeroed.
            unsafe { mi_zalloc(layout.size()) as *mut u8 }
        } else {
            // SAFETY: the caller's contract, passed on.
            unsafe { mimalloc::MiMalloc.alloc_zeroed(layout) }
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        // SAFETY: `ptr` is a live mimalloc block (the caller's contract).
        unsafe { mi_free(ptr as *mut c_void) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if layout.align() <= NATURAL && layout.align() <= new_size {
            // SAFETY: `ptr` is a live mimalloc block; the new block is aligned as `natural` says.
            unsafe { mi_realloc(ptr as *mut c_void, new_size) as *mut u8 }
        } else {
            // SAFETY: the caller's contract, passed on.
            unsafe { mimalloc::MiMalloc.realloc(ptr, layout, new_size) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every layout's block meets its alignment, keeps its bytes through a realloc either way
    /// (plain and aligned), and goes back.
    #[test]
    fn blocks_meet_their_layouts() {
        for align in [1, 2, 4, 8, 16, 32, 64, 4096] {
            for size in [1, 3, 8, 12, 16, 24, 40, 48, 100, 4000, 70_000] {
                let Ok(layout) = Layout::from_size_align(size, align) else {
                    continue;
                };
                // SAFETY: a non-zero size; each block is written within its size and freed once.
                unsafe {
                    let p = Allocator.alloc(layout);
                    assert!(!p.is_null() && p as usize % align == 0, "{size} {align}");
                    p.write_bytes(0xab, size);
                    let grown = Allocator.realloc(p, layout, size * 3);
                    assert!(grown as usize % align == 0, "realloc {size} {align}");
                    assert!((0..size).all(|i| *grown.add(i) == 0xab));
                    Allocator.dealloc(grown, Layout::from_size_align(size * 3, align).unwrap());
                    let z = Allocator.alloc_zeroed(layout);
                    assert!(z as usize % align == 0 && (0..size).all(|i| *z.add(i) == 0));
                    Allocator.dealloc(z, layout);
                }
            }
        }
    }
}
