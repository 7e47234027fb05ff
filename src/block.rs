//! [`Block`]: one chunk of data in memory, an `ndarray::ArrayD` of a run-time dtype.
//!
//! Every buffer the engine moves between tasks is a `Block`. It is a closed enum over the
//! supported element types, so kernels are written once, generic over
//! [`Element`], and instantiated per variant by
//! [`dispatch_block!`](crate::dispatch_block).

use ndarray::{ArrayD, ArrayViewD, IxDyn};

use crate::dtype::{DType, Element};

/// An n-dimensional in-memory array whose element type is known only at run time.
#[derive(Clone, Debug, PartialEq)]
pub enum Block {
    /// `bool` elements.
    Bool(ArrayD<bool>),
    /// `int8` elements.
    I8(ArrayD<i8>),
    /// `int16` elements.
    I16(ArrayD<i16>),
    /// `int32` elements.
    I32(ArrayD<i32>),
    /// `int64` elements.
    I64(ArrayD<i64>),
    /// `uint8` elements.
    U8(ArrayD<u8>),
    /// `uint16` elements.
    U16(ArrayD<u16>),
    /// `uint32` elements.
    U32(ArrayD<u32>),
    /// `uint64` elements.
    U64(ArrayD<u64>),
    /// `float32` elements.
    F32(ArrayD<f32>),
    /// `float64` elements.
    F64(ArrayD<f64>),
    /// `complex64` elements.
    C64(ArrayD<crate::Complex64>),
    /// `complex128` elements.
    C128(ArrayD<crate::Complex128>),
}

/// Runs `$body` with `$a` bound to the typed array inside a [`Block`] (by reference when the
/// block expression is a reference).
#[macro_export]
macro_rules! dispatch_block {
    ($block:expr, $a:ident => $body:expr) => {
        match $block {
            $crate::Block::Bool($a) => $body,
            $crate::Block::I8($a) => $body,
            $crate::Block::I16($a) => $body,
            $crate::Block::I32($a) => $body,
            $crate::Block::I64($a) => $body,
            $crate::Block::U8($a) => $body,
            $crate::Block::U16($a) => $body,
            $crate::Block::U32($a) => $body,
            $crate::Block::U64($a) => $body,
            $crate::Block::F32($a) => $body,
            $crate::Block::F64($a) => $body,
            $crate::Block::C64($a) => $body,
            $crate::Block::C128($a) => $body,
        }
    };
}

/// A Rust element type that can be wrapped in and unwrapped from a [`Block`].
pub trait BlockElement: Element {
    /// Wraps a typed array.
    fn wrap(a: ArrayD<Self>) -> Block;
    /// Borrows the typed array if the block has this element type.
    fn view(b: &Block) -> Option<&ArrayD<Self>>;
    /// Borrows the typed array mutably if the block has this element type.
    fn view_mut(b: &mut Block) -> Option<&mut ArrayD<Self>>;
    /// Takes the typed array if the block has this element type.
    fn unwrap(b: Block) -> Result<ArrayD<Self>, Block>;
}

macro_rules! block_element {
    ($t:ty, $v:ident) => {
        impl BlockElement for $t {
            #[inline]
            fn wrap(a: ArrayD<Self>) -> Block {
                Block::$v(a)
            }
            #[inline]
            fn view(b: &Block) -> Option<&ArrayD<Self>> {
                match b {
                    Block::$v(a) => Some(a),
                    _ => None,
                }
            }
            #[inline]
            fn view_mut(b: &mut Block) -> Option<&mut ArrayD<Self>> {
                match b {
                    Block::$v(a) => Some(a),
                    _ => None,
                }
            }
            #[inline]
            fn unwrap(b: Block) -> Result<ArrayD<Self>, Block> {
                match b {
                    Block::$v(a) => Ok(a),
                    other => Err(other),
                }
            }
        }
    };
}

block_element!(bool, Bool);
block_element!(i8, I8);
block_element!(i16, I16);
block_element!(i32, I32);
block_element!(i64, I64);
block_element!(u8, U8);
block_element!(u16, U16);
block_element!(u32, U32);
block_element!(u64, U64);
block_element!(f32, F32);
block_element!(f64, F64);
block_element!(crate::Complex64, C64);
block_element!(crate::Complex128, C128);

