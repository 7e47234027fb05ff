//! The mapping between brickwork dtypes and zarrs data types.

use zarrs::array::DataType as ZDataType;
use zarrs::array::data_type::{
    BoolDataType, Complex64DataType, Complex128DataType, Float32DataType, Float64DataType,
    Int8DataType, Int16DataType, Int32DataType, Int64DataType, UInt8DataType, UInt16DataType,
    UInt32DataType, UInt64DataType,
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
    } else if dt.is::<Complex64DataType>() {
        DType::C64
    } else if dt.is::<Complex128DataType>() {
        DType::C128
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
        DType::C64 => dt::complex64(),
        DType::C128 => dt::complex128(),
    }
}

/// zarrs reads and writes brickwork's complex elements as the `num_complex` values they
/// have the layout of (`repr(C)` pairs, real part first).
macro_rules! complex_zarrs_element {
    ($t:ty, $num:ty) => {
        impl zarrs::array::Element for $t {
            fn validate_data_type(data_type: &ZDataType) -> Result<(), zarrs::array::ElementError> {
                <$num as zarrs::array::Element>::validate_data_type(data_type)
            }

            fn to_array_bytes<'a>(
                data_type: &ZDataType,
                elements: &'a [Self],
            ) -> Result<zarrs::array::ArrayBytes<'a>, zarrs::array::ElementError> {
                <Self as zarrs::array::Element>::validate_data_type(data_type)?;
                Ok(zarrs::array::transmute_to_bytes(elements).into())
            }

            fn into_array_bytes(
                data_type: &ZDataType,
                elements: Vec<Self>,
            ) -> Result<zarrs::array::ArrayBytes<'static>, zarrs::array::ElementError> {
                <Self as zarrs::array::Element>::validate_data_type(data_type)?;
                Ok(zarrs::array::transmute_to_bytes_vec(elements).into())
            }
        }

        impl zarrs::array::ElementOwned for $t {
            fn from_array_bytes(
                data_type: &ZDataType,
                bytes: zarrs::array::ArrayBytes<'_>,
            ) -> Result<Vec<Self>, zarrs::array::ElementError> {
                <Self as zarrs::array::Element>::validate_data_type(data_type)?;
                let bytes = bytes.into_fixed()?;
                Ok(zarrs::array::convert_from_bytes_slice::<Self>(&bytes))
            }
        }
    };
}

complex_zarrs_element!(crate::Complex64, num_complex::Complex32);
complex_zarrs_element!(crate::Complex128, num_complex::Complex64);
