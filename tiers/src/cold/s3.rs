//! [`S3ColdStore`]: an archive in an S3-compatible object store (AWS S3, MinIO, Ceph RGW, R2,
//! s3s-fs...), built on the `object_store` crate.
//!
//! Each segment is one object at `<prefix>/<ColdKey::path()>`. Small objects go up in a single
//! PUT made of the caller's buffers (no copy); larger ones as a multipart upload that is
//! completed only once every part is stored, and aborted otherwise, so a key never shows a
//! partial object. Reads are ranged GETs, checked against the object's size.
//!
//! Every call needs a Tokio runtime with I/O and timers enabled (the HTTP client runs on it).
//! The client gives up quickly on an unreachable store (a short connect timeout and two
//! retries): the engine keeps the data where it is and retries later, so failing fast beats
//! hanging.

use std::error::Error as StdError;
use std::fmt;
use std::io;
use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path;
use object_store::{
    BackoffConfig, ClientOptions, GetOptions, GetRange, MultipartUpload, ObjectStore,
    ObjectStoreExt, PutPayload, RetryConfig,
};
use tokio::task::JoinSet;

use super::{check_range, ColdFuture, ColdKey, ColdObjectInfo, ColdStore, OBJECT_SUFFIX};

/// Objects of at least this many bytes are uploaded in parts rather than in one PUT.
pub const MULTIPART_THRESHOLD: usize = 16 << 20;

/// The size of each part of a multipart upload but the last (S3 requires at least 5 MiB; some
/// S3-compatible stores also require equal sizes).
pub const PART_SIZE: usize = 8 << 20;

/// How many parts of one multipart upload are in flight at once.
const PARTS_IN_FLIGHT: usize = 4;

/// How long to wait for a TCP connection to the store.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// How long one request may take, an 8 MiB part included.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Retries of a failed request (connection errors, timeouts of safe requests, 5xx).
const MAX_RETRIES: usize = 2;

/// No retry starts later than this after the first attempt.
const RETRY_TIMEOUT: Duration = Duration::from_secs(10);

/// Where and how to reach an S3-compatible bucket.
///
/// ```
/// use redex_tiers::cold::{S3ColdStore, S3Config};
///
/// let config = S3Config {
///     // `None` for AWS itself (the endpoint follows from `region`).
///     endpoint: Some("http://127.0.0.1:9000".to_owned()),
///     bucket: "redex-archive".to_owned(),
///     prefix: "prod/node-7".to_owned(),
///     access_key_id: "AKIDEXAMPLE".to_owned(),
///     secret_access_key: "secret".to_owned(),
///     region: "us-east-1".to_owned(),
///     virtual_hosted_style: false,
///     allow_http: true,
/// };
/// // Building the store makes no request; the first call does.
/// let store = S3ColdStore::new(config)?;
/// # let _ = store;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct S3Config {
    /// The store's URL, such as `http://127.0.0.1:9000` or `https://s3.example.com`; `None`
    /// for AWS S3, whose endpoint follows from the region.
    pub endpoint: Option<String>,
    /// The bucket, which must exist.
    pub bucket: String,
    /// A key prefix inside the bucket (`/`-separated, no leading or trailing `/` needed); may
    /// be empty. Objects are stored at `<prefix>/<channel>/<first seq>.rxseg`.
    pub prefix: String,
    /// The access key id.
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: String,
    /// The region, such as `us-east-1` (most S3-compatible servers accept any value).
    pub region: String,
    /// Address the bucket as `https://<bucket>.<endpoint>` instead of `<endpoint>/<bucket>`
    /// (path style, what most self-hosted servers expect).
    pub virtual_hosted_style: bool,
    /// Allow a plain `http://` endpoint.
    pub allow_http: bool,
}

impl fmt::Debug for S3Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Config")
            .field("endpoint", &self.endpoint)
            .field("bucket", &self.bucket)
            .field("prefix", &self.prefix)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field("region", &self.region)
            .field("virtual_hosted_style", &self.virtual_hosted_style)
            .field("allow_http", &self.allow_http)
            .finish()
    }
}