impl Block {
    /// The element type.
    pub fn dtype(&self) -> DType {
        match self {
            Block::Bool(_) => DType::Bool,
            Block::I8(_) => DType::I8,
            Block::I16(_) => DType::I16,
            Block::I32(_) => DType::I32,
            Block::I64(_) => DType::I64,
            Block::U8(_) => DType::U8,
            Block::U16(_) => DType::U16,
            Block::U32(_) => DType::U32,
            Block::U64(_) => DType::U64,
            Block::F32(_) => DType::F32,
            Block::F64(_) => DType::F64,
            Block::C64(_) => DType::C64,
            Block::C128(_) => DType::C128,
        }
    }

    /// The shape.
    pub fn shape(&self) -> &[usize] {
        dispatch_block!(self, a => a.shape())
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        dispatch_block!(self, a => a.len())
    }

    /// True when the block has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes of element data.
    pub fn nbytes(&self) -> usize {
        self.len() * self.dtype().size()
    }

    /// A block of `shape` filled with `T::default()` (zero / false).
    pub fn zeros(dtype: DType, shape: &[usize]) -> Block {
        crate::dispatch_dtype!(dtype, T => T::wrap(ArrayD::<T>::default(IxDyn(shape))))
    }

    /// Converts every element to `dtype` (NumPy `astype`). Returns `self` unchanged when the
    /// dtype already matches.
    pub fn cast(self, dtype: DType) -> Block {
        if self.dtype() == dtype {
            return self;
        }
        crate::dispatch_dtype!(dtype, T => T::wrap(self.cast_to::<T>()))
    }

    /// Converts every element to `T`, NumPy `astype` style.
    pub fn cast_to<T: BlockElement>(&self) -> ArrayD<T> {
        dispatch_block!(self, a => a.mapv(T::cast_from))
    }

    /// The block as a typed array, converting if needed.
    pub fn into_typed<T: BlockElement>(self) -> ArrayD<T> {
        match T::unwrap(self) {
            Ok(a) => a,
            Err(other) => other.cast_to::<T>(),
        }
    }

    /// The same elements in C order under `shape` (as many elements): free for a block in
    /// standard layout, a copy otherwise.
    ///
    /// # Errors
    /// A shape with another number of elements.
    pub fn into_shape(self, shape: &[usize]) -> crate::error::Result<Block> {
        if shape.iter().product::<usize>() != self.len() {
            return Err(crate::error::Error::internal(format!(
                "reshape of a block of shape {:?} to {shape:?}",
                self.shape()
            )));
        }
        dispatch_block!(self, a => {
            let a = if a.is_standard_layout() { a } else { a.as_standard_layout().into_owned() };
            Ok(BlockElement::wrap(a.into_shape_with_order(IxDyn(shape)).map_err(|e| {
                crate::error::Error::internal_from("reshape of a block", e)
            })?))
        })
    }

    /// Returns a block in standard (C, row-major contiguous) layout.
    pub fn into_standard_layout(self) -> Block {
        dispatch_block!(self, a => {
            if a.is_standard_layout() {
                BlockElement::wrap(a)
            } else {
                BlockElement::wrap(a.as_standard_layout().into_owned())
            }
        })
    }
}

impl<T: BlockElement> From<ArrayD<T>> for Block {
    fn from(a: ArrayD<T>) -> Self {
        T::wrap(a)
    }
}

/// A chunk whose elements are read in place from a memory-mapped file: an uncompressed,
/// native-endian chunk file of a filesystem store ([`ZarrSource`](crate::store::ZarrSource)
/// maps chunks when its codecs allow it). Kernels read it through [`BlockRef::view`]; no copy
/// of the chunk is made until a task gathers the part it needs.
///
/// The stored chunk may be larger than the block (edge chunks are stored at full size); the
/// block is its leading corner of [`shape`](Self::shape).
#[derive(Clone, Debug)]
pub struct MappedBlock {
    map: std::sync::Arc<memmap2::Mmap>,
    dtype: DType,
    stored: Vec<usize>,
    shape: Vec<usize>,
}

