//! Runs the appliance check scripts against the sidflowd cargo built:
//! systemd/check.sh (unit verify, security exposure <= 2.0, sysusers/tmpfiles) and
//! packaging/test-deb.sh (build the .deb, check it, install/upgrade/remove/purge in a
//! throwaway root; lintian is left to CI's separate full run). Skipped outside CI when not root.

use std::path::Path;
use std::process::Command;

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn have(cmd: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {cmd}"))
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

fn run_script(rel: &str, tools: &[&str], envs: &[(&str, &str)]) {
    let ci = std::env::var_os("CI").is_some();
    if !is_root() || !tools.iter().all(|t| have(t)) {
        assert!(!ci, "CI must run {rel} as root with {tools:?}");
        eprintln!("skipped {rel}: needs root and {tools:?}");
        return;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(rel);
    let out = Command::new("bash")
        .arg(&script)
        .arg(env!("CARGO_BIN_EXE_sidflowd"))
        .envs(envs.iter().copied())
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("{text}");
    assert!(out.status.success(), "{rel} failed:\n{text}");
}

#[test]
fn systemd_unit_checks() {
    run_script(
        "systemd/check.sh",
        &["systemd-analyze", "systemd-sysusers", "systemd-tmpfiles"],
        &[],
    );
}

#[test]
fn debian_package_checks() {
    run_script(
        "packaging/test-deb.sh",
        &[
            "dpkg-deb",
            "dpkg",
            "systemd-sysusers",
            "deb-systemd-helper",
            "readelf",
        ],
        &[("SIDFLOW_LINTIAN", "0"), ("SIDFLOW_DEB_FAST", "1")],
    );
}
