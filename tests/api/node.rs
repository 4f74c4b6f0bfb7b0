//! Runs the node scripts of `tests/js` against a test's live server, installing their packages
//! (`npm ci`) the first time a test needs them.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// What a script printed, and whether it exited with status 0.
pub struct ScriptRun {
    pub success: bool,
    pub output: String,
}

/// Runs `node tests/js/<script> <args>`, or returns `None` (after saying why) when a tool it needs
/// is missing on a developer's machine. Under CI (the `CI` variable is set) a missing tool fails
/// the test instead.
pub async fn run_script(script: &str, args: &[&str]) -> Option<ScriptRun> {
    if let Err(missing) = node_tools() {
        skip_or_fail(&missing);
        return None;
    }
    let script = script.to_owned();
    let args: Vec<String> = args.iter().map(|arg| (*arg).to_owned()).collect();
    let output = tokio::task::spawn_blocking(move || {
        install_packages()?;
        Command::new("node")
            .arg(js_dir().join(&script))
            .args(&args)
            .current_dir(js_dir())
            .output()
            .map_err(|err| format!("node {script} could not start: {err}"))
    })
    .await
    .expect("the script's thread ends");
    let output = output.unwrap_or_else(|err| panic!("{err}"));
    Some(ScriptRun {
        success: output.status.success(),
        output: printed(&output),
    })
}

/// `Ok` when node runs, and npm too unless `tests/js`'s packages are already installed.
pub(crate) fn node_tools() -> Result<(), String> {
    tool_available("node", "install Node.js (18 or newer)").and_then(|()| {
        if packages_installed() {
            Ok(())
        } else {
            tool_available("npm", "install npm (apt-get install npm)")
        }
    })
}

/// `Ok` when the Chromium that the browser tests drive is installed.
pub fn chromium() -> Result<(), String> {
    let path = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
    if Path::new(&path).exists() {
        Ok(())
    } else {
        Err("install chromium (apt-get install chromium)".to_owned())
    }
}

/// Prints the skip line, or panics under CI, where every test must run.
pub fn skip_or_fail(missing: &str) {
    if std::env::var_os("CI").is_some() {
        panic!("CI is set, so this test may not be skipped: {missing}");
    }
    println!("skipped: {missing}");
}

pub(crate) fn tool_available(program: &str, advice: &str) -> Result<(), String> {
    match Command::new(program).arg("--version").output() {
        Ok(output) if output.status.success() => Ok(()),
        _ => Err(format!("{advice}: `{program}` does not run")),
    }
}

pub(crate) fn js_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/js")
}

/// Whether `tests/js/node_modules` is at least as new as the lock file it was installed from.
fn packages_installed() -> bool {
    let dir = js_dir();
    let modified = |path: PathBuf| std::fs::metadata(path).and_then(|meta| meta.modified());
    match (
        modified(dir.join("node_modules/.package-lock.json")),
        modified(dir.join("package-lock.json")),
    ) {
        (Ok(installed), Ok(locked)) => installed >= locked,
        _ => false,
    }
}

/// `npm ci` in `tests/js` unless its packages are installed, once per test binary: tests run in
/// parallel and wait here for the one install.
pub(crate) fn install_packages() -> Result<(), String> {
    static INSTALLED: OnceLock<Result<(), String>> = OnceLock::new();
    INSTALLED
        .get_or_init(|| {
            if packages_installed() {
                return Ok(());
            }
            let output = Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund"])
                .current_dir(js_dir())
                .output()
                .map_err(|err| format!("npm ci could not start: {err}"))?;
            if output.status.success() {
                Ok(())
            } else {
                Err(format!("npm ci in tests/js failed:\n{}", printed(&output)))
            }
        })
        .clone()
}

fn printed(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}
