//! Builds the browser client in `web/` into `$OUT_DIR/web`, which the binary embeds, so that
//! `cargo build` alone yields a server with its UI. `CROMULENT_SKIP_WEB=1` skips it.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let web = manifest.join("../../web");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("web");
    for input in ["src", "test", "index.html", "package.json", "package-lock.json", "vite.config.ts", "tsconfig.json"] {
        println!("cargo:rerun-if-changed={}", web.join(input).display());
    }
    println!("cargo:rerun-if-env-changed=CROMULENT_SKIP_WEB");
    std::fs::create_dir_all(&out).expect("create OUT_DIR/web");

    if std::env::var_os("CROMULENT_SKIP_WEB").is_some_and(|v| !v.is_empty() && v != "0") {
        println!("cargo:warning=CROMULENT_SKIP_WEB is set: the binary serves no web client");
        return;
    }
    if !web.join("node_modules").is_dir() {
        npm(&web, &["ci", "--no-audit", "--no-fund"]);
    }
    npm(&web, &["run", "build", "--", "--outDir", out.to_str().expect("OUT_DIR is UTF-8")]);
}

fn npm(dir: &Path, args: &[&str]) {
    let status = Command::new("npm").args(args).current_dir(dir).status();
    match status {
        Ok(status) if status.success() => {}
        Ok(status) => panic!(
            "`npm {}` in web/ failed ({status}). Fix the error above, or set CROMULENT_SKIP_WEB=1 to build without the web client.",
            args.join(" ")
        ),
        Err(err) => panic!(
            "could not run `npm {}` ({err}). Install Node.js 20.19+ with npm to build the web client, \
             or set CROMULENT_SKIP_WEB=1 to build the server without it.",
            args.join(" ")
        ),
    }
}
