//! How a CLI command reaches the service: directly, on the data folder's store, when no server
//! runs; over HTTP when `laurel serve` holds the folder (it locks the database) or `--server
//! URL` is given. Either way the command sends the same typed request ([`IssueRequest`],
//! [`StatusUpdate`], ...) to the same service function, and gets the same errors: a problem
//! detail from the server becomes the [`ServiceError`] it was made from.

use super::*;

use crate::credential::model::FieldProblem;
use crate::service::{CredentialQuery, IssueRequest, KeyListing, Service, ServiceError, StatusUpdate};

/// The service, opened locally or reached over HTTP.
pub(super) enum Backend {
    Local(Box<Service>),
    Remote(Remote),
}

/// A running server and the admin token to call it with.
pub(super) struct Remote {
    base: String,
    token: String,
    client: reqwest::Client,
}

impl Backend {
    /// Opens the data folder, or, when a server holds it (or `server` is given), connects to
    /// that server with the admin token (`LAUREL_ADMIN_TOKEN`, else `DATA/admin-token`).
    pub(super) async fn open(data: &Path, server: Option<&str>) -> Result<Backend, CliError> {
        if let Some(url) = server {
            return Ok(Backend::Remote(Remote::new(data, url)?));
        }
        let verifier = Verifier::new(
            Arc::new(LocalResolver {
                fetcher: Some(Arc::new(Fetcher::new(FetchPolicy::default(), None))),
                ..LocalResolver::default()
            }),
            VerifyOptions::default(),
        );
        match crate::http::open_data_folder(data, verifier, Default::default(), None, false) {
            Ok((service, _)) => Ok(Backend::Local(Box::new(service))),
            Err(crate::http::ServerError::Store(crate::store::StoreError::Locked { .. })) => {
                let running = read_running_server(data)?;
                Ok(Backend::Remote(Remote::new(data, &running.url)?))
            }
            Err(e) => Err(CliError::Input(e.to_string())),
        }
    }

    pub(super) async fn issue(&self, request: &IssueRequest) -> Result<Value, CliError> {
        match self {
            Backend::Local(service) => Ok(service.issue(request.clone()).await?.credential),
            Backend::Remote(remote) => {
                let body = serde_json::to_value(request).map_err(|e| CliError::Input(e.to_string()))?;
                let response = remote.call(reqwest::Method::POST, "/credentials/issue", Some(&body)).await?;
                response
                    .get("verifiableCredential")
                    .cloned()
                    .ok_or_else(|| CliError::Input("the server's answer has no verifiableCredential".into()))
            }
        }
    }

    pub(super) async fn set_status(&self, update: &StatusUpdate) -> Result<Value, CliError> {
        match self {
            Backend::Local(service) => Ok(service.update_status(update)?),
            Backend::Remote(remote) => {
                let body = json!({
                    "credentialId": update.credential_id,
                    "credentialStatus": {"type": "BitstringStatusListEntry", "statusPurpose": update.purpose},
                    "status": update.value,
                });
                remote.call(reqwest::Method::POST, "/credentials/status", Some(&body)).await
            }
        }
    }

    /// One record with its current status, as `GET /credentials/{id}` answers.
    pub(super) async fn credential_view(&self, id: &str) -> Result<Value, CliError> {
        match self {
            Backend::Local(service) => to_json(&service.credential_view(id)?),
            Backend::Remote(remote) => {
                let path = format!("/credentials/{}", percent_encode_segment(id));
                remote.call(reqwest::Method::GET, &path, None).await
            }
        }
    }

    /// A page of records, as `GET /credentials` answers.
    pub(super) async fn query_credentials(&self, query: &CredentialQuery) -> Result<Value, CliError> {
        match self {
            Backend::Local(service) => to_json(&service.query_credentials(query.clone())?),
            Backend::Remote(remote) => {
                let path = format!("/credentials?{}", query_string(query)?);
                remote.call(reqwest::Method::GET, &path, None).await
            }
        }
    }

    /// The records as CSV, as `GET /credentials.csv` answers.
    pub(super) async fn export_credentials_csv(&self, query: &CredentialQuery) -> Result<String, CliError> {
        match self {
            Backend::Local(service) => Ok(service.export_credentials_csv(query.clone())?),
            Backend::Remote(remote) => {
                let path = format!("/credentials.csv?{}", query_string(query)?);
                let bytes = remote.call_raw(reqwest::Method::GET, &path, None).await?;
                String::from_utf8(bytes).map_err(|_| CliError::Input("the server's CSV is not UTF-8".into()))
            }
        }
    }

