fn main() {
    // The sherpa-onnx and ONNX Runtime shared libraries are copied beside
    // each binary (and into deps/ for tests) by sherpa-rs-sys; look there.
    println!("cargo:rustc-link-arg=-Wl,-rpath,$ORIGIN");
}
