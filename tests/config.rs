//! `laurel.example.toml` and the `--config` file format stay in step: the sample parses into the
//! server's own config struct (unknown keys refused), names every key the struct has, `serve
//! --help` names them too, and a server started with the sample applies its settings.

mod common;

use common::{repo_path, temp_data_dir, ServerProcess};
use serde_json::{json, Value};

/// The sample's lines with every commented-out setting (`# key = value`) made active.
fn sample_uncommented() -> String {
    let text = std::fs::read_to_string(repo_path("laurel.example.toml")).expect("laurel.example.toml");
    text.lines()
        .map(|line| match commented_setting(line) {
            Some(setting) => setting.to_string(),
            None => line.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `# key = value` -> `key = value`; prose comments are left alone.
fn commented_setting(line: &str) -> Option<&str> {
    let rest = line.strip_prefix("# ")?;
    let (key, _) = rest.split_once(" = ")?;
    (!key.is_empty() && key.chars().all(|c| c.is_ascii_lowercase() || c == '_')).then_some(rest)
}

/// The field names of a `Deserialize` struct, as serde's derive hands them to the deserializer.
fn struct_fields<'de, T: serde::Deserialize<'de>>() -> &'static [&'static str] {
    struct Fields(std::cell::Cell<&'static [&'static str]>);
    #[derive(Debug)]
    struct Stop;
    impl std::fmt::Display for Stop {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("stop")
        }
    }
    impl std::error::Error for Stop {}
    impl serde::de::Error for Stop {
        fn custom<M: std::fmt::Display>(_: M) -> Self {
            Stop
        }
    }
    impl<'de> serde::Deserializer<'de> for &Fields {
        type Error = Stop;
        fn deserialize_any<V: serde::de::Visitor<'de>>(self, _: V) -> Result<V::Value, Stop> {
            Err(Stop)
        }
        fn deserialize_struct<V: serde::de::Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Stop> {
            self.0.set(fields);
            Err(Stop)
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
            option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
            ignored_any
        }
    }
    let fields = Fields(std::cell::Cell::new(&[]));
    let _ = T::deserialize(&fields);
    fields.0.get()
}

#[test]
fn the_sample_config_names_every_key_and_only_known_ones() {
    let fields = struct_fields::<laurel::cli::ServeFile>();
    assert!(fields.len() >= 15, "ServeFile fields not found: {fields:?}");

    // As shipped (defaults only) and with every optional setting switched on, the sample is a
    // valid --config file: deny_unknown_fields refuses any key the struct does not have.
    let shipped = std::fs::read_to_string(repo_path("laurel.example.toml")).unwrap();
    toml::from_str::<laurel::cli::ServeFile>(&shipped).unwrap_or_else(|e| panic!("as shipped: {e}"));
    let full = sample_uncommented();
    toml::from_str::<laurel::cli::ServeFile>(&full).unwrap_or_else(|e| panic!("uncommented: {e}"));

    // And every key the struct has is in the sample, with a comment above it.
    let table: toml::Table = toml::from_str(&full).unwrap();
    for field in fields {
        assert!(table.contains_key(*field), "laurel.example.toml does not list `{field}`");
        let lines: Vec<&str> = full.lines().collect();
        let mut at = lines.iter().position(|l| l.starts_with(&format!("{field} = "))).unwrap();
        // Settings that go together (tls_cert, tls_key) share the comment above the group.
        while at > 0 && lines[at - 1].split_once(" = ").is_some_and(|(k, _)| !k.starts_with('#')) {
            at -= 1;
        }
        assert!(
            at > 0 && lines[at - 1].starts_with("# "),
            "`{field}` in laurel.example.toml has no comment above it"
        );
    }
    assert_eq!(table.len(), fields.len(), "the sample has keys the config does not: {table:?}");

    // The parsing really refuses strangers (so the check above means something).
    assert!(toml::from_str::<laurel::cli::ServeFile>("base_uri = \"https://x.example\"").is_err());
}

#[test]
fn serve_help_names_every_setting_and_its_toml_key() {
    let out =
        std::process::Command::new(env!("CARGO_BIN_EXE_laurel")).args(["serve", "--help"]).output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for field in struct_fields::<laurel::cli::ServeFile>() {
        let flag = format!("--{}", field.replace('_', "-"));
        assert!(help.contains(&flag), "serve --help does not mention {flag}:\n{help}");
        assert!(
            help.contains(&format!("TOML: {field}")) || help.contains(&format!("{field} ({flag})")),
            "serve --help does not say {flag} is the TOML key {field}:\n{help}"
        );
    }
    assert!(help.contains("laurel.example.toml"), "{help}");
}