    pub(super) async fn list_keys(&self) -> Result<Vec<KeyListing>, CliError> {
        match self {
            Backend::Local(service) => {
                Ok(crate::service::list_keys(service.store.as_ref(), &service.settings)?)
            }
            Backend::Remote(remote) => {
                let response = remote.call(reqwest::Method::GET, "/keys", None).await?;
                serde_json::from_value(response.get("keys").cloned().unwrap_or_default())
                    .map_err(|e| CliError::Input(format!("the server's key list: {e}")))
            }
        }
    }

    pub(super) async fn create_key(
        &self,
        key_type: KeyType,
        name: Option<&str>,
    ) -> Result<KeyListing, CliError> {
        match self {
            Backend::Local(service) => {
                Ok(crate::service::create_key(service.store.as_ref(), &service.settings, key_type, name)?)
            }
            Backend::Remote(remote) => {
                let body = json!({"type": key_type.to_string(), "name": name});
                let response = remote.call(reqwest::Method::POST, "/keys", Some(&body)).await?;
                serde_json::from_value(response)
                    .map_err(|e| CliError::Input(format!("the server's answer: {e}")))
            }
        }
    }

    pub(super) async fn rotate_key(&self) -> Result<Value, CliError> {
        match self {
            Backend::Local(service) => {
                Ok(crate::service::rotate_key(service.store.as_ref(), &service.settings)?)
            }
            Backend::Remote(remote) => remote.call(reqwest::Method::POST, "/keys/rotate", None).await,
        }
    }

    pub(super) async fn revoke_key(&self, name: &str) -> Result<Value, CliError> {
        match self {
            Backend::Local(service) => {
                Ok(crate::service::revoke_key(service.store.as_ref(), &service.settings, name)?)
            }
            Backend::Remote(remote) => {
                let path = format!("/keys/{}/revoke", percent_encode_segment(name));
                remote.call(reqwest::Method::POST, &path, Some(&json!({"confirm": true}))).await
            }
        }
    }

    /// `--did-web` on `key rotate`/`revoke`: the identity to act as, for a data folder whose
    /// server has not recorded one. A running server's own identity cannot be overridden.
    pub(super) fn override_did_web(&mut self, did_web: Option<String>) -> Result<(), CliError> {
        let Some(did_web) = did_web else {
            return Ok(());
        };
        let did = if did_web.starts_with("did:web:") { did_web } else { format!("did:web:{did_web}") };
        match self {
            Backend::Local(service) => {
                crate::did::did_web_url(&did).map_err(|e| CliError::Usage(format!("--did-web: {e}")))?;
                service.settings.did_web = Some(did);
                Ok(())
            }
            Backend::Remote(remote) => Err(CliError::Usage(format!(
                "--did-web cannot change the identity of the running server at {}; leave it out",
                remote.base
            ))),
        }
    }

    /// A backup to the absolute directory `dir` (on the server's machine when remote).
    pub(super) async fn backup(&self, dir: &Path) -> Result<Value, CliError> {
        match self {
            Backend::Local(service) => to_json(&service.backup(dir)?),
            Backend::Remote(remote) => {
                let body = json!({"dir": dir.to_string_lossy()});
                remote.call(reqwest::Method::POST, "/admin/backup", Some(&body)).await
            }
        }
    }

    /// The settings the service issues with (for warnings the CLI prints).
    pub(super) fn settings(&self) -> Option<&crate::service::ServiceSettings> {
        match self {
            Backend::Local(service) => Some(&service.settings),
            Backend::Remote(_) => None,
        }
    }
}

/// `DATA/server.json`, written by `laurel serve` while it runs.
fn read_running_server(data: &Path) -> Result<crate::http::RunningServer, CliError> {
    let path = data.join(crate::http::SERVER_FILE);
    let text = std::fs::read_to_string(&path).map_err(|_| {
        CliError::Input(format!(
            "the database in {} is locked by another process, and {} (written by `laurel serve`) is missing; pass --server URL",
            data.display(),
            path.display()
        ))
    })?;
    serde_json::from_str(&text).map_err(|e| CliError::Input(format!("{}: {e}", path.display())))
}

impl Remote {
    fn new(data: &Path, url: &str) -> Result<Remote, CliError> {
        let token = match std::env::var("LAUREL_ADMIN_TOKEN") {
            Ok(token) if !token.trim().is_empty() => token.trim().to_string(),
            _ => std::fs::read_to_string(data.join(crate::http::ADMIN_TOKEN_FILE))
                .map(|t| t.trim().to_string())
                .map_err(|_| {
                    CliError::Usage(format!(
                        "talking to the server at {url} needs the admin token: set LAUREL_ADMIN_TOKEN or keep {}",
                        data.join(crate::http::ADMIN_TOKEN_FILE).display()
                    ))
                })?,
        };
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = reqwest::Client::builder().timeout(std::time::Duration::from_secs(60)).no_proxy();
        // A server started with --self-signed wrote its certificate here.
        if let Ok(pem) = std::fs::read(data.join("self-signed-cert.pem")) {
            if let Ok(cert) = reqwest::Certificate::from_pem(&pem) {
                builder = builder.add_root_certificate(cert);
            }
        }
        let client = builder.build().map_err(|e| CliError::Input(format!("HTTP client: {e}")))?;
        Ok(Remote { base: url.trim_end_matches('/').to_string(), token, client })
    }

