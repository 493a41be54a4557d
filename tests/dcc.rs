//! Credentials from the Digital Credentials Consortium's ecosystem and older issuers (issue 24),
//! through the real binary, offline (every DID document and status list pinned):
//!
//! - DCC's published verifier fixtures (vectors/dcc, digitalcredentials/vc-test-fixtures at a
//!   pinned commit): each gets the verdict its name calls for under the default policy, and with
//!   `--status-signer` trusting the DID that signs DCC's status lists for every issuer. Subjects
//!   without `id` verify with `NO_RECIPIENT`; DCC's lists (100,000 entries) are read with a
//!   `STATUS_LIST_LENGTH_ERROR` warning.
//! - Status List 2021 vectors made by Digital Bazaar's `@digitalbazaar/vc-status-list`
//!   (vectors/statuslist2021), each with the code the library itself gives.
//! - The presentation path on a few DCC badges, the status issuer policy `warn`, and operator
//!   contexts (`--context`, `contexts` in laurel.toml).

mod common;

use std::path::Path;
use std::process::Command;

use common::{repo_path, temp_data_dir};
use serde_json::{json, Value};

fn laurel(args: &[String]) -> (i32, Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_laurel")).args(args).output().expect("laurel runs");
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let report = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code().unwrap_or(-1), report, stderr)
}

fn codes(report: &Value, field: &str) -> Vec<String> {
    report[field]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["code"].as_str())
        .map(str::to_string)
        .collect()
}

fn verify_args(dir: &Path, entry: &Value) -> Vec<String> {
    let mut args = vec![
        "verify".to_string(),
        dir.join(entry["file"].as_str().unwrap()).display().to_string(),
        "--offline".into(),
        "--json".into(),
    ];
    for (url, file) in entry["preload"].as_object().into_iter().flatten() {
        args.push("--preload".into());
        args.push(format!("{url}={}", dir.join(file.as_str().unwrap()).display()));
    }
    args
}

