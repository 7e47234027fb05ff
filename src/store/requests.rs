//! [`RequestCounts`]: what the object-store client (`remote.rs`) counts, and what a build
//! without the `cloud` feature (`remote_off.rs`) reports as zeros.

/// Counts of the requests sent to object stores by this process (all stores together),
/// for tests and reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RequestCounts {
    /// GET requests (whole objects, ranges and suffixes; a `get_ranges` call counts the
    /// requests it may merge its ranges into as one per range asked).
    pub gets: u64,
    /// HEAD requests.
    pub heads: u64,
    /// PUT requests (a multipart upload's parts count one each).
    pub puts: u64,
    /// POST requests: a multipart upload's start and completion.
    pub posts: u64,
    /// LIST requests (pages of a listing count as one).
    pub lists: u64,
    /// DELETE requests.
    pub deletes: u64,
    /// Bytes received in GET answers.
    pub bytes_read: u64,
    /// Bytes sent in PUTs.
    pub bytes_written: u64,
}
