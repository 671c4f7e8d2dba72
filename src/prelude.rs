//! `use workcrew::prelude::*` in place of `use rayon::prelude::*`: the
//! parallel-iterator traits with rayon's names (see [`crate::iter`]).

pub use crate::iter::{
    FromParallelIterator, IndexedParallelIterator, IntoParallelIterator, IntoParallelRefIterator,
    IntoParallelRefMutIterator, ParallelBridge, ParallelExtend, ParallelIterator, ParallelSlice,
    ParallelSliceMut,
};
