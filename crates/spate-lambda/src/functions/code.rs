//! A function's code on disk: a deployment package (zip) unpacked into its own directory.

use crate::errors::{LambdaError, LambdaErrorKind};
use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};

/// Unpacked deployment packages may hold at most this many bytes (Lambda: 250 MB).
pub const UNZIPPED_MAX_BYTES: u64 = 250 * 1024 * 1024;

fn invalid_zip(message: impl std::fmt::Display) -> LambdaError {
    LambdaError::new(
        LambdaErrorKind::InvalidParameterValue,
        format!("Could not unzip uploaded file. Please check your file, then try to upload again. ({message})"),
    )
}

/// Unpacks `zip` into `dir` (replacing what was there). Entries that would land outside `dir`
/// are refused.
pub fn unpack(zip: &[u8], dir: &Path) -> Result<(), LambdaError> {
    let mut archive = zip::ZipArchive::new(Cursor::new(zip)).map_err(invalid_zip)?;
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).map_err(|e| crate::errors::service(e.to_string()))?;
    let mut total = 0u64;
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).map_err(invalid_zip)?;
        let Some(relative) = entry.enclosed_name() else {
            return Err(invalid_zip(format!("unsafe path {}", entry.name())));
        };
        let path: PathBuf = dir.join(relative);
        if entry.is_dir() {
            std::fs::create_dir_all(&path).map_err(|e| crate::errors::service(e.to_string()))?;
            continue;
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| crate::errors::service(e.to_string()))?;
        }
        let mut bytes = Vec::new();
        let left = UNZIPPED_MAX_BYTES.saturating_sub(total);
        (&mut entry)
            .take(left + 1)
            .read_to_end(&mut bytes)
            .map_err(invalid_zip)?;
        total += bytes.len() as u64;
        if total > UNZIPPED_MAX_BYTES {
            return Err(LambdaError::new(
                LambdaErrorKind::InvalidParameterValue,
                format!("Unzipped size must be smaller than {UNZIPPED_MAX_BYTES} bytes"),
            ));
        }
        std::fs::write(&path, bytes).map_err(|e| crate::errors::service(e.to_string()))?;
    }
    Ok(())
}
