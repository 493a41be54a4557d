//! Utility commands: `canonicalize`, `bake`, `extract`, `bench`, `load-test`.

use super::*;

pub(super) async fn run_bench(iterations: usize, json: bool) -> Result<i32, CliError> {
    if iterations == 0 || iterations > 1_000_000 {
        return Err(CliError::Usage("--iterations must be between 1 and 1000000".into()));
    }
    let results = crate::cli::bench::run_bench(iterations).await.map_err(CliError::Input)?;
    if json {
        out!("{}", serde_json::to_string(&results).unwrap_or_default())?;
    } else {
        out!("{:<28} {:>10} {:>12} {:>12}", "operation", "iterations", "median µs", "p95 µs")?;
        for m in &results {
            out!("{:<28} {:>10} {:>12.1} {:>12.1}", m.operation, m.iterations, m.median_us, m.p95_us)?;
        }
        let median = |name: &str| results.iter().find(|m| m.operation == name).map(|m| m.median_us);
        if let (Some(without), Some(with)) =
            (median("eddsa verify, no registry"), median("eddsa verify, 3 registries"))
        {
            out!("3 registries (warm caches) add {:+.1}% to a verification", (with / without - 1.0) * 100.0)?;
        }
    }
    Ok(0)
}

pub(super) async fn run_load_test(test: crate::cli::bench::LoadTest, json: bool) -> Result<i32, CliError> {
    let seconds = test.duration.as_secs();
    if test.concurrency == 0 || test.concurrency > 1024 || seconds == 0 || seconds > 600 {
        return Err(CliError::Usage("--concurrency 1..=1024 and --seconds 1..=600".into()));
    }
    let report = crate::cli::bench::run_load_test(&test).await.map_err(CliError::Input)?;
    if json {
        out!("{}", serde_json::to_string(&report).unwrap_or_default())?;
    } else {
        out!(
            "{} x{}: {} requests in {:.1} s = {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, {} errors",
            report.endpoint,
            report.concurrency,
            report.requests,
            report.seconds,
            report.requests_per_second,
            report.p50_ms,
            report.p99_ms,
            report.errors
        )?;
        if let Some(events) = report.events_per_second {
            out!("events end to end (accepted, rule evaluated, badge signed and stored): {events:.0}/s")?;
        }
    }
    Ok(0)
}

pub(super) fn run_canonicalize(file: &str) -> Result<i32, CliError> {
    let text = String::from_utf8(read_input(file, 16 << 20)?)
        .map_err(|_| CliError::Input(format!("{file} is not UTF-8")))?;
    let quads =
        crate::jsonld::canon::parse_nquads(&text).map_err(|e| CliError::Input(format!("{file}: {e}")))?;
    match crate::jsonld::canon::canonicalize(&quads, crate::jsonld::canon::Limits::default()) {
        Ok(canonical) => {
            write_stdout(&canonical)?;
            Ok(0)
        }
        Err(e) => {
            note!("laurel: {e}");
            Ok(1)
        }
    }
}

pub(super) fn run_bake(credential: &str, image: Option<&str>, output: &Path) -> Result<i32, CliError> {
    let credential_value =
        unwrap_credential(read_json_or_jwt(credential, crate::credential::baking::MAX_CREDENTIAL_BYTES)?);
    let compact = match &credential_value {
        Value::String(jwt) => jwt.clone(),
        object => serde_json::to_string(object).unwrap_or_default(),
    };
    let (image_bytes, image_name) = match image {
        Some(image) => (read_input(image, crate::credential::baking::MAX_IMAGE_BYTES)?, image.to_string()),
        None => {
            // No image given: a medal showing the achievement's name, in the output's format.
            let format = match output.extension().and_then(|e| e.to_str()) {
                Some(ext) if ext.eq_ignore_ascii_case("svg") => crate::credential::baking::ImageFormat::Svg,
                _ => crate::credential::baking::ImageFormat::Png,
            };
            let decoded = crate::credential::proofs::credential_of(&credential_value);
            let name = decoded
                .as_deref()
                .and_then(crate::credential::model::first_achievement)
                .and_then(|a| a.get("name"))
                .and_then(Value::as_str)
                .unwrap_or("Badge");
            (crate::credential::badge_image::generated(format, name), "the generated image".to_string())
        }
    };
    let (format, baked) = crate::credential::baking::bake(&image_bytes, &compact)
        .map_err(|e| CliError::Input(format!("{image_name}: {e}")))?;
    std::fs::write(output, baked).map_err(|e| CliError::Input(format!("{}: {e}", output.display())))?;
    note!("baked into {} ({})", output.display(), format.content_type());
    Ok(0)
}

pub(super) fn run_extract(image: &str) -> Result<i32, CliError> {
    let bytes = read_input(image, crate::credential::baking::MAX_IMAGE_BYTES)?;
    let extracted =
        crate::credential::baking::extract(&bytes).map_err(|e| CliError::Input(format!("{image}: {e}")))?;
    out!("{}", extracted.credential)?;
    Ok(0)
}
