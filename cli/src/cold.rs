//! The cold store the inspecting commands read archived segments from: a directory
//! (`--cold-dir PATH`, a `LocalDirColdStore`) or an S3-compatible bucket (`--cold-s3`, an
//! `S3ColdStore` configured by the `REDEX_S3_*` environment variables), or none.
//!
//! The store is only read: files opened through `Redex::open_read_only` never archive, delete
//! an object or sweep orphans, whatever store they are given.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use redex::{ColdStore, LocalDirColdStore, S3ColdStore, S3Config};

use crate::error::{CliError, CliResult};

/// A cold store to read archived segments from, and how to name it in output.
#[derive(Debug, Clone)]
pub struct Cold {
    /// The store, given to every channel the command opens.
    pub store: Arc<dyn ColdStore>,
    /// Where it is: the directory, or `s3://bucket/prefix` at the endpoint.
    pub description: String,
}

/// The store the command line names: `--cold-dir PATH`, `--cold-s3`, or neither (`None`).
/// (clap refuses both at once.)
pub fn from_args(dir: Option<&Path>, s3: bool) -> CliResult<Option<Cold>> {
    match (dir, s3) {
        (Some(dir), _) => local(dir).map(Some),
        (None, true) => s3_from_env(|name| std::env::var(name).ok()).map(Some),
        (None, false) => Ok(None),
    }
}

/// A directory store rooted at `dir`, which must exist (`LocalDirColdStore::new` would create
/// it, and a mistyped path would then look like an empty archive).
fn local(dir: &Path) -> CliResult<Cold> {
    let shown = dir.display();
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => return Err(CliError::Message(format!("--cold-dir {shown}: not a directory"))),
        Err(e) => return Err(CliError::Message(format!("--cold-dir {shown}: {e}"))),
    }
    let store = LocalDirColdStore::new(dir)
        .map_err(|e| CliError::Message(format!("--cold-dir {shown}: {e}")))?;
    Ok(Cold { store: Arc::new(store), description: PathBuf::from(dir).display().to_string() })
}

/// An S3 store configured by the `REDEX_S3_*` variables that `var` looks up (empty counts as
/// unset; see `S3Config::from_vars`).
fn s3_from_env(var: impl Fn(&str) -> Option<String>) -> CliResult<Cold> {
    let message = |e: String| CliError::Message(format!("--cold-s3: {e}"));
    let config = S3Config::from_vars(var).map_err(message)?.ok_or_else(|| {
        message(format!(
            "environment variable {} is not set ({})",
            S3Config::ENV_ENDPOINT,
            S3Config::ENV_HELP
        ))
    })?;
    let endpoint = config.endpoint.clone().unwrap_or_default();
    let store = S3ColdStore::new(config).map_err(|e| message(e.to_string()))?;
    let description = match store.prefix() {
        "" => format!("s3://{} at {endpoint}", store.bucket()),
        prefix => format!("s3://{}/{prefix} at {endpoint}", store.bucket()),
    };
    Ok(Cold { store: Arc::new(store), description })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    const ENV_ENDPOINT: &str = S3Config::ENV_ENDPOINT;
    const ENV_BUCKET: &str = S3Config::ENV_BUCKET;
    const ENV_ACCESS_KEY: &str = S3Config::ENV_ACCESS_KEY;
    const ENV_SECRET_KEY: &str = S3Config::ENV_SECRET_KEY;
    const ENV_PREFIX: &str = S3Config::ENV_PREFIX;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> =
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |name| map.get(name).cloned()
    }

    fn error(r: CliResult<Cold>) -> String {
        match r {
            Ok(c) => panic!("expected an error, got {c:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn s3_names_the_first_missing_variable() {
        let msg = error(s3_from_env(env(&[])));
        assert!(msg.contains("REDEX_S3_ENDPOINT is not set"), "{msg}");
        let msg = error(s3_from_env(env(&[(ENV_ENDPOINT, "http://127.0.0.1:1")])));
        assert!(msg.contains("REDEX_S3_BUCKET is not set"), "{msg}");
        let msg = error(s3_from_env(env(&[
            (ENV_ENDPOINT, "http://127.0.0.1:1"),
            (ENV_BUCKET, "b"),
            (ENV_ACCESS_KEY, ""),
        ])));
        assert!(msg.contains("REDEX_S3_ACCESS_KEY is not set"), "{msg}");
        let msg = error(s3_from_env(env(&[
            (ENV_ENDPOINT, "http://127.0.0.1:1"),
            (ENV_BUCKET, "b"),
            (ENV_ACCESS_KEY, "k"),
        ])));
        assert!(msg.contains("REDEX_S3_SECRET_KEY is not set"), "{msg}");
    }

    #[test]
    fn s3_store_with_every_variable_set() {
        let cold = s3_from_env(env(&[
            (ENV_ENDPOINT, "http://127.0.0.1:1"),
            (ENV_BUCKET, "events"),
            (ENV_ACCESS_KEY, "k"),
            (ENV_SECRET_KEY, "s"),
            (ENV_PREFIX, "/prod/node-1/"),
        ]))
        .expect("store");
        assert_eq!(cold.description, "s3://events/prod/node-1 at http://127.0.0.1:1");
    }

    #[test]
    fn missing_cold_dir_is_an_error_and_is_not_created() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("nope");
        let msg = error(local(&missing));
        assert!(msg.contains("--cold-dir") && msg.contains("nope"), "{msg}");
        assert!(!missing.exists());
        let file = dir.path().join("file");
        std::fs::write(&file, b"x").expect("write");
        assert!(error(local(&file)).contains("not a directory"));
    }
}
