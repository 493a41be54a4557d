//! The README's quick start and CLI tour, run as written (with the test server's port for 8080): the issue
//! request it creates must be accepted, and the credential it gets back must verify. Needs
//! `bash` and `curl`; says SKIP when either is missing.

mod common;

use common::{temp_data_dir, ServerProcess};

/// The first `sh` block after `marker` in the README.
fn readme_block(marker: &str, nth: usize) -> String {
    let readme = std::fs::read_to_string(common::repo_path("README.md")).unwrap();
    let start = readme.find(marker).unwrap_or_else(|| panic!("the README has {marker:?}"));
    let block = readme[start..].split("```sh\n").nth(nth).expect("a sh block follows");
    block.split("```").next().unwrap().to_string()
}

fn quick_start_script() -> String {
    readme_block("In a second terminal", 1)
}

fn tools_missing(test: &str) -> bool {
    for tool in ["bash", "curl"] {
        if std::process::Command::new(tool).arg("--version").output().is_err() {
            eprintln!("SKIP {test}: {tool} is not installed; this test did not run");
            return true;
        }
    }
    false
}

/// The CLI tour, run as written in a folder holding the repository's example request, with the
/// quick start's server running on it, then the load-test block. The only substitutions: the
/// test server's port for 8080, 3 bench iterations for 2000, 1 s load tests for 10 s.
#[test]
fn the_readme_cli_tour_runs_as_written() {
    if tools_missing("the_readme_cli_tour_runs_as_written") {
        return;
    }
    let folder = temp_data_dir("readme-tour");
    std::fs::create_dir_all(folder.join("examples/requests")).unwrap();
    std::fs::copy(
        common::repo_path("examples/requests/issue.json"),
        folder.join("examples/requests/issue.json"),
    )
    .unwrap();
    let server = ServerProcess::start(&folder.join("laurel-data"), &[]);
    let host = server.base.trim_start_matches("http://").to_string();
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_laurel")).parent().unwrap().to_path_buf();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let run = |script: String| {
        let out = std::process::Command::new("bash")
            .args(["-euo", "pipefail", "-c", &script])
            .current_dir(&folder)
            .env("PATH", &path)
            .env_remove("LAUREL_DATA")
            .env_remove("LAUREL_SERVER")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
        stdout
    };
    // The tour's server is the quick start's: on 8080 in the README, on the test's port here.
    let tour = readme_block("## CLI tour", 1)
        .replace("127.0.0.1:8080", &host)
        .replace("--iterations 2000", "--iterations 3");
    let stdout = run(tour);
    for expected in [
        "VERIFIED",
        "exit 1: not valid yet in 2020",
        "\"state\": \"revoked\"",
        "error REVOKED",
        "exit 1: revoked",
        "id,issued_at,format,issuer,recipient,achievement_id,achievement_name,status,valid_until",
    ] {
        assert!(stdout.contains(expected), "the tour's output lacks {expected:?}:\n{stdout}");
    }
    let baked = std::fs::read(folder.join("baked.png")).unwrap();
    assert!(laurel::credential::baking::extract(&baked).is_ok());
    // bob's two email badges (the JWT and the request file's), not his DID badge.
    let csv_rows = stdout.lines().filter(|l| l.starts_with("urn:uuid:") && l.contains(",sha256$")).count();
    assert_eq!(csv_rows, 2, "{stdout}");
    let vp: serde_json::Value =
        serde_json::from_slice(&std::fs::read(folder.join("vp.json")).unwrap()).unwrap();
    assert!(vp["proof"].is_object());
    let load = readme_block("measure the service", 1)
        .replace("127.0.0.1:8080", &host)
        .replace("--seconds 10", "--seconds 1");
    run(load);
    drop(server);
    std::fs::remove_dir_all(&folder).ok();
}

#[test]
fn the_readme_quick_start_issues_and_verifies() {
    if tools_missing("the_readme_quick_start_issues_and_verifies") {
        return;
    }
    let folder = temp_data_dir("readme");
    let server = ServerProcess::start(&folder.join("laurel-data"), &[]);
    let host = server.base.trim_start_matches("http://").to_string();
    let script = quick_start_script().replace("localhost:8080", &host);
    // The quick start runs from the repository: the request body it sends is in it.
    std::fs::create_dir_all(folder.join("examples/requests")).unwrap();
    std::fs::copy(
        common::repo_path("examples/requests/issue.json"),
        folder.join("examples/requests/issue.json"),
    )
    .unwrap();
    let out = std::process::Command::new("bash")
        .args(["-euo", "pipefail", "-c", &script])
        .current_dir(&folder)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let issued: serde_json::Value =
        serde_json::from_slice(&std::fs::read(folder.join("issued.json")).unwrap()).unwrap();
    assert!(issued["verifiableCredential"]["proof"].is_object(), "{issued}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["verified"], serde_json::json!(true), "{report}");
    std::fs::remove_dir_all(&folder).ok();
}

/// The wallet section's commands, run as written against a server: the metadata is served and
/// `laurel offer` prints an offer URI and the PIN, and writes the QR code.
#[test]
fn the_readme_wallet_offer_runs_as_written() {
    if tools_missing("the_readme_wallet_offer_runs_as_written") {
        return;
    }
    let folder = temp_data_dir("readme-wallet");
    std::fs::create_dir_all(folder.join("examples/requests")).unwrap();
    std::fs::copy(
        common::repo_path("examples/requests/wallet-badge.json"),
        folder.join("examples/requests/wallet-badge.json"),
    )
    .unwrap();
    let server = ServerProcess::start(&folder.join("laurel-data"), &[]);
    let host = server.base.trim_start_matches("http://").to_string();
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_laurel")).parent().unwrap().to_path_buf();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let script = readme_block("### Wallets (OpenID4VCI)", 1).replace("127.0.0.1:8080", &host);
    let out = std::process::Command::new("bash")
        .args(["-euo", "pipefail", "-c", &script])
        .current_dir(&folder)
        .env("PATH", &path)
        .env_remove("LAUREL_DATA")
        .env_remove("LAUREL_SERVER")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        stdout.contains("credential_configurations_supported") || stdout.contains("credential_issuer"),
        "{stdout}"
    );
    assert!(
        stdout.lines().any(|l| l.starts_with("openid-credential-offer://?credential_offer_uri=")),
        "{stdout}"
    );
    assert!(stdout.contains("tx code"), "{stdout}");
    assert!(std::fs::read(folder.join("offer.png")).unwrap().starts_with(b"\x89PNG"));
    drop(server);
    std::fs::remove_dir_all(&folder).ok();
}
