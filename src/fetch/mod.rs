//! Fetching untrusted documents (status lists, controller documents) safely: HTTPS only, no
//! private/loopback/link-local targets (checked after DNS, so no rebinding), size and time caps,
//! a TTL cache in memory and an optional on-disk cache for offline verification.
//!
//! The only module that opens network connections to hosts chosen by untrusted input. May use:
//! `codec` (limited JSON parsing). Used by: `did`, `service`, the edges.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::codec::json::JsonLimits;

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

/// Whether an address is one verification must never reach by default: anything not globally
/// reachable (IANA special-purpose registries), and any IPv6 form that carries such an IPv4
/// address inside it (mapped, compatible, NAT64, 6to4, Teredo), since the network delivers those
/// to the embedded address.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_private_v4(v4),
        IpAddr::V6(v6) => is_private_v6(v6),
    }
}

fn is_private_v4(v4: Ipv4Addr) -> bool {
    let o = v4.octets();
    v4.is_private()
        || v4.is_loopback()
        || v4.is_link_local()
        || v4.is_unspecified()
        || v4.is_broadcast()
        || v4.is_documentation()
        || v4.is_multicast()
        || o[0] == 0 // 0/8 "this network"
        || (o[0] == 100 && (o[1] & 0xc0) == 64) // 100.64/10 carrier-grade NAT
        || (o[0] == 192 && o[1] == 0 && o[2] == 0) // 192.0.0/24 IETF protocol assignments
        || (o[0] == 192 && o[1] == 88 && o[2] == 99) // 192.88.99/24 deprecated 6to4 relay anycast
        || (o[0] == 198 && (o[1] & 0xfe) == 18) // 198.18/15 benchmarking
        || o[0] >= 240 // 240/4 reserved
}

fn is_private_v6(v6: Ipv6Addr) -> bool {
    let s = v6.segments();
    let low_v4 = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    // ::/96: the unspecified address, loopback and the deprecated IPv4-compatible form
    // (::a.b.c.d), which nothing legitimate serves from: refused whatever it embeds.
    if s[..6] == [0; 6] {
        return true;
    }
    // ::ffff:a.b.c.d (IPv4-mapped) and ::ffff:0:a.b.c.d (IPv4-translated, RFC 2765).
    if s[..5] == [0; 5] && s[5] == 0xffff || s[..4] == [0; 4] && s[4] == 0xffff && s[5] == 0 {
        return is_private_v4(low_v4);
    }
    // 64:ff9b::/96 well-known NAT64 prefix (RFC 6052): the translator connects to the embedded v4.
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return is_private_v4(low_v4);
    }
    // 64:ff9b:1::/48 local-use NAT64 (RFC 8215): the operator picks where the v4 sits, and the
    // prefix is not globally reachable, so all of it is refused.
    if s[0] == 0x64 && s[1] == 0xff9b && s[2] == 1 {
        return true;
    }
    // 2002::/16 6to4: the relay tunnels to the v4 in bits 16-47.
    if s[0] == 0x2002 {
        let embedded = Ipv4Addr::new((s[1] >> 8) as u8, s[1] as u8, (s[2] >> 8) as u8, s[2] as u8);
        return is_private_v4(embedded);
    }
    // 2001::/32 Teredo: the server's v4 in bits 32-63, the client's v4 (inverted) in bits 96-127.
    if s[0] == 0x2001 && s[1] == 0 {
        let server = Ipv4Addr::new((s[2] >> 8) as u8, s[2] as u8, (s[3] >> 8) as u8, s[3] as u8);
        let client = Ipv4Addr::from(!u32::from(low_v4));
        return is_private_v4(server) || is_private_v4(client);
    }
    (s[0] & 0xfe00) == 0xfc00 // fc00::/7 unique local
        || (s[0] & 0xffc0) == 0xfe80 // fe80::/10 link local
        || (s[0] & 0xffc0) == 0xfec0 // fec0::/10 deprecated site local
        || (s[0] & 0xff00) == 0xff00 // ff00::/8 multicast
        || s[..4] == [0x100, 0, 0, 0] // 100::/64 discard only
        || (s[0] == 0x2001 && s[1] == 0xdb8) // 2001:db8::/32 documentation
        || (s[0] & 0xfff0) == 0x3ff0 // 3fff::/20 documentation (RFC 9637)
        || (s[0] == 0x2001 && s[1] == 2 && s[2] == 0) // 2001:2::/48 benchmarking
        || (s[0] == 0x2001 && (s[1] & 0xfff0) == 0x10) // 2001:10::/28 deprecated ORCHID
        || s[0] == 0x5f00 // 5f00::/16 segment routing SIDs (RFC 9602)
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
            // A proxy would resolve the name itself, past the address check above.
            .no_proxy()
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
                // Never past the document's own end of validity (a JWT's exp, validUntil).
                let ttl = match remaining_validity(&fetched.document) {
                    Some(left) => ttl.min(left),
                    None => ttl,
                };
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

    /// A resource's raw bytes from the network (never cached: a digest is checked against
    /// them), under the same policy as documents: HTTPS, public addresses, size and time caps.
    pub async fn fetch_bytes(&self, url: &str) -> Result<Vec<u8>, FetchError> {
        if self.policy.offline {
            return Err(FetchError::Offline(url.to_string()));
        }
        Ok(self.fetch_body(url).await?.0)
    }

    async fn fetch_network(&self, url: &str) -> Result<(Fetched, Option<Duration>), FetchError> {
        let (body, max_age) = self.fetch_body(url).await?;
        let document = parse_document(&body, self.policy.max_bytes)
            .map_err(|detail| FetchError::NotJson(url.to_string(), detail))?;
        Ok((Fetched { document, fetched_at: chrono::Utc::now(), source: "network" }, max_age))
    }

    /// GETs `url` under the policy: its body and the `max-age` it was served with.
    async fn fetch_body(&self, url: &str) -> Result<(Vec<u8>, Option<Duration>), FetchError> {
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
            // JSON first; a JWT-secured credential (a status list, VC-JOSE-COSE) and an OpenID
            // Federation entity statement as well.
            .header(
                "accept",
                "application/vc+ld+json, application/ld+json, application/json, \
                 application/vc+jwt;q=0.9, application/entity-statement+jwt;q=0.9, application/jwt;q=0.8",
            )
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
        Ok((body, max_age))
    }
}

