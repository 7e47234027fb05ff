//! [`Block`]: one chunk of data in memory, an `ndarray::ArrayD` of a run-time dtype.
//!
//! Every buffer the engine moves between tasks is a `Block`. It is a closed enum over the
//! supported element types, so kernels are written once, generic over
//! [`Element`](crate::Element), and instantiated per variant by
//! [`dispatch_block!`](crate::dispatch_block).

use ndarray::{ArrayD, IxDyn};

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