impl MappedBlock {
    /// Wraps a mapping holding a C-order chunk of `stored` elements of `dtype`, of which the
    /// block is the corner of `shape`. Returns `None` when the mapping is not exactly the
    /// chunk's size or is misaligned for the element type, when `shape` exceeds `stored`, or
    /// for `bool` (whose bytes must be validated; read those by copying).
    ///
    /// # Safety
    /// The file behind `map` must not be truncated or modified while the block lives (a
    /// truncation would fault the process on access; a modification would be seen).
    pub unsafe fn new(
        map: memmap2::Mmap,
        dtype: DType,
        stored: &[usize],
        shape: &[usize],
    ) -> Option<MappedBlock> {
        let len: usize = stored.iter().product();
        let ok = dtype != DType::Bool
            && stored.len() == shape.len()
            && shape.iter().zip(stored).all(|(n, s)| n <= s)
            && len.checked_mul(dtype.size()) == Some(map.len())
            && (map.as_ptr() as usize).is_multiple_of(dtype.size());
        ok.then(|| MappedBlock {
            map: std::sync::Arc::new(map),
            dtype,
            stored: stored.to_vec(),
            shape: shape.to_vec(),
        })
    }

    /// The element type.
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// The block's shape.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// Bytes of the stored chunk (the mapping).
    pub fn nbytes(&self) -> usize {
        self.map.len()
    }

    /// The elements as a typed view, `None` when `T` is not the block's dtype.
    pub fn view<T: BlockElement>(&self) -> Option<ArrayViewD<'_, T>> {
        if T::DTYPE != self.dtype {
            return None;
        }
        let len: usize = self.stored.iter().product();
        // SAFETY: `new` checked that the mapping holds exactly `len` elements of `T`
        // (`T::DTYPE == dtype`, which is not bool, so every bit pattern is a valid value)
        // and is aligned for `T`; the mapping lives as long as `self`.
        let data = unsafe { std::slice::from_raw_parts(self.map.as_ptr().cast::<T>(), len) };
        let mut view = ArrayViewD::from_shape(IxDyn(&self.stored), data).ok()?;
        view.slice_each_axis_inplace(|ax| ndarray::Slice::from(0..self.shape[ax.axis.index()]));
        Some(view)
    }

    /// Copies the block into memory.
    pub fn to_block(&self) -> Block {
        crate::dispatch_dtype!(self.dtype, T => {
            T::wrap(self.view::<T>().expect("dtype matched").to_owned())
        })
    }
}

impl PartialEq for MappedBlock {
    fn eq(&self, other: &Self) -> bool {
        self.to_block() == other.to_block()
    }
}

/// A borrowed block: in memory or memory-mapped.
#[derive(Clone, Copy, Debug)]
pub enum BlockRef<'a> {
    /// A block in memory.
    Block(&'a Block),
    /// A memory-mapped chunk.
    Mapped(&'a MappedBlock),
}

impl<'a> BlockRef<'a> {
    /// The slices at `indices` along `axis`, in that order (ndarray's `select`): a new
    /// block.
    ///
    /// # Errors
    /// A block whose elements cannot be viewed (an internal error).
    pub fn select(&self, axis: usize, indices: &[usize]) -> crate::error::Result<Block> {
        Ok(crate::dispatch_dtype!(self.dtype(), T => {
            let v = self
                .view::<T>()
                .ok_or_else(|| crate::error::Error::internal("a block of another dtype"))?;
            Block::from(v.select(ndarray::Axis(axis), indices))
        }))
    }

    /// The element type.
    pub fn dtype(&self) -> DType {
        match self {
            BlockRef::Block(b) => b.dtype(),
            BlockRef::Mapped(m) => m.dtype(),
        }
    }

    /// The shape.
    pub fn shape(&self) -> &'a [usize] {
        match self {
            BlockRef::Block(b) => b.shape(),
            BlockRef::Mapped(m) => m.shape(),
        }
    }

    /// The elements as a typed view, `None` when `T` is not the block's dtype.
    pub fn view<T: BlockElement>(&self) -> Option<ArrayViewD<'a, T>> {
        match self {
            BlockRef::Block(b) => T::view(b).map(|a| a.view()),
            BlockRef::Mapped(m) => m.view::<T>(),
        }
    }
}

impl<'a> From<&'a Block> for BlockRef<'a> {
    fn from(b: &'a Block) -> Self {
        BlockRef::Block(b)
    }
}
