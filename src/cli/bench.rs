//! Measuring: `laurel bench` (sign/verify cost per proof format, like `openssl speed`) and
//! `laurel load-test` (requests/s and latency percentiles of a running service).

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{json, Value};

use crate::credential::proofs::{Format, SignOptions};
use crate::credential::verify::{Verifier, VerifyOptions};
use crate::did::LocalResolver;
use crate::keys::{KeyPair, KeyType};

/// The typical OB credential all measurements use (about 1.7 KB).
pub const TYPICAL_CREDENTIAL: &str = include_str!("../../benches/typical-credential.json");

/// Every proof format measured, with the key type it signs with: shared with `cargo bench`.
pub const FORMATS: [(&str, Format, KeyType); 5] = [
    ("eddsa-rdfc-2022", Format::EddsaRdfc2022, KeyType::Ed25519),
    ("ecdsa-rdfc-2019", Format::EcdsaRdfc2019, KeyType::P256),
    ("jwt-eddsa", Format::Jwt, KeyType::Ed25519),
    ("jwt-es256", Format::Jwt, KeyType::P256),
    ("jwt-rs256", Format::Jwt, KeyType::Rsa),
];

/// The typical credential, issued by `key`.
pub fn typical_credential(key: &KeyPair) -> Value {
    let mut credential: Value =
        serde_json::from_str(TYPICAL_CREDENTIAL).expect("the bundled benchmark credential is JSON");
    credential["issuer"]["id"] = json!(key.did());
    credential
}

