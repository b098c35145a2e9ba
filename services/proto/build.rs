fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    tonic_prost_build::configure()
        .file_descriptor_set_path(out.join("huikuan_descriptor.bin"))
        .compile_protos(
            &[
                "../../proto/huikuan/v1/orchestrator.proto",
                "../../proto/huikuan/v1/speech.proto",
            ],
            &["../../proto"],
        )?;
    println!("cargo:rerun-if-changed=../../proto");
    Ok(())
}
