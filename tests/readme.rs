//! The README's quick start, run as written (with the test server's port for 8080): the issue
//! request it creates must be accepted, and the credential it gets back must verify. Needs
//! `bash` and `curl`; says SKIP when either is missing.

mod common;

use common::{temp_data_dir, ServerProcess};

fn quick_start_script() -> String {
    let readme = std::fs::read_to_string(common::repo_path("README.md")).unwrap();
    let start = readme.find("In a second terminal").expect("the README has its quick start");
    let block = readme[start..].split("```sh\n").nth(1).expect("a sh block follows");
    block.split("```").next().unwrap().to_string()
}

#[test]
fn the_readme_quick_start_issues_and_verifies() {
    for tool in ["bash", "curl"] {
        if std::process::Command::new(tool).arg("--version").output().is_err() {
            eprintln!("SKIP the_readme_quick_start_issues_and_verifies: {tool} is not installed; this test did not run");
            return;
        }
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
