//! Gives libframelock.so a versioned SONAME (Linux), as an installed shared library needs: programs
//! record `libframelock.so.MAJOR` (or `libframelock.so.0.MINOR` before 1.0, where a minor release
//! may break the ABI) and keep working across compatible updates. scripts/install-ffi installs the
//! file under its full version with the SONAME and development symlinks beside it.
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("linux") {
        return;
    }
    let major = std::env::var("CARGO_PKG_VERSION_MAJOR").unwrap_or_default();
    let minor = std::env::var("CARGO_PKG_VERSION_MINOR").unwrap_or_default();
    let soversion = if major == "0" { format!("0.{minor}") } else { major };
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libframelock.so.{soversion}");
}