/// A fetched body as a document: JSON (strictly parsed, capped), or a compact JWT as a JSON
/// string (the JWT-secured form of a credential; the caller verifies it).
pub fn parse_document(body: &[u8], max_bytes: usize) -> Result<Value, String> {
    let text = std::str::from_utf8(body).map_err(|_| "the document is not UTF-8".to_string())?;
    if crate::codec::looks_like_compact_jws(text) {
        return Ok(Value::String(text.trim().to_string()));
    }
    let limits = JsonLimits { max_bytes, ..Default::default() };
    crate::codec::json::from_slice_limited(body, &limits)
        .map_err(|e| format!("neither JSON nor a compact JWT: {e}"))
}

/// How long a document stays valid by its own dates: a compact JWT's `exp` (a number or a
/// string of digits) or, for a credential, `validUntil`/`expirationDate` (in a JWT's payload or
/// its `vc` claim, or the JSON itself). Read unverified: it only ever shortens a cache lifetime.
/// Zero when already past.
pub fn remaining_validity(document: &Value) -> Option<Duration> {
    let payload;
    let object = match document {
        Value::String(jwt) => {
            let encoded = jwt.split('.').nth(1)?;
            use base64::Engine;
            let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(encoded).ok()?;
            payload = crate::codec::json::from_slice_limited(&bytes, &JsonLimits::default()).ok()?;
            &payload
        }
        other => other,
    };
    let now = chrono::Utc::now().timestamp();
    let exp = match object.get("exp") {
        Some(Value::Number(n)) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Some(Value::String(s)) if !s.is_empty() && s.len() <= 18 && s.bytes().all(|b| b.is_ascii_digit()) => {
            s.parse().ok()
        }
        _ => None,
    };
    let until = [object, object.get("vc").unwrap_or(&Value::Null)]
        .into_iter()
        .flat_map(|o| ["validUntil", "expirationDate"].map(|f| o.get(f).and_then(Value::as_str)))
        .flatten()
        .filter_map(|d| chrono::DateTime::parse_from_rfc3339(d).ok())
        .map(|d| d.timestamp())
        .min();
    let end = match (exp, until) {
        (Some(a), Some(b)) => a.min(b),
        (a, b) => a.or(b)?,
    };
    Some(Duration::from_secs(end.saturating_sub(now).max(0) as u64))
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
            "100.64.0.1",
            "192.0.0.8",
            "192.0.2.1",
            "198.18.0.1",
            "198.51.100.7",
            "203.0.113.9",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
        ] {
            assert!(is_private(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["8.8.8.8", "172.32.0.1", "1.1.1.1", "100.128.0.1", "198.20.0.1", "223.255.255.255"] {
            assert!(!is_private(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn ipv6_forms_embedding_private_ipv4_are_refused() {
        for ip in [
            "::",
            "::1",
            "::127.0.0.1",      // IPv4-compatible (deprecated): refused whatever it embeds
            "::8.8.8.8",        // likewise
            "::ffff:127.0.0.1", // IPv4-mapped
            "::ffff:10.0.0.1",
            "::ffff:0:127.0.0.1",                   // IPv4-translated
            "64:ff9b::7f00:1",                      // NAT64 of 127.0.0.1
            "64:ff9b::a9fe:a9fe",                   // NAT64 of 169.254.169.254
            "64:ff9b:1::808:808",                   // local-use NAT64: all of it
            "2002:7f00:1::1",                       // 6to4 of 127.0.0.1
            "2002:c0a8:101::",                      // 6to4 of 192.168.1.1
            "2001:0:4136:e378:8000:63bf:80ff:fffe", // Teredo, client 127.0.0.1 (inverted)
            "2001:0:7f00:1::1",                     // Teredo, server 127.0.0.1
            "fc00::1",
            "fd12::1",
            "fe80::1",
            "fec0::1",
            "ff02::1",
            "100::1",
            "2001:db8::1",
            "3fff::1",
            "2001:2::1",
            "2001:10::1",
        ] {
            assert!(is_private(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "2606:4700::1111",
            "2a00:1450:4001:80b::200e",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808", // NAT64 of a public address is how v6-only networks reach it
            "2002:808:808::1",
            "2001:0:4136:e378:8000:63bf:f7f7:f7f7", // Teredo, client 8.8.8.8
        ] {
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
        for literal in ["https://[::127.0.0.1]/x", "https://[64:ff9b::7f00:1]/x", "https://[2002:7f00:1::]/x"]
        {
            assert!(
                matches!(fetcher.fetch_json(literal).await, Err(FetchError::PrivateAddress(..))),
                "{literal}"
            );
        }
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
        // One public answer does not excuse a private one among them.
        let mixed = vec!["8.8.8.8".parse().unwrap(), "::127.0.0.1".parse().unwrap()];
        overrides.insert("mixed.example".to_string(), mixed);
        overrides.insert("nat64.example".to_string(), vec!["64:ff9b::a9fe:a9fe".parse().unwrap()]);
        let resolver = CheckedResolver { allow_private_network: false, overrides: Arc::new(overrides) };
        let fetcher = Fetcher::with_resolver(FetchPolicy::default(), None, resolver);
        for host in ["rebind.example", "mixed.example", "nat64.example"] {
            let err = fetcher.fetch_json(&format!("https://{host}/list")).await.unwrap_err();
            assert!(err.to_string().contains("private address"), "{host}: {err}");
        }
    }

    #[test]
    fn a_document_is_cached_no_longer_than_it_is_valid() {
        use base64::Engine;
        let b64 = |v: Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
        let now = chrono::Utc::now().timestamp();
        let jwt =
            |payload: Value| Value::String(format!("{}.{}.c2ln", b64(json!({"alg": "EdDSA"})), b64(payload)));
        let left = |d: &Value| remaining_validity(d).map(|d| d.as_secs());
        assert!(left(&jwt(json!({"exp": now + 100}))).is_some_and(|s| (98..=100).contains(&s)));
        assert!(left(&jwt(json!({"exp": (now + 100).to_string()}))).is_some_and(|s| (98..=100).contains(&s)));
        assert_eq!(left(&jwt(json!({"exp": now - 100}))), Some(0), "expired: not cached at all");
        let until = (chrono::Utc::now() + chrono::Duration::seconds(50)).to_rfc3339();
        assert!(left(&json!({"validUntil": until})).is_some_and(|s| (48..=50).contains(&s)));
        assert_eq!(left(&json!({"registry": {}})), None);
        assert_eq!(left(&jwt(json!({"exp": "soon"}))), None);
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