/// Checks a report against `{verified, codes}`: the verdict, and every code named among the errors.
fn matches(report: &Value, expected: &Value) -> Result<(), String> {
    let errors = codes(report, "errors");
    let verified = report["verified"] == json!(true);
    let wanted: Vec<&str> = expected["codes"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    if verified != (expected["verified"] == json!(true))
        || !wanted.iter().all(|c| errors.iter().any(|e| e == c))
    {
        return Err(format!("expected {expected}, got verified={verified} errors={:?}", report["errors"]));
    }
    Ok(())
}

fn manifest(dir: &Path) -> Vec<Value> {
    serde_json::from_slice(&std::fs::read(dir.join("MANIFEST.json")).unwrap()).unwrap()
}

#[test]
fn dcc_fixtures_get_the_verdicts_their_names_call_for() {
    let dir = repo_path("vectors/dcc");
    let entries = manifest(&dir);
    assert!(entries.len() >= 90, "the fixture set is complete");
    let mut failures = Vec::new();
    let (mut verified, mut no_recipient, mut short_lists) = (0, 0, 0);
    for entry in &entries {
        let file = entry["file"].as_str().unwrap();
        let (code, report, stderr) = laurel(&verify_args(&dir, entry));
        if report.is_null() {
            // One upstream file is empty: refused as input, exit 2.
            if entry["expected"]["codes"] != json!(["PARSING_ERROR"]) || code != 2 {
                failures.push(format!("{file}: no report ({code}): {stderr}"));
            }
            continue;
        }
        if let Err(e) = matches(&report, &entry["expected"]) {
            failures.push(format!("{file} (default policy): {e}"));
        }
        assert_eq!(code == 0, report["verified"] == json!(true), "{file}: exit code and verdict agree");
        verified += usize::from(code == 0);
        let warnings = codes(&report, "warnings");
        // Only an Open Badge must name its recipient (a plain VC need not).
        let credential: Value =
            serde_json::from_slice(&std::fs::read(dir.join(file)).unwrap()).unwrap_or_default();
        let open_badge = ["OpenBadgeCredential", "AchievementCredential"]
            .iter()
            .any(|t| credential["type"].as_array().is_some_and(|types| types.contains(&json!(t))));
        if open_badge
            && entry["subjectHasId"] == json!(false)
            && entry["subjectHasIdentifier"] != json!(true)
            && code == 0
        {
            if !warnings.iter().any(|w| w == "NO_RECIPIENT") {
                failures.push(format!("{file}: no NO_RECIPIENT warning: {warnings:?}"));
            }
            no_recipient += 1;
        }
        short_lists += usize::from(warnings.iter().any(|w| w == "STATUS_LIST_LENGTH_ERROR"));
        // Trusting the DID that signs DCC's lists for this issuer.
        if let Some(signer) = entry["status"]["listSigner"].as_str() {
            let mut args = verify_args(&dir, entry);
            args.push("--status-signer".into());
            args.push(format!("{}={signer}", entry["issuer"].as_str().unwrap()));
            let (_, report, _) = laurel(&args);
            if let Err(e) = matches(&report, &entry["expectedWithSigner"]) {
                failures.push(format!("{file} (--status-signer): {e}"));
            }
        }
    }
    assert!(failures.is_empty(), "{} fixtures disagree:\n{}", failures.len(), failures.join("\n"));
    assert!(
        verified >= 40 && no_recipient >= 25,
        "verified {verified}, of which {no_recipient} without a recipient"
    );
    println!(
        "DCC fixtures: {verified} verified ({no_recipient} with NO_RECIPIENT, {short_lists} on short lists)"
    );
}

#[test]
fn a_foreign_signed_status_list_is_a_warning_only_when_the_operator_says_so() {
    let dir = repo_path("vectors/dcc");
    let entries = manifest(&dir);
    let revoked = entries
        .iter()
        .find(|e| {
            e["file"]
                .as_str()
                .unwrap()
                .ends_with("v2/ed25519/didKey/noRegistry-revokedStatus-notExpired.json")
        })
        .expect("the fixture");
    let (_, report, _) = laurel(&verify_args(&dir, revoked));
    let detail = report["errors"][0]["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("Laurel cannot trust its revocation bits") && detail.contains("--status-signer"),
        "{report}"
    );
    let mut args = verify_args(&dir, revoked);
    args.extend(["--status-issuer-policy".into(), "warn".into()]);
    let (code, report, _) = laurel(&args);
    assert_eq!(code, 1);
    assert_eq!(codes(&report, "errors"), ["REVOKED"], "{report}");
    assert!(codes(&report, "warnings").contains(&"STATUS_LIST_ISSUER_MISMATCH".to_string()), "{report}");
    let mut args = verify_args(&dir, revoked);
    args.extend(["--status-issuer-policy".into(), "maybe".into()]);
    assert_eq!(laurel(&args).0, 2, "an unknown policy is a usage error");
}

#[test]
fn status_list_2021_vectors_get_digital_bazaars_verdicts() {
    let dir = repo_path("vectors/statuslist2021");
    let entries = manifest(&dir);
    assert!(entries.len() >= 7);
    for entry in &entries {
        let file = entry["file"].as_str().unwrap();
        let (_, report, stderr) = laurel(&verify_args(&dir, entry));
        matches(&report, &entry["expected"]).unwrap_or_else(|e| panic!("{file}: {e} {stderr}"));
        // The library's own verdict (its checkStatus) is the same.
        assert_eq!(
            entry["digitalBazaar"]["checkStatus"]["verified"], entry["expected"]["verified"],
            "{file}"
        );
        if entry["expected"]["verified"] == json!(true) {
            assert_eq!(report["status"][0]["type"], json!("StatusList2021Entry"), "{file}: {report}");
        }
    }
}

/// A DCC badge presented by a holder: its subject names no one, so nothing binds it to the
/// holder; one that names the holder's DID passes.
#[test]
fn presentations_of_dcc_badges_check_the_holder() {
    let dir = repo_path("vectors/dcc");
    let data = temp_data_dir("dcc-present");
    let made = common::laurel_cli(&data, &["key", "new", "--name", "wallet"]);
    assert!(made.status.success());
    let entries = manifest(&dir);
    let recipientless = entries
        .iter()
        .find(|e| {
            e["subjectHasId"] == json!(false)
                && e["status"].is_null()
                && e["expected"]["verified"] == json!(true)
                && e["vc"] == "v2"
        })
        .expect("a recipient-less v2 badge");
    let file = dir.join(recipientless["file"].as_str().unwrap());
    let vp = data.join("vp.json");
    let out = common::laurel_cli(
        &data,
        &[
            "present",
            "--holder",
            "wallet",
            "--challenge",
            "c-1",
            "-o",
            &vp.display().to_string(),
            &file.display().to_string(),
        ],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (code, report, _) = laurel(&[
        "verify".into(),
        vp.display().to_string(),
        "--offline".into(),
        "--json".into(),
        "--challenge".into(),
        "c-1".into(),
    ]);
    assert_eq!(code, 1, "{report}");
    let errors = report["errors"].to_string();
    assert!(
        errors.contains("HOLDER_MISMATCH_ERROR") && errors.contains("neither an id nor an identifier"),
        "{report}"
    );
}

/// A context Laurel does not bundle: refused with how to add it; accepted once added with
/// `--context` (the verifier) or `contexts` in laurel.toml (the server); a bundled URL cannot
/// be replaced.
#[tokio::test]
async fn operator_contexts_are_added_on_the_command_line_and_in_the_server_config() {
    use laurel::credential::proofs::{Format, SignOptions};
    let data = temp_data_dir("dcc-context");
    let url = "https://contexts.example.org/badge-extras/v1";
    let context = json!({"@context": {"@protected": true, "favoriteColor": "https://contexts.example.org/vocab#favoriteColor"}});
    let context_file = data.join("extras.json");
    std::fs::write(&context_file, context.to_string()).unwrap();
    // Signed here with the library (the issuer needs the context too, so it is added in-process).
    laurel::jsonld::contexts::add_operator_context(url, &context.to_string()).unwrap();
    let key = laurel::keys::KeyPair::generate(laurel::keys::KeyType::Ed25519).unwrap();
    let credential = json!({
        "@context": ["https://www.w3.org/ns/credentials/v2", url],
        "id": "urn:example:extras",
        "type": ["VerifiableCredential"],
        "issuer": key.did(),
        "credentialSubject": {"id": "did:example:learner", "favoriteColor": "green"}
    });
    let signed =
        Format::EddsaRdfc2022.signer().sign(&credential, &key, &SignOptions::default()).await.unwrap();
    let file = data.join("extras-vc.json");
    std::fs::write(&file, signed.to_json_value().to_string()).unwrap();
    let path = file.display().to_string();

    let (code, report, _) = laurel(&["verify".into(), path.clone(), "--offline".into(), "--json".into()]);
    assert_eq!(code, 2, "{report}");
    assert!(report["errors"][0]["detail"].as_str().unwrap().contains("--context URL=FILE"), "{report}");
    let with_context = format!("{url}={}", context_file.display());
    let (code, report, _) = laurel(&[
        "verify".into(),
        path.clone(),
        "--offline".into(),
        "--json".into(),
        "--context".into(),
        with_context,
    ]);
    assert_eq!(code, 0, "{report}");
    let replace = format!("https://www.w3.org/ns/credentials/v2={}", context_file.display());
    let (code, _, stderr) = laurel(&["verify".into(), path, "--context".into(), replace.clone()]);
    assert_eq!(code, 2);
    assert!(stderr.contains("bundles; an operator context may not replace it"), "{stderr}");

    // The server: the same context from laurel.toml (relative to the file), then verify over HTTP.
    let toml = data.join("laurel.toml");
    std::fs::write(
        &toml,
        format!("listen = \"127.0.0.1:0\"\ncontexts = {{ \"{url}\" = \"extras.json\" }}\n"),
    )
    .unwrap();
    let server = common::ServerProcess::start_args(
        &data,
        &["--data", &data.display().to_string(), "serve", "--config", &toml.display().to_string()],
    );
    let client = common::http_client();
    let response = client
        .post(format!("{}/credentials/verify", server.base))
        .json(&json!({"verifiableCredential": signed.to_json_value()}))
        .send()
        .await
        .unwrap();
    let report: Value = response.json().await.unwrap();
    assert_eq!(report["verified"], json!(true), "{report}");
    drop(server);
    std::fs::write(&toml, format!("listen = \"127.0.0.1:0\"\ncontexts = [\"{replace}\"]\n")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_laurel"))
        .args(["--data", &data.display().to_string(), "serve", "--config", &toml.display().to_string()])
        .output()
        .unwrap();
    assert!(!out.status.success(), "a server replacing a bundled context does not start");
    assert!(String::from_utf8_lossy(&out.stderr).contains("may not replace"));
}

/// Trust registries (issue 25, dcc-legacy kind): the issuer's listing is reported with the
/// registry's own name for it; an unlisted issuer is a warning, or an error with
/// --require-registered; a credential whose proof fails consults no registry.
#[test]
fn a_dcc_legacy_registry_names_listed_issuers_and_warns_about_the_others() {
    let dir = repo_path("vectors/dcc");
    let entries = manifest(&dir);
    let verified = |pred: &dyn Fn(&str) -> bool| {
        entries
            .iter()
            .find(|e| {
                e["expected"]["verified"] == json!(true)
                    && e["status"].is_null()
                    && pred(e["issuer"].as_str().unwrap())
            })
            .expect("a fixture")
            .clone()
    };
    let listed = verified(&|issuer| issuer.starts_with("did:web:"));
    let unlisted = verified(&|issuer| issuer.starts_with("did:key:"));
    let data = temp_data_dir("dcc-registry");
    let registry_url = "https://registry.example/registry.json";
    let registry = json!({"meta": {"created": "2026-01-01"}, "registry": {
        listed["issuer"].as_str().unwrap(): {"name": "Digital Credentials Consortium (test)", "url": "https://digitalcredentials.mit.edu", "location": "Cambridge, MA, USA"}
    }});
    std::fs::write(data.join("registry.json"), registry.to_string()).unwrap();
    let config = json!([{"name": "Test Registry", "type": "dcc-legacy", "url": registry_url}, {"name": "Some Federation", "type": "oidf", "trustAnchorEC": "https://anchor.example/.well-known/openid-federation"}]);
    std::fs::write(data.join("registries.json"), config.to_string()).unwrap();
    let with_registry = |entry: &Value, extra: &[&str]| {
        let mut args = verify_args(&dir, entry);
        args.extend(["--registries".into(), data.join("registries.json").display().to_string()]);
        args.extend(["--preload".into(), format!("{registry_url}={}", data.join("registry.json").display())]);
        args.extend(extra.iter().map(|s| s.to_string()));
        laurel(&args)
    };
    let (code, report, _) = with_registry(&listed, &[]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["registry"]["listed"], json!(true), "{report}");
    assert_eq!(report["registry"]["matches"][0]["name"], json!("Digital Credentials Consortium (test)"));
    assert_eq!(
        report["registry"]["unchecked"][0]["registry"],
        json!("Some Federation"),
        "an oidf registry is unchecked, never 'not listed'"
    );
    let (code, report, _) = with_registry(&unlisted, &[]);
    assert_eq!(code, 0, "not registered is a warning by default: {report}");
    assert!(codes(&report, "warnings").contains(&"ISSUER_NOT_REGISTERED".to_string()), "{report}");
    let (code, report, _) = with_registry(&unlisted, &["--require-registered"]);
    assert_eq!(code, 1, "{report}");
    assert!(codes(&report, "errors").contains(&"ISSUER_NOT_REGISTERED".to_string()));
    // Without registries: no registry result and no warning.
    let (_, report, _) = laurel(&verify_args(&dir, &unlisted));
    assert!(
        report.get("registry").is_none() && !report["warnings"].to_string().contains("ISSUER_NOT_REGISTERED")
    );
    // A tampered credential consults no registry.
    let tampered = entries
        .iter()
        .find(|e| {
            e["expected"]["codes"].to_string().contains("PROOF_VERIFICATION_ERROR")
                && e["file"].as_str().unwrap().contains("tampered")
        })
        .expect("a tampered fixture");
    let (_, report, _) = with_registry(tampered, &[]);
    assert_eq!(report["registry"]["checked"], json!(false), "{report}");
}

/// `laurel registry-entry` (and `GET /registry-entry`) prints this issuer as a dcc-legacy
/// registry lists it; a registry made of that entry then lists the issuer's own badges.
#[tokio::test]
async fn the_registry_entry_of_an_issuer_lists_its_badges() {
    let data = temp_data_dir("dcc-registry-entry");
    let server = common::ServerProcess::start(&data, &[]);
    let client = common::http_client();
    let profile = client
        .post(format!("{}/profiles", server.base))
        .bearer_auth(&server.token)
        .json(&json!({"name": "Example University", "url": "https://uni.example"}))
        .send()
        .await
        .unwrap();
    assert!(profile.status().is_success(), "{}", profile.text().await.unwrap());
    let out = common::laurel_cli(&data, &["registry-entry"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let entry: Value = serde_json::from_slice(&out.stdout).unwrap();
    let over_http: Value = common::get_json(&client, format!("{}/registry-entry", server.base)).await;
    assert_eq!(entry, over_http);
    let (did, listing) = entry["registry"].as_object().unwrap().iter().next().unwrap();
    assert_eq!(listing["name"], json!("Example University"));
    let issued = common::laurel_cli(
        &data,
        &["issue", "--achievement", "Registered", "--subject", "did:example:l", "--no-status"],
    );
    assert!(issued.status.success(), "{}", String::from_utf8_lossy(&issued.stderr));
    let badge = data.join("badge.json");
    std::fs::write(&badge, &issued.stdout).unwrap();
    std::fs::write(data.join("registry.json"), entry.to_string()).unwrap();
    std::fs::write(
        data.join("registries.json"),
        r#"[{"name": "Own", "type": "dcc-legacy", "url": "https://registry.example/r.json"}]"#,
    )
    .unwrap();
    let (code, report, stderr) = laurel(&[
        "verify".into(),
        badge.display().to_string(),
        "--offline".into(),
        "--json".into(),
        "--registries".into(),
        data.join("registries.json").display().to_string(),
        "--preload".into(),
        format!("https://registry.example/r.json={}", data.join("registry.json").display()),
    ]);
    assert_eq!(code, 0, "{report} {stderr}");
    assert_eq!(report["issuer"], json!(did));
    assert_eq!(report["registry"]["matches"][0]["name"], json!("Example University"), "{report}");

    // Fetched over HTTPS from a loopback server (the private-network switch is for tests only):
    // the issuer's own /registry-entry is a dcc-legacy registry document.
    drop(server);
    let https = common::ServerProcess::start(&data, &["--self-signed"]);
    assert!(https.base.starts_with("https://"), "{}", https.base);
    let config =
        json!([{"name": "Loopback", "type": "dcc-legacy", "url": format!("{}/registry-entry", https.base)}]);
    std::fs::write(data.join("registries-https.json"), config.to_string()).unwrap();
    let registries = data.join("registries-https.json").display().to_string();
    let args = |extra: &[&str]| {
        let mut args = vec![
            "verify".to_string(),
            badge.display().to_string(),
            "--json".into(),
            "--registries".into(),
            registries.clone(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        args
    };
    let (_, report, _) = laurel(&args(&["--allow-private-network"]));
    assert_eq!(report["registry"]["matches"][0]["registry"], json!("Loopback"), "{report}");
    // Without the switch the loopback registry is refused: unchecked, never "not listed".
    let (_, report, _) = laurel(&args(&[]));
    assert_eq!(report["registry"]["listed"], json!(false), "{report}");
    assert_eq!(report["registry"]["checked"], json!(false), "{report}");
    assert!(report["registry"]["unchecked"][0]["reason"].is_string(), "{report}");
    assert!(!report["warnings"].to_string().contains("ISSUER_NOT_REGISTERED"), "{report}");
}