/// Configuration from the environment: the `REDEX_S3_*` variables that `.ci/s3-server`
/// exports and the `redex` tool's `--cold-s3` reads.
///
/// | variable | field | |
/// |---|---|---|
/// | [`ENV_ENDPOINT`](Self::ENV_ENDPOINT) | `endpoint` | required; `allow_http` if it starts with `http://` |
/// | [`ENV_BUCKET`](Self::ENV_BUCKET) | `bucket` | required |
/// | [`ENV_ACCESS_KEY`](Self::ENV_ACCESS_KEY) | `access_key_id` | required |
/// | [`ENV_SECRET_KEY`](Self::ENV_SECRET_KEY) | `secret_access_key` | required |
/// | [`ENV_PREFIX`](Self::ENV_PREFIX) | `prefix` | optional, default empty |
/// | [`ENV_REGION`](Self::ENV_REGION) | `region` | optional, default `us-east-1` |
///
/// `virtual_hosted_style` is always `false` (path style). An empty variable counts as unset.
impl S3Config {
    /// The endpoint's URL (`http://127.0.0.1:9000`, `https://s3.eu-west-1.amazonaws.com`).
    pub const ENV_ENDPOINT: &'static str = "REDEX_S3_ENDPOINT";
    /// The bucket.
    pub const ENV_BUCKET: &'static str = "REDEX_S3_BUCKET";
    /// The access key id.
    pub const ENV_ACCESS_KEY: &'static str = "REDEX_S3_ACCESS_KEY";
    /// The secret access key.
    pub const ENV_SECRET_KEY: &'static str = "REDEX_S3_SECRET_KEY";
    /// The key prefix (optional, default empty).
    pub const ENV_PREFIX: &'static str = "REDEX_S3_PREFIX";
    /// The region (optional, default `us-east-1`).
    pub const ENV_REGION: &'static str = "REDEX_S3_REGION";
    /// Which variables configure the store, for error messages.
    pub const ENV_HELP: &'static str = "the store is configured by REDEX_S3_ENDPOINT, \
        REDEX_S3_BUCKET, REDEX_S3_ACCESS_KEY and REDEX_S3_SECRET_KEY; REDEX_S3_PREFIX and \
        REDEX_S3_REGION are optional";

    /// The configuration the `REDEX_S3_*` environment variables describe (see
    /// [`from_vars`](Self::from_vars)).
    pub fn from_env() -> Result<Option<S3Config>, String> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// The configuration the `REDEX_S3_*` variables that `var` looks up describe: `Ok(None)`
    /// when [`ENV_ENDPOINT`](Self::ENV_ENDPOINT) is unset (no S3 store is wanted), an error
    /// naming the first other required variable that is unset, with the list of variables
    /// ([`ENV_HELP`](Self::ENV_HELP)). An empty value counts as unset.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Option<S3Config>, String> {
        let get = |name: &str| var(name).filter(|v| !v.is_empty());
        let need = |name: &str| {
            get(name).ok_or_else(|| {
                format!("environment variable {name} is not set ({})", Self::ENV_HELP)
            })
        };
        let Some(endpoint) = get(Self::ENV_ENDPOINT) else { return Ok(None) };
        Ok(Some(S3Config {
            allow_http: endpoint.starts_with("http://"),
            endpoint: Some(endpoint),
            bucket: need(Self::ENV_BUCKET)?,
            prefix: get(Self::ENV_PREFIX).unwrap_or_default(),
            access_key_id: need(Self::ENV_ACCESS_KEY)?,
            secret_access_key: need(Self::ENV_SECRET_KEY)?,
            region: get(Self::ENV_REGION).unwrap_or_else(|| "us-east-1".to_owned()),
            virtual_hosted_style: false,
        }))
    }
}

/// An archive of segment objects in an S3-compatible bucket.
#[derive(Debug, Clone)]
pub struct S3ColdStore {
    store: Arc<AmazonS3>,
    bucket: Arc<str>,
    /// The normalized prefix: no leading or trailing `/`, possibly empty.
    prefix: Arc<str>,
}

