//! Store errors: [`Error::Store`] naming the array and key, with the zarrs error kept as its
//! source (unwrapped so that [`Error::io_error`] finds the OS error).

use std::path::Path;

use zarrs::array::{ArrayCreateError, ArrayError, CodecError};
use zarrs::filesystem::FilesystemStoreCreateError;
use zarrs::storage::StorageError;

use crate::error::{BoxError, Error};

pub(super) fn store_err(path: &Path, key: Option<String>, detail: impl Into<String>) -> Error {
    Error::Store {
        path: path.to_path_buf(),
        key,
        detail: detail.into(),
        source: None,
    }
}

/// A store error caused by `source`, kept as its source (not repeated in the message).
pub(super) fn store_err_from(
    path: &Path,
    key: Option<String>,
    detail: impl Into<String>,
    source: impl IntoSource,
) -> Error {
    Error::Store {
        path: path.to_path_buf(),
        key,
        detail: detail.into(),
        source: Some(source.into_source()),
    }
}

/// Errors that become the source of a store error. zarrs wraps I/O errors transparently,
/// which hides them from the chain of sources; they are unwrapped here so that
/// [`Error::io_error`] finds them.
pub(super) trait IntoSource {
    fn into_source(self) -> BoxError;
}

impl IntoSource for BoxError {
    fn into_source(self) -> BoxError {
        self
    }
}

impl IntoSource for std::io::Error {
    fn into_source(self) -> BoxError {
        Box::new(self)
    }
}

impl IntoSource for serde_json::Error {
    fn into_source(self) -> BoxError {
        Box::new(self)
    }
}

impl IntoSource for StorageError {
    fn into_source(self) -> BoxError {
        match self {
            StorageError::IOError(io) => Box::new(io),
            other => Box::new(other),
        }
    }
}

impl IntoSource for CodecError {
    fn into_source(self) -> BoxError {
        match self {
            CodecError::IOError(io) => Box::new(io),
            CodecError::StorageError(s) => s.into_source(),
            other => Box::new(other),
        }
    }
}

impl IntoSource for ArrayError {
    fn into_source(self) -> BoxError {
        match self {
            ArrayError::StorageError(s) => s.into_source(),
            ArrayError::CodecError(c) => c.into_source(),
            other => Box::new(other),
        }
    }
}

impl IntoSource for ArrayCreateError {
    fn into_source(self) -> BoxError {
        match self {
            ArrayCreateError::StorageError(s) => s.into_source(),
            other => Box::new(other),
        }
    }
}

impl IntoSource for FilesystemStoreCreateError {
    fn into_source(self) -> BoxError {
        match self {
            FilesystemStoreCreateError::IOError(io) => Box::new(io),
            other => Box::new(other),
        }
    }
}

#[cfg(test)]
mod error_sources {
    use std::io::ErrorKind;
    use std::sync::Arc;

    use super::*;

    #[test]
    fn io_errors_inside_zarrs_errors_are_the_source() {
        let io = || Arc::new(std::io::Error::from(ErrorKind::StorageFull));
        let wrapped: Vec<Box<dyn Fn() -> BoxError>> = vec![
            Box::new(|| ArrayError::StorageError(StorageError::IOError(io())).into_source()),
            Box::new(|| ArrayError::CodecError(CodecError::IOError(io())).into_source()),
            Box::new(|| ArrayCreateError::StorageError(StorageError::IOError(io())).into_source()),
        ];
        for make in wrapped {
            let err = store_err_from(
                Path::new("a.zarr"),
                Some("c/0".into()),
                "cannot write",
                make(),
            );
            assert_eq!(
                err.to_string(),
                r#"zarr store a.zarr, key "c/0": cannot write"#
            );
            assert_eq!(
                err.io_error().map(std::io::Error::kind),
                Some(ErrorKind::StorageFull)
            );
        }
        let other = ArrayError::InvalidChunkGridIndicesError(vec![9]);
        let err = store_err_from(Path::new("a.zarr"), None, "cannot read", other);
        assert!(err.io_error().is_none());
        let source = std::error::Error::source(&err).map(ToString::to_string);
        assert!(source.is_some_and(|s| s.contains("invalid chunk grid indices")));
    }
}
