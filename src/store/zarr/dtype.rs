//! The mapping between brickwork dtypes and zarrs data types.

use zarrs::array::DataType as ZDataType;
use zarrs::array::data_type::{
    BoolDataType, Float32DataType, Float64DataType, Int8DataType, Int16DataType, Int32DataType,
    Int64DataType, UInt8DataType, UInt16DataType, UInt32DataType, UInt64DataType,
};

use crate::dtype::DType;

/// The brickwork dtype of a zarrs data type.
pub(super) fn dtype_of(dt: &ZDataType) -> Option<DType> {
    let d = if dt.is::<BoolDataType>() {
        DType::Bool
    } else if dt.is::<Int8DataType>() {
        DType::I8
    } else if dt.is::<Int16DataType>() {
        DType::I16
    } else if dt.is::<Int32DataType>() {
        DType::I32
    } else if dt.is::<Int64DataType>() {
        DType::I64
    } else if dt.is::<UInt8DataType>() {
        DType::U8
    } else if dt.is::<UInt16DataType>() {
        DType::U16
    } else if dt.is::<UInt32DataType>() {
        DType::U32
    } else if dt.is::<UInt64DataType>() {
        DType::U64
    } else if dt.is::<Float32DataType>() {
        DType::F32
    } else if dt.is::<Float64DataType>() {
        DType::F64
    } else {
        return None;
    };
    Some(d)
}

/// The zarrs data type of a brickwork dtype.
pub(super) fn zarrs_dtype(dtype: DType) -> ZDataType {
    use zarrs::array::data_type as dt;
    match dtype {
        DType::Bool => dt::bool(),
        DType::I8 => dt::int8(),
        DType::I16 => dt::int16(),
        DType::I32 => dt::int32(),
        DType::I64 => dt::int64(),
        DType::U8 => dt::uint8(),
        DType::U16 => dt::uint16(),
        DType::U32 => dt::uint32(),
        DType::U64 => dt::uint64(),
        DType::F32 => dt::float32(),
        DType::F64 => dt::float64(),
    }
}
