//! Fetching untrusted documents (status lists, controller documents) safely: HTTPS only, no
//! private/loopback/link-local targets (checked after DNS, so no rebinding), size and time caps,
//! a TTL cache in memory and an optional on-disk cache for offline verification.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum FetchError {
    #[error("{0} is not an absolute http(s) URL")]
    BadUrl(String),
    #[error("{0}: only https URLs are fetched (use --allow-private-network for local testing)")]
    NotHttps(String),
    #[error("{0}: refusing to connect to a private, loopback or link-local address ({1})")]
    PrivateAddress(String, IpAddr),
    #[error("{0}: {1}")]
    Network(String, String),
    #[error("{0}: the response is larger than {1} bytes")]
    TooLarge(String, usize),
    #[error("{0}: HTTP status {1}")]
    Status(String, u16),
    #[error("{0}: the response is not JSON: {1}")]
    NotJson(String, String),
    #[error("{0} could not be fetched offline; pin it with --preload URL=FILE or fill --cache DIR with `laurel fetch-status`")]
    Offline(String),
}

/// What may be fetched and how much.
#[derive(Debug, Clone)]
pub struct FetchPolicy {
    /// Allows http and private/loopback targets (local testing only).
    pub allow_private_network: bool,
    /// No network at all: pinned and cached documents only.
    pub offline: bool,
    pub max_bytes: usize,
    pub timeout: Duration,
    /// Used when the response sets no max-age and the document no ttl.
    pub default_ttl: Duration,
}

impl Default for FetchPolicy {
    fn default() -> Self {
        FetchPolicy {
            allow_private_network: false,
            offline: false,
            max_bytes: 1 << 20,
            timeout: Duration::from_secs(10),
            default_ttl: Duration::from_secs(300),
        }
    }
}

/// Whether an address is one verification must never reach by default.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_documentation()
                || o[0] == 0
                || (o[0] == 100 && (o[1] & 0xc0) == 64) // 100.64/10 carrier-grade NAT
                || o[0] >= 240
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_private(IpAddr::V4(v4));
            }
            v6.is_loopback()
                || v6.is_unspecified()
                || (s[0] & 0xfe00) == 0xfc00 // fc00::/7 unique local
                || (s[0] & 0xffc0) == 0xfe80 // fe80::/10 link local
                || (s[0] & 0xff00) == 0xff00 // multicast
        }
    }
}

/// DNS resolution that refuses private answers (unless allowed) and can be given fixed answers
/// (tests use this to resolve names without any packet leaving the machine).
#[derive(Clone, Default)]
pub struct CheckedResolver {
    pub allow_private_network: bool,
    pub overrides: Arc<HashMap<String, Vec<IpAddr>>>,
}

