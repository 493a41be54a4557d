//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

/// `../shared/spec` (or `$LAUREL_SPEC_DIR`), if present. Tests that need it print a clear SKIP
/// line and return when it is absent; CI always has it.
pub fn spec_dir(test: &str) -> Option<PathBuf> {
    let dir = std::env::var_os("LAUREL_SPEC_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/spec"));
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("SKIP {test}: {} not found (set LAUREL_SPEC_DIR); this test did not run", dir.display());
        None
    }
}

pub fn read_json(path: &std::path::Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn repo_path(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// A `laurel serve` child process on an ephemeral loopback port.
pub struct ServerProcess {
    pub child: std::process::Child,
    pub base: String,
    pub token: String,
    pub data: PathBuf,
    /// The banner lines up to the admin token line.
    pub banner: String,
}

impl ServerProcess {
    /// Starts the real binary with `--data data` and waits until it listens.
    pub fn start(data: &std::path::Path, extra: &[&str]) -> ServerProcess {
        Self::start_on(data, "127.0.0.1:0", extra)
    }

    /// Like `start`, on a given address.
    pub fn start_on(data: &std::path::Path, listen: &str, extra: &[&str]) -> ServerProcess {
        let data_arg = data.to_string_lossy();
        let mut args = vec!["--data", &data_arg, "serve", "--listen", listen, "--allow-private-network"];
        args.extend_from_slice(extra);
        Self::start_args(data, &args)
    }

    /// Starts the real binary with exactly `args` (the data folder must be `data`, given by the
    /// args or a config file) and waits until it listens. The first banner lines are kept.
    pub fn start_args(data: &std::path::Path, args: &[&str]) -> ServerProcess {
        Self::start_args_env(data, args, &[])
    }

    /// Like `start_args`, with extra environment variables for the server.
    pub fn start_args_env(data: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> ServerProcess {
        use std::io::BufRead;
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_laurel"))
            .args(args)
            .envs(env.iter().copied())
            .env("LAUREL_LOG", "warn")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("laurel serve starts");
        let stdout = child.stdout.take().unwrap();
        let mut lines = std::io::BufReader::new(stdout).lines();
        let mut base = String::new();
        let mut banner = String::new();
        for line in lines.by_ref() {
            let line = line.unwrap();
            banner.push_str(&line);
            banner.push('\n');
            if let Some(url) = line.strip_prefix("Laurel listening on ") {
                base = url.trim().to_string();
            }
            if line.starts_with("admin token") {
                break;
            }
        }
        assert!(!base.is_empty(), "server did not report its address");
        // Keep draining stdout so the child never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        let token = std::fs::read_to_string(data.join("admin-token")).unwrap_or_default().trim().to_string();
        ServerProcess { child, base, token, data: data.to_path_buf(), banner }
    }

    pub fn kill9(&mut self) {
        let _ = self.child.kill(); // SIGKILL on Unix
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill9();
    }
}

pub fn temp_data_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("laurel-{tag}-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// GET `url` and parse the JSON body (panics on failure: tests only).
pub async fn get_json(client: &reqwest::Client, url: String) -> serde_json::Value {
    client.get(url).send().await.unwrap().json().await.unwrap()
}

pub fn http_client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().danger_accept_invalid_certs(true).build().unwrap()
}

/// A loopback port that was free a moment ago (for servers that must know their URL up front).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Runs the `laurel` binary on a data folder (standard input closed) and returns its output.
pub fn laurel_cli(data: &std::path::Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_laurel"))
        .arg("--data")
        .arg(data)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("the laurel binary runs")
}