/// One measured operation.
#[derive(Debug, Clone, Serialize)]
pub struct Measurement {
    pub operation: String,
    pub iterations: usize,
    pub median_us: f64,
    pub p95_us: f64,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn summarize(operation: String, mut samples: Vec<f64>) -> Measurement {
    samples.sort_by(|a, b| a.total_cmp(b));
    let round = |v: f64| (v * 10.0).round() / 10.0;
    Measurement {
        operation,
        iterations: samples.len(),
        median_us: round(percentile(&samples, 0.5)),
        p95_us: round(percentile(&samples, 0.95)),
    }
}

/// Signs and verifies the typical credential `iterations` times per format, on one thread.
pub async fn run_bench(iterations: usize) -> Result<Vec<Measurement>, String> {
    let verifier = Verifier::new(Arc::new(LocalResolver::default()), VerifyOptions::default());
    let mut results = Vec::new();
    for (name, format, key_type) in FORMATS {
        let key = KeyPair::generate(key_type).map_err(|e| e.to_string())?;
        let credential = typical_credential(&key);
        let signer = format.signer();
        let options = SignOptions::default();
        let mut signed = Value::Null;
        let mut samples = Vec::with_capacity(iterations);
        for _ in 0..iterations.max(1) {
            let start = Instant::now();
            signed =
                signer.sign(&credential, &key, &options).await.map_err(|e| e.to_string())?.to_json_value();
            samples.push(start.elapsed().as_secs_f64() * 1e6);
        }
        results.push(summarize(format!("{name} sign"), samples));
        let mut samples = Vec::with_capacity(iterations);
        for _ in 0..iterations.max(1) {
            let start = Instant::now();
            let report = verifier.verify_value(&signed).await;
            samples.push(start.elapsed().as_secs_f64() * 1e6);
            if !report.verified {
                return Err(format!("{name}: the benchmark credential did not verify: {:?}", report.errors));
            }
        }
        results.push(summarize(format!("{name} verify"), samples));
    }
    results.extend(run_registry_bench(iterations).await?);
    Ok(results)
}

/// Three registries (dcc-legacy, oidf, vc-recognition) that list `issuer`, their documents
/// pinned in a resolver (as `--preload` does): what verification with registries and warm caches
/// reads. The OIDF statements are signed here with the bench's own keys.
pub async fn bench_registries(
    issuer: &str,
) -> Result<(crate::did::LocalResolver, Vec<crate::credential::registry::RegistryConfig>), String> {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
    use base64::Engine;
    let mut resolver = LocalResolver::default();
    resolver.pinned.insert(
        "https://registry.bench/registry.json",
        json!({"meta": {}, "registry": {issuer: {"name": "Bench University", "url": "https://bench.example"}}}),
    );
    let anchor = KeyPair::generate(KeyType::Ed25519).map_err(|e| e.to_string())?;
    let entity = "https://federation.bench";
    let exp = chrono::Utc::now().timestamp() + 3600;
    let sign = |payload: Value| -> Result<Value, String> {
        let header = json!({"alg": "EdDSA", "kid": "a", "typ": "entity-statement+jwt"});
        let input = format!("{}.{}", B64URL.encode(header.to_string()), B64URL.encode(payload.to_string()));
        let signature = anchor.sign_raw(input.as_bytes()).map_err(|e| e.to_string())?;
        Ok(Value::String(format!("{input}.{}", B64URL.encode(signature))))
    };
    let mut jwk = anchor.public_key().to_jwk();
    jwk.insert("kid".into(), json!("a"));
    let ec_url = format!("{entity}/.well-known/openid-federation");
    resolver.pinned.insert(
        ec_url.clone(),
        sign(json!({"iss": entity, "sub": entity, "exp": exp, "jwks": {"keys": [jwk]},
            "metadata": {"federation_entity": {"federation_fetch_endpoint": format!("{entity}/fetch")}}}))?,
    );
    let fetch = crate::credential::registry::oidf::fetch_url(&format!("{entity}/fetch"), issuer)
        .map_err(|e| e.to_string())?;
    resolver.pinned.insert(
        fetch,
        sign(json!({"iss": entity, "sub": issuer, "exp": exp,
            "metadata": {"federation_entity": {"organization_name": "Bench University"}}}))?,
    );
    let recognizer = KeyPair::generate(KeyType::Ed25519).map_err(|e| e.to_string())?;
    let unsigned = json!({
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential"],
        "issuer": recognizer.did(),
        "validFrom": "2026-01-01T00:00:00Z",
        "credentialSubject": {"id": issuer, "name": "Bench University"},
    });
    let recognition = Format::EddsaRdfc2022
        .signer()
        .sign(&unsigned, &recognizer, &SignOptions::default())
        .await
        .map_err(|e| e.to_string())?
        .to_json_value();
    resolver.pinned.insert("https://recognition.bench/r.json", recognition);
    let registries = crate::credential::registry::parse_registries(&json!([
        {"name": "Bench DCC", "type": "dcc-legacy", "url": "https://registry.bench/registry.json"},
        {"name": "Bench Federation", "type": "oidf", "trustAnchorEC": ec_url},
        {"name": "Bench Recognition", "type": "vc-recognition", "url": "https://recognition.bench/r.json",
         "acceptedIssuers": [recognizer.did()]},
    ]))?;
    Ok((resolver, registries))
}

/// Verification of the typical eddsa-rdfc-2022 credential without registries and with three
/// (warm caches: one verification first fills them), measured alternately: the two medians.
pub async fn run_registry_bench(iterations: usize) -> Result<Vec<Measurement>, String> {
    let key = KeyPair::generate(KeyType::Ed25519).map_err(|e| e.to_string())?;
    let signed = Format::EddsaRdfc2022
        .signer()
        .sign(&typical_credential(&key), &key, &SignOptions::default())
        .await
        .map_err(|e| e.to_string())?
        .to_json_value();
    let (resolver, registries) = bench_registries(&key.did()).await?;
    let resolver = Arc::new(resolver);
    let verifier = |registries: &[crate::credential::registry::RegistryConfig]| {
        Verifier::new(
            resolver.clone(),
            VerifyOptions { registries: registries.to_vec(), ..VerifyOptions::default() },
        )
    };
    // No registry, all three, then each kind alone.
    let mut cases = vec![("eddsa verify, no registry".to_string(), verifier(&[]), 0)];
    cases.push(("eddsa verify, 3 registries".to_string(), verifier(&registries), 3));
    for one in &registries {
        cases.push((format!("  of which {}", one.kind), verifier(std::slice::from_ref(one)), 1));
    }
    for (name, verifier, expected) in &cases {
        let warm = verifier.verify_value(&signed).await;
        let matches = warm.registry.as_ref().and_then(|r| r["matches"].as_array()).map_or(0, Vec::len);
        if !warm.verified || matches != *expected {
            return Err(format!(
                "{name}: expected {expected} registry matches: {:?} {:?}",
                warm.errors, warm.registry
            ));
        }
    }
    let mut samples: Vec<Vec<f64>> = vec![Vec::with_capacity(iterations); cases.len()];
    for _ in 0..iterations.max(1) {
        for ((_, verifier, _), samples) in cases.iter().zip(samples.iter_mut()) {
            let start = Instant::now();
            let report = verifier.verify_value(&signed).await;
            samples.push(start.elapsed().as_secs_f64() * 1e6);
            if !report.verified {
                return Err(format!("the benchmark credential did not verify: {:?}", report.errors));
            }
        }
    }
    Ok(cases.into_iter().zip(samples).map(|((name, _, _), samples)| summarize(name, samples)).collect())
}

/// Settings of a load test against a running service.
#[derive(Debug, Clone)]
pub struct LoadTest {
    pub base: String,
    pub token: Option<String>,
    /// `verify`, `issue` or `events`.
    pub endpoint: String,
    pub concurrency: usize,
    pub duration: Duration,
    /// Issue with a status list entry (the default for a real issue) instead of opting out.
    pub with_status: bool,
    /// `events`: events per request (a Caliper envelope when more than one).
    pub batch: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct LoadReport {
    pub endpoint: String,
    pub concurrency: usize,
    pub seconds: f64,
    pub requests: usize,
    pub errors: usize,
    pub requests_per_second: f64,
    /// `events`: events accepted (requests times the batch) and processed per second.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub events_per_second: Option<f64>,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

/// Issues one copy of `credential` (a new id) with `options`; the secured credential.
async fn issue_test_credential(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    credential: &Value,
    options: Value,
) -> Result<Value, String> {
    let mut credential = credential.clone();
    credential["id"] = json!(format!("urn:uuid:{}", uuid::Uuid::new_v4()));
    let response = client
        .post(format!("{base}/credentials/issue"))
        .bearer_auth(token)
        .json(&json!({"credential": credential, "options": options}))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if response.status().as_u16() != 201 {
        return Err(format!("could not issue the test credential: HTTP {}", response.status()));
    }
    let issued: Value = response.json().await.map_err(|e| e.to_string())?;
    Ok(issued["verifiableCredential"].clone())
}

/// The events test's program: one achievement and a rule that awards it on every event (each
/// event names a new learner, so each one issues a badge).
async fn setup_event_rule(client: &reqwest::Client, base: &str, token: &str) -> Result<(), String> {
    let achievement = json!({"name": "Load test", "description": "Awarded by the events load test",
        "criteria": {"narrative": "Send an event."}});
    let response = client
        .post(format!("{base}/achievements"))
        .bearer_auth(token)
        .json(&achievement)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if response.status().as_u16() != 201 {
        return Err(format!("could not create the test achievement: HTTP {}", response.status()));
    }
    let stored: Value = response.json().await.map_err(|e| e.to_string())?;
    for event in ["load_test_passed", "GradeEvent"] {
        let rule = json!({"event": event, "condition": "score >= 80", "award": stored["id"]});
        let response = client
            .post(format!("{base}/rules"))
            .bearer_auth(token)
            .json(&rule)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if response.status().as_u16() != 201 {
            return Err(format!("could not create the test rule: HTTP {}", response.status()));
        }
    }
    Ok(())
}

/// A Caliper 1.2 envelope of `count` GradeEvents, each for a new learner scoring 90 of 100.
fn caliper_envelope(count: usize) -> Value {
    let data: Vec<Value> = (0..count)
        .map(|_| {
            let n = uuid::Uuid::new_v4();
            json!({
                "@context": "http://purl.imsglobal.org/ctx/caliper/v1p2",
                "id": format!("urn:uuid:{n}"), "type": "GradeEvent", "action": "Graded",
                "actor": {"id": "https://lms.load.example/autograder", "type": "SoftwareApplication"},
                "object": {"id": format!("https://lms.load.example/attempts/{n}"), "type": "Attempt",
                    "assignee": {"id": format!("https://lms.load.example/users/{n}"), "type": "Person",
                        "email": format!("learner-{n}@load.example")},
                    "assignable": {"id": "https://lms.load.example/assess/1", "type": "Assessment"}},
                "generated": {"id": format!("https://lms.load.example/scores/{n}"), "type": "Score",
                    "scoreGiven": 90.0, "maxScore": 100.0},
                "eventTime": "2026-12-01T10:00:00.000Z",
            })
        })
        .collect();
    json!({"sensor": "https://lms.load.example/sensor", "sendTime": "2026-12-01T10:00:00.000Z",
        "dataVersion": "http://purl.imsglobal.org/ctx/caliper/v1p2", "data": data})
}

/// Drives `endpoint` with `concurrency` clients for `duration` (bounded; stops by itself). For
/// `events`, the time runs until the last accepted event is processed: events per second end
/// to end.
pub async fn run_load_test(test: &LoadTest) -> Result<LoadReport, String> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .pool_max_idle_per_host(test.concurrency)
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| e.to_string())?;
    let base = test.base.trim_end_matches('/').to_string();
    let token = test.token.clone();
    let mut credential: Value = serde_json::from_str(TYPICAL_CREDENTIAL).map_err(|e| e.to_string())?;
    credential["issuer"] = json!({"type": ["Profile"], "name": "Load test"});
    let body = match test.endpoint.as_str() {
        "issue" => {
            if token.is_none() {
                return Err("issuing needs --token".into());
            }
            None
        }
        "verify" => {
            let token =
                token.as_deref().ok_or("the verify test issues one credential first: give --token")?;
            let issued =
                issue_test_credential(&client, &base, token, &credential, json!({"credentialStatus": false}))
                    .await?;
            Some(serde_json::to_vec(&json!({"verifiableCredential": issued})).map_err(|e| e.to_string())?)
        }
        "events" => {
            let token = token.as_deref().ok_or("the events test sets up a rule first: give --token")?;
            setup_event_rule(&client, &base, token).await?;
            None
        }
        "api-verify" | "badge-page" => None,
        other => {
            return Err(format!(
                "unknown endpoint {other:?} (verify, issue, events, api-verify or badge-page)"
            ))
        }
    };
    let events = test.endpoint == "events";
    // `api-verify`: GET /api/verify/{id} of one badge issued with a status entry (checked live);
    // `badge-page`: GET /badges/{id}, the HTML page of the same (verified live, rendered).
    let public_path = if test.endpoint == "api-verify" || test.endpoint == "badge-page" {
        let token =
            token.as_deref().ok_or("the public endpoint tests issue one badge first: give --token")?;
        let issued = issue_test_credential(&client, &base, token, &credential, json!({})).await?;
        let prefix = if test.endpoint == "api-verify" { "api/verify" } else { "badges" };
        Some(format!("{base}/{prefix}/{}", issued["id"].as_str().unwrap_or_default()))
    } else {
        None
    };
    let with_status = test.with_status;
    let batch = test.batch.max(1);
    let deadline = Instant::now() + test.duration;
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..test.concurrency {
        let (client, base, token, body, credential, public_path) = (
            client.clone(),
            base.clone(),
            token.clone(),
            body.clone(),
            credential.clone(),
            public_path.clone(),
        );
        tasks.spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0usize;
            while Instant::now() < deadline {
                let request = match &body {
                    None if public_path.is_some() => client.get(public_path.as_deref().unwrap_or_default()),
                    None if events => {
                        let event = if batch > 1 {
                            caliper_envelope(batch)
                        } else {
                            let n = uuid::Uuid::new_v4();
                            json!({"id": format!("load-{n}"), "type": "load_test_passed",
                                "learner": {"email": format!("learner-{n}@load.example")}, "score": 90})
                        };
                        client
                            .post(format!("{base}/events"))
                            .bearer_auth(token.as_deref().unwrap_or_default())
                            .json(&event)
                    }
                    Some(bytes) => client
                        .post(format!("{base}/credentials/verify"))
                        .header("content-type", "application/json")
                        .body(bytes.clone()),
                    None => {
                        let mut c = credential.clone();
                        c["id"] = json!(format!("urn:uuid:{}", uuid::Uuid::new_v4()));
                        let options =
                            if with_status { json!({}) } else { json!({"credentialStatus": false}) };
                        client
                            .post(format!("{base}/credentials/issue"))
                            .bearer_auth(token.as_deref().unwrap_or_default())
                            .json(&json!({"credential": c, "options": options}))
                    }
                };
                let start = Instant::now();
                match request.send().await {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                        latencies.push(start.elapsed().as_secs_f64() * 1000.0);
                    }
                    _ => errors += 1,
                }
            }
            (latencies, errors)
        });
    }
    let mut latencies = Vec::new();
    let mut errors = 0;
    while let Some(result) = tasks.join_next().await {
        let (l, e) = result.map_err(|e| e.to_string())?;
        latencies.extend(l);
        errors += e;
    }
    let mut seconds = started.elapsed().as_secs_f64();
    if events {
        // End to end: until every accepted event has been processed (its badge signed and stored).
        let token = token.as_deref().unwrap_or_default();
        let limit = Instant::now() + Duration::from_secs(600);
        loop {
            let queue: Value = client
                .get(format!("{base}/events"))
                .bearer_auth(token)
                .send()
                .await
                .map_err(|e| e.to_string())?
                .json()
                .await
                .map_err(|e| e.to_string())?;
            if queue["pending"] == json!(0) || Instant::now() > limit {
                break;
            }
            // Not too often: counting a long queue is work the server does instead of the queue.
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        seconds = started.elapsed().as_secs_f64();
    }
    latencies.sort_by(|a, b| a.total_cmp(b));
    let round = |v: f64| (v * 100.0).round() / 100.0;
    Ok(LoadReport {
        endpoint: test.endpoint.clone(),
        concurrency: test.concurrency,
        seconds: round(seconds),
        requests: latencies.len(),
        errors,
        requests_per_second: round(latencies.len() as f64 / seconds),
        events_per_second: events.then(|| round((latencies.len() * batch) as f64 / seconds)),
        p50_ms: round(percentile(&latencies, 0.5)),
        p99_ms: round(percentile(&latencies, 0.99)),
    })
}
