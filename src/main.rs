//! The web app's entry point: installs the panic hook and logger, then mounts the app.

#[cfg(target_arch = "wasm32")]
fn main() {
    softknn::app::start();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("softknn-playground runs in a browser: build it with `trunk build --release` (see README.md)");
    std::process::exit(2);
}
