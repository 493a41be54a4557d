//! Untrusted input that used to cost memory, CPU or trust, through the real binary and server:
//! PNG/SVG decompression and parsing bombs, quadratic base58, private addresses hidden in IPv6
//! forms, malleable (high-S) ECDSA signatures, and output errors (a closed pipe, a full disk).
//! Each is refused with a precise message within 1 s and 100 MB of extra resident memory.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use common::{http_client, temp_data_dir, ServerProcess};
use laurel::credential::badge_image::default_image;
use laurel::credential::baking::{bake, ImageFormat};
use laurel::credential::issue::{build_badge, issue, BadgeRequest};
use laurel::credential::proofs::{Format, Secured};
use laurel::keys::{KeyPair, KeyType};
use serde_json::{json, Value};

/// CPU time hostile input may cost (generous: a debug build).
const TIME_BUDGET: Duration = Duration::from_secs(1);
/// Wall time for the same: on a shared 2-core machine a run also waits for a core, so this is
/// looser; the code before the fixes took minutes, far past either.
const WALL_BUDGET: Duration = Duration::from_secs(3);
/// Extra resident memory hostile input may cost.
const MEMORY_BUDGET_KIB: u64 = 100 * 1024;
/// A run that takes longer than this is killed (the code before the fixes took minutes).
const KILL_AFTER: Duration = Duration::from_secs(60);

/// One run of the `laurel` binary.
struct Run {
    status: ExitStatus,
    stdout: String,
    stderr: String,
    elapsed: Duration,
    /// User and system CPU time (the wall time where /usr/bin/time is missing).
    cpu: Duration,
    /// Peak resident set size in KiB.
    peak_kib: u64,
}

impl Run {
    fn code(&self) -> Option<i32> {
        self.status.code()
    }
}

/// Runs `laurel --data DATA ARGS`, measuring wall time and peak resident memory (with
/// /usr/bin/time when installed, else by sampling /proc/PID/status while it runs).
fn run_laurel(data: &Path, args: &[&str]) -> Run {
    let dir = data.join(format!("run-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let (stdout_path, stderr_path, time_path) = (dir.join("stdout"), dir.join("stderr"), dir.join("time"));
    let gnu_time = Path::new("/usr/bin/time");
    let mut command = if gnu_time.exists() {
        let mut c = Command::new(gnu_time);
        c.arg("-f").arg("%M %U %S").arg("-o").arg(&time_path).arg(env!("CARGO_BIN_EXE_laurel"));
        c
    } else {
        Command::new(env!("CARGO_BIN_EXE_laurel"))
    };
    // Its own process group, so a run past the deadline is killed with /usr/bin/time's child.
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    command
        .arg("--data")
        .arg(data)
        .args(args)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout_path).unwrap())
        .stderr(std::fs::File::create(&stderr_path).unwrap());
    let started = Instant::now();
    let mut child = command.spawn().expect("laurel starts");
    let mut sampled_kib = 0;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > KILL_AFTER {
            let _ = Command::new("kill").arg("-KILL").arg(format!("-{}", child.id())).status();
            let _ = child.wait();
            panic!("laurel {args:?} ran for more than {KILL_AFTER:?}; killed");
        }
        sampled_kib = sampled_kib.max(proc_status_kib(child.id(), "VmHWM:").unwrap_or(0));
        std::thread::sleep(Duration::from_millis(2));
    };
    let elapsed = started.elapsed();
    // The last line of /usr/bin/time's report: "peak-KiB user-seconds system-seconds".
    let measured: Option<(u64, f64, f64)> = std::fs::read_to_string(&time_path).ok().and_then(|t| {
        let mut fields = t.lines().last()?.split_whitespace();
        Some((fields.next()?.parse().ok()?, fields.next()?.parse().ok()?, fields.next()?.parse().ok()?))
    });
    let (peak_kib, cpu) = match measured {
        Some((kib, user, system)) => (kib, Duration::from_secs_f64(user + system)),
        None => (sampled_kib, elapsed),
    };
    let run = Run {
        status,
        stdout: std::fs::read_to_string(&stdout_path).unwrap_or_default(),
        stderr: std::fs::read_to_string(&stderr_path).unwrap_or_default(),
        elapsed,
        cpu,
        peak_kib,
    };
    std::fs::remove_dir_all(&dir).ok();
    run
}

