//! Byte sizes: formatting for humans and parsing of limits such as `2GB` or `512MiB`.

use std::fmt;

/// Formats a byte count with binary units, two decimals: `3.91 KiB`, `762.94 MiB`.
pub fn format_bytes(n: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    format!("{v:.2} {}", UNITS[u])
}

/// Parses a byte size: a number with an optional unit, decimal (`kB`, `MB`, `GB`, `TB`)
/// or binary (`KiB`, `MiB`, `GiB`, `TiB`), case-insensitive, spaces allowed: `2GB`,
/// `512MiB`, `1.5 GiB`, `1000000`.
///
/// # Errors
/// [`ParseSizeError`] naming the text when it is not a size (it converts into
/// [`crate::Error::InvalidArgument`]).
pub fn parse_bytes(text: &str) -> Result<u64, ParseSizeError> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let bad = || ParseSizeError {
        text: text.to_string(),
    };
    let value: f64 = num.parse().map_err(|_| bad())?;
    let mult: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "m" | "mb" => 1e6,
        "g" | "gb" => 1e9,
        "t" | "tb" => 1e12,
        "ki" | "kib" => 1024.0,
        "mi" | "mib" => 1024f64.powi(2),
        "gi" | "gib" => 1024f64.powi(3),
        "ti" | "tib" => 1024f64.powi(4),
        _ => return Err(bad()),
    };
    let bytes = value * mult;
    if !bytes.is_finite() || bytes < 0.0 || bytes > u64::MAX as f64 {
        return Err(bad());
    }
    Ok(bytes.round() as u64)
}

/// Text that is not a byte size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseSizeError {
    /// The text.
    pub text: String,
}

impl fmt::Display for ParseSizeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot parse {:?} as a size (examples: 2GB, 512MiB, 1.5GiB, 1000000)",
            self.text
        )
    }
}

impl std::error::Error for ParseSizeError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_format() {
        assert_eq!(parse_bytes("2GB").unwrap(), 2_000_000_000);
        assert_eq!(parse_bytes("512MiB").unwrap(), 512 << 20);
        assert_eq!(parse_bytes(" 1.5 GiB").unwrap(), 3 << 29);
        assert_eq!(parse_bytes("100").unwrap(), 100);
        assert!(parse_bytes("lots").is_err());
        assert!(parse_bytes("12XB").is_err());
        assert_eq!(format_bytes(4000), "3.91 KiB");
        assert_eq!(format_bytes(12), "12 B");
    }
}
