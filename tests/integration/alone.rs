//! Running one test alone, in a child process of this test binary: for a
//! test that measures the whole process (open descriptors), which the other
//! tests of the binary would disturb from their threads.

use std::process::Command;

/// Set in the child's environment to the name of the test it runs alone.
const VAR: &str = "USDT_MONITOR_TEST_ALONE";

/// Returns `true` in the child process, where the caller goes on with its
/// measurement. In the parent, runs `test` (its full path in this binary,
/// e.g. `db_descriptors::name`) alone in a child process, asserts that it ran
/// and passed, and returns `false`: the caller returns at once.
pub fn in_own_process(test: &str) -> bool {
    if std::env::var(VAR).as_deref() == Ok(test) {
        return true;
    }
    let exe = std::env::current_exe().expect("the test binary's own path");
    let out = Command::new(exe)
        .args([test, "--exact", "--test-threads=1", "--nocapture"])
        .env(VAR, test)
        .output()
        .expect("the test binary runs again");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "{test} alone in a child process failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    false
}
