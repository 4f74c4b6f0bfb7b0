//! TOTP codes computed by an implementation other than Charter's: Debian's `oathtool` (OATH
//! Toolkit), which `.ci/run` installs.

use std::process::Command;

/// The code of `secret` (base32) at Unix time `at`, or `None` (after saying why) when oathtool
/// is missing outside CI.
pub fn code_at(secret: &str, at: i64) -> Option<String> {
    let output = match Command::new("oathtool")
        .args(["--totp", "-b", "-N", &format!("@{at}"), secret])
        .output()
    {
        Ok(output) => output,
        Err(_) => {
            crate::node::skip_or_fail("install oathtool (apt-get install oathtool)");
            return None;
        }
    };
    assert!(
        output.status.success(),
        "oathtool failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Some(String::from_utf8(output.stdout).unwrap().trim().to_owned())
}

/// The code `steps` 30-second steps from now (0: the current one).
pub fn code(secret: &str, steps: i64) -> Option<String> {
    code_at(secret, chrono::Utc::now().timestamp() + steps * 30)
}

/// Waits, if needed, until the current 30-second step has at least `margin` seconds left, so
/// that a test comparing steps does not straddle a boundary.
pub async fn clear_of_step_edge(margin: i64) {
    let into = chrono::Utc::now().timestamp() % 30;
    if into >= 30 - margin {
        tokio::time::sleep(std::time::Duration::from_secs((30 - into + 1) as u64)).await;
    }
}
