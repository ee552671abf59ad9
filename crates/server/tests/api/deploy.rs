//! The files in `deploy/` hold to the server they deploy: the systemd unit verifies and keeps the
//! hardening score its comment records (where `systemd-analyze` is installed); the container
//! files and the self-hosting guide name only real settings, the image's ports and a non-root
//! user; the compose file has the services and profile the guide describes (and passes
//! `docker compose config` where that is installed); the example configuration loads, its
//! commented-out lines too; the image's health check finds a running server over HTTP and HTTPS
//! and fails without one; and the Grafana dashboard charts every series `/metrics` serves, by
//! labels those series have, and nothing else.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Output;

use reqwest::Method;
use serde_json::{Value, json};
use tokio::process::Command;

use crate::helpers::TestApp;
use crate::pki::{NAME, TestCa};

/// The exposure `systemd-analyze security` gave the unit when it was written; the unit's comment
/// says the same.
const UNIT_EXPOSURE: f64 = 1.5;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repo().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Runs a command; `None` when it is not installed.
async fn run(program: &str, args: &[&str], env: &[(&str, &str)]) -> Option<Output> {
    match Command::new(program).args(args).envs(env.iter().copied()).output().await {
        Ok(output) => Some(output),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            eprintln!("{program} is not installed: skipping what needs it");
            None
        }
        Err(e) => panic!("{program}: {e}"),
    }
}

fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

#[tokio::test]
async fn the_systemd_unit_verifies_and_keeps_its_hardening() {
    let unit = read("deploy/cromulent.service");
    assert!(
        unit.contains(&format!("rates this unit\n# exposure {UNIT_EXPOSURE} OK")),
        "the unit's comment records exposure {UNIT_EXPOSURE}"
    );
    let exec = unit.lines().find(|l| l.starts_with("ExecStart=")).expect("ExecStart");
    assert!(exec.starts_with("ExecStart=/usr/local/bin/cromulent --config /etc/cromulent/cromulent.toml serve"), "{exec}");
    assert!(unit.contains("\nStateDirectory=cromulent\n") && unit.contains("\nUser=cromulent\n"));
    assert_eq!(
        unit.contains("\nAmbientCapabilities=CAP_NET_BIND_SERVICE\n"),
        unit.contains("\nCapabilityBoundingSet=CAP_NET_BIND_SERVICE\n"),
        "the one capability is both granted and the only one bounded"
    );
    let config = cromulent::config::load(Some(&repo().join("deploy/cromulent.toml")), &Default::default()).unwrap();
    assert_eq!(config.data_dir, Path::new("/var/lib/cromulent"), "data_dir is the StateDirectory");

    let Some(version) = run("systemd-analyze", &["--version"], &[]).await else { return };
    // `verify` wants ExecStart's binary to exist: point it at the one just built.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cromulent.service");
    std::fs::write(&path, unit.replace("/usr/local/bin/cromulent", env!("CARGO_BIN_EXE_cromulent"))).unwrap();
    let path = path.to_str().unwrap();
    let verify = run("systemd-analyze", &["verify", path], &[]).await.unwrap();
    let complaints: Vec<&str> =
        std::str::from_utf8(&verify.stderr).unwrap().lines().filter(|l| l.contains("cromulent.service")).collect();
    assert!(verify.status.success() && complaints.is_empty(), "systemd-analyze verify:\n{}", text(&verify));

    let help = run("systemd-analyze", &["--help"], &[]).await.unwrap();
    if !text(&help).contains("--offline") {
        eprintln!("{}: no `security --offline`, skipping the exposure check", text(&version).lines().next().unwrap_or(""));
        return;
    }
    let security = run("systemd-analyze", &["security", "--offline=true", "--no-pager", path], &[]).await.unwrap();
    let report = text(&security);
    let exposure: f64 = report
        .lines()
        .find_map(|l| l.split("Overall exposure level for cromulent.service: ").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no overall exposure in:\n{report}"));
    assert!(exposure <= UNIT_EXPOSURE, "exposure {exposure} is worse than the recorded {UNIT_EXPOSURE}:\n{report}");
}

/// Every `CROMULENT_…` name in `text`.
fn variables(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find("CROMULENT_") {
        let name: String = rest[at..].chars().take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_').collect();
        rest = &rest[at + name.len()..];
        if name.len() > "CROMULENT_".len() {
            found.insert(name.trim_end_matches('_').to_owned());
        }
    }
    found
}

/// The keys of the YAML block mapping under the line `parent` (indented by `indent`), with the
/// lines of each: enough of YAML for a compose file written in block style.
fn yaml_children<'a>(lines: &[&'a str], parent: &str, indent: usize) -> BTreeMap<String, Vec<&'a str>> {
    let start = lines.iter().position(|l| *l == parent).unwrap_or_else(|| panic!("no `{parent}` line"));
    let mut children: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    let mut current = None;
    for line in &lines[start + 1..] {
        let depth = line.len() - line.trim_start().len();
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        if depth < indent {
            break;
        }
        if depth == indent {
            let key = line.trim().strip_suffix(':').unwrap_or_else(|| panic!("`{line}` is not a mapping key")).to_owned();
            children.insert(key.clone(), Vec::new());
            current = Some(key);
        } else if let Some(key) = &current {
            children.get_mut(key).unwrap().push(line.trim());
        }
    }
    children
}