impl reqwest::dns::Resolve for CheckedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_string();
        let this = self.clone();
        Box::pin(async move {
            let addrs: Vec<IpAddr> = match this.overrides.get(&host) {
                Some(fixed) => fixed.clone(),
                None => tokio::net::lookup_host((host.as_str(), 0)).await?.map(|a| a.ip()).collect(),
            };
            if addrs.is_empty() {
                return Err(format!("{host} has no address").into());
            }
            if !this.allow_private_network {
                if let Some(ip) = addrs.iter().find(|ip| is_private(**ip)) {
                    return Err(format!("{host} resolves to a private address {ip}").into());
                }
            }
            let list: Vec<SocketAddr> = addrs.into_iter().map(|ip| SocketAddr::new(ip, 0)).collect();
            Ok(Box::new(list.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// A fetched document and when it was obtained.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub document: Value,
    pub fetched_at: chrono::DateTime<chrono::Utc>,
    /// Where it came from: "network", "cache", "disk cache" or "pinned".
    pub source: &'static str,
}

/// Most documents the in-memory cache holds.
const CACHE_LIMIT: usize = 1024;

struct CacheEntry {
    fetched: Fetched,
    expires: Instant,
}

pub struct Fetcher {
    pub policy: FetchPolicy,
    client: reqwest::Client,
    cache: Mutex<HashMap<String, CacheEntry>>,
    cache_dir: Option<PathBuf>,
}

impl Fetcher {
    pub fn new(policy: FetchPolicy, cache_dir: Option<PathBuf>) -> Fetcher {
        Self::with_resolver(
            policy.clone(),
            cache_dir,
            CheckedResolver {
                allow_private_network: policy.allow_private_network,
                overrides: Arc::default(),
            },
        )
    }

    pub fn with_resolver(
        policy: FetchPolicy,
        cache_dir: Option<PathBuf>,
        resolver: CheckedResolver,
    ) -> Fetcher {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .dns_resolver(Arc::new(resolver))
            .redirect(reqwest::redirect::Policy::none())
            .timeout(policy.timeout)
            .connect_timeout(policy.timeout)
            .danger_accept_invalid_certs(policy.allow_private_network)
            .user_agent(concat!("laurel/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("the HTTP client builds");
        Fetcher { policy, client, cache: Mutex::new(HashMap::new()), cache_dir }
    }

    fn disk_path(&self, url: &str) -> Option<PathBuf> {
        self.cache_dir
            .as_ref()
            .map(|dir| dir.join(format!("{}.json", hex::encode(Sha256::digest(url.as_bytes())))))
    }

    fn read_disk_cache(&self, url: &str) -> Option<Fetched> {
        let bytes = std::fs::read(self.disk_path(url)?).ok()?;
        let entry: Value = serde_json::from_slice(&bytes).ok()?;
        if entry.get("url")?.as_str()? != url {
            return None;
        }
        let fetched_at = chrono::DateTime::parse_from_rfc3339(entry.get("fetchedAt")?.as_str()?)
            .ok()?
            .with_timezone(&chrono::Utc);
        Some(Fetched { document: entry.get("document")?.clone(), fetched_at, source: "disk cache" })
    }

    /// Stores a fetched document in the on-disk cache (for `laurel fetch-status`).
    pub fn save_to_disk(&self, url: &str, fetched: &Fetched) -> std::io::Result<PathBuf> {
        let path =
            self.disk_path(url).ok_or_else(|| std::io::Error::other("no cache directory configured"))?;
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let entry = json!({"url": url, "fetchedAt": fetched.fetched_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true), "document": fetched.document});
        std::fs::write(&path, serde_json::to_vec_pretty(&entry).unwrap_or_default())?;
        Ok(path)
    }

    /// Fetches a JSON document: memory cache, then the network (if allowed), then the disk cache.
    pub async fn fetch_json(&self, url: &str) -> Result<Fetched, FetchError> {
        if let Some(entry) = self.cache.lock().unwrap_or_else(|p| p.into_inner()).get(url) {
            if entry.expires > Instant::now() {
                let mut hit = entry.fetched.clone();
                hit.source = "cache";
                return Ok(hit);
            }
        }
        if self.policy.offline {
            return self.read_disk_cache(url).ok_or_else(|| FetchError::Offline(url.to_string()));
        }
        match self.fetch_network(url).await {
            Ok((fetched, max_age)) => {
                let ttl = max_age.or_else(|| ttl_of(&fetched.document)).unwrap_or(self.policy.default_ttl);
                let entry = CacheEntry { fetched: fetched.clone(), expires: Instant::now() + ttl };
                let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
                // Bounded: untrusted credentials choose the URLs.
                if cache.len() >= CACHE_LIMIT {
                    let now = Instant::now();
                    cache.retain(|_, e| e.expires > now);
                    if cache.len() >= CACHE_LIMIT {
                        cache.clear();
                    }
                }
                cache.insert(url.to_string(), entry);
                Ok(fetched)
            }
            Err(e) => self.read_disk_cache(url).ok_or(e),
        }
    }

    async fn fetch_network(&self, url: &str) -> Result<(Fetched, Option<Duration>), FetchError> {
        let parsed = url::Url::parse(url).map_err(|_| FetchError::BadUrl(url.to_string()))?;
        match parsed.scheme() {
            "https" => {}
            "http" if self.policy.allow_private_network => {}
            "http" => return Err(FetchError::NotHttps(url.to_string())),
            _ => return Err(FetchError::BadUrl(url.to_string())),
        }
        // IP literals never reach the DNS resolver, so check them here.
        match parsed.host() {
            Some(url::Host::Ipv4(ip)) if !self.policy.allow_private_network && is_private(IpAddr::V4(ip)) => {
                return Err(FetchError::PrivateAddress(url.to_string(), IpAddr::V4(ip)))
            }
            Some(url::Host::Ipv6(ip)) if !self.policy.allow_private_network && is_private(IpAddr::V6(ip)) => {
                return Err(FetchError::PrivateAddress(url.to_string(), IpAddr::V6(ip)))
            }
            None => return Err(FetchError::BadUrl(url.to_string())),
            _ => {}
        }
        let network = |e: reqwest::Error| {
            let mut detail = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                detail = format!("{detail}: {s}");
                source = s.source();
            }
            FetchError::Network(url.to_string(), detail)
        };
        let mut response = self
            .client
            .get(parsed)
            .header("accept", "application/vc+ld+json, application/ld+json, application/json")
            .send()
            .await
            .map_err(network)?;
        if !response.status().is_success() {
            return Err(FetchError::Status(url.to_string(), response.status().as_u16()));
        }
        if response.content_length().is_some_and(|n| n as usize > self.policy.max_bytes) {
            return Err(FetchError::TooLarge(url.to_string(), self.policy.max_bytes));
        }
        let max_age = response
            .headers()
            .get("cache-control")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').find_map(|d| d.trim().strip_prefix("max-age=")?.parse::<u64>().ok()))
            .map(Duration::from_secs);
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(network)? {
            if body.len() + chunk.len() > self.policy.max_bytes {
                return Err(FetchError::TooLarge(url.to_string(), self.policy.max_bytes));
            }
            body.extend_from_slice(&chunk);
        }
        let options = crate::verify::VerifyOptions { max_bytes: self.policy.max_bytes, ..Default::default() };
        let document = crate::verify::parse_json_limited(&body, &options)
            .map_err(|p| FetchError::NotJson(url.to_string(), p.detail))?;
        Ok((Fetched { document, fetched_at: chrono::Utc::now(), source: "network" }, max_age))
    }
}

/// A status list credential's `ttl` (milliseconds) as a cache lifetime.
fn ttl_of(document: &Value) -> Option<Duration> {
    let ttl = document.pointer("/credentialSubject/ttl").or_else(|| document.get("ttl"))?.as_u64()?;
    Some(Duration::from_millis(ttl))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_ranges_are_recognized() {
        for ip in [
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "127.0.0.1",
            "169.254.169.254",
            "0.0.0.0",
            "::1",
            "fc00::1",
            "fd12::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "100.64.0.1",
        ] {
            assert!(is_private(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["8.8.8.8", "172.32.0.1", "1.1.1.1", "2606:4700::1111"] {
            assert!(!is_private(ip.parse().unwrap()), "{ip}");
        }
    }

    #[tokio::test]
    async fn http_and_private_literals_are_refused_without_the_flag() {
        let fetcher = Fetcher::new(FetchPolicy::default(), None);
        assert!(matches!(fetcher.fetch_json("http://example.com/x").await, Err(FetchError::NotHttps(_))));
        assert!(matches!(
            fetcher.fetch_json("https://127.0.0.1/x").await,
            Err(FetchError::PrivateAddress(..))
        ));
        assert!(matches!(fetcher.fetch_json("https://[::1]/x").await, Err(FetchError::PrivateAddress(..))));
        assert!(matches!(
            fetcher.fetch_json("https://10.0.0.1/x").await,
            Err(FetchError::PrivateAddress(..))
        ));
        assert!(matches!(fetcher.fetch_json("ftp://example.com/x").await, Err(FetchError::BadUrl(_))));
    }

    #[tokio::test]
    async fn names_resolving_to_private_addresses_are_refused() {
        // A mocked DNS answer: no packet leaves the machine.
        let mut overrides = HashMap::new();
        overrides.insert("rebind.example".to_string(), vec!["192.168.0.10".parse().unwrap()]);
        let resolver = CheckedResolver { allow_private_network: false, overrides: Arc::new(overrides) };
        let fetcher = Fetcher::with_resolver(FetchPolicy::default(), None, resolver);
        let err = fetcher.fetch_json("https://rebind.example/list").await.unwrap_err();
        assert!(err.to_string().contains("private address"), "{err}");
    }

    #[tokio::test]
    async fn offline_mode_reads_only_the_disk_cache() {
        let dir = std::env::temp_dir().join(format!("laurel-cache-{}", uuid::Uuid::new_v4()));
        let policy = FetchPolicy { offline: true, ..FetchPolicy::default() };
        let fetcher = Fetcher::new(policy, Some(dir.clone()));
        assert!(matches!(fetcher.fetch_json("https://example.com/list").await, Err(FetchError::Offline(_))));
        let fetched =
            Fetched { document: json!({"a": 1}), fetched_at: chrono::Utc::now(), source: "network" };
        fetcher.save_to_disk("https://example.com/list", &fetched).unwrap();
        let back = fetcher.fetch_json("https://example.com/list").await.unwrap();
        assert_eq!((back.document, back.source), (json!({"a": 1}), "disk cache"));
        std::fs::remove_dir_all(dir).ok();
    }
}
