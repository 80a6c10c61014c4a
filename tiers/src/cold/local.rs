//! [`LocalDirColdStore`]: an archive in a directory, possibly on another disk or a network
//! mount. Objects are files at their key's path; each is written to a temporary name, fsynced
//! and renamed into place, so a crash never leaves a partial object under a key. The directory
//! holding it is fsynced after the rename, and so is the parent of every directory created for
//! it (a channel's first object), so the object's path survives a machine crash.

use std::fs::{self, File};
use std::io::{self, Write};
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;

use super::{check_range, ColdFuture, ColdKey, ColdObjectInfo, ColdStore, OBJECT_SUFFIX};

/// An archive of segment objects in a local directory.
#[derive(Debug, Clone)]
pub struct LocalDirColdStore {
    root: Arc<Path>,
}

/// Distinguishes concurrent temporary files of one process.
static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

impl LocalDirColdStore {
    /// An archive rooted at `root`, created if missing.
    pub fn new(root: impl Into<PathBuf>) -> io::Result<Self> {
        let root = root.into();
        // The nearest directory that exists already ("" for the working directory).
        let top = root.ancestors().find(|d| d.as_os_str().is_empty() || d.is_dir());
        create_dirs_durably(&root, &top.map(Path::to_owned).unwrap_or_default())?;
        Ok(LocalDirColdStore { root: Arc::from(root) })
    }

    /// The archive's directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn object_path(&self, key: &ColdKey) -> PathBuf {
        self.root.join(key.path())
    }
}

/// Runs blocking file work off the async executor.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    tokio::task::spawn_blocking(work).await.map_err(io::Error::other)?
}

/// Fsyncs directory `dir`, so the entries created or renamed in it survive a machine crash.
fn sync_dir(dir: &Path) -> io::Result<()> {
    let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
    #[cfg(test)]
    tests::DIR_SYNCS.lock().push(dir.to_owned());
    File::open(dir)?.sync_all()
}

/// Creates `dir` (under `top`, which exists) and its missing parents, and makes them durable:
/// an fsync of a file and of its directory makes the file's name durable, but not a directory
/// that was just created to hold it, whose own entry is in its parent. If `dir` was missing,
/// every directory from its parent up to `top` is fsynced: also the ones that existed already,
/// in case a concurrent call created them and has not fsynced their parents yet.
fn create_dirs_durably(dir: &Path, top: &Path) -> io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    fs::create_dir_all(dir)?;
    for parent in dir.ancestors().skip(1) {
        sync_dir(parent)?;
        if parent == top {
            break;
        }
    }
    Ok(())
}

fn write_object(root: &Path, path: &Path, parts: &[Bytes]) -> io::Result<()> {
    let dir = path.parent().ok_or_else(|| io::Error::other("object path has no parent"))?;
    create_dirs_durably(dir, root)?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("object");
    let tmp = dir.join(format!(
        ".{name}.{}.{}.tmp",
        std::process::id(),
        TMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let written = (|| {
        let mut file = File::create(&tmp)?;
        for part in parts {
            file.write_all(part)?;
        }
        file.sync_all()?;
        fs::rename(&tmp, path)?;
        sync_dir(dir)
    })();
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    } else {
        remove_stale_temporaries(dir, name);
    }
    written
}

/// Deletes the temporary files of earlier writes of object `name` in `dir`, left by a process
/// that died (or an archive that was abandoned) before renaming them: nothing lists or deletes
/// them otherwise, and each can be as large as a segment. Called once the object is in place;
/// best effort.
fn remove_stale_temporaries(dir: &Path, name: &str) {
    let prefix = format!(".{name}.");
    let Ok(entries) = fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(file_name) = file_name.to_str() else { continue };
        if file_name.starts_with(&prefix) && file_name.ends_with(".tmp") {
            let _ = fs::remove_file(entry.path());
        }
    }
}

fn read_object(path: &Path, range: Option<Range<u64>>) -> io::Result<Bytes> {
    let file = File::open(path)?;
    let len = file.metadata()?.len();
    let range = range.unwrap_or(0..len);
    check_range(&range, len, &path.display().to_string())?;
    let mut buf = vec![0u8; (range.end - range.start) as usize];
    file.read_exact_at(&mut buf, range.start)?;
    Ok(Bytes::from(buf))
}

fn list_objects(dir: &Path, channel: &str) -> io::Result<Vec<ColdObjectInfo>> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str().filter(|n| n.ends_with(OBJECT_SUFFIX)) else { continue };
        let Some(key) = ColdKey::parse(&format!("{channel}/{name}")) else { continue };
        let meta = match entry.metadata() {
            // Deleted since the directory was read (retention, an orphan sweep).
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            other => other?,
        };
        // A directory of that name is another channel's (`a/<seq>.rxseg/...`), not an object.
        if meta.is_file() {
            out.push(ColdObjectInfo { key, size: meta.len() });
        }
    }
    out.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(out)
}