#[tokio::test]
async fn the_container_files_name_real_settings_the_ports_and_a_non_root_user() {
    let dockerfile = read("deploy/Dockerfile");
    let lines: Vec<&str> = dockerfile.lines().collect();
    assert!(lines.contains(&"EXPOSE 443/tcp 3478/udp 3478/tcp"), "the HTTPS port and the relay's");
    let stages = lines.iter().filter(|l| l.starts_with("FROM ")).count();
    assert!(stages >= 2 && lines.iter().any(|l| l.starts_with("FROM rust:") && l.ends_with(" AS build")), "multi-stage");
    let user = lines.iter().rev().find_map(|l| l.strip_prefix("USER ")).expect("a USER");
    assert!(!["root", "0", "0:0"].contains(&user) && !user.starts_with("root:"), "runs as {user}");
    let data_dir = lines.iter().find_map(|l| l.strip_prefix("ENV CROMULENT_DATA_DIR=")).expect("CROMULENT_DATA_DIR");
    assert!(lines.contains(&format!("VOLUME [\"{data_dir}\"]").as_str()), "the data directory is the volume");
    let health = lines.iter().find(|l| l.starts_with("HEALTHCHECK ")).expect("a HEALTHCHECK");
    assert!(health.ends_with("CMD [\"cromulent-healthcheck\"]"), "{health}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("COPY ") && l.ends_with(" deploy/healthcheck.sh /usr/local/bin/cromulent-healthcheck"))
    );
    assert!(read("deploy/Dockerfile.dockerignore").lines().any(|l| l == "**/target"), "target/ stays out of the context");

    let compose = read("deploy/compose.yaml");
    let lines: Vec<&str> = compose.lines().collect();
    let services = yaml_children(&lines, "services:", 2);
    assert_eq!(services.keys().collect::<Vec<_>>(), ["cromulent", "postgres"]);
    let (server, postgres) = (&services["cromulent"], &services["postgres"]);
    assert!(!server.iter().any(|l| l.starts_with("profiles:")), "Cromulent runs without a profile");
    assert!(postgres.contains(&"profiles: [postgres]"), "PostgreSQL only with its profile");
    assert!(server.contains(&"dockerfile: deploy/Dockerfile") && server.contains(&"context: .."));
    assert!(server.contains(&format!("- data:{data_dir}").as_str()), "the data volume is mounted at {data_dir}");
    for port in ["\"443:443/tcp\"", "\"3478:3478/udp\"", "\"3478:3478/tcp\""] {
        assert!(server.contains(&format!("- {port}").as_str()), "publishes {port}");
    }
    let relay = server.iter().find_map(|l| l.strip_prefix("CROMULENT_TURN_RELAY_PORTS: ")).expect("a relay port range");
    let relay = relay.trim_matches('"');
    let range: cromulent::config::PortRange = relay.parse().unwrap();
    assert!(server.contains(&format!("- \"{relay}:{relay}/udp\"").as_str()), "relay ports {range} published one to one");
    assert_eq!(yaml_children(&lines, "volumes:", 2).keys().collect::<Vec<_>>(), ["data", "postgres"]);

    let known: BTreeSet<String> = cromulent::config::KEYS
        .iter()
        .map(|k| cromulent::config::env_name(k.name))
        .chain(["CROMULENT_CONFIG".to_owned(), "CROMULENT_SKIP_WEB".to_owned()])
        .collect();
    for file in [
        "deploy/Dockerfile",
        "deploy/compose.yaml",
        "deploy/healthcheck.sh",
        "deploy/cromulent.service",
        "deploy/cromulent.toml",
        "docs/self-hosting.md",
    ] {
        let unknown: Vec<String> = variables(&read(file)).difference(&known).cloned().collect();
        assert!(unknown.is_empty(), "{file} names variables the server does not read: {unknown:?}");
    }

    // Where Docker Compose is installed, it checks the file against its schema, both ways.
    let file = repo().join("deploy/compose.yaml");
    let file = file.to_str().unwrap();
    let Some(version) = run("docker", &["compose", "version"], &[]).await else { return };
    if !version.status.success() {
        eprintln!("no `docker compose`: skipping its check of compose.yaml");
        return;
    }
    for profiles in ["", "postgres"] {
        let env = [("DOMAIN", "chat.example.org"), ("PUBLIC_IP", "203.0.113.7"), ("COMPOSE_PROFILES", profiles)];
        let config = run("docker", &["compose", "-f", file, "config", "--quiet"], &env).await.unwrap();
        assert!(config.status.success(), "docker compose config (profiles {profiles:?}):\n{}", text(&config));
    }
}