impl S3ColdStore {
    /// A store for `config`. Makes no request: an unreachable store or a missing bucket shows
    /// up as errors of the first calls.
    pub fn new(config: S3Config) -> io::Result<Self> {
        let prefix = config.prefix.trim_matches('/').to_owned();
        if !prefix.is_empty() {
            Path::parse(&prefix).map_err(|e| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("bad S3 prefix {prefix:?}: {e}"),
                )
            })?;
        }
        let client = ClientOptions::new()
            .with_connect_timeout(CONNECT_TIMEOUT)
            .with_timeout(REQUEST_TIMEOUT)
            .with_allow_http(config.allow_http);
        let retry = RetryConfig {
            backoff: BackoffConfig {
                init_backoff: Duration::from_millis(100),
                max_backoff: Duration::from_secs(1),
                base: 2.0,
            },
            max_retries: MAX_RETRIES,
            retry_timeout: RETRY_TIMEOUT,
        };
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(&config.bucket)
            .with_access_key_id(config.access_key_id)
            .with_secret_access_key(config.secret_access_key)
            .with_region(config.region)
            .with_virtual_hosted_style_request(config.virtual_hosted_style)
            .with_allow_http(config.allow_http)
            // One key at a time: a plain DELETE, which every S3-compatible store implements
            // (the bulk `DeleteObjects` call is not universal).
            .with_disable_bulk_delete(true)
            // No SHA-256 of every uploaded byte for the request signature: archival reads each
            // object back and checks its own CRCs, which is the integrity check that matters,
            // and hashing would cost the archiver a core-second per ~400 MB.
            .with_unsigned_payload(true)
            .with_client_options(client)
            .with_retry(retry);
        if let Some(endpoint) = config.endpoint {
            builder = builder.with_endpoint(endpoint);
        }
        let store = builder.build().map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("bad S3 configuration for bucket {:?}: {e}", config.bucket),
            )
        })?;
        Ok(S3ColdStore {
            store: Arc::new(store),
            bucket: Arc::from(config.bucket),
            prefix: Arc::from(prefix),
        })
    }

    /// The bucket.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The key prefix inside the bucket, without leading or trailing `/` (possibly empty).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// `<prefix>/<rel>`, or `rel` alone under an empty prefix.
    fn full_key(&self, rel: &str) -> String {
        if self.prefix.is_empty() {
            rel.to_owned()
        } else {
            format!("{}/{rel}", self.prefix)
        }
    }

    fn location(&self, rel: &str) -> io::Result<Path> {
        let key = self.full_key(rel);
        Path::parse(&key).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{}: not a valid object key: {e}", self.url(&key)),
            )
        })
    }

    fn url(&self, full_key: &str) -> String {
        format!("s3://{}/{full_key}", self.bucket)
    }

    async fn put(&self, key: &ColdKey, parts: Vec<Bytes>) -> io::Result<()> {
        let location = self.location(&key.path())?;
        let what = || self.describe(key);
        let parts: Vec<Bytes> = parts.into_iter().filter(|p| !p.is_empty()).collect();
        let len: usize = parts.iter().map(Bytes::len).sum();
        if len < MULTIPART_THRESHOLD {
            let payload: PutPayload = parts.into_iter().collect();
            self.store.put(&location, payload).await.map_err(|e| to_io(e, "PUT", &what()))?;
            return Ok(());
        }

        let upload = self
            .store
            .put_multipart(&location)
            .await
            .map_err(|e| to_io(e, "starting multipart upload of", &what()))?;
        // Aborts the upload if this future is dropped before it completes or aborts.
        let mut guard = AbortOnDrop(None);
        let upload = guard.0.insert(upload);
        let mut op = "multipart upload of";
        let mut result = upload_parts(upload.as_mut(), parts).await;
        if result.is_ok() {
            op = "completing multipart upload of";
            result = upload.complete().await.map(drop);
        }
        if result.is_err() {
            // Best effort: the parts are invisible anyway, aborting frees them.
            let _ = upload.abort().await;
        }
        guard.0 = None;
        result.map_err(|e| to_io(e, op, &what()))
    }

    async fn get(&self, key: &ColdKey, range: Option<Range<u64>>) -> io::Result<Bytes> {
        let location = self.location(&key.path())?;
        let what = || self.describe(key);
        let Some(range) = range else {
            let result = self.store.get(&location).await.map_err(|e| to_io(e, "GET", &what()))?;
            return result.bytes().await.map_err(|e| to_io(e, "reading", &what()));
        };
        if range.start >= range.end {
            // An empty range is no valid HTTP range: check it against the object's size.
            let meta = self.store.head(&location).await.map_err(|e| to_io(e, "HEAD", &what()))?;
            check_range(&range, meta.size, &what())?;
            return Ok(Bytes::new());
        }
        let options = GetOptions::new().with_range(Some(GetRange::Bounded(range.clone())));
        let result = match self.store.get_opts(&location, options).await {
            Ok(result) => result,
            Err(e) => {
                let err = to_io(e, "ranged GET", &what());
                // A range starting at or past the end is refused (416 InvalidRange): report it
                // like any other range outside the object, with the size from a HEAD. (Any
                // other failure, an unreachable store say, is returned as it is.)
                let text = err.to_string();
                if !(text.contains("416") || text.contains("InvalidRange")) {
                    return Err(err);
                }
                return match self.store.head(&location).await {
                    Ok(meta) => {
                        check_range(&range, meta.size, &what())?;
                        Err(err)
                    }
                    Err(_) => Err(err),
                };
            }
        };
        // The store clamps a range reaching past the end; the object's full size comes back.
        check_range(&range, result.meta.size, &what())?;
        let bytes = result.bytes().await.map_err(|e| to_io(e, "reading", &what()))?;
        if bytes.len() as u64 != range.end - range.start {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("{}: range {range:?} returned {} bytes", what(), bytes.len()),
            ));
        }
        Ok(bytes)
    }

    async fn list_channel(&self, channel: &str) -> io::Result<Vec<ColdObjectInfo>> {
        let dir = self.location(channel)?;
        let what = || format!("{}/", self.url(dir.as_ref()));
        let listed = self
            .store
            .list_with_delimiter(Some(&dir))
            .await
            .map_err(|e| to_io(e, "LIST", &what()))?;
        let mut out = Vec::new();
        for object in listed.objects {
            let Some(name) = object.location.filename() else { continue };
            if !name.ends_with(OBJECT_SUFFIX) {
                continue;
            }
            if let Some(key) = ColdKey::parse(&format!("{channel}/{name}")) {
                out.push(ColdObjectInfo { key, size: object.size });
            }
        }
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    async fn remove(&self, key: &ColdKey) -> io::Result<()> {
        let location = self.location(&key.path())?;
        match self
            .store
            .delete(&location)
            .await
            .map_err(|e| to_io(e, "DELETE", &self.describe(key)))
        {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            done => done,
        }
    }
}

