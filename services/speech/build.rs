fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The sherpa-onnx and ONNX Runtime shared libraries are copied beside
    // each binary (and into deps/ for tests) by sherpa-rs-sys; look there.
    println!("cargo:rustc-link-arg=-Wl,-rpath,$ORIGIN");
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    tonic_prost_build::configure()
        .file_descriptor_set_path(out.join("speech_descriptor.bin"))
        .compile_protos(&["../../proto/huikuan/v1/speech.proto"], &["../../proto"])?;
    println!("cargo:rerun-if-changed=../../proto/huikuan/v1/speech.proto");
    Ok(())
}