#[test]
fn the_example_configuration_loads_with_its_commented_lines_too() {
    let example = read("deploy/cromulent.toml");
    let uncommented: String = example
        .lines()
        .map(|l| match l.strip_prefix("# ") {
            Some(rest) if rest.split_once(" = ").is_some_and(|(k, _)| k.chars().all(|c| c.is_ascii_lowercase() || c == '_')) => {
                rest
            }
            _ => l,
        })
        .map(|l| format!("{l}\n"))
        .collect();
    assert_ne!(uncommented, example, "there are commented-out settings");
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in [("as-is.toml", &example), ("uncommented.toml", &uncommented)] {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let config = cromulent::config::load(Some(&path), &Default::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(config.tls.enabled(), "{name}: HTTPS by itself");
    }
}

/// Runs the image's health check against `listen`; whether it passed, and what it said.
async fn health_check(listen: &str) -> Option<(bool, String)> {
    let script = repo().join("deploy/healthcheck.sh");
    let output = run("sh", &[script.to_str().unwrap()], &[("CROMULENT_LISTEN", listen)]).await?;
    Some((output.status.success(), text(&output)))
}

#[tokio::test]
async fn the_image_health_check_finds_the_server_over_http_and_https_and_fails_without_it() {
    if run("curl", &["--version"], &[]).await.is_none() {
        return;
    }
    let mut plain = TestApp::spawn().await;
    let port = plain.addr.port();
    assert_eq!(health_check(&format!("127.0.0.1:{port}")).await, Some((true, String::new())));
    assert_eq!(health_check(&format!("0.0.0.0:{port}")).await, Some((true, String::new())), "0.0.0.0 is asked on loopback");

    let ca = TestCa::new();
    let dir = tempfile::tempdir().unwrap();
    ca.write_leaf(dir.path(), &[NAME]);
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let mut https = TestApp::spawn_with(|c| {
        c.tls.cert = cert;
        c.tls.key = key;
    })
    .await;
    let tls_port = https.addr.port();
    assert_eq!(health_check(&format!("127.0.0.1:{tls_port}")).await, Some((true, String::new())), "over HTTPS");

    plain.stop().await;
    https.stop().await;
    for port in [port, tls_port] {
        // Hold the port, so no other test's server can answer on it, with something that is
        // not Cromulent: it hangs up on every connection.
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        let holder = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                drop(socket);
            }
        });
        let (passed, said) = health_check(&format!("127.0.0.1:{port}")).await.unwrap();
        holder.abort();
        assert!(!passed, "nothing listens on {port}");
        assert!(said.contains("no 200 from GET /healthz"), "{said}");
    }
}

/// The metric names in a PromQL expression.
fn metric_names(expr: &str) -> Vec<&str> {
    expr.match_indices("cromulent_")
        .map(|(at, _)| {
            let end = expr[at..].find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).map_or(expr.len(), |n| at + n);
            &expr[at..end]
        })
        .collect()
}

/// The label names an expression groups by or matches on.
fn label_names(expr: &str) -> BTreeSet<&str> {
    let mut labels = BTreeSet::new();
    for part in expr.split("by (").skip(1) {
        labels.extend(part.split(')').next().unwrap().split(',').map(str::trim));
    }
    for part in expr.split('{').skip(1) {
        let matchers = part.split('}').next().unwrap();
        labels.extend(matchers.split(',').filter_map(|m| m.split(['=', '!']).next()).map(str::trim));
    }
    labels.retain(|l| !l.is_empty() && !["instance", "le"].contains(l));
    labels
}

/// Every panel, rows' nested panels included.
fn panels(dashboard: &Value) -> Vec<&Value> {
    let mut all = Vec::new();
    for panel in dashboard["panels"].as_array().expect("panels") {
        all.push(panel);
        all.extend(panel["panels"].as_array().into_iter().flatten());
    }
    all
}