/// Uploads the concatenation of `parts` as [`PART_SIZE`] parts (the last one shorter), slicing
/// the caller's buffers rather than copying them, with up to [`PARTS_IN_FLIGHT`] in flight.
/// Returns the first error; the caller then aborts the upload.
async fn upload_parts(
    upload: &mut dyn MultipartUpload,
    parts: Vec<Bytes>,
) -> object_store::Result<()> {
    let mut in_flight = JoinSet::new();
    let mut chunk: Vec<Bytes> = Vec::new();
    let mut chunk_len = 0;
    let mut pending = parts.into_iter().peekable();
    while let Some(mut buf) = pending.next() {
        while !buf.is_empty() {
            let take = buf.len().min(PART_SIZE - chunk_len);
            chunk.push(buf.split_to(take));
            chunk_len += take;
            let last = buf.is_empty() && pending.peek().is_none();
            if chunk_len == PART_SIZE || last {
                let payload: PutPayload = std::mem::take(&mut chunk).into_iter().collect();
                chunk_len = 0;
                in_flight.spawn(upload.put_part(payload));
                if in_flight.len() >= PARTS_IN_FLIGHT {
                    join_one(&mut in_flight).await?;
                }
            }
        }
    }
    while !in_flight.is_empty() {
        join_one(&mut in_flight).await?;
    }
    Ok(())
}