impl ColdStore for LocalDirColdStore {
    fn archive_segment<'a>(&'a self, key: &'a ColdKey, parts: Vec<Bytes>) -> ColdFuture<'a, ()> {
        let (root, path) = (Arc::clone(&self.root), self.object_path(key));
        Box::pin(blocking(move || write_object(&root, &path, &parts)))
    }

    fn fetch_segment<'a>(
        &'a self,
        key: &'a ColdKey,
        range: Option<Range<u64>>,
    ) -> ColdFuture<'a, Bytes> {
        let path = self.object_path(key);
        Box::pin(blocking(move || read_object(&path, range)))
    }

    fn list<'a>(&'a self, channel: &'a str) -> ColdFuture<'a, Vec<ColdObjectInfo>> {
        let dir = self.root.join(channel);
        let channel = channel.to_owned();
        Box::pin(blocking(move || list_objects(&dir, &channel)))
    }

    fn delete<'a>(&'a self, key: &'a ColdKey) -> ColdFuture<'a, ()> {
        let path = self.object_path(key);
        Box::pin(blocking(move || match fs::remove_file(&path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }))
    }

    fn describe(&self, key: &ColdKey) -> String {
        self.object_path(key).display().to_string()
    }

    /// The object is written from the caller's buffers and fsynced; a read-back would come from
    /// the page cache and check nothing the write did not.
    fn verify_by_read_back(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every directory [`sync_dir`] fsynced, by any test of this binary.
    pub(super) static DIR_SYNCS: parking_lot::Mutex<Vec<PathBuf>> =
        parking_lot::Mutex::new(Vec::new());

    fn synced_under(dir: &Path) -> Vec<PathBuf> {
        DIR_SYNCS.lock().iter().filter(|d| d.starts_with(dir)).cloned().collect()
    }

    /// A directory named like an object (another channel's, `a/<seq>.rxseg/...`) is not listed
    /// as one.
    #[test]
    fn list_skips_directories_named_like_objects() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = LocalDirColdStore::new(dir.path()).expect("store");
        let key = ColdKey::new("a", 7);
        write_object(store.root(), &store.object_path(&key), &[Bytes::from_static(b"obj")])
            .expect("write");
        fs::create_dir_all(dir.path().join("a/00000000000000000005.rxseg/.redex")).expect("mkdir");
        let listed = list_objects(&dir.path().join("a"), "a").expect("list");
        assert_eq!(listed.iter().map(|o| o.key.first_seq()).collect::<Vec<_>>(), vec![7]);
    }

    /// A channel's first object creates its directories: each one's entry in its parent is
    /// made durable before the archive returns (the engine then deletes the segment's local
    /// files, so an object whose directory a machine crash forgets would be lost data).
    #[test]
    fn directories_created_for_an_object_are_made_durable() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("cold/archive");
        let store = LocalDirColdStore::new(&root).expect("store");
        let created = synced_under(dir.path());
        assert!(created.contains(&dir.path().to_owned()), "{created:?}");
        assert!(created.contains(&dir.path().join("cold")), "{created:?}");

        let key = ColdKey::new("orders/eu/x", 5);
        write_object(&root, &store.object_path(&key), &[Bytes::from_static(b"obj")])
            .expect("write");
        let synced = synced_under(&root);
        for d in [&root, &root.join("orders"), &root.join("orders/eu"), &root.join("orders/eu/x")] {
            assert!(synced.contains(d), "{} not fsynced: {synced:?}", d.display());
        }
        // A second object of the channel fsyncs only its own directory.
        let before = synced_under(&root).len();
        let key = ColdKey::new("orders/eu/x", 6);
        write_object(&root, &store.object_path(&key), &[Bytes::from_static(b"obj")])
            .expect("write");
        assert_eq!(synced_under(&root).len(), before + 1);
    }

    /// A temporary file left by a write that never finished (the process died mid-upload) is
    /// deleted once the object it was for is written, and nothing else is.
    #[test]
    fn a_finished_write_removes_stale_temporaries_of_its_object() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = LocalDirColdStore::new(dir.path()).expect("store");
        let key = ColdKey::new("orders", 5);
        let path = store.object_path(&key);
        let channel_dir = path.parent().expect("parent").to_owned();
        fs::create_dir_all(&channel_dir).expect("mkdir");
        let stale = channel_dir.join(".00000000000000000005.rxseg.999999.7.tmp");
        let other = channel_dir.join(".00000000000000000006.rxseg.999999.8.tmp");
        for p in [&stale, &other] {
            fs::write(p, vec![0xa5; 4096]).expect("stale temporary");
        }
        write_object(dir.path(), &path, &[Bytes::from_static(b"object")]).expect("write");
        assert!(!stale.exists(), "the stale temporary of object 5 is left");
        assert!(other.exists(), "object 6's temporary is not this write's to delete");
        assert_eq!(fs::read(&path).expect("object"), b"object");
    }
}