#[tokio::test]
async fn the_grafana_dashboard_charts_every_series_by_labels_it_has() {
    let app = TestApp::spawn_with(|c| c.metrics.listen = Some("127.0.0.1:0".parse().unwrap())).await;
    // Something for every labelled series to count.
    let amy = app.register("amy").await;
    let general = app.general(&amy).await;
    app.post(&amy, &general, "counted").await;
    let mut gateway = app.gateway(&amy).await;
    assert_eq!(gateway.request("voice_join", json!({"channel_id": "1"})).await["t"], "error");
    let (status, _) = app.call(Method::GET, "/voice/ice-servers", Some(&amy.token), None).await;
    assert!(status.is_success());
    let url = format!("http://{}/metrics", app.metrics_addr.unwrap());
    let scraped = app.http.get(url).send().await.unwrap().text().await.unwrap();

    // Each series with its kind, and the labels its samples carry.
    let mut series: BTreeMap<&str, &str> = BTreeMap::new();
    let mut labels: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for line in scraped.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            series.insert(name, kind);
        } else if let Some((name, rest)) = line.split_once('{') {
            let set = labels.entry(name).or_default();
            set.extend(rest.split(',').filter_map(|pair| pair.split_once('=')).map(|(label, _)| label));
        }
    }
    assert!(series.len() >= 20, "{scraped}");

    let dashboard: Value = serde_json::from_str(&read("deploy/grafana-dashboard.json")).unwrap();
    assert_eq!(dashboard["__inputs"][0]["name"], "DS_PROMETHEUS");
    assert_eq!(dashboard["__inputs"][0]["pluginId"], "prometheus");
    let mut charted = BTreeSet::new();
    let mut taken: Vec<(String, [i64; 4])> = Vec::new();
    for panel in panels(&dashboard) {
        let title = panel["title"].as_str().unwrap();
        let grid = &panel["gridPos"];
        let [x, y, w, h] = ["x", "y", "w", "h"].map(|k| grid[k].as_i64().unwrap_or_else(|| panic!("{title}: gridPos.{k}")));
        assert!(x + w <= 24, "{title} is wider than the dashboard");
        for (other, [ox, oy, ow, oh]) in &taken {
            assert!(x >= ox + ow || ox >= &(x + w) || y >= oy + oh || oy >= &(y + h), "{title} overlaps {other}");
        }
        taken.push((title.to_owned(), [x, y, w, h]));
        if panel["type"] == "row" {
            continue;
        }
        assert_eq!(panel["datasource"]["uid"], "${DS_PROMETHEUS}", "{title}");
        let targets = panel["targets"].as_array().unwrap_or_else(|| panic!("{title} has no queries"));
        assert!(!targets.is_empty(), "{title} has no queries");
        for target in targets {
            assert_eq!(target["datasource"]["uid"], "${DS_PROMETHEUS}", "{title}");
            let expr = target["expr"].as_str().unwrap();
            let names = metric_names(expr);
            assert!(!names.is_empty(), "{title}: {expr}");
            let mut carried: BTreeSet<&str> = BTreeSet::new();
            for name in names {
                let base = ["_bucket", "_sum", "_count"]
                    .iter()
                    .find_map(|suffix| name.strip_suffix(suffix).filter(|b| series.get(b) == Some(&"histogram")))
                    .unwrap_or(name);
                assert!(series.contains_key(base), "{title}: {name} is not served:\n{scraped}");
                if series[base] == "histogram" {
                    assert!(name.ends_with("_bucket") && expr.contains("histogram_quantile("), "{title}: quantiles of {base}");
                }
                if series[base] == "counter" {
                    let per_time = ["rate(", "increase("].iter().any(|f| expr.contains(&format!("{f}{name}")));
                    assert!(per_time, "{title}: a counter is charted by its rate: {expr}");
                }
                carried.extend(labels.get(name).into_iter().flatten());
                charted.insert(base);
            }
            for label in label_names(expr) {
                assert!(carried.contains(label), "{title}: no `{label}` label on the series of {expr}\n{scraped}");
            }
        }
    }
    let missing: Vec<&&str> = series.keys().filter(|name| !charted.contains(*name)).collect();
    assert!(missing.is_empty(), "not on the dashboard: {missing:?}");

    let guide = read("docs/self-hosting.md");
    let undocumented: Vec<&&str> = series.keys().filter(|name| !guide.contains(&format!("`{name}`"))).collect();
    assert!(undocumented.is_empty(), "docs/self-hosting.md does not list {undocumented:?}");
    assert!(guide.contains("deploy/grafana-dashboard.json"));
}