impl Run {
    /// Asserts the run kept to the time budgets.
    fn assert_quick(&self, what: &str) {
        assert!(self.cpu < TIME_BUDGET, "{what}: {:?} of CPU", self.cpu);
        assert!(self.elapsed < WALL_BUDGET, "{what}: {:?} of wall time", self.elapsed);
    }
}

/// User plus system CPU time a running process has used so far (/proc/PID/stat, in ticks of
/// 1/100 s, the Linux USER_HZ).
fn proc_cpu(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the parenthesized command name: state is field 3, utime 14, stime 15.
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    Duration::from_millis(ticks * 10)
}

/// A `VmRSS:`/`VmHWM:` figure (KiB) of a running process.
fn proc_status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line[field.len()..].trim().trim_end_matches("kB").trim().parse().ok()
}

fn write_file(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn badge_request() -> BadgeRequest {
    BadgeRequest {
        subject_id: Some("did:example:recipient".into()),
        achievement_name: "Trust".into(),
        ..Default::default()
    }
}

async fn signed_json(key: &KeyPair, format: Format) -> Value {
    match issue(build_badge(&badge_request()), key, format).await.unwrap() {
        Secured::Json(v) => v,
        Secured::Jwt(_) => unreachable!("a Data Integrity format"),
    }
}

async fn signed_jwt(key: &KeyPair) -> String {
    match issue(build_badge(&badge_request()), key, Format::Jwt).await.unwrap() {
        Secured::Jwt(token) => token,
        Secured::Json(_) => unreachable!("the JWT format"),
    }
}

fn report_of(run: &Run) -> Value {
    serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("not a JSON report ({e}): {}\nstderr: {}", run.stdout, run.stderr))
}

