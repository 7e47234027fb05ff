//! The execution report: the dashboard page with the session's whole timeline, plan and
//! figures embedded, as one self-contained HTML file.

use std::io::Write;
use std::path::Path;

use super::record::{Cursor, Recorder};
use super::server::PAGE;
use crate::error::{Error, Result};

/// Where the page expects its embedded data (`null` in live mode).
const MARKER: &str = "/*BRICKWORK_DATA*/null";

/// The page with `data` (JSON text) embedded.
pub(crate) fn page_with(data: &str) -> Result<String> {
    if !PAGE.contains(MARKER) {
        return Err(Error::internal("the dashboard page has no data marker"));
    }
    // Inside a <script>, "</" could close it early; "<\/" means the same in JSON.
    let safe = data
        .replace("</", "<\\/")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029");
    Ok(PAGE.replacen(MARKER, &safe, 1))
}

/// Writes the report of `rec` to `path` (through a temporary file renamed into place, so a
/// failed write leaves no half-written report).
///
/// # Errors
/// [`Error::Io`] naming the path.
pub(crate) fn write(path: &Path, rec: &Recorder) -> Result<()> {
    let html = page_with(&rec.state(&mut Cursor::default()).to_string())?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let io = |source: std::io::Error| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let name = path.file_name().ok_or_else(|| {
        Error::invalid(format!("report path {}: not a file name", path.display()))
    })?;
    let tmp = dir.join(format!(".{}.brickwork-tmp", name.to_string_lossy()));
    let written = std::fs::File::create(&tmp)
        .and_then(|mut f| f.write_all(html.as_bytes()))
        .and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(e));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_data_cannot_close_the_script() {
        let page = page_with(r#"{"title":"</script><script>alert(1)</script>"}"#).unwrap();
        assert!(!page.contains("</script><script>alert(1)"));
        assert!(page.contains(r#"<\/script>"#));
        assert!(!page.contains(MARKER));
    }
}
