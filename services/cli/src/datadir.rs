//! The data directory: private to its owner, and served by one server.
//!
//! Everything Huikuan writes (the SQLite database and its WAL, recordings,
//! the simulator's records) is a debtor's personal data. The process
//! creates files 0600 and directories 0700 whatever the umask it was
//! started with, and says so when it finds an existing database others can
//! read. One `huikuan serve` owns a data directory at a time: it holds an
//! exclusive lock on `huikuan.lock` there (released by the kernel when the
//! process ends, however it ends), and a second one exits naming the
//! first's process id instead of fighting it over the database.

use anyhow::Context;
use std::fs::File;
use std::io::{Read, Seek, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Files 0600 and directories 0700 from here on, for this process.
pub fn private_files() {
    // SAFETY: umask only sets the process's file mode creation mask.
    unsafe {
        libc::umask(0o077);
    }
}

/// Creates the data directory (0700) if missing, and warns when it or an
/// existing database in it can be read by others.
pub fn prepare(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("creating data directory {}", dir.display()))?;
    for (path, what) in [
        (dir.to_path_buf(), "data directory"),
        (dir.join("huikuan.db"), "database"),
        (dir.join("huikuan.db-wal"), "database log"),
    ] {
        if let Ok(meta) = std::fs::metadata(&path) {
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                tracing::warn!(
                    path = %path.display(),
                    mode = format!("{mode:o}"),
                    "the {what} can be read by other users of this machine; it holds debtors' personal data (chmod go= {})",
                    path.display()
                );
            }
        }
    }
    Ok(())
}

/// The lock a server holds on its data directory while it runs.
pub struct DataDirLock {
    _file: File,
    path: PathBuf,
}

impl DataDirLock {
    /// Takes the data directory for this process, or says who has it.
    pub fn take(dir: &Path) -> anyhow::Result<DataDirLock> {
        let path = dir.join("huikuan.lock");
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = holder.trim();
                anyhow::bail!(
                    "data directory {} is in use by another huikuan serve (pid {}); stop it first, or give this one its own data_dir",
                    dir.display(),
                    if holder.is_empty() { "unknown" } else { holder }
                );
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("locking {}", path.display()))
            }
        }
        file.set_len(0)?;
        file.rewind()?;
        write!(file, "{}", std::process::id())?;
        file.flush()?;
        Ok(DataDirLock { _file: file, path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}