/// Waits for one part upload; dropping the set on error cancels the others.
async fn join_one(set: &mut JoinSet<object_store::Result<()>>) -> object_store::Result<()> {
    match set.join_next().await {
        Some(Ok(result)) => result,
        Some(Err(join)) => Err(object_store::Error::JoinError { source: join }),
        None => Ok(()),
    }
}

/// Holds a multipart upload in progress; if dropped while still holding it (the archiving
/// future was cancelled), aborts the upload in the background so its parts don't linger.
struct AbortOnDrop(Option<Box<dyn MultipartUpload>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        if let (Some(mut upload), Ok(runtime)) =
            (self.0.take(), tokio::runtime::Handle::try_current())
        {
            runtime.spawn(async move {
                let _ = upload.abort().await;
            });
        }
    }
}

/// Maps an `object_store` error to an `io::Error` naming the object: a missing object is
/// `NotFound` (a missing *bucket* is not: that is a store not set up, to be retried like an
/// unavailable one); otherwise the kind comes from the I/O error at the root of the failure
/// where there is one (`ConnectionRefused`, `TimedOut`...), else it is `Other`.
fn to_io(e: object_store::Error, op: &str, what: &str) -> io::Error {
    let kind = match &e {
        object_store::Error::NotFound { .. } if e.to_string().contains("NoSuchBucket") => {
            io::ErrorKind::Other
        }
        object_store::Error::NotFound { .. } => io::ErrorKind::NotFound,
        object_store::Error::PermissionDenied { .. }
        | object_store::Error::Unauthenticated { .. } => io::ErrorKind::PermissionDenied,
        object_store::Error::InvalidPath { .. } => io::ErrorKind::InvalidInput,
        other => root_io_kind(other).unwrap_or(io::ErrorKind::Other),
    };
    // The message carries the whole chain of causes: the outer ones are often generic.
    let mut message = format!("{what}: {op} failed: {e}");
    let mut source = e.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !message.contains(&cause_text) {
            message.push_str(": ");
            message.push_str(&cause_text);
        }
        source = cause.source();
    }
    io::Error::new(kind, message)
}

/// The kind of the innermost `io::Error` among `e`'s causes, never `NotFound` (a missing
/// object is reported by the store, not by a socket).
fn root_io_kind(e: &(dyn StdError + 'static)) -> Option<io::ErrorKind> {
    let mut kind = None;
    let mut source = e.source();
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<io::Error>() {
            kind = Some(io.kind());
        }
        source = cause.source();
    }
    kind.filter(|k| *k != io::ErrorKind::NotFound)
}

impl ColdStore for S3ColdStore {
    fn archive_segment<'a>(&'a self, key: &'a ColdKey, parts: Vec<Bytes>) -> ColdFuture<'a, ()> {
        Box::pin(self.put(key, parts))
    }