    /// Calls the server and returns its JSON answer (see [`Remote::call_raw`]).
    /// `call` with one extra request header (e.g. `Idempotency-Key`).
    pub(super) async fn call_with_header(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &Value,
        header: Option<(&str, &str)>,
    ) -> Result<Value, CliError> {
        let bytes = self.call_raw_with(method, path, Some(body), header).await?;
        Ok(serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    pub(super) async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, CliError> {
        let bytes = self.call_raw(method, path, body).await?;
        Ok(serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    /// Calls the server and returns its answer's body; a problem detail becomes the service
    /// error it was made from, so the CLI reports it exactly as it would have locally.
    async fn call_raw(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Vec<u8>, CliError> {
        self.call_raw_with(method, path, body, None).await
    }

    /// POSTs `body` as `media_type`; the status and the JSON answer, whatever the status (the
    /// caller reads problem details that carry more than a detail, such as a batch report).
    pub(super) async fn post_bytes(
        &self,
        path: &str,
        media_type: &str,
        body: Vec<u8>,
    ) -> Result<(u16, Value), CliError> {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .header("content-type", media_type)
            .body(body)
            .send()
            .await
            .map_err(|e| CliError::Input(format!("cannot reach the server at {}: {e}", self.base)))?;
        let status = response.status().as_u16();
        let value: Value = response.json().await.unwrap_or(Value::Null);
        if matches!(status, 200 | 202 | 422) {
            return Ok((status, value));
        }
        let detail = value.get("detail").and_then(Value::as_str).unwrap_or("no detail");
        Err(CliError::Input(format!("the server at {} answered {status}: {detail}", self.base)))
    }

    async fn call_raw_with(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
        header: Option<(&str, &str)>,
    ) -> Result<Vec<u8>, CliError> {
        let mut request =
            self.client.request(method, format!("{}{path}", self.base)).bearer_auth(&self.token);
        if let Some((name, value)) = header {
            request = request.header(name, value);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request
            .send()
            .await
            .map_err(|e| CliError::Input(format!("cannot reach the server at {}: {e}", self.base)))?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| CliError::Input(format!("reading the server's answer: {e}")))?;
        if status.is_success() {
            return Ok(bytes.to_vec());
        }
        let value: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        let detail = value.get("detail").and_then(Value::as_str).unwrap_or("no detail").to_string();
        let problems: Vec<FieldProblem> = value
            .get("errors")
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .map(|p| {
                        let path = p.get("path").and_then(Value::as_str).unwrap_or("$").to_string();
                        let text = p.get("detail").and_then(Value::as_str).unwrap_or_default();
                        let message = text.strip_prefix(&format!("{path}: ")).unwrap_or(text).to_string();
                        FieldProblem { path, message }
                    })
                    .collect()
            })
            .unwrap_or_default();
        Err(CliError::Service(match status.as_u16() {
            401 | 403 => {
                return Err(CliError::Usage(format!(
                    "the server at {} refused the admin token: {detail}",
                    self.base
                )))
            }
            404 => ServiceError::NotFound(detail),
            503 => ServiceError::Unavailable(detail),
            409 => ServiceError::Conflict(detail),
            400..=499 => ServiceError::BadRequest(detail, problems),
            _ => ServiceError::Internal(format!("the server at {} answered {status}: {detail}", self.base)),
        }))
    }
}

fn to_json(value: &impl serde::Serialize) -> Result<Value, CliError> {
    serde_json::to_value(value).map_err(|e| CliError::Input(e.to_string()))
}

/// The query as URL parameters, named as `GET /credentials` reads them.
fn query_string(query: &CredentialQuery) -> Result<String, CliError> {
    let Value::Object(fields) = to_json(query)? else {
        return Ok(String::new());
    };
    let pairs: Vec<String> = fields
        .iter()
        .map(|(name, value)| {
            let text = match value {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            format!("{name}={}", percent_encode_segment(&text))
        })
        .collect();
    Ok(pairs.join("&"))
}

/// Percent-encodes a URL path segment (key names are restricted, but be safe).
pub(super) fn percent_encode_segment(segment: &str) -> String {
    segment
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}