/// `code: detail` of each error of a JSON report.
fn errors_of(report: &Value) -> Vec<String> {
    report["errors"]
        .as_array()
        .map(|errors| {
            errors.iter().map(|e| format!("{}: {}", e["code"].as_str().unwrap_or("?"), e["detail"])).collect()
        })
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// Item 8: PNG and SVG bombs.

fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut out = (data.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(kind);
    hasher.update(data);
    out.extend_from_slice(&hasher.finalize().to_be_bytes());
    out
}

/// The default badge PNG with `copies` compressed `openbadgecredential` iTXt chunks, each a
/// zlib stream of `inflated` zero bytes (about 1 KB per MiB inflated).
fn png_with_compressed_credentials(copies: usize, inflated: usize) -> Vec<u8> {
    let image = default_image(ImageFormat::Png);
    let mut text = b"openbadgecredential\0\x01\x00\0\0".to_vec();
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    std::io::Write::write_all(&mut encoder, &vec![0u8; inflated]).unwrap();
    text.extend_from_slice(&encoder.finish().unwrap());
    let chunk = png_chunk(b"iTXt", &text);
    let mut out = image[..33].to_vec(); // signature and IHDR
    for _ in 0..copies {
        out.extend_from_slice(&chunk);
    }
    out.extend_from_slice(&image[33..]);
    out
}

/// 4,000 chunks of 1 MiB each: 4 GiB inflated from a 4 MB file.
fn png_memory_bomb() -> Vec<u8> {
    let bomb = png_with_compressed_credentials(4000, 1 << 20);
    assert!(bomb.len() < 8 << 20, "the bomb must stay under the image size limit: {}", bomb.len());
    bomb
}

#[tokio::test]
async fn png_with_thousands_of_credential_chunks_is_refused_by_the_cli_in_bounded_memory() {
    let data = temp_data_dir("trust-png-cli");
    let bomb = write_file(&data, "bomb.png", &png_memory_bomb());
    // Baseline: the same commands on an honest baked badge.
    let key = KeyPair::generate(KeyType::Ed25519).unwrap();
    let credential = signed_json(&key, Format::EddsaRdfc2022).await.to_string();
    let (_, honest) = bake(&default_image(ImageFormat::Png), &credential).unwrap();
    let honest = write_file(&data, "honest.png", &honest);
    let baseline = run_laurel(&data, &["extract", honest.to_str().unwrap()]);
    assert_eq!(baseline.code(), Some(0), "{}", baseline.stderr);

    let extract = run_laurel(&data, &["extract", bomb.to_str().unwrap()]);
    assert_eq!(extract.code(), Some(2), "stdout {} stderr {}", extract.stdout, extract.stderr);
    assert!(extract.stderr.contains("more than one baked credential (4000"), "{}", extract.stderr);
    let verify = run_laurel(&data, &["verify", "--json", bomb.to_str().unwrap()]);
    assert_eq!(verify.code(), Some(2), "{}", verify.stderr);
    let errors = errors_of(&report_of(&verify));
    assert!(
        errors.iter().any(|e| e.starts_with("PARSING_ERROR") && e.contains("more than one baked credential")),
        "{errors:?}"
    );
    for run in [&extract, &verify] {
        run.assert_quick("png bomb");
        assert!(
            run.peak_kib < baseline.peak_kib + MEMORY_BUDGET_KIB,
            "peak {} KiB against a baseline of {} KiB",
            run.peak_kib,
            baseline.peak_kib
        );
    }
    eprintln!(
        "png bomb: extract {:?} CPU {} KiB, verify {:?} CPU {} KiB (baseline {} KiB)",
        extract.cpu, extract.peak_kib, verify.cpu, verify.peak_kib, baseline.peak_kib
    );

    // One chunk that inflates to 64 MiB stops at the cap.
    let single = write_file(&data, "single.png", &png_with_compressed_credentials(1, 64 << 20));
    let run = run_laurel(&data, &["extract", single.to_str().unwrap()]);
    assert_eq!(run.code(), Some(2));
    assert!(run.stderr.contains("larger than"), "{}", run.stderr);
    run.assert_quick("one 64 MiB chunk");
    assert!(run.peak_kib < baseline.peak_kib + MEMORY_BUDGET_KIB, "{} KiB", run.peak_kib);
    std::fs::remove_dir_all(&data).ok();
}

#[tokio::test]
async fn png_memory_bomb_posted_to_the_server_is_refused_in_bounded_memory() {
    let data = temp_data_dir("trust-png-server");
    let server = ServerProcess::start(&data, &[]);
    let client = http_client();
    let pid = server.child.id();
    let post = |body: Vec<u8>| {
        client
            .post(format!("{}/credentials/verify", server.base))
            .header("content-type", "image/png")
            .timeout(KILL_AFTER)
            .body(body)
            .send()
    };
    // Warm up with an honest (unsigned) image, so lazy start-up costs are in the baseline.
    let warm = post(default_image(ImageFormat::Png)).await.unwrap();
    assert_eq!(warm.status(), 400);
    let before_kib = proc_status_kib(pid, "VmRSS:").unwrap();
    let cpu_before = proc_cpu(pid);

    let started = Instant::now();
    let response = post(png_memory_bomb()).await.unwrap();
    let elapsed = started.elapsed();
    assert_eq!(response.status(), 400);
    let report: Value = response.json().await.unwrap();
    let errors = errors_of(&report);
    assert!(
        errors.iter().any(|e| e.starts_with("PARSING_ERROR") && e.contains("more than one baked credential")),
        "{errors:?}"
    );
    let (peak_kib, after_kib) =
        (proc_status_kib(pid, "VmHWM:").unwrap(), proc_status_kib(pid, "VmRSS:").unwrap());
    let cpu = proc_cpu(pid) - cpu_before;
    eprintln!(
        "png bomb on the server: {elapsed:?} ({cpu:?} CPU), RSS {before_kib} -> peak {peak_kib}, after {after_kib} KiB"
    );
    assert!(cpu < TIME_BUDGET && elapsed < WALL_BUDGET, "took {elapsed:?}, {cpu:?} of CPU");
    assert!(peak_kib < before_kib + MEMORY_BUDGET_KIB, "peak {peak_kib} KiB from {before_kib} KiB");
    assert!(after_kib < before_kib + MEMORY_BUDGET_KIB, "held {after_kib} KiB from {before_kib} KiB");
    drop(server);
    std::fs::remove_dir_all(&data).ok();
}

#[tokio::test]
async fn svg_with_two_credentials_or_a_namespace_flood_is_refused_quickly() {
    let data = temp_data_dir("trust-svg");
    let key = KeyPair::generate(KeyType::Ed25519).unwrap();
    let credential = signed_json(&key, Format::EddsaRdfc2022).await.to_string();
    let element = format!("<openbadges:credential><![CDATA[{credential}]]></openbadges:credential>");
    let two = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" xmlns:openbadges="https://purl.imsglobal.org/ob/v3p0">{element}{element}</svg>"#
    );
    let two = write_file(&data, "two.svg", two.as_bytes());
    let run = run_laurel(&data, &["verify", "--json", two.to_str().unwrap()]);
    assert_eq!(run.code(), Some(2), "{}", run.stderr);
    let errors = errors_of(&report_of(&run));
    assert!(errors.iter().any(|e| e.contains("more than one baked credential")), "{errors:?}");

    // 100,000 namespace declarations then 100,000 elements whose names must be resolved: the
    // prefix lookup scans the declarations, so unbounded this costs their product (10^10).
    let mut flood = String::from(r#"<svg xmlns="http://www.w3.org/2000/svg""#);
    for i in 0..100_000 {
        flood.push_str(&format!(r#" xmlns:p{i}="u""#));
    }
    flood.push('>');
    flood.push_str(&"<credential/>".repeat(100_000));
    flood.push_str("</svg>");
    assert!(flood.len() < 8 << 20);
    let flood = write_file(&data, "flood.svg", flood.as_bytes());
    let run = run_laurel(&data, &["extract", flood.to_str().unwrap()]);
    assert_eq!(run.code(), Some(2), "{}", run.stderr);
    assert!(run.stderr.contains("namespace declarations"), "{}", run.stderr);
    run.assert_quick("namespace flood");
    std::fs::remove_dir_all(&data).ok();
}

// ---------------------------------------------------------------------------------------------
// Item 9: base58 decoding is quadratic; lengths are capped before decoding.

/// A signed credential whose proofValue is 250,000 base58 characters.
async fn credential_with_huge_proof_value() -> Value {
    let key = KeyPair::generate(KeyType::Ed25519).unwrap();
    let mut credential = signed_json(&key, Format::EddsaRdfc2022).await;
    credential["proof"]["proofValue"] = json!(format!("z{}", "2".repeat(250_000)));
    credential
}

/// A signed credential whose issuer and verification method name a 200,000-character did:key.
async fn credential_with_huge_did_key() -> Value {
    let key = KeyPair::generate(KeyType::Ed25519).unwrap();
    let mut credential = signed_json(&key, Format::EddsaRdfc2022).await;
    let huge = format!("did:key:z6Mk{}", "x".repeat(200_000));
    credential["issuer"]["id"] = json!(huge);
    credential["proof"]["verificationMethod"] = json!(format!("{huge}#z6Mk"));
    credential
}

#[tokio::test]
async fn overlong_base58_is_refused_by_the_cli_within_a_second() {
    let data = temp_data_dir("trust-base58-cli");
    let proof =
        write_file(&data, "proof.json", credential_with_huge_proof_value().await.to_string().as_bytes());
    let run = run_laurel(&data, &["verify", "--json", proof.to_str().unwrap()]);
    assert_eq!(run.code(), Some(1), "{}", run.stderr);
    let errors = errors_of(&report_of(&run));
    assert!(
        errors.iter().any(|e| e.starts_with("MALFORMED_VALUE_ERROR")
            && e.contains("250000 base58 characters; a 64-byte signature has at most 88")),
        "{errors:?}"
    );
    run.assert_quick("proofValue");

    let did = write_file(&data, "did.json", credential_with_huge_did_key().await.to_string().as_bytes());
    let run = run_laurel(&data, &["verify", "--json", did.to_str().unwrap()]);
    assert_eq!(run.code(), Some(1), "{}", run.stderr);
    let errors = errors_of(&report_of(&run));
    assert!(errors.iter().any(|e| e.contains("too long for any did:key public key")), "{errors:?}");
    run.assert_quick("did:key");
    std::fs::remove_dir_all(&data).ok();
}

#[tokio::test]
async fn overlong_base58_posted_to_the_server_leaves_it_responsive() {
    let data = temp_data_dir("trust-base58-server");
    let server = ServerProcess::start(&data, &[]);
    let client = http_client();
    let url = format!("{}/credentials/verify", server.base);
    let hostile = [credential_with_huge_proof_value().await, credential_with_huge_did_key().await];
    let pid = server.child.id();
    let cpu_before = proc_cpu(pid);
    let started = Instant::now();
    // Two of each at once: more than the server has worker threads.
    let requests: Vec<_> = hostile
        .iter()
        .chain(hostile.iter())
        .map(|credential| {
            let request =
                client.post(&url).timeout(KILL_AFTER).json(&json!({"verifiableCredential": credential}));
            tokio::spawn(async move {
                let response = request.send().await.unwrap();
                let status = response.status();
                (status, response.json::<Value>().await.unwrap(), started.elapsed())
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let health_started = Instant::now();
    let health = client.get(format!("{}/healthz", server.base)).timeout(KILL_AFTER).send().await.unwrap();
    let health_elapsed = health_started.elapsed();
    assert!(health.status().is_success());
    for request in requests {
        let (status, report, elapsed) = request.await.unwrap();
        assert_eq!(status, 400);
        let errors = errors_of(&report);
        assert!(
            errors.iter().any(|e| e.contains("base58 characters") || e.contains("too long")),
            "{errors:?}"
        );
        assert!(elapsed < WALL_BUDGET, "a hostile verify took {elapsed:?}");
    }
    let cpu = proc_cpu(pid) - cpu_before;
    eprintln!(
        "base58 on the server: 4 hostile verifies in {:?} ({cpu:?} CPU in all), /healthz {health_elapsed:?}",
        started.elapsed()
    );
    assert!(cpu < TIME_BUDGET, "the 4 hostile verifies cost {cpu:?} of CPU");
    assert!(health_elapsed < WALL_BUDGET, "/healthz took {health_elapsed:?}");
    drop(server);
    std::fs::remove_dir_all(&data).ok();
}

// ---------------------------------------------------------------------------------------------
// Item 12: private addresses inside IPv6 forms.

#[tokio::test]
async fn status_urls_hiding_loopback_in_ipv6_forms_are_refused_without_connecting() {
    let data = temp_data_dir("trust-ipv6");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    let listener_v6 = std::net::TcpListener::bind(("::1", port)).ok();
    if let Some(l) = &listener_v6 {
        l.set_nonblocking(true).unwrap();
    }
    let key = KeyPair::generate(KeyType::Ed25519).unwrap();
    for host in ["[::127.0.0.1]", "[64:ff9b::7f00:1]", "[::ffff:7f00:1]", "[2002:7f00:1::1]"] {
        let list_url = format!("https://{host}:{port}/status/1");
        let mut unsigned = build_badge(&badge_request());
        unsigned["credentialStatus"] = json!({
            "id": format!("{list_url}#7"),
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
            "statusListIndex": "7",
            "statusListCredential": list_url,
        });
        let credential = match issue(unsigned, &key, Format::EddsaRdfc2022).await.unwrap() {
            Secured::Json(v) => v,
            Secured::Jwt(_) => unreachable!(),
        };
        let file = write_file(&data, "status.json", credential.to_string().as_bytes());
        let run = run_laurel(&data, &["verify", "--json", file.to_str().unwrap()]);
        assert_eq!(run.code(), Some(1), "{host}: {}", run.stderr);
        let errors = errors_of(&report_of(&run));
        assert!(
            errors
                .iter()
                .any(|e| e.contains("refusing to connect to a private, loopback or link-local address")),
            "{host}: {errors:?}"
        );
        run.assert_quick(host);
    }
    for l in std::iter::once(&listener).chain(listener_v6.as_ref()) {
        assert!(
            matches!(l.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
            "a connection reached the local listener"
        );
    }
    std::fs::remove_dir_all(&data).ok();
}

// ---------------------------------------------------------------------------------------------
// Item 13: high-S ECDSA signatures are malleable and refused.

/// The order n of the P-256 group, big-endian.
const P256_ORDER: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xbc,
    0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
];

/// (r, s) -> (r, n - s): the other signature that verifies for the same data and key.
fn malleated(signature: &[u8]) -> Vec<u8> {
    assert_eq!(signature.len(), 64);
    let mut out = signature[..32].to_vec();
    let mut twin = [0u8; 32];
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let mut digit = P256_ORDER[i] as i16 - signature[32 + i] as i16 - borrow;
        borrow = (digit < 0) as i16;
        if digit < 0 {
            digit += 256;
        }
        twin[i] = digit as u8;
    }
    assert_eq!(borrow, 0, "s is below n");
    out.extend_from_slice(&twin);
    out
}

#[tokio::test]
async fn high_s_ecdsa_signatures_verify_normalized_with_a_warning_for_data_integrity_and_jwt() {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
    use base64::Engine;
    let data = temp_data_dir("trust-high-s");
    let key = KeyPair::generate(KeyType::P256).unwrap();
    let verify = |name: &str, text: &str| {
        let file = write_file(&data, name, text.as_bytes());
        run_laurel(&data, &["verify", "--json", file.to_str().unwrap()])
    };

    let credential = signed_json(&key, Format::EcdsaRdfc2019).await;
    let run = verify("di.json", &credential.to_string());
    assert_eq!(run.code(), Some(0), "the original verifies: {}", run.stdout);
    let proof_value = credential["proof"]["proofValue"].as_str().unwrap();
    let signature = bs58::decode(&proof_value[1..]).into_vec().unwrap();
    let mut twin = credential.clone();
    twin["proof"]["proofValue"] = json!(format!("z{}", bs58::encode(malleated(&signature)).into_string()));
    let run = verify("di-twin.json", &twin.to_string());
    assert_eq!(run.code(), Some(0), "the high-S twin verifies, normalized: {}", run.stdout);
    let report = report_of(&run);
    assert!(report["warnings"].to_string().contains("high S"), "{report}");

    let token = signed_jwt(&key).await;
    let run = verify("jwt.txt", &token);
    assert_eq!(run.code(), Some(0), "the original JWT verifies: {}", run.stdout);
    let (signing_input, signature) = token.rsplit_once('.').unwrap();
    let signature = B64URL.decode(signature).unwrap();
    let twin = format!("{signing_input}.{}", B64URL.encode(malleated(&signature)));
    let run = verify("jwt-twin.txt", &twin);
    assert_eq!(run.code(), Some(0), "the high-S JWT verifies, normalized: {}", run.stdout);
    let report = report_of(&run);
    assert!(report["warnings"].to_string().contains("high S"), "{report}");
    std::fs::remove_dir_all(&data).ok();
}

#[tokio::test]
async fn laurel_issues_only_low_s_ecdsa_signatures() {
    // Half of all ECDSA signatures come out high-S unless normalized; 16 of each form make a
    // missed normalization fail with probability 1 - 2^-16.
    let key = KeyPair::generate(KeyType::P256).unwrap();
    let is_low = |signature: &[u8]| {
        let s = &signature[32..];
        let half_order: Vec<u8> = {
            // n / 2, big-endian: shift the order right by one bit.
            let mut carry = 0u8;
            P256_ORDER
                .iter()
                .map(|&b| {
                    let v = (b >> 1) | carry;
                    carry = (b & 1) << 7;
                    v
                })
                .collect()
        };
        s <= half_order.as_slice()
    };
    for _ in 0..16 {
        let credential = signed_json(&key, Format::EcdsaRdfc2019).await;
        let proof_value = credential["proof"]["proofValue"].as_str().unwrap();
        assert!(is_low(&bs58::decode(&proof_value[1..]).into_vec().unwrap()), "Data Integrity high S");
        let token = signed_jwt(&key).await;
        let signature = {
            use base64::Engine;
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(token.rsplit_once('.').unwrap().1)
                .unwrap()
        };
        assert!(is_low(&signature), "JWT high S");
    }
}

// ---------------------------------------------------------------------------------------------
// Item 15: output errors end with a documented exit code, never a panic.

/// Commands that print something, on files in `data`.
async fn printing_commands(data: &Path) -> Vec<Vec<String>> {
    let made =
        laurel_with_stdout(data, &["key".into(), "new".into(), "--name".into(), "k".into()], Stdio::null());
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let key = KeyPair::generate(KeyType::Ed25519).unwrap();
    let credential = signed_json(&key, Format::EddsaRdfc2022).await.to_string();
    let file = write_file(data, "credential.json", credential.as_bytes());
    let (_, baked) = bake(&default_image(ImageFormat::Png), &credential).unwrap();
    let image = write_file(data, "baked.png", &baked);
    let (file, image) = (file.to_str().unwrap().to_string(), image.to_str().unwrap().to_string());
    vec![
        vec!["verify".into(), "--json".into(), file.clone()],
        vec!["verify".into(), file.clone()],
        vec!["inspect".into(), file],
        vec!["extract".into(), image],
        vec!["key".into(), "list".into()],
    ]
}

fn laurel_with_stdout(data: &Path, args: &[String], stdout: impl Into<Stdio>) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_laurel"))
        .arg("--data")
        .arg(data)
        .args(args)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(Stdio::piped())
        .output()
        .expect("laurel runs")
}

#[tokio::test]
async fn output_to_a_full_disk_is_exit_3_with_a_message() {
    let data = temp_data_dir("trust-dev-full");
    for args in printing_commands(&data).await {
        let full = std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap();
        let output = laurel_with_stdout(&data, &args, full);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(3), "{args:?}: {stderr}");
        assert!(
            stderr.contains("cannot write the output") && !stderr.contains("panicked"),
            "{args:?}: {stderr}"
        );
    }
    std::fs::remove_dir_all(&data).ok();
}

#[tokio::test]
async fn output_to_a_closed_pipe_is_exit_141_quietly() {
    let data = temp_data_dir("trust-closed-pipe");
    for args in printing_commands(&data).await {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader); // closed before laurel writes anything: every write is EPIPE
        let output = laurel_with_stdout(&data, &args, writer);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(141), "{args:?}: {stderr}");
        assert!(stderr.is_empty(), "{args:?}: {stderr}");
    }
    // The codes are documented where users look.
    let help = laurel_with_stdout(&data, &["verify".into(), "--help".into()], Stdio::piped());
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("3 the output could not be written") && help.contains("141"), "{help}");
    let readme = std::fs::read_to_string(common::repo_path("README.md")).unwrap();
    assert!(readme.contains("141 output pipe closed"), "README exit code line");
    std::fs::remove_dir_all(&data).ok();
}