    fn fetch_segment<'a>(
        &'a self,
        key: &'a ColdKey,
        range: Option<Range<u64>>,
    ) -> ColdFuture<'a, Bytes> {
        Box::pin(self.get(key, range))
    }

    fn list<'a>(&'a self, channel: &'a str) -> ColdFuture<'a, Vec<ColdObjectInfo>> {
        Box::pin(self.list_channel(channel))
    }

    fn delete<'a>(&'a self, key: &'a ColdKey) -> ColdFuture<'a, ()> {
        Box::pin(self.remove(key))
    }

    fn describe(&self, key: &ColdKey) -> String {
        self.url(&self.full_key(&key.path()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> =
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |name| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    const REQUIRED: [(&str, &str); 4] = [
        (S3Config::ENV_ENDPOINT, "http://127.0.0.1:9000"),
        (S3Config::ENV_BUCKET, "b"),
        (S3Config::ENV_ACCESS_KEY, "k"),
        (S3Config::ENV_SECRET_KEY, "s"),
    ];

    #[test]
    fn from_vars_without_an_endpoint_is_none() {
        assert_eq!(S3Config::from_vars(vars(&[])), Ok(None));
        assert_eq!(S3Config::from_vars(vars(&[(S3Config::ENV_ENDPOINT, "")])), Ok(None));
        // The other variables do not matter then.
        assert_eq!(S3Config::from_vars(vars(&REQUIRED[1..])), Ok(None));
    }

    #[test]
    fn from_vars_names_the_first_missing_variable() {
        let err = S3Config::from_vars(vars(&REQUIRED[..1])).expect_err("no bucket");
        assert!(err.contains("REDEX_S3_BUCKET is not set"), "{err}");
        assert!(err.contains(S3Config::ENV_HELP), "{err}");
        let mut some = REQUIRED.to_vec();
        some[2].1 = "";
        let err = S3Config::from_vars(vars(&some)).expect_err("empty access key");
        assert!(err.contains("REDEX_S3_ACCESS_KEY is not set"), "{err}");
        let err = S3Config::from_vars(vars(&REQUIRED[..3])).expect_err("no secret key");
        assert!(err.contains("REDEX_S3_SECRET_KEY is not set"), "{err}");
        for name in [
            S3Config::ENV_ENDPOINT,
            S3Config::ENV_BUCKET,
            S3Config::ENV_ACCESS_KEY,
            S3Config::ENV_SECRET_KEY,
            S3Config::ENV_PREFIX,
            S3Config::ENV_REGION,
        ] {
            assert!(S3Config::ENV_HELP.contains(name), "{name}");
        }
    }

    #[test]
    fn from_vars_defaults_and_fields() {
        let config = S3Config::from_vars(vars(&REQUIRED)).expect("ok").expect("some");
        assert_eq!(
            config,
            S3Config {
                endpoint: Some("http://127.0.0.1:9000".to_owned()),
                bucket: "b".to_owned(),
                prefix: String::new(),
                access_key_id: "k".to_owned(),
                secret_access_key: "s".to_owned(),
                region: "us-east-1".to_owned(),
                virtual_hosted_style: false,
                allow_http: true,
            }
        );
        let mut all = REQUIRED.to_vec();
        all[0].1 = "https://s3.example.com";
        all.extend([(S3Config::ENV_PREFIX, "prod/node-1"), (S3Config::ENV_REGION, "eu-west-1")]);
        let config = S3Config::from_vars(vars(&all)).expect("ok").expect("some");
        assert!(!config.allow_http);
        assert_eq!(config.endpoint.as_deref(), Some("https://s3.example.com"));
        assert_eq!((config.prefix.as_str(), config.region.as_str()), ("prod/node-1", "eu-west-1"));
    }

    fn config(prefix: &str) -> S3Config {
        S3Config {
            endpoint: Some("http://127.0.0.1:1".to_owned()),
            bucket: "b".to_owned(),
            prefix: prefix.to_owned(),
            access_key_id: "k".to_owned(),
            secret_access_key: "s".to_owned(),
            region: "us-east-1".to_owned(),
            virtual_hosted_style: false,
            allow_http: true,
        }
    }

    #[test]
    fn keys_sit_under_the_prefix() {
        let key = ColdKey::new("orders/eu", 7);
        let store = S3ColdStore::new(config("/runs/a/")).expect("store");
        assert_eq!(store.prefix(), "runs/a");
        assert_eq!(store.describe(&key), "s3://b/runs/a/orders/eu/00000000000000000007.rxseg");
        let bare = S3ColdStore::new(config("")).expect("store");
        assert_eq!(bare.describe(&key), "s3://b/orders/eu/00000000000000000007.rxseg");
        assert!(!format!("{:?}", config("")).contains("\"s\""), "the secret is redacted");
    }
}