#[test]
fn an_unknown_key_in_the_config_file_stops_the_server() {
    let data = temp_data_dir("config-unknown");
    let file = data.join("bad.toml");
    std::fs::write(&file, "listen = \"127.0.0.1:0\"\nbase_uri = \"https://x.example\"\n").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_laurel"))
        .arg("--data")
        .arg(&data)
        .args(["serve", "--config"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("base_uri"));
}

/// The sample, with its optional settings switched on and only the address and the data folder
/// changed, is what the server runs with: the did:web issuer, the base URL of status lists,
/// the status list size, the body limit.
#[tokio::test]
async fn serve_applies_the_sample_config() {
    let data = temp_data_dir("config-sample");
    let mut lines = Vec::new();
    for line in sample_uncommented().lines() {
        let line = match line.split_once(" = ").map(|(k, _)| k) {
            Some("listen") => "listen = \"127.0.0.1:0\"".to_string(),
            Some("data") => format!("data = {}", toml::Value::String(data.display().to_string())),
            // The sample's certificate files do not exist here; TLS is tested elsewhere.
            Some("tls_cert" | "tls_key") => continue,
            Some("admin_token") => "admin_token = \"config-test-token-0123456789\"".to_string(),
            Some("max_body") => "max_body = 4096".to_string(),
            Some("status_list_size") => "status_list_size = 131080".to_string(),
            _ => line.to_string(),
        };
        lines.push(line);
    }
    let file = data.join("laurel.toml");
    std::fs::write(&file, lines.join("\n")).unwrap();
    // The sample's registries file and operator context, relative to the config file's folder.
    std::fs::write(
        data.join("registries.json"),
        r#"[{"name": "Example Registry", "type": "dcc-legacy", "url": "https://registry.example/registry.json"}]"#,
    )
    .unwrap();
    std::fs::create_dir_all(data.join("contexts")).unwrap();
    std::fs::write(
        data.join("contexts/example-v1.json"),
        r#"{"@context": {"@protected": true, "ExampleBadge": "https://example.org/vocab#ExampleBadge"}}"#,
    )
    .unwrap();
    let file_arg = file.display().to_string();
    // No --data, no --listen: both come from the file.
    let server = ServerProcess::start_args(&data, &["serve", "--config", &file_arg]);
    assert!(server.base.starts_with("http://127.0.0.1:"), "{}", server.base);
    assert!(server.banner.contains("issuer DID: did:web:badges.example.org"), "{}", server.banner);
    assert!(server.banner.contains("--admin-token"), "{}", server.banner);
    assert!(!data.join("admin-token").exists(), "the token from the file is used, none generated");

    let client = common::http_client();
    let health = common::get_json(&client, format!("{}/healthz", server.base)).await;
    assert_eq!(health["status"], "ok");
    let did = common::get_json(&client, format!("{}/.well-known/did.json", server.base)).await;
    assert_eq!(did["id"], "did:web:badges.example.org", "{did}");

    let request: Value =
        serde_json::from_slice(&std::fs::read(repo_path("examples/requests/issue.json")).unwrap()).unwrap();
    let response = client
        .post(format!("{}/credentials/issue", server.base))
        .bearer_auth("config-test-token-0123456789")
        .json(&request)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201, "issue with the token from the file");
    let issued: Value = response.json().await.unwrap();
    let credential = &issued["verifiableCredential"];
    assert_eq!(credential["issuer"]["id"], "did:web:badges.example.org", "{credential}");
    let statuses = credential["credentialStatus"]
        .as_array()
        .cloned()
        .unwrap_or_else(|| vec![credential["credentialStatus"].clone()]);
    assert!(!statuses.is_empty());
    for status in &statuses {
        let url = status["statusListCredential"].as_str().unwrap_or_default();
        assert!(url.starts_with("https://badges.example.org/status/"), "base_url not applied: {status}");
        let index: u64 = status["statusListIndex"].as_str().unwrap().parse().unwrap();
        assert!(index < 131080, "{status}");
    }

    // max_body = 4096: a larger body is refused.
    let big = json!({"verifiableCredential": {"padding": "x".repeat(8192)}});
    let response =
        client.post(format!("{}/credentials/verify", server.base)).json(&big).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 413, "max_body not applied");
}
